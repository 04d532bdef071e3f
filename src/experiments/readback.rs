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

/// Lets the event loop run between steps of long work (a macrotask): in the model's worker,
/// the page's messages (Cancel) arrive there; on a page, it paints. Nothing natively.
pub async fn yield_to_browser() {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        let tick = js_sys::Promise::new(&mut |resolve, _| {
            // `setTimeout` of whichever global this runs in: a worker's or a window's.
            let global = js_sys::global();
            if let Ok(set_timeout) = js_sys::Reflect::get(&global, &"setTimeout".into())
                && let Ok(set_timeout) = set_timeout.dyn_into::<js_sys::Function>()
            {
                let _ = set_timeout.call1(&global, &resolve);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(tick).await;
    }
}
