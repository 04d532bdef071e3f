// transformers.js timing the workloads that have an equivalent in Patchbay's Benchmark panel:
// a forward pass on 20 tokens and 32 greedy tokens after 20 (its generate uses the KV cache).
// Served by bench/browser.mjs: the library and ONNX Runtime's wasm at ./lib/, the model at
// ./models/gpt2-random/. `?device=wasm|webgpu&reps=N`; the report lands in #report's data-report.
import { AutoModelForCausalLM, Tensor, env } from './lib/transformers.js';

const query = new URLSearchParams(location.search);
const device = query.get('device') ?? 'wasm';
const reps = Number(query.get('reps') ?? 3);
const status = (text) => { document.querySelector('#status').textContent = text; };

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = new URL('./models/', location.href).href;
env.backends.onnx.wasm.wasmPaths = new URL('./lib/', location.href).href;
env.backends.onnx.wasm.numThreads = 1;

// WebGPU calls so far, counted by Patchbay's own wrappers (src/ui/gpu.js, injected by
// bench/browser.mjs before this page's scripts), or null.
const gpuCalls = () => (globalThis.patchbayGpuCalls?.() ? JSON.parse(globalThis.patchbayGpuCalls()) : null);
const since = (now, before) => now && before && Object.fromEntries(Object.keys(now).map((k) => [k, now[k] - before[k]]));

async function time(warmup, runs, f) {
  let first_run_s = null;
  for (let i = 0; i < warmup; i++) {
    const start = performance.now();
    await f();
    first_run_s ??= (performance.now() - start) / 1000;
  }
  const all = [];
  let webgpu = null;
  for (let i = 0; i < runs; i++) {
    const before = gpuCalls();
    const start = performance.now();
    await f();
    all.push((performance.now() - start) / 1000);
    webgpu = since(gpuCalls(), before);
  }
  const sorted = [...all].sort((a, b) => a - b);
  return {
    median_s: sorted[Math.floor(sorted.length / 2)],
    runs_s: all,
    first_run_s: first_run_s ?? all[0],
    ...(webgpu ? { gpu_calls: { webgpu } } : {}),
  };
}

try {
  status('loading');
  const started = performance.now();
  const model = await AutoModelForCausalLM.from_pretrained('gpt2-random', { device, dtype: 'fp32' });
  const load_s = (performance.now() - started) / 1000;
  // The same kind of input as Patchbay's: 20 token ids drawn from the vocabulary.
  const ids = Array.from({ length: 20 }, (_, i) => BigInt((i * 7919 + 12345) % 50257));
  const input_ids = new Tensor('int64', BigInt64Array.from(ids), [1, 20]);
  const attention_mask = new Tensor('int64', new BigInt64Array(20).fill(1n), [1, 20]);
  const cases = {};
  status('forward');
  cases.forward = await time(2, reps, async () => {
    const out = await model({ input_ids, attention_mask });
    await out.logits.data; // the logits are on the host: the run is finished
  });
  status('generate');
  cases.generate_kv = await time(1, reps, () =>
    model.generate({ input_ids, attention_mask, max_new_tokens: 32, min_new_tokens: 32, do_sample: false }));
  const report = { library: 'transformers.js', version: env.version, device, reps, load_s, browser: navigator.userAgent, cases };
  document.body.dataset.report = JSON.stringify(report);
  status('done');
} catch (e) {
  document.body.dataset.error = String(e?.stack ?? e);
  status(`failed: ${e}`);
}
