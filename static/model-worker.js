// The model's thread. The page starts this worker and sends it the app's own WebAssembly module
// (already compiled) and the URL of its JavaScript glue; the module's start function sees that
// it runs in a worker and serves the page's requests (src/worker/) instead of drawing the page.
self.onmessage = async ({ data }) => {
  self.onmessage = null;
  try {
    const { default: init } = await import(data.glue);
    await init({ module_or_path: data.module });
  } catch (e) {
    const message = `the model's worker could not start: ${e?.message ?? e}`;
    self.postMessage(JSON.stringify({ id: 0, event: { event: 'crashed', message } }));
  }
};
