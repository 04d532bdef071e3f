// Starts the model's Web Worker (static/model-worker.js) with this page's WebAssembly module,
// so that the worker neither downloads nor compiles it again. The glue's URL is the one Trunk
// names in the page (a content-hashed file).
export function startModelWorker(module, onMessage, onFailure) {
  const glue = document.querySelector('link[rel="modulepreload"][href*="patchbay-web"]')?.href;
  if (!glue) throw new Error("the page does not name the app's JavaScript file");
  const worker = new Worker(new URL('static/model-worker.js', document.baseURI), { type: 'module', name: 'patchbay-model' });
  worker.onmessage = (e) => onMessage(e.data);
  worker.onerror = (e) => onFailure(e.message || 'the script could not be loaded');
  worker.postMessage({ glue, module });
  return worker;
}

/** Sends a request (JSON) with the files it carries. */
export function sendToWorker(worker, message, files) {
  worker.postMessage({ message, files });
}
