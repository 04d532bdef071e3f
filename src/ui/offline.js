// Registers the service worker (static/sw.js, served at the app's root) and hands it the
// files this first visit loaded, so that the next visit works without a network.
export async function keepForOffline() {
  if (!('serviceWorker' in navigator)) return 'no service worker in this browser';
  const registration = await navigator.serviceWorker.register('./sw.js');
  const worker = registration.active ?? (await navigator.serviceWorker.ready).active;
  const here = new URL('./', location.href).href;
  const loaded = performance.getEntriesByType('resource').map((e) => e.name);
  const urls = [here, ...loaded].filter((u) => u.startsWith(location.origin));
  return new Promise((resolve) => {
    navigator.serviceWorker.addEventListener('message', function kept(event) {
      if (event.data?.kept !== undefined) {
        navigator.serviceWorker.removeEventListener('message', kept);
        document.documentElement.dataset.offlineReady = 'true';
        resolve(`kept ${event.data.kept} files for offline use`);
      }
    });
    worker.postMessage({ keep: urls });
  });
}
