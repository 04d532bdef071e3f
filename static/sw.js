// Patchbay's service worker: the app shell for offline visits, and updates that reach users.
//
// `ci/dist` stamps BUILD (an id of this build's files) and SHELL_FILES (every file of the site,
// relative to this worker) below. Files whose names carry Trunk's content hash never change, so
// they are served from the cache first; everything else (index.html, the examples) goes to the
// network first and falls back to the cache. A new deploy changes this file, so the browser
// installs the new worker beside the old one; the new one fills its own cache (reusing every
// unchanged file from the old one, and the browser's HTTP cache, so that a first visit downloads
// nothing twice) and waits until the page says to take over (the page offers a reload). On
// activation the old shell caches are deleted; the model files, kept by the app in
// `patchbay-models-v1`, are not the worker's and survive every update.
//
// A development build (`trunk serve`) is not stamped: then every file goes to the network first
// and is kept as it passes.
const BUILD = 'dev';
const SHELL_FILES = [];

const SHELL_PREFIX = 'patchbay-shell-';
const SHELL = `${SHELL_PREFIX}${BUILD}`;
const scope = new URL(self.registration.scope);
/** Trunk's content hash in a file or folder name: `name-0123456789abcdef`. */
const HASHED = /-[0-9a-f]{16}(_bg)?(\.|\/)/;

const inScope = (url) => url.origin === scope.origin && url.pathname.startsWith(scope.pathname);
/** Model files belong to the app's own cache (or to nobody): never duplicated here. */
const isModel = (url) => /\/models\/|\/resolve\/|\.safetensors$|\/api\//.test(url.pathname.slice(scope.pathname.length - 1));
const isImmutable = (url) => HASHED.test(url.pathname.slice(scope.pathname.length));
/** The cache key of a shell file: without its query, and the app's index.html under one name,
 * so that `?embed&run` or a share link opens offline too. */
function shellKey(request) {
  const url = new URL(request.url);
  const path = url.pathname.slice(scope.pathname.length);
  return path === '' || path === 'index.html' ? scope.href : url.origin + url.pathname;
}

/** The file from this build's cache, an older build's cache, or the browser's HTTP cache. */
async function fill(cache, url) {
  if (await cache.match(url)) return;
  const kept = isImmutable(url) ? await caches.match(url) : undefined;
  if (kept) return cache.put(url, kept);
  // Hashed files never change: whatever copy the browser holds is right, however old.
  const response = await fetch(url, { cache: isImmutable(url) ? 'force-cache' : 'no-cache' });
  if (!response.ok) throw new Error(`${url.pathname}: HTTP ${response.status}`);
  await cache.put(url, response);
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL);
      await Promise.all(SHELL_FILES.map((file) => fill(cache, new URL(file, scope))));
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((n) => n.startsWith(SHELL_PREFIX) && n !== SHELL).map((n) => caches.delete(n)));
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
  if (event.data === 'build') event.source?.postMessage({ build: BUILD });
});

async function cacheFirst(event) {
  const cache = await caches.open(SHELL);
  const cached = await cache.match(event.request);
  if (cached) return cached;
  const response = await fetch(event.request);
  if (response.ok) event.waitUntil(cache.put(event.request, response.clone()));
  return response;
}

async function networkFirst(event) {
  const cache = await caches.open(SHELL);
  const key = shellKey(event.request);
  try {
    const response = await fetch(event.request);
    if (response.ok && response.type === 'basic') event.waitUntil(cache.put(key, response.clone()));
    return response;
  } catch (offline) {
    const cached = await cache.match(key);
    if (cached) return cached;
    throw offline;
  }
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || !inScope(url) || isModel(url)) return;
  event.respondWith(isImmutable(url) ? cacheFirst(event) : networkFirst(event));
});
