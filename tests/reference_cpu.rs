//! Parity with the TransformerLens oracle on burn's CPU backend.

mod common;
use common::parity;

fn device() -> burn::tensor::Device {
    patchbay::device::cpu()
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
