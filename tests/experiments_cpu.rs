//! Experiment tables (patching, ablation, lens, attribution) against the oracle on the CPU backend.

mod common;
use common::experiments as ex;

fn model() -> patchbay::model::Gpt2 {
    common::load_tiny("model.safetensors", &patchbay::device::cpu()).model
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

#[test]
fn sampling_is_seeded_and_follows_the_controls() {
    ex::sampling_behaves(&model());
}

#[test]
fn bad_generation_settings_are_refused() {
    ex::bad_generation_settings_are_refused(&model());
}

#[test]
fn patching_targets_and_ablation_modes_are_consistent() {
    ex::consistency_checks(&model());
}
