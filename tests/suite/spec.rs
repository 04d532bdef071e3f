//! The experiment spec: strict parsing with JSON paths, and `patchbay run` on the shipped
//! examples reproducing the oracle's tables by name.

use crate::common;

use patchbay::spec::{RunResult, Spec};
use std::path::PathBuf;
use std::process::Command;

fn examples() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static/experiments");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_shipped_example_parses_and_round_trips() {
    let paths = examples();
    assert!(paths.len() >= 8);
    for path in paths {
        let spec = Spec::from_json(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            Spec::from_json(&spec.to_json()).unwrap(),
            spec,
            "{}",
            path.display()
        );
    }
}

fn edited(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("static/experiments/ioi-activation-patching.json");
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut value);
    value.to_string()
}

#[test]
fn invalid_specs_name_the_json_path() {
    let cases: Vec<(String, &str)> = vec![
        (
            edited(|v| {
                v["experiment"]["activation_patching"]["targets"][1] = "resid_sideways".into()
            }),
            "at `experiment.activation_patching.targets[1]`: unknown variant `resid_sideways`",
        ),
        (
            edited(|v| v["prompts"]["clean"][3] = serde_json::json!({"txt": "x"})),
            "at `prompts.clean[3]`",
        ),
        (
            edited(|v| v["experiment"]["activation_patching"]["max_row"] = 3.into()),
            "unknown field `max_row`",
        ),
        (
            edited(|v| v["prompts"]["answers"].as_array_mut().unwrap().truncate(3)),
            "at `prompts.answers`: 3 answer pairs for 8 prompts",
        ),
        (
            edited(|v| v["version"] = 0.into()),
            "at `version`: version 0 does not exist",
        ),
        (
            edited(|v| v["version"] = 2.into()),
            "version 2 was written by a newer Patchbay",
        ),
        (
            edited(|v| {
                v.as_object_mut()
                    .unwrap()
                    .remove("version")
                    .map(|_| ())
                    .unwrap()
            }),
            "at `version`: missing",
        ),
        (
            edited(|v| v["prompts"]["corrupted"] = serde_json::json!([])),
            "at `prompts.corrupted`: this experiment needs corrupted prompts",
        ),
        ("[1, 2".to_string(), "not JSON"),
        (
            edited(|v| {
                v["experiment"] = serde_json::json!({"attribution_patching": {"methods": ["grad"]}})
            }),
            "at `experiment.attribution_patching.methods[0]`: unknown variant `grad`, expected `gradient` or `relp`",
        ),
        (
            edited(|v| {
                v["experiment"] =
                    serde_json::json!({"edge_attribution_patching": {"relp_rules": ["ln", "ah"]}})
            }),
            "at `experiment.edge_attribution_patching.relp_rules[1]`: unknown variant `ah`, expected one of `ln`, `identity`, `attention`",
        ),
        (
            edited(|v| {
                v["experiment"] = serde_json::json!({"attribution_patching": {"methods": []}})
            }),
            "at `experiment.attribution_patching.methods`: name at least one method",
        ),
        (
            edited(
                |v| v["experiment"] = serde_json::json!({"attribution_patching": {"methods": ["relp"], "relp_rules": ["ln", "ln"]}}),
            ),
            "at `experiment.attribution_patching.relp_rules`: `ln` is named twice",
        ),
    ];
    for (text, message) in cases {
        let err = Spec::from_json(&text).unwrap_err().to_string();
        assert!(err.contains(message), "expected {message:?} in {err:?}");
    }
    let hook = r#"{"version": 1, "model": {"id": "gpt2"}, "experiment": {"steering": {"hook": "blocks.1.hook_resid_pr",
        "positive": " Love", "negative": " Hate", "coeff": 1.0, "prompt": "Hi"}}}"#;
    let err = Spec::from_json(hook).unwrap_err().to_string();
    assert!(
        err.contains("at `experiment.steering.hook`") && err.contains("not a GPT-2 hook name"),
        "{err}"
    );
}

