//! Experiment tables (patching, ablation, lens, attribution) against the oracle on wgpu (lavapipe where there is no GPU; no adapter fails).

mod common;
use common::experiments as ex;

fn model() -> patchbay::model::Gpt2 {
    common::load_tiny(
        "model.safetensors",
        &patchbay::device::wgpu().expect("a wgpu adapter (mesa-vulkan-drivers)"),
    )
    .model
}

#[test]
fn activation_patching_matches_the_oracle() {
    ex::patching_matches(&model());
}

#[test]
fn ablation_matches_the_oracle() {
    ex::ablation_matches(&model());
}

#[test]
fn logit_lens_matches_the_oracle() {
    ex::lens_matches(&model());
}

#[test]
fn attribution_patching_matches_the_oracle() {
    ex::attribution_matches(&model());
}

#[test]
fn greedy_generation_matches_the_oracle() {
    ex::greedy_generation_matches(&model());
}

#[test]
fn steering_matches_the_oracle() {
    ex::steering_matches(&model());
}
