//! Experiment tables against the oracle on wgpu (lavapipe where there is no GPU; no adapter fails).

use crate::common;

experiment_tests!(patchbay::device::wgpu().expect("a wgpu adapter (mesa-vulkan-drivers)"));

#[test]
fn seeded_gedi_sampling_gives_the_same_ids_on_wgpu_and_the_cpu() {
    let ids = |device: &burn::tensor::Device| {
        let base = common::load_tiny("model.safetensors", device);
        let gedi = common::decoding::load_gedi(device);
        common::decoding::seeded_gedi_sampling(&base, &gedi)
    };
    let wgpu = patchbay::device::wgpu().expect("a wgpu adapter");
    assert_eq!(ids(&wgpu), ids(&patchbay::device::cpu()));
}
