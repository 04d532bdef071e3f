//! Parity with the TransformerLens oracle on burn's wgpu backend (Vulkan; lavapipe on machines without a GPU). No adapter is a failure, not a skip.

mod common;
use common::parity;

fn device() -> burn::tensor::Device {
    patchbay::device::wgpu().expect("a wgpu adapter: install mesa-vulkan-drivers (lavapipe)")
}

#[test]
fn logits_match_the_oracle() {
    parity::logits_match(&device());
}

#[test]
fn every_hook_matches_the_oracle() {
    parity::cache_matches(&device());
}

#[test]
fn ablation_interventions_match_the_oracle() {
    parity::ablations_match(&device());
}

#[test]
fn steering_intervention_matches_the_oracle() {
    parity::steering_matches(&device());
}
