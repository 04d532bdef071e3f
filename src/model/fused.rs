//! The model's computations that no hook looks inside, each as few kernels as the device
//! offers: a LayerNorm, `gelu_new` and the attention's masked softmax.
//!
//! Composed from tensor ops, a LayerNorm is 9 kernels, `gelu_new` 9 and the scale, mask and
//! softmax of the attention scores 7: two thirds of a GPT-2 forward's dispatches on the GPU.
//! Here each is one kernel on the GPU (`gpu`, written in CubeCL), and burn's fused CPU kernels
//! where it has them (LayerNorm, attention). The hooked path keeps the composed ops, so every
//! hook sees TransformerLens's intermediate values; a run uses these only where its hooks see
//! none of the values they skip ([`crate::hooks::Hooks::sees`]). Autodiff runs (attribution)
//! always compose, so gradients flow as before.

#[cfg(feature = "gpu")]
mod gpu;

#[cfg(feature = "gpu")]
use burn::tensor::Device;
use burn::tensor::Tensor;
use burn::tensor::module;
use burn::tensor::ops::AttentionModuleOptions;

/// Where a tensor lives, as far as the choice of kernels goes.
/// Whether a tensor is on burn's GPU backend without autodiff: this module's CubeCL kernels.
#[cfg(feature = "gpu")]
fn on_gpu(device: &Device) -> bool {
    matches!(device.as_dispatch(), burn::backend::DispatchDevice::Cube(_))
}

/// `(x - mean) / sqrt(var + eps) * weight + bias` over the last axis, variance biased: one
/// kernel on the GPU and on the CPU (burn's), composed under autodiff.
///
/// # Shapes
/// - x: `[batch, pos, d_model]`
/// - weight, bias: `[d_model]`
/// - output: `[batch, pos, d_model]`
pub fn layer_norm(x: Tensor<3>, weight: Tensor<1>, bias: Tensor<1>, epsilon: f64) -> Tensor<3> {
    #[cfg(feature = "gpu")]
    if on_gpu(&x.device()) {
        return gpu::layer_norm(x, weight, bias, epsilon);
    }
    module::layer_norm(x, weight, Some(bias), epsilon)
}

/// GPT-2's `gelu_new`: `0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³)))`, one kernel on the GPU.
pub fn gelu_new<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "gpu")]
    if on_gpu(&x.device()) {
        return gpu::gelu_new(x);
    }
    composed_gelu_new(x)
}

/// `gelu_new` from elementwise ops.
///
/// `x³` is written as a product: `powf` of a negative base is NaN on some backends.
pub fn composed_gelu_new<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
    let cube = x.clone() * x.clone() * x.clone();
    let inner = (x.clone() + cube * 0.044715) * SQRT_2_OVER_PI;
    x * (inner.tanh() + 1.0) * 0.5
}

/// Causal attention of the queries over the keys, the last query aligned with the last key
/// (a KV-cached pass's queries come after `keys - queries` cached positions): `softmax(q·kᵀ /
/// sqrt(d_head))` with future keys masked, times `v`. On the GPU the scale, mask and softmax
/// are one kernel between the two matrix products; on the CPU the whole is burn's fused
/// attention.
///
/// # Shapes
/// - q: `[batch, head, queries, d_head]`
/// - k, v: `[batch, head, keys, d_head]`
/// - output: `[batch, head, queries, d_head]`
pub fn causal_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "gpu")]
    if on_gpu(&q.device()) {
        let d_head = q.dims()[3];
        let scores = q.matmul(k.swap_dims(2, 3));
        return gpu::causal_softmax(scores, (d_head as f64).sqrt()).matmul(v);
    }
    let options = AttentionModuleOptions {
        scale: None,
        softcap: None,
        is_causal: true,
    };
    module::attention(q, k, v, None, None, options)
}
