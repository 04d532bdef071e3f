//! SAE features against SAELens (`tests/sae/refs`, written by `tests/sae/gen_sae_refs.py`):
//! the same checks on each device.

use super::load_tiny;
use burn::tensor::{Device, Tensor, TensorData};
use patchbay::experiments::{GenerationName, GridName, MetricName, Progress};
use patchbay::loading::LoadedModel;
use patchbay::sae::{Sae, SaeFiles};
use patchbay::spec::{RunContext, RunResult, Spec, run};
use patchbay::tensor_io::{HostTensor, from_safetensors};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The SAEs of the oracle, each a folder in SAELens's format.
pub const NAMES: [&str; 3] = ["standard", "jumprelu", "topk"];

pub fn refs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sae/refs")
}

pub fn oracle() -> &'static Value {
    static JSON: OnceLock<Value> = OnceLock::new();
    JSON.get_or_init(|| {
        serde_json::from_slice(&std::fs::read(refs().join("sae.json")).unwrap()).unwrap()
    })
}

pub fn tensor(name: &str) -> &'static HostTensor {
    static TENSORS: OnceLock<BTreeMap<String, HostTensor>> = OnceLock::new();
    TENSORS
        .get_or_init(|| {
            from_safetensors(&std::fs::read(refs().join("sae.safetensors")).unwrap()).unwrap()
        })
        .get(name)
        .unwrap_or_else(|| panic!("no `{name}` in sae.safetensors"))
}

pub fn load(name: &str, device: &Device) -> Sae {
    SaeFiles::from_dir(refs().join(name))
        .unwrap()
        .load(device)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn host(tensor: Tensor<2>) -> HostTensor {
    HostTensor::from_data(tensor.into_data())
}

/// `encode` and `decode` of the oracle's activations equal SAELens's `acts` and `recon`; the
/// pre-6 config gives the standard SAE's numbers.
pub fn encode_matches(device: &Device) {
    for (name, data) in NAMES
        .iter()
        .map(|n| (*n, *n))
        .chain([("legacy", "standard")])
    {
        let sae = load(name, device);
        let x = tensor(&format!("{data}.x"));
        let x = Tensor::<2>::from_data(TensorData::new(x.values.clone(), x.shape.clone()), device);
        let encoded = sae.encode(x);
        let acts = host(encoded.acts.clone());
        super::assert_close(
            &format!("{name} acts"),
            &acts,
            tensor(&format!("{data}.acts")),
            1e-5,
        );
        let recon = host(sae.decode(encoded.acts, encoded.scale));
        super::assert_close(
            &format!("{name} recon"),
            &recon,
            tensor(&format!("{data}.recon")),
            1e-5,
        );
    }
}

/// Runs `experiment` on the tiny model with every oracle SAE loaded under its name.
pub fn run_with_saes(model: &LoadedModel, saes: &[(&str, Sae)], experiment: Value) -> RunResult {
    let spec = Spec::from_json(
        &json!({"version": 1, "model": {"id": "tiny"}, "seed": 0, "experiment": experiment})
            .to_string(),
    )
    .unwrap();
    let context = RunContext {
        model,
        others: vec![],
        saes: saes.iter().map(|(id, sae)| (*id, sae)).collect(),
        weights_sha256: String::new(),
        device: "test".into(),
        limits: patchbay::spec::Limits::default(),
    };
    pollster::block_on(run(&spec, &context, &mut Progress::none())).unwrap()
}

fn grid<'r>(result: &'r RunResult, name: &str) -> &'r [f32] {
    let name: GridName = name.parse().unwrap();
    &result.grids[&name].values
}

