// Patchbay's service worker: keeps the app shell (HTML, JS, wasm, CSS, examples) so that the
// app opens with no network after the first visit. Network first, so a new build is picked up
// when online; the cache answers when the network does not. Model files are not handled here:
// the app keeps them in its own Cache API bucket (patchbay-models-v1).
const SHELL = 'patchbay-shell-v1';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

// Model files are left to the app's own model cache: never duplicated here.
function isShell(url) {
  return url.origin === self.location.origin && !/\/models\/|\/resolve\/|\.safetensors$|^\/api\//.test(url.pathname);
}

async function keep(urls) {
  const cache = await caches.open(SHELL);
  await Promise.all(urls.map((u) => cache.add(u).catch(() => {})));
}

// The page lists what it loaded before this worker controlled it (the first visit).
self.addEventListener('message', (event) => {
  if (Array.isArray(event.data?.keep)) {
    const urls = event.data.keep.filter((u) => isShell(new URL(u)));
    event.waitUntil(keep(urls).then(() => event.source?.postMessage({ kept: urls.length })));
  }
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || !isShell(url)) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          event.waitUntil(caches.open(SHELL).then((cache) => cache.put(request, copy)));
        }
        return response;
      })
      .catch(async () => {
        const cache = await caches.open(SHELL);
        return (await cache.match(request)) ?? (await cache.match(request, { ignoreSearch: true })) ?? Response.error();
      }),
  );
});
