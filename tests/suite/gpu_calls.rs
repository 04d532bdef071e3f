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