/// The `sae_features` kind on the IOI prompt: the activation at the hook (the model's, so 1e-4
/// as every hook of the oracle), each token's top features and their values, error norms, the
/// count of active features and the FVE.
pub fn features_match(device: &Device) {
    let model = load_tiny("model.safetensors", device);
    let oracle = oracle();
    for name in NAMES {
        let saes = [(name, load(name, device))];
        let expected = &oracle["saes"][name];
        let result = run_with_saes(
            &model,
            &saes,
            json!({"sae_features": {"sae": {"id": name}, "prompt": oracle["prompt"], "top": 8, "feature": 3}}),
        );
        let ids: Vec<u32> = grid(&result, "sae.top_features")
            .iter()
            .map(|&v| v as u32)
            .collect();
        let expected_ids: Vec<u32> = expected["top_ids"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as u32)
            })
            .collect();
        assert_eq!(ids, expected_ids, "{name}: top features");
        let floats = |v: &Value| -> Vec<f32> {
            let mut out = vec![];
            fn flat(v: &Value, out: &mut Vec<f32>) {
                match v {
                    Value::Array(items) => items.iter().for_each(|i| flat(i, out)),
                    other => out.push(other.as_f64().unwrap() as f32),
                }
            }
            flat(v, &mut out);
            out
        };
        let close = |what: &str, actual: &[f32], expected: &[f32]| {
            let diff = super::max_abs_diff(actual, expected);
            assert!(diff <= 1e-4, "{name} {what}: max |diff| {diff}");
        };
        close(
            "top activations",
            grid(&result, "sae.top_activations"),
            &floats(&expected["top_values"]),
        );
        close(
            "error norms",
            grid(&result, "sae.error_norm"),
            &floats(&expected["error_norm"]),
        );
        assert_eq!(
            grid(&result, "sae.active"),
            &floats(&expected["active_per_position"])[..],
            "{name}: active features per token"
        );
        let fve = result.metrics[&"sae.fve".parse::<MetricName>().unwrap()];
        close("fve", &[fve], &[expected["fve"].as_f64().unwrap() as f32]);
        // Feature 3's activation across the prompt: its column of SAELens's acts.
        let acts = tensor(&format!("{name}.acts"));
        let d_sae = acts.shape[1];
        let column: Vec<f32> = acts.values.iter().skip(3).step_by(d_sae).copied().collect();
        close("feature 3", grid(&result, "sae.feature"), &column);
        assert_eq!(
            grid(&result, "sae.feature_logits").len(),
            20,
            "{name}: 10 + 10 logits"
        );
    }
}

