//! Reading tensors back from the device: the one place that awaits the GPU (`into_data_async`
//! works on every backend, and is the only way on WebGPU).

use burn::tensor::Tensor;

/// The values of `tensor` as f32, row-major.
pub async fn read<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, String> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| format!("reading a result from the device failed: {e:?}"))?;
    yield_to_browser().await;
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| format!("unexpected result data: {e:?}"))
}

/// Lets the browser paint and handle input between steps of long work (a macrotask, so that
/// progress and partial figures appear and Cancel is clicked); nothing natively.
pub async fn yield_to_browser() {
    #[cfg(target_arch = "wasm32")]
    {
        let tick = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback(&resolve);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(tick).await;
    }
}
