// burn's wgpu device does not expose the WebGPU device's `lost` promise, so the model's worker
// wraps `requestDevice` before the device is created and is told when it is lost. The same wrapper
// notes which adapter the device came from (for benchmark reports).
let adapter = '';

export function watchDeviceLoss(callback) {
  if (typeof GPUAdapter === 'undefined') return;
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