/// A generation's `new_ids` in sae.json.
fn new_ids(run: &Value) -> Vec<u32> {
    run["new_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect()
}

/// Greedy generation with a feature clamped, scaled or ablated at every position (the error term
/// kept) gives SAELens's `HookedSAETransformer` ids exactly (its uncached generate: see
/// gen_sae_refs.py), with and without Patchbay's KV cache.
pub fn edited_generation_matches(device: &Device) {
    let model = load_tiny("model.safetensors", device);
    let oracle = oracle();
    for name in NAMES {
        let saes = [(name, load(name, device))];
        let expected = &oracle["saes"][name]["generation"];
        let feature = expected["feature"].as_u64().unwrap();
        for (edit, action) in [
            (
                "clamp",
                json!({"clamp": {"value": expected["clamp"]["value"]}}),
            ),
            (
                "scale",
                json!({"scale": {"factor": expected["scale"]["value"]}}),
            ),
            ("ablate", json!("ablate")),
        ] {
            for kv_cache in [true, false] {
                let result = run_with_saes(
                    &model,
                    &saes,
                    json!({"generation": {
                        "prompt": oracle["generation_prompt"],
                        "prepend_bos": false,
                        "generation": {"max_new_tokens": oracle["new_tokens"], "temperature": 0.0, "kv_cache": kv_cache},
                        "features": {"sae": {"id": name}, "edits": [{"feature": feature, "action": action}]}
                    }}),
                );
                let ids = &result.generations[&GenerationName::Default]
                    .generation
                    .new_ids;
                let want = new_ids(&expected[edit]);
                assert_eq!(ids, &want, "{name} {edit} (kv cache {kv_cache})");
            }
        }
        // SAELens with the SAE spliced in and no edit: the plain model's continuation.
        let plain = new_ids(&expected["none"]);
        let result = run_with_saes(
            &model,
            &saes,
            json!({"generation": {
                "prompt": oracle["generation_prompt"],
                "prepend_bos": false,
                "generation": {"max_new_tokens": oracle["new_tokens"], "temperature": 0.0}
            }}),
        );
        assert_eq!(
            result.generations[&GenerationName::Default]
                .generation
                .new_ids,
            plain
        );
    }
}

/// `sae_attribution` on the oracle's IOI batch with the standard SAE (blocks.1.hook_resid_pre):
/// the features and the error node sum, position by position, to attribution patching of
/// `resid_pre` at layer 1, which equals TransformerLens's (`attrib.batch.resid_pre`, 1e-4); the
/// first feature's patch equals the corrupted run with that feature's clean activation spliced
/// in by hand; patching the error term and every feature restores the clean activation.
pub fn attribution_adds_up(device: &Device) {
    use patchbay::experiments::sae_attribution;
    use patchbay::experiments::{ExperimentKind, Progress};
    let model = load_tiny("model.safetensors", device);
    let sae = load("standard", device);
    let batch = super::experiments::batches("batch");
    let prompts = batch
        .pairs()
        .with_sae("sae", &sae)
        .with_tokenizer(&model.tokenizer);
    let params = sae_attribution::Params {
        sae: patchbay::loading::ModelRef {
            id: "sae".into(),
            revision: None,
        },
        top: 256,
        patched: 2,
        method: patchbay::experiments::AttributionMethod::Gradient,
        relp_rules: patchbay::experiments::RelpRule::DEFAULT.to_vec(),
    };
    params.check().unwrap();
    let output = pollster::block_on(sae_attribution::run(
        &model.model,
        &prompts,
        &params,
        &mut Progress::none(),
    ))
    .unwrap();
    let grid = |name: &str| {
        let name: GridName = name.parse().unwrap();
        output
            .grids
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, g)| g.clone())
            .unwrap()
    };
    let by_pos = grid("sae_attrib.by_pos");
    let error = grid("sae_attrib.error");
    let n_pos = error.shape[0];
    let summed: Vec<f32> = (0..n_pos)
        .map(|p| {
            (0..by_pos.shape[0])
                .map(|f| by_pos.values[f * n_pos + p])
                .sum::<f32>()
                + error.values[p]
        })
        .collect();
    // Every feature with a nonzero attribution is listed (top 256 = d_sae).
    let expected = super::reference("attrib.batch.resid_pre");
    let layer1 = &expected.values[n_pos..2 * n_pos];
    let diff = super::max_abs_diff(&summed, layer1);
    assert!(
        diff <= 1e-4,
        "features + error vs attrib.resid_pre layer 1: {diff}"
    );

    // The first listed feature patched by hand: the corrupted run with its clean activation.
    let feature = grid("sae_attrib.top_features").values[0] as usize;
    let patched_share = grid("sae_attrib.patched").values[0];
    let hook = sae.config.hook;
    let cache = |ids: &[Vec<u32>]| {
        let (_, cache) = model
            .model
            .run_with_cache(model.model.tokens(ids).unwrap(), |p| p == hook);
        cache.get::<3>(hook).unwrap()
    };
    let (xc, xk) = (cache(&batch.clean), cache(&batch.corrupted));
    let [b, p, d] = xc.dims();
    let (ec, ek) = (
        sae.encode(xc.reshape([b * p, d])),
        sae.encode(xk.clone().reshape([b * p, d])),
    );
    let idx = Tensor::<1, burn::tensor::Int>::from_data(
        TensorData::new(vec![feature as i32], [1]),
        device,
    );
    let change = ec.acts.select(1, idx.clone()) - ek.acts.select(1, idx.clone());
    let patched_x = xk
        + change
            .matmul(sae.w_dec.clone().select(0, idx))
            .reshape([b, p, d]);
    let shape = patched_x.dims().to_vec();
    let values: Vec<f32> = patched_x
        .into_data()
        .convert::<f32>()
        .try_into_vec()
        .unwrap();
    let replace = patchbay::hooks::Intervention::new(
        hook,
        patchbay::hooks::Action::Replace {
            values: patchbay::hooks::Values {
                shape,
                data: values,
            },
        },
    );
    let set = batch.pairs();
    let logits = model
        .model
        .run_with_hooks(model.model.tokens(&batch.corrupted).unwrap(), vec![replace]);
    let (metric, _) = pollster::block_on(set.score(logits.unwrap())).unwrap();
    let metrics: std::collections::BTreeMap<_, _> = output.metrics.iter().cloned().collect();
    let (clean, corrupted) = (metrics[&MetricName::Clean], metrics[&MetricName::Corrupted]);
    let share = (metric - corrupted) / (clean - corrupted);
    assert!(
        (share - patched_share).abs() <= 1e-4,
        "{share} vs {patched_share}"
    );
    assert!(metrics[&"sae_attrib.error_patched".parse::<MetricName>().unwrap()].is_finite());
}