fn run_cli(spec: &str) -> Result<RunResult, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_patchbay"))
        .args(["run", spec, "--model", common::tiny_dir().to_str().unwrap()])
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).unwrap())
}

fn example(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("static/experiments")
        .join(name)
        .display()
        .to_string()
}

#[track_caller]
fn assert_grid(result: &RunResult, ours: &str, oracle: &str) {
    let grid = result
        .grid(ours)
        .unwrap_or_else(|| panic!("no grid {ours}"));
    let expected = common::reference(oracle);
    assert_eq!(grid.shape, expected.shape, "{ours}");
    let diff = common::max_abs_diff(&grid.values, &expected.values);
    assert!(diff <= 1e-4, "{ours} vs {oracle}: {diff:e}");
}

#[test]
fn ioi_patching_example_reproduces_the_oracle() {
    let result = run_cli(&example("ioi-activation-patching.json")).unwrap();
    for name in [
        "resid_pre",
        "attn_out",
        "mlp_out",
        "attn_head_out_all_pos",
        "attn_head_out_by_pos",
        "attn_head_pattern_all_pos",
    ] {
        assert_grid(
            &result,
            &format!("patch.{name}"),
            &format!("patch.batch.{name}"),
        );
    }
    assert_eq!(
        result.grid("patch.resid_pre").unwrap().axes,
        vec!["layer", "pos"]
    );
    assert_eq!(result.tokens["clean"][0][1], "When");
    assert_eq!(result.provenance.weights_sha256.len(), 64);
    assert_eq!(result.spec.title.split(':').next(), Some("IOI"));
}

#[test]
fn ioi_lens_ablation_and_attribution_examples_reproduce_the_oracle() {
    let lens = run_cli(&example("ioi-logit-lens.json")).unwrap();
    for name in [
        "accumulated_resid_ln_recomputed_logit_diff",
        "accumulated_resid_ln_cached_logit_diff",
        "decompose_resid_logit_diff",
        "head_dla_logit_diff",
    ] {
        assert_grid(&lens, &format!("lens.{name}"), &format!("lens.{name}"));
    }
    let ablation = run_cli(&example("ioi-mean-ablation-heads.json")).unwrap();
    assert_grid(&ablation, "ablate.mean_head_z", "ablate.mean_head_z");
    assert_grid(
        &ablation,
        "ablate.mean_head_z_per_prompt",
        "ablate.mean_head_z_per_prompt",
    );
    let attribution = run_cli(&example("ioi-attribution-patching.json")).unwrap();
    for name in ["z", "z_by_pos", "resid_pre"] {
        assert_grid(
            &attribution,
            &format!("attrib.{name}"),
            &format!("attrib.batch.{name}"),
        );
        let r = attribution.metric(&format!("pearson.{name}")).unwrap();
        assert!((-1.0..=1.0).contains(&r), "pearson.{name} = {r}");
    }
}

#[test]
fn relp_example_reproduces_the_relp_oracle_through_the_cli() {
    use patchbay::tensor_io::from_safetensors;
    let oracle =
        from_safetensors(&std::fs::read(common::tiny_dir().join("relp.safetensors")).unwrap())
            .unwrap();
    let result = run_cli(&example("ioi-relp.json")).unwrap();
    for name in ["resid_pre", "attn_out", "mlp_out"] {
        for (ours, theirs) in [("attrib", "attrib"), ("relp", "relp")] {
            let grid = result
                .grid(&format!("{ours}.{name}"))
                .unwrap_or_else(|| panic!("no grid {ours}.{name}"));
            let expected = &oracle[&format!("{theirs}.batch.{name}")];
            assert_eq!(grid.shape, expected.shape, "{ours}.{name}");
            let diff = common::max_abs_diff(&grid.values, &expected.values);
            assert!(diff <= 1e-4, "{ours}.{name}: {diff:e}");
        }
        for metric in ["pearson", "pearson_relp"] {
            let r = result.metric(&format!("{metric}.{name}")).unwrap();
            assert!((-1.0..=1.0).contains(&r), "{metric}.{name} = {r}");
        }
    }
}

