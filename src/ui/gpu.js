// burn's wgpu device does not expose the WebGPU device's `lost` promise, so the app wraps
// `requestDevice` before the device is created and is told when it is lost.
export function watchDeviceLoss(callback) {
  if (typeof GPUAdapter === 'undefined') return;
  const request = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await request.apply(this, args);
    device.lost.then((info) => callback(`${info.reason}${info.message ? `: ${info.message}` : ''}`));
    return device;
  };
}
