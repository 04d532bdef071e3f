//! Reading tensors back from the device: the one place that awaits the GPU (`into_data_async`
//! works on every backend, and is the only way on WebGPU).

use burn::tensor::Tensor;

/// The values of `tensor` as f32, row-major.
pub async fn read<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, String> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| format!("reading a result from the device failed: {e:?}"))?;
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| format!("unexpected result data: {e:?}"))
}