#[test]
fn steering_spec_reproduces_the_oracle_generation() {
    let spec = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/specs/steering-oracle.json");
    let result = run_cli(spec.to_str().unwrap()).unwrap();
    let expected: Vec<u32> = common::reference_json()["steering"]["steered_new_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(
        result.generation("steered").unwrap().generation.new_ids,
        expected
    );
    assert_eq!(
        result.generation("steered").unwrap().text,
        common::reference_json()["steering"]["steered_text"]
            .as_str()
            .unwrap()
    );
    assert_ne!(
        result.generation("unsteered").unwrap().generation.new_ids,
        expected
    );
}

fn spec_file(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/specs")
        .join(name)
        .display()
        .to_string()
}

fn run_cli_with(spec: &str, extra: &[&str]) -> Result<RunResult, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_patchbay"))
        .args(["run", spec, "--model", common::tiny_dir().to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn gedi_spec_runs_with_its_model_from_model_for() {
    let spec = spec_file("gedi-tiny.json");
    let gedi_dir = common::refs_dir().join("tiny-gpt2-gedi");
    let mapping = format!("tiny-gpt2-gedi (shared/refs)={}", gedi_dir.display());
    let oracle = &common::decoding::gedi_json()["cases"][0];
    for device in ["cpu", "wgpu"] {
        let result = run_cli_with(&spec, &["--model-for", &mapping, "--device", device]).unwrap();
        let generated = result.generation("default").unwrap();
        let expected: Vec<u32> = serde_json::from_value(oracle["new_ids"].clone()).unwrap();
        assert_eq!(generated.generation.new_ids, expected, "{device}");
        let first = &generated.generation.steps[0];
        let want = oracle["steps"][0]["lp_desired"].as_f64().unwrap().exp();
        assert!(
            (first.p_desired.unwrap() as f64 - want).abs() < 1e-4,
            "{device}"
        );
        assert!(first.filtered.unwrap() > 0, "{device}");
    }
    // Without the folder: a clear error naming the flag.
    let err = run_cli_with(&spec, &[]).unwrap_err();
    assert!(
        err.contains("--model-for tiny-gpt2-gedi (shared/refs)=DIR"),
        "{err}"
    );
}

#[test]
fn association_test_spec_reproduces_the_oracle_on_both_devices() {
    let spec = spec_file("weat-tiny.json");
    let oracle = patchbay::tensor_io::from_safetensors(
        &std::fs::read(common::tiny_dir().join("probes.safetensors")).unwrap(),
    )
    .unwrap();
    for device in ["cpu", "wgpu"] {
        let result = run_cli_with(&spec, &["--device", device]).unwrap();
        let s = result.grid("weat.s").unwrap();
        let diff = common::max_abs_diff(&s.values, &oracle["weat.resid.s"].values);
        assert!(diff < 1e-4, "{device}: weat.s differs by {diff}");
        for name in ["effect_size", "p_value"] {
            let ours = result.metric(&format!("weat.{name}")).unwrap();
            let theirs = oracle[&format!("weat.resid.{name}")].values[0];
            assert!(
                (ours - theirs).abs() < 1e-4,
                "{device} {name}: {ours} vs {theirs}"
            );
        }
    }
    // A word the template tokenises otherwise ("This iss." is not "This is" then "s") is named
    // at its place.
    let text = std::fs::read_to_string(&spec)
        .unwrap()
        .replace(
            "\"template\": \"This is {}.\"",
            "\"template\": \"This is{}.\"",
        )
        .replace("\" Amy\"", "\"s\"");
    let err = run_cli(&scratch("weat-untokenisable.json", &text)).unwrap_err();
    assert!(
        err.contains("experiment.association_test.targets[1][0]") && err.contains("tokenised"),
        "{err}"
    );
}

#[test]
fn frequency_tagging_spec_reproduces_the_oracle_on_both_devices() {
    let spec = spec_file("hftp-tiny.json");
    let oracle = patchbay::tensor_io::from_safetensors(
        &std::fs::read(common::tiny_dir().join("probes.safetensors")).unwrap(),
    )
    .unwrap();
    for device in ["cpu", "wgpu"] {
        let result = run_cli_with(&spec, &["--device", device]).unwrap();
        let tagged = result.grid("hftp.tagged").unwrap();
        let diff = common::max_abs_diff(&tagged.values, &oracle["hftp.tagged"].values);
        assert!(diff < 1e-4, "{device}: hftp.tagged differs by {diff}");
        let spectrum = result.grid("hftp.spectrum").unwrap();
        for (a, b) in spectrum.values.iter().zip(&oracle["hftp.spectrum"].values) {
            assert!(
                (a - b).abs() <= 1e-3 * b.abs().max(1e-6),
                "{device}: spectrum {a} vs {b}"
            );
        }
        assert!(
            result.grid("hftp.tagged_shuffled").is_some(),
            "the control runs by default"
        );
    }
    // A sentence of another length is named at its place, with its tokens.
    let text = std::fs::read_to_string(&spec).unwrap().replacen(
        "\" small cars hold kids\"",
        "\" small cars hold the kids\"",
        1,
    );
    let err = run_cli(&scratch("hftp-five.json", &text)).unwrap_err();
    assert!(
        err.contains("experiment.frequency_tagging.sentences[0]") && err.contains("5 tokens"),
        "{err}"
    );
}

#[test]
fn beam_spec_reproduces_transformers_beam_search() {
    let result = run_cli(&spec_file("beam-tiny.json")).unwrap();
    let oracle = &common::decoding::gedi_json()["beam"][1];
    let generated = &result.generation("default").unwrap().generation;
    let expected: Vec<u32> = serde_json::from_value(oracle["new_ids"].clone()).unwrap();
    assert_eq!(generated.new_ids, expected);
    let score = generated.beams[0].score as f64;
    assert!((score - oracle["sequence_score"].as_f64().unwrap()).abs() < 1e-4);
    assert_eq!(generated.beams.len(), 4);
}

#[test]
fn bad_decoding_settings_name_their_field_before_anything_runs() {
    let base = std::fs::read_to_string(spec_file("gedi-tiny.json")).unwrap();
    type Edit<'a> = &'a dyn Fn(&mut serde_json::Value);
    let cases: [(Edit, &str, &str); 5] = [
        (
            &|v| v["experiment"]["generation"]["generation"]["num_beams"] = 17.into(),
            "experiment.generation.generation.num_beams",
            "1 (no beams) to 16",
        ),
        (
            &|v| {
                let g = &mut v["experiment"]["generation"]["generation"];
                g["num_beams"] = 4.into();
            },
            "experiment.generation.generation.num_beams",
            "GeDi guides one sequence at a time",
        ),
        (
            &|v| v["experiment"]["generation"]["generation"]["gedi"]["desired"] = "".into(),
            "experiment.generation.generation.gedi.desired",
            "control code",
        ),
        (
            &|v| v["experiment"]["generation"]["generation"]["gedi"]["filter_p"] = 2.into(),
            "experiment.generation.generation.gedi.filter_p",
            "[0, 1]",
        ),
        (
            &|v| {
                let g = &mut v["experiment"]["generation"]["generation"];
                g["gedi"] = serde_json::Value::Null;
                g["num_beams"] = 3.into();
                g["temperature"] = 0.7.into();
            },
            "experiment.generation.generation.num_beams",
            "greedily",
        ),
    ];
    for (edit, path, message) in cases {
        let mut v: serde_json::Value = serde_json::from_str(&base).unwrap();
        edit(&mut v);
        let err = patchbay::spec::Spec::from_json(&v.to_string()).unwrap_err();
        assert_eq!(err.path, path, "{err}");
        assert!(err.message.contains(message), "{err}");
    }
}

#[test]
fn unequal_prompt_lengths_show_both_tokenisations() {
    let text = edited(|v| {
        v["prompts"]["corrupted"][2] =
            "When Tom and James went to the park, Jamesy gave the ball to".into()
    });
    let path = std::env::temp_dir().join(format!("patchbay-unequal-{}.json", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let err = run_cli(path.to_str().unwrap()).unwrap_err();
    std::fs::remove_file(&path).ok();
    assert!(
        err.contains("clean and corrupted prompt 2 must have the same number of tokens"),
        "{err}"
    );
    assert!(
        err.contains("clean (15 tokens)") && err.contains("corrupted (16 tokens)"),
        "{err}"
    );
    assert!(err.contains("\" James\"") && err.contains("\"y\""), "{err}");
}

fn scratch(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("patchbay-spec-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The IOI prompts of the examples with another experiment.
fn ioi_spec(experiment: serde_json::Value) -> String {
    let mut spec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(example("ioi-activation-patching.json")).unwrap(),
    )
    .unwrap();
    spec["experiment"] = experiment;
    spec.to_string()
}

#[test]
fn path_patching_specs_reproduce_the_oracle_through_the_cli() {
    for (direction, receivers, grid) in [
        (
            "noising",
            serde_json::json!("final_resid"),
            "head_to_final_resid",
        ),
        (
            "denoising",
            serde_json::json!({"heads": [[1, 0], [1, 1]], "input": "v"}),
            "head_to_receivers.v",
        ),
    ] {
        let spec = ioi_spec(serde_json::json!({"path_patching": {
            "direction": direction, "receivers": receivers, "max_rows": 16
        }}));
        let result = run_cli(&scratch(&format!("path-{direction}.json"), &spec)).unwrap();
        let ours = result.grid(&format!("path.{grid}")).unwrap();
        let expected = common::path_reference(&format!("path.{direction}.{grid}"));
        assert_eq!(ours.shape, expected.shape);
        let diff = common::max_abs_diff(&ours.values, &expected.values);
        assert!(diff <= 1e-4, "{grid}: {diff:e}");
    }
}

/// `patchbay dataset ioi` writes 64 generated prompts into a spec that `patchbay run` runs.
#[test]
fn a_generated_ioi_dataset_runs_path_patching_through_the_cli() {
    let spec = scratch(
        "ioi-64-base.json",
        &ioi_spec(serde_json::json!({"path_patching": {
            "direction": "noising", "receivers": {"heads": [[1, 0]], "input": "q"}
        }})),
    );
    let with_dataset = scratch("ioi-64.json", "");
    let out = Command::new(env!("CARGO_BIN_EXE_patchbay"))
        .args([
            "dataset", "ioi", "--n", "64", "--seed", "3", "--into", &spec, "--out",
        ])
        .arg(&with_dataset)
        .args(["--model", common::tiny_dir().to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("64 IOI prompts"), "{stderr}");
    let result = run_cli(&with_dataset).unwrap();
    assert_eq!(result.spec.prompts.as_ref().unwrap().clean.len(), 64);
    let per_prompt = result.grid("path.head_to_receivers.q.per_prompt").unwrap();
    assert_eq!(per_prompt.shape[2], 64);
    assert!(per_prompt.values.iter().all(|v| v.is_finite()));
    // Senders after the receivers' layer reach them by no path: the clean run's metric.
    let raw = result.grid("path.head_to_receivers.q").unwrap();
    let clean = result.metric("clean").unwrap();
    let n_head = raw.shape[1];
    assert!(
        raw.values[n_head..]
            .iter()
            .all(|v| (v - clean).abs() < 1e-5)
    );
}

/// The examples on generated datasets: edge attribution, Colored Objects and multiple choice
/// run on any model (here the tiny one, on the examples' own prompts); the name movers exist
/// only in a 12-layer model, and a smaller one says so instead of running.
#[test]
fn the_ioi_dataset_examples_run_where_their_heads_exist() {
    let eap = run_cli(&example("ioi-edge-attribution.json")).unwrap();
    let scores = eap.grid("eap.scores").unwrap();
    let (up, down) = patchbay::experiments::eap::nodes(2, 4);
    assert_eq!(scores.shape, [up.len(), down.len()]);
    assert_eq!(eap.spec.prompts.as_ref().unwrap().clean.len(), 64);
    let err = run_cli(&example("ioi-path-patching-name-movers.json")).unwrap_err();
    assert!(err.contains("receiver head L9H9 does not exist"), "{err}");
    for (name, grid, prompts) in [
        (
            "colored-objects-head-patching.json",
            "patch.attn_head_out_all_pos",
            32,
        ),
        ("mcq-anchored-patching.json", "patch.mlp_out", 32),
    ] {
        let result = run_cli(&example(name)).unwrap();
        assert_eq!(
            result.spec.prompts.as_ref().unwrap().clean.len(),
            prompts,
            "{name}"
        );
        let grid = result.grid(grid).unwrap();
        assert!(grid.values.iter().all(|v| v.is_finite()), "{name}");
    }
}

/// The value at a spec error's path (`experiment.loss.texts`, `prompts.answers[0][1]`).
fn at_path<'v>(value: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    path.split('.').try_fold(value, |v, part| {
        let (key, indices) = part
            .split_once('[')
            .map_or((part, ""), |(k, rest)| (k, rest));
        let mut v = v.get(key)?;
        for index in indices.split('[').filter(|s| !s.is_empty()) {
            v = v.get(index.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
        Some(v)
    })
}

#[test]
fn every_kinds_parameter_errors_name_a_path_that_exists_in_the_spec() {
    // Each kind's checked parameter, broken.
    let broken: [(&str, serde_json::Value); 7] = [
        ("targets", serde_json::json!([])),
        ("top", serde_json::json!(0)),
        ("max_rows", serde_json::json!(0)),
        ("texts", serde_json::json!([])),
        ("repeats", serde_json::json!(0)),
        ("receivers", serde_json::json!({"heads": [], "input": "q"})),
        ("keep", serde_json::json!([[99, 99], [99, 99]])),
    ];
    let mut named = std::collections::BTreeSet::new();
    for path in examples() {
        let original: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let Some((kind, _)) = original["experiment"]
            .as_object()
            .and_then(|m| m.iter().next())
        else {
            continue;
        };
        for (field, bad) in &broken {
            let mut spec = original.clone();
            let params = &mut spec["experiment"][kind.as_str()];
            if params.get(*field).is_none() {
                continue;
            }
            params[*field] = bad.clone();
            let Err(e) = Spec::from_json(&spec.to_string()) else {
                continue;
            };
            if !e.path.starts_with("experiment.") {
                continue;
            }
            assert!(
                at_path(&spec, &e.path).is_some(),
                "{}: `{}` is not in the spec ({})",
                path.display(),
                e.path,
                e.message
            );
            named.insert(kind.clone());
        }
    }
    for kind in [
        "activation_patching",
        "attribution_patching",
        "path_patching",
        "edge_attribution_patching",
        "loss",
        "repetition",
        "neuron_dla",
    ] {
        assert!(
            named.contains(kind),
            "no parameter error of {kind} was checked"
        );
    }
}

/// `patchbay dataset sentences` writes a rhythm's stream into a frequency-tagging spec (its
/// other fields kept) that `patchbay run` tags.
#[test]
fn generated_sentences_run_frequency_tagging_through_the_cli() {
    let spec = spec_file("hftp-tiny.json");
    let with_stream = scratch("hftp-generated.json", "");
    let out = Command::new(env!("CARGO_BIN_EXE_patchbay"))
        .args(["dataset", "sentences", "--n", "16", "--seed", "5", "--into"])
        .arg(&spec)
        .arg("--out")
        .arg(&with_stream)
        .args(["--model", common::tiny_dir().to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("16 sentences") && stderr.contains("frequency-tagging sentences"),
        "{stderr}"
    );
    let result = run_cli(&with_stream).unwrap();
    let patchbay::spec::Experiment::FrequencyTagging(params) = &result.spec.experiment else {
        panic!("a frequency-tagging run");
    };
    assert_eq!(params.sentences.len(), 16);
    assert_eq!(
        result.grid("hftp.spectrum").unwrap().shape[1],
        16 * 4 / 2 + 1
    );
    let traces = result.grid("hftp.traces").unwrap();
    assert_eq!(
        traces.shape[1], 64,
        "a trace per listed neuron over the stream"
    );
}

/// A steering spec that takes its direction from an example's run says how to get it, in
/// `patchbay run` and in the exports, instead of steering with nothing.
#[test]
fn a_direction_still_to_be_found_is_explained_not_run() {
    let err = run_cli(&example("moral-direction-steering.json")).unwrap_err();
    assert!(
        err.contains("example:moral-direction") && err.contains("preset"),
        "{err}"
    );
    let spec = Spec::from_json(
        &std::fs::read_to_string(example("moral-direction-steering.json")).unwrap(),
    )
    .unwrap();
    for library in patchbay::export::Library::ALL {
        let err = patchbay::export::to_python(&spec, library).unwrap_err();
        assert!(err.to_string().contains("example:moral-direction"), "{err}");
    }
    let text = std::fs::read_to_string(example("moral-direction-steering.json"))
        .unwrap()
        .replace("example:moral-direction", "example:ioi-circuit");
    let err = Spec::from_json(&text).unwrap_err().to_string();
    assert!(err.contains("not a bundled direction example"), "{err}");
}

/// The direction specs of tests/specs (ci/interop's for the direction kind) give the oracle's
/// projections through `patchbay run`.
#[test]
fn direction_specs_reproduce_the_oracle() {
    let oracle = patchbay::tensor_io::from_safetensors(
        &std::fs::read(common::tiny_dir().join("probes.safetensors")).unwrap(),
    )
    .unwrap();
    for (file, name) in [
        ("direction-tiny.json", "direction.pca.projection"),
        (
            "direction-mean-difference-tiny.json",
            "direction.mean_difference.projection",
        ),
    ] {
        let result = run_cli(&spec_file(file)).unwrap();
        let ours = result.grid("direction.projection").unwrap();
        let diff = common::max_abs_diff(&ours.values, &oracle[name].values);
        assert!(diff < 1e-4, "{file}: {diff}");
    }
}

/// `patchbay run` says the answer first (on stderr): the metric on both prompt sets with the
/// paper's values, then the cells that restore the most, read here from the result itself.
#[test]
fn a_run_says_its_answer_in_words() {
    let out = Command::new(env!("CARGO_BIN_EXE_patchbay"))
        .args([
            "run",
            &example("ioi-activation-patching.json"),
            "--model",
            common::tiny_dir().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let result: RunResult = serde_json::from_slice(&out.stdout).unwrap();
    let two = |v: f32| format!("{v:.2}").replace('-', "−");
    let clean = result.metric("clean").unwrap();
    let corrupted = result.metric("corrupted").unwrap();
    assert!(
        said.contains(&format!(
            "Logit difference: {} (published: 3.55) on the clean prompts, {} (published: −3.55) on the corrupted ones.",
            two(clean),
            two(corrupted)
        )),
        "{said}"
    );
    let grid = result.grid("patch.resid_pre.normalised").unwrap();
    let top = (0..grid.values.len())
        .max_by(|&a, &b| {
            grid.values[a]
                .abs()
                .total_cmp(&grid.values[b].abs())
                .then(b.cmp(&a))
        })
        .unwrap();
    let (layer, pos) = (top / grid.shape[1], top % grid.shape[1]);
    let token = &result.tokens["clean"][0][pos];
    let percent = format!("{:.0} %", 100.0 * grid.values[top]).replace('-', "−");
    let sentence = format!(
        "Patching the residual stream entering each layer: layer {layer} at position {pos} ({token:?}) recovers {percent} of the effect"
    );
    assert!(said.contains(&sentence), "expected {sentence:?} in {said}");
    // The paper puts the information at S2 (position 10) in every layer's residual stream.
    if pos == 10 {
        assert!(
            said.contains(&format!("{sentence} (published: 1.00)")),
            "{said}"
        );
    }
    for what in [
        "each layer's attention output",
        "each layer's MLP output",
        "each head's output (all positions)",
    ] {
        assert!(
            said.contains(&format!("Patching {what}: ")),
            "{what}: {said}"
        );
    }
}
