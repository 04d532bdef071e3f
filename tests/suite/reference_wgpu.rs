//! Parity with the TransformerLens oracle on burn's wgpu backend (Vulkan; lavapipe on machines
//! without a GPU). No adapter is a failure, not a skip.

use crate::common;

parity_tests!(
    patchbay::device::wgpu().expect("a wgpu adapter: install mesa-vulkan-drivers (lavapipe)")
);
