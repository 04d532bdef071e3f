// Registers the service worker (sw.js beside index.html, so that it works under any sub-path),
// marks the page once the app is kept for offline use, and calls `onUpdate` when a new deploy
// has been installed and waits to take over.
export async function registerServiceWorker(onUpdate) {
  if (!('serviceWorker' in navigator)) return 'no service worker in this browser';
  const registration = await navigator.serviceWorker.register('./sw.js');
  const announce = () => {
    if (registration.waiting && navigator.serviceWorker.controller) onUpdate();
  };
  registration.addEventListener('updatefound', () => {
    const worker = registration.installing;
    worker?.addEventListener('statechange', () => worker.state === 'installed' && announce());
  });
  announce();
  // A tab left open for days still hears of a new deploy: look when it comes back into view,
  // and every half hour.
  const check = () => registration.update().catch(() => {});
  document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && check());
  setInterval(check, 30 * 60 * 1000);
  await navigator.serviceWorker.ready;
  document.documentElement.dataset.offlineReady = 'true';
  return 'kept for offline use';
}

// Lets the waiting worker take over, then reloads into the new version.
export async function applyUpdate() {
  const worker = (await navigator.serviceWorker.getRegistration())?.waiting;
  if (!worker) return location.reload();
  navigator.serviceWorker.addEventListener('controllerchange', () => location.reload(), { once: true });
  worker.postMessage('skip-waiting');
}
