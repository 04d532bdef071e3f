//! Experiment tables (patching, ablation, lens, attribution, generation, steering) against the
//! oracle on the CPU backend, plus the checks that need no oracle.

use crate::common;

experiment_tests!(patchbay::device::cpu());

#[test]
fn sampling_is_seeded_and_follows_the_controls() {
    common::experiments::sampling_behaves(&model());
}

#[test]
fn a_gedi_model_must_read_the_same_tokens() {
    let base = common::load_tiny("model.safetensors", &patchbay::device::cpu());
    common::decoding::gedi_mismatches_are_refused(&base);
}

#[test]
fn bad_generation_settings_are_refused() {
    common::experiments::bad_generation_settings_are_refused(&model());
}

#[test]
fn patching_targets_and_ablation_modes_are_consistent() {
    common::experiments::consistency_checks(&model());
}