/// Runs `experiment` on the IOI batch of `tests/specs/sae-attribution-tiny.json` with the
/// oracle's SAE `name` loaded under its name.
fn run_on_ioi(model: &LoadedModel, name: &str, sae: &Sae, experiment: Value) -> RunResult {
    let specs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/specs");
    let mut spec: Value =
        serde_json::from_slice(&std::fs::read(specs.join("sae-attribution-tiny.json")).unwrap())
            .unwrap();
    spec["experiment"] = experiment;
    let spec = Spec::from_json(&spec.to_string()).unwrap();
    let context = RunContext {
        model,
        others: vec![],
        saes: vec![(name, sae)],
        weights_sha256: String::new(),
        device: "test".into(),
        limits: patchbay::spec::Limits::default(),
    };
    pollster::block_on(run(&spec, &context, &mut Progress::none())).unwrap()
}

fn floats(value: &Value) -> Vec<f32> {
    match value {
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        number => vec![number.as_f64().unwrap() as f32],
    }
}

/// SAE features as targets of activation and attribution patching, against SAELens's
/// `HookedSAETransformer` with the error term (`patching` in sae.json): the features chosen,
/// each feature and the error term patched at each position, their gradient attributions and
/// the two runs' metrics, 1e-4; the features given by id patch the same.
pub fn feature_patching_matches(device: &Device) {
    let model = load_tiny("model.safetensors", device);
    for name in NAMES {
        let sae = load(name, device);
        let expected = &oracle()["saes"][name]["patching"];
        let check = |result: &RunResult, grid_name: &str, key: &str| {
            let diff = super::max_abs_diff(grid(result, grid_name), &floats(&expected[key]));
            assert!(
                diff <= 1e-4,
                "{name} {grid_name} vs SAELens's {key}: {diff}"
            );
        };
        let ids = floats(&expected["features"]);
        let estimated = run_on_ioi(
            &model,
            name,
            &sae,
            json!({"attribution_patching": {"compare": true, "targets": [],
                "features": {"sae": {"id": name}, "top": ids.len()}}}),
        );
        assert_eq!(grid(&estimated, "sae_patch.ids"), &ids[..], "{name}");
        check(&estimated, "sae_patch.attrib", "attrib");
        check(&estimated, "sae_patch.attrib_error", "attrib_error");
        check(&estimated, "sae_patch.features", "patch");
        check(&estimated, "sae_patch.error", "patch_error");
        for metric in ["clean", "corrupted"] {
            let value = estimated.metrics[&metric.parse::<MetricName>().unwrap()];
            let want = expected[metric].as_f64().unwrap() as f32;
            assert!(
                (value - want).abs() <= 1e-4,
                "{name} {metric}: {value} vs {want}"
            );
        }
        let r = estimated.metrics[&"sae_patch.pearson".parse::<MetricName>().unwrap()];
        assert!(r.is_finite() && r.abs() <= 1.0, "{name}: r = {r}");

        // By id, in another order, through activation patching; a few rows a pass.
        let reversed: Vec<u32> = ids.iter().rev().map(|&f| f as u32).collect();
        let patched = run_on_ioi(
            &model,
            name,
            &sae,
            json!({"activation_patching": {"max_rows": 24,
                "features": {"sae": {"id": name}, "ids": reversed}}}),
        );
        let n_pos = grid(&patched, "sae_patch.error").len();
        let by_feature = grid(&patched, "sae_patch.features");
        let expected_patch = floats(&expected["patch"]);
        for (i, row) in by_feature.chunks(n_pos).enumerate() {
            let j = ids.len() - 1 - i;
            let diff = super::max_abs_diff(row, &expected_patch[j * n_pos..(j + 1) * n_pos]);
            assert!(
                diff <= 1e-4,
                "{name} feature #{} by id: {diff}",
                reversed[i]
            );
        }
        let normalised = grid(&patched, "sae_patch.features.normalised");
        assert_eq!(normalised.len(), by_feature.len());
        assert_eq!(
            grid(&patched, "sae_patch.features.per_prompt").len(),
            by_feature.len() * 8
        );
    }
}
