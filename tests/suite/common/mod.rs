//! Shared helpers for the reference-parity tests: the oracle in `../shared/refs`.
#![allow(dead_code)]

use burn::tensor::Device;
use patchbay::loading::{LoadedModel, ModelFiles};
use patchbay::tensor_io::{HostTensor, from_safetensors};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// `../shared/refs` beside the repository (override with `PATCHBAY_REFS`).
pub fn refs_dir() -> PathBuf {
    std::env::var_os("PATCHBAY_REFS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/refs"))
}

pub fn tiny_dir() -> PathBuf {
    refs_dir().join("tiny-gpt2")
}

/// `reference.json`.
pub fn reference_json() -> &'static Value {
    static JSON: OnceLock<Value> = OnceLock::new();
    JSON.get_or_init(|| {
        let bytes = std::fs::read(tiny_dir().join("reference.json"))
            .expect("reference.json (see ../shared/refs/README.md)");
        serde_json::from_slice(&bytes).unwrap()
    })
}

/// Every tensor of `reference.safetensors`.
pub fn reference_tensors() -> &'static BTreeMap<String, HostTensor> {
    static TENSORS: OnceLock<BTreeMap<String, HostTensor>> = OnceLock::new();
    TENSORS.get_or_init(|| {
        let bytes = std::fs::read(tiny_dir().join("reference.safetensors")).unwrap();
        from_safetensors(&bytes).unwrap()
    })
}

pub fn reference(name: &str) -> &'static HostTensor {
    reference_tensors()
        .get(name)
        .unwrap_or_else(|| panic!("no `{name}` in reference.safetensors"))
}

/// `path.json` (path patching's receivers, base metrics and semantics).
pub fn path_json() -> &'static Value {
    static JSON: OnceLock<Value> = OnceLock::new();
    JSON.get_or_init(|| {
        serde_json::from_slice(&std::fs::read(tiny_dir().join("path.json")).unwrap()).unwrap()
    })
}

/// A tensor of `path.safetensors` (`path.{noising,denoising}.*`).
pub fn path_reference(name: &str) -> &'static HostTensor {
    static TENSORS: OnceLock<BTreeMap<String, HostTensor>> = OnceLock::new();
    TENSORS
        .get_or_init(|| {
            let bytes = std::fs::read(tiny_dir().join("path.safetensors")).unwrap();
            from_safetensors(&bytes).unwrap()
        })
        .get(name)
        .unwrap_or_else(|| panic!("no `{name}` in path.safetensors"))
}

/// The tiny model folder with `weights` as its `model.safetensors`.
pub fn load_tiny(weights: &str, device: &Device) -> LoadedModel {
    let dir = tiny_dir();
    let mut files = ModelFiles::from_dir(&dir).unwrap();
    files.weights = std::fs::read(dir.join(weights)).unwrap();
    files.load(device).unwrap()
}

/// The tiny model as the browser's worker holds it, on the CPU.
pub fn tiny_session() -> patchbay::session::Session {
    patchbay::session::Session {
        name: "tiny".into(),
        model: load_tiny("model.safetensors", &patchbay::device::cpu()),
        weights_sha256: "0".repeat(64),
        backend: patchbay::device::Backend::Cpu,
    }
}

/// Token ids as `Vec<Vec<u32>>` from a JSON array of arrays.
pub fn ids(value: &Value) -> Vec<Vec<u32>> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|seq| {
            seq.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect()
        })
        .collect()
}

pub fn clean_ids() -> Vec<Vec<u32>> {
    ids(&reference_json()["clean_ids"])
}

/// Largest |a - b|, with NaN counted as infinitely far and matching infinities as equal.
pub fn max_abs_diff(actual: &[f32], expected: &[f32]) -> f32 {
    assert_eq!(actual.len(), expected.len(), "length mismatch");
    actual
        .iter()
        .zip(expected)
        .map(|(&a, &e)| {
            if a == e {
                0.0
            } else if a.is_nan() || e.is_nan() {
                f32::INFINITY
            } else {
                (a - e).abs()
            }
        })
        .fold(0.0, f32::max)
}

/// Asserts equal shapes and values within `tol`.
#[track_caller]
pub fn assert_close(what: &str, actual: &HostTensor, expected: &HostTensor, tol: f32) {
    assert_eq!(actual.shape, expected.shape, "{what}: shape");
    let diff = max_abs_diff(&actual.values, &expected.values);
    assert!(diff <= tol, "{what}: max abs diff {diff:e} > {tol:e}");
}
pub mod decoding;
pub mod experiments;
pub mod parity;
pub mod sae;

/// The oracle-parity tests for one device, as test functions in the calling file.
#[allow(unused_macros)]
macro_rules! parity_tests {
    ($device:expr) => {
        #[test]
        fn logits_match_the_oracle() {
            common::parity::logits_match(&$device);
        }

        #[test]
        fn every_hook_matches_the_oracle() {
            common::parity::cache_matches(&$device);
        }

        #[test]
        fn ablation_interventions_match_the_oracle() {
            common::parity::ablations_match(&$device);
        }

        #[test]
        fn steering_intervention_matches_the_oracle() {
            common::parity::steering_matches(&$device);
        }
    };
}

/// The experiment-table tests for one device.
#[allow(unused_macros)]
macro_rules! experiment_tests {
    ($device:expr) => {
        fn model() -> patchbay::model::Gpt2 {
            common::load_tiny("model.safetensors", &$device).model
        }

        #[test]
        fn activation_patching_matches_the_oracle() {
            common::experiments::patching_matches(&model());
        }

        #[test]
        fn ablation_matches_the_oracle() {
            common::experiments::ablation_matches(&model());
        }

        #[test]
        fn logit_lens_matches_the_oracle() {
            common::experiments::lens_matches(&model());
        }

        #[test]
        fn attribution_patching_matches_the_oracle() {
            common::experiments::attribution_matches(&model());
        }

        #[test]
        fn greedy_generation_matches_the_oracle() {
            common::experiments::greedy_generation_matches(&model());
        }

        #[test]
        fn path_patching_matches_the_oracle() {
            common::experiments::path_patching_matches(&model());
        }

        #[test]
        fn edge_attribution_agrees_with_node_attribution_and_exact_edge_patching() {
            common::experiments::eap_matches(&model());
        }

        #[test]
        fn relevance_patching_matches_the_oracle() {
            common::experiments::relp_matches(&model());
        }

        #[test]
        fn edge_relevance_patching_sums_to_node_relevance_patching() {
            common::experiments::edge_relp_matches(&model());
        }

        #[test]
        fn steering_matches_the_oracle() {
            common::experiments::steering_matches(&model());
        }

        #[test]
        fn gedi_guided_generation_matches_the_oracle() {
            let base = common::load_tiny("model.safetensors", &$device);
            let gedi = common::decoding::load_gedi(&$device);
            common::decoding::gedi_matches(&base, &gedi);
            common::decoding::zero_weight_gedi_is_greedy(&base, &gedi);
        }

        #[test]
        fn beam_search_matches_transformers() {
            common::decoding::beams_match(&common::load_tiny("model.safetensors", &$device));
        }

        #[test]
        fn frequency_tagging_matches_the_oracle() {
            common::experiments::frequency_matches(&model());
        }

        #[test]
        fn a_word_association_test_matches_the_oracle() {
            common::experiments::association_matches(&model());
        }

        #[test]
        fn a_direction_from_texts_matches_the_oracle() {
            common::experiments::direction_matches(&model());
        }
    };
}
