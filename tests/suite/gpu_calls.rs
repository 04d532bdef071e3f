//! What a run asks of the GPU, counted (the benchmarks' kernel launches): counted kernel by
//! kernel on wgpu, the same in every steady-state run, nothing on the CPU.

use patchbay::bench::{Inputs, Workload, time};
use patchbay::model::{Gpt2, Gpt2Config};

fn small() -> Gpt2Config {
    let mut config = Gpt2Config::gpt2_small();
    config.n_layer = 2;
    config.n_embd = 32;
    config.n_head = 4;
    config.n_inner = 128;
    config.vocab_size = 300;
    config
}

fn forward_launches(device: &burn::tensor::Device) -> Vec<u64> {
    let config = small();
    let model = Gpt2::random(&config, 3, device);
    let inputs = Inputs::new(config.vocab_size, 5);
    (0..2)
        .map(|_| {
            let timing = pollster::block_on(time(&model, &inputs, Workload::Forward, (1, 2), true))
                .expect("a forward pass runs");
            let calls = timing.gpu_calls.expect("counted when asked");
            assert_eq!(calls.kernel_launches, calls.kernels.values().sum::<u64>());
            assert!(calls.webgpu.is_none(), "natively wgpu is not wrapped");
            assert!(
                calls.kernels.keys().all(|k| !k.contains("::")),
                "{:?}",
                calls.kernels
            );
            calls.kernel_launches
        })
        .collect()
}

#[test]
fn a_forward_on_wgpu_launches_the_same_kernels_every_time() {
    let gpu = patchbay::device::wgpu().expect("a wgpu adapter (mesa-vulkan-drivers)");
    let launches = forward_launches(&gpu);
    // Per block at least two LayerNorms, the QKV, score, pattern and output products, the
    // softmax, two MLP products, GELU and two residual additions.
    assert!(launches[0] >= 12 * 2, "{launches:?}");
    assert_eq!(launches[0], launches[1]);
}

#[test]
fn the_cpu_launches_no_gpu_kernels() {
    assert_eq!(forward_launches(&patchbay::device::cpu()), [0, 0]);
}

#[test]
fn a_plain_forward_runs_each_layer_norm_gelu_and_softmax_as_one_kernel() {
    let gpu = patchbay::device::wgpu().expect("a wgpu adapter (mesa-vulkan-drivers)");
    let config = small();
    let model = Gpt2::random(&config, 3, &gpu);
    let inputs = Inputs::new(config.vocab_size, 5);
    let timing = pollster::block_on(time(&model, &inputs, Workload::Forward, (1, 1), true))
        .expect("a forward pass runs");
    let calls = timing.gpu_calls.expect("counted when asked");
    let launched = |name: &str| calls.kernels.get(name).copied().unwrap_or(0);
    let layers = config.n_layer as u64;
    assert_eq!(
        launched("LayerNormKernel"),
        2 * layers + 1,
        "{:#?}",
        calls.kernels
    );
    assert_eq!(launched("GeluNewKernel"), layers, "{:#?}", calls.kernels);
    assert_eq!(
        launched("CausalSoftmaxKernel"),
        layers,
        "{:#?}",
        calls.kernels
    );
    // Nothing left of the composed ops: no reductions, no elementwise chains, no mask built.
    // Per block: 6 matrix products, 6 additions (4 biases, 2 residuals), 5 copies (the
    // heads laid out for the products), the 4 fused kernels; the embeddings' 3, ln_f and the
    // unembedding.
    assert!(
        calls.kernel_launches <= 21 * layers + 5,
        "{} launches: {:#?}",
        calls.kernel_launches,
        calls.kernels
    );
}

#[test]
fn a_hooked_forward_keeps_the_composed_ops_where_a_hook_looks() {
    use patchbay::hooks::{BlockHook, CacheHooks, HookPoint};
    let gpu = patchbay::device::wgpu().expect("a wgpu adapter (mesa-vulkan-drivers)");
    let model = Gpt2::random(&small(), 3, &gpu);
    let tokens = burn::tensor::Tensor::<2, burn::tensor::Int>::from_data([[1, 2, 3, 4]], &gpu);
    // Layer 1's pattern and layer 0's ln_2 scale are cached: those two run composed.
    let mut hooks = CacheHooks::new(|p| {
        p == HookPoint::Block(1, BlockHook::Pattern)
            || p == HookPoint::Block(0, BlockHook::Ln2Scale)
    });
    let counting = patchbay::gpu_calls::Counting::start();
    let _ = model.forward_hooked(tokens, &mut hooks).into_data();
    let calls = counting.finish();
    let launched = |name: &str| calls.kernels.get(name).copied().unwrap_or(0);
    assert_eq!(launched("LayerNormKernel"), 4, "{:#?}", calls.kernels);
    assert_eq!(launched("CausalSoftmaxKernel"), 1, "{:#?}", calls.kernels);
    assert_eq!(launched("GeluNewKernel"), 2, "{:#?}", calls.kernels);
    // ln_2's mean and variance, the softmax's max and sum; the mask for the scores.
    assert_eq!(
        launched("ReduceKernel<TensorArgs>"),
        4,
        "{:#?}",
        calls.kernels
    );
    assert_eq!(launched("MaskFillKernel"), 1, "{:#?}", calls.kernels);
}
