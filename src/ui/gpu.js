// burn's wgpu device does not expose the WebGPU device's `lost` promise, so the model's worker
// wraps `requestDevice` before the device is created and is told when it is lost. The same wrapper
// notes which adapter the device came from (for benchmark reports).
let adapter = '';

export function watchDeviceLoss(callback) {
  if (typeof GPUAdapter === 'undefined') return;
  installGpuCallCounters();
  const request = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await request.apply(this, args);
    const info = this.info ?? {};
    adapter = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' · ');
    device.lost.then((info) => callback(`${info.reason}${info.message ? `: ${info.message}` : ''}`));
    // The device in use, for diagnostics from the console (the end-to-end test destroys it).
    self.patchbayGpuDevice = device;
    return device;
  };
}

/** The WebGPU adapter in use (vendor · architecture · device · description), or ''. */
export function adapterInfo() {
  return adapter;
}

// What this thread asks of WebGPU, counted by wrappers on WebGPU's prototypes: one increment
// per call, so they stay installed. The benchmarks read them around a run (`gpuCalls`); the
// same source is injected into transformers.js's page (bench/browser.mjs), so that both
// libraries are counted by the same code.
const calls = { dispatches: 0, pipelines: 0, bind_groups: 0, buffers: 0, writes: 0, written_bytes: 0, reads: 0, copies: 0, submits: 0 };
let counting = false;

function count(type, method, key, bytes) {
  const proto = globalThis[type]?.prototype;
  const original = proto?.[method];
  if (typeof original !== 'function') return;
  proto[method] = function (...args) {
    calls[key] += 1;
    if (bytes) calls.written_bytes += bytes(args);
    return original.apply(this, args);
  };
}

export function installGpuCallCounters() {
  if (counting || typeof GPUDevice === 'undefined') return;
  counting = true;
  count('GPUComputePassEncoder', 'dispatchWorkgroups', 'dispatches');
  count('GPUComputePassEncoder', 'dispatchWorkgroupsIndirect', 'dispatches');
  count('GPUDevice', 'createComputePipeline', 'pipelines');
  count('GPUDevice', 'createComputePipelineAsync', 'pipelines');
  count('GPUDevice', 'createBindGroup', 'bind_groups');
  count('GPUDevice', 'createBuffer', 'buffers');
  // writeBuffer(buffer, offset, data, dataOffset?, size?): size counts elements of a typed
  // array, bytes of an ArrayBuffer.
  count('GPUQueue', 'writeBuffer', 'writes', ([, , data, , size]) => {
    const unit = data?.BYTES_PER_ELEMENT ?? 1;
    return size !== undefined ? size * unit : (data?.byteLength ?? 0);
  });
  count('GPUBuffer', 'mapAsync', 'reads');
  count('GPUCommandEncoder', 'copyBufferToBuffer', 'copies');
  count('GPUQueue', 'submit', 'submits');
}

/** The calls counted so far, as JSON, or '' where WebGPU is absent. */
export function gpuCalls() {
  return counting ? JSON.stringify(calls) : '';
}
