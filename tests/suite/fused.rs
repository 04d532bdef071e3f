//! The fused kernels (`model::fused`) against the tensor ops the hooked path composes, on the
//! CPU and on wgpu: LayerNorm (GPT-2's epsilon and the LN-free checkpoints' 1e12), `gelu_new`,
//! and causal attention with as many queries as keys and with fewer (a KV-cached pass).

use burn::tensor::{Bool, Device, Distribution, Tensor, activation};
use patchbay::model::fused;

fn devices() -> [Device; 2] {
    [
        patchbay::device::cpu(),
        patchbay::device::wgpu().expect("a wgpu adapter (mesa-vulkan-drivers)"),
    ]
}

fn random<const D: usize>(shape: [usize; D], scale: f64, device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device) * scale
}

fn assert_close<const D: usize>(what: &str, got: Tensor<D>, want: Tensor<D>, tolerance: f32) {
    assert_eq!(got.dims(), want.dims(), "{what}");
    let (got, want) = (
        got.into_data().try_to_vec::<f32>().unwrap(),
        want.into_data().try_to_vec::<f32>().unwrap(),
    );
    let worst = got
        .iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs() / w.abs().max(1.0))
        .fold(0.0f32, f32::max);
    assert!(worst <= tolerance, "{what}: differs by {worst} (relative)");
}

fn composed_layer_norm(x: Tensor<3>, w: Tensor<1>, b: Tensor<1>, epsilon: f64) -> Tensor<3> {
    let centred = x.clone() - x.mean_dim(2);
    let scale = (centred.clone().square().mean_dim(2) + epsilon).sqrt();
    centred / scale * w.unsqueeze::<3>() + b.unsqueeze::<3>()
}

fn composed_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>) -> Tensor<4> {
    let [batch, heads, queries, d_head] = q.dims();
    let keys = k.dims()[2];
    let scores = q.matmul(k.swap_dims(2, 3)) / (d_head as f64).sqrt();
    let future =
        Tensor::<2, Bool>::tril_mask([queries, keys], (keys - queries) as i64, &scores.device());
    let scores = scores.mask_fill(
        future
            .unsqueeze::<4>()
            .expand([batch, heads, queries, keys]),
        f32::NEG_INFINITY,
    );
    activation::softmax(scores, 3).matmul(v)
}

#[test]
fn a_fused_layer_norm_equals_the_composed_ops() {
    for device in devices() {
        // Narrow and GPT-2-small widths, more rows than one cube's 64; every row's mean far
        // from 0 (the residual stream's outlier dimensions).
        for (width, epsilon) in [(48, 1e-5), (64, 1e-5), (768, 1e-5), (100, 1e12)] {
            let x = random([3, 30, width], 3.0, &device) + 40.0;
            let (w, b) = (random([width], 1.0, &device), random([width], 1.0, &device));
            let (w, b) = if epsilon > 1.0 { (w * 1e6, b) } else { (w, b) };
            assert_close(
                &format!("LayerNorm of width {width}, eps {epsilon} on {device:?}"),
                fused::layer_norm(x.clone(), w.clone(), b.clone(), epsilon),
                composed_layer_norm(x, w, b, epsilon),
                // One GPU unit sums a row in order where burn's reductions sum in a tree: the
                // two differ by f32 rounding over 768 terms (~1e-5), well inside the oracle's 1e-4.
                5e-5,
            );
        }
    }
}

#[test]
fn a_fused_gelu_new_equals_the_composed_ops() {
    for device in devices() {
        // More elements than one grid axis's cubes hold at 256 per cube.
        let x = random([3, 70_000, 2], 4.0, &device);
        assert_close(
            &format!("gelu_new on {device:?}"),
            fused::gelu_new(x.clone()),
            fused::composed_gelu_new(x),
            1e-6,
        );
    }
}

#[test]
fn fused_causal_attention_equals_the_composed_ops() {
    for device in devices() {
        // A whole prompt, a KV-cached step of one query and one of three, a long prompt
        // (more rows than one cube's 64, rows of 90 keys).
        for (queries, keys) in [(7, 7), (1, 9), (3, 10), (90, 90)] {
            let q = random([2, 3, queries, 16], 1.5, &device);
            let k = random([2, 3, keys, 16], 1.5, &device);
            let v = random([2, 3, keys, 16], 1.0, &device);
            assert_close(
                &format!("attention of {queries} queries over {keys} keys on {device:?}"),
                fused::causal_attention(q.clone(), k.clone(), v.clone()),
                composed_attention(q, k, v),
                1e-5,
            );
        }
    }
}
