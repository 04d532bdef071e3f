//! Experiment tables against the oracle on wgpu (lavapipe where there is no GPU; no adapter fails).

use crate::common;

experiment_tests!(patchbay::device::wgpu().expect("a wgpu adapter (mesa-vulkan-drivers)"));
