//! SAE features against SAELens on the CPU and on wgpu, and what a bad SAE or edit is told.

use crate::common;
use crate::common::sae::{load, refs, run_with_saes};
use patchbay::sae::{SaeConfig, SaeError, SaeFiles, sae_bytes};
use serde_json::json;

fn wgpu() -> burn::tensor::Device {
    patchbay::device::wgpu().expect("a wgpu adapter (mesa-vulkan-drivers)")
}

#[test]
fn encoding_matches_saelens_on_the_cpu() {
    common::sae::encode_matches(&patchbay::device::cpu());
}

#[test]
fn encoding_matches_saelens_on_wgpu() {
    common::sae::encode_matches(&wgpu());
}

#[test]
fn features_of_a_prompt_match_saelens_on_the_cpu() {
    common::sae::features_match(&patchbay::device::cpu());
}

#[test]
fn features_of_a_prompt_match_saelens_on_wgpu() {
    common::sae::features_match(&wgpu());
}

#[test]
fn generation_with_edited_features_matches_saelens_on_the_cpu() {
    common::sae::edited_generation_matches(&patchbay::device::cpu());
}

#[test]
fn generation_with_edited_features_matches_saelens_on_wgpu() {
    common::sae::edited_generation_matches(&wgpu());
}

#[test]
fn gpt2_small_res_jb_holds_151_mb_a_layer() {
    let config = SaeConfig::from_json(
        br#"{"architecture":"standard","d_in":768,"d_sae":24576,"metadata":{"hook_name":"blocks.8.hook_resid_pre"}}"#,
    )
    .unwrap();
    assert_eq!(sae_bytes(&config), 151_096_320);
}

#[test]
fn a_broken_sae_folder_is_told_what_is_wrong() {
    let device = patchbay::device::cpu();
    let files = SaeFiles::from_dir(refs().join("standard")).unwrap();
    let err = |files: &SaeFiles| files.load(&device).unwrap_err().to_string();

    let mut cut = files.clone();
    cut.weights.truncate(cut.weights.len() / 2);
    assert!(err(&cut).contains("truncated"), "{}", err(&cut));

    let mut wide = files.clone();
    wide.config = String::from_utf8(files.config.clone())
        .unwrap()
        .replace("\"d_sae\": 256", "\"d_sae\": 512")
        .into_bytes();
    assert!(
        wide.config != files.config,
        "the oracle's cfg.json has \"d_sae\": 256"
    );
    assert!(
        err(&wide).contains("`W_enc` of shape [64, 256], but cfg.json implies [64, 512]"),
        "{}",
        err(&wide)
    );

    // A JumpReLU config over the standard SAE's weights: no threshold.
    let mut jump = files.clone();
    jump.config = String::from_utf8(files.config.clone())
        .unwrap()
        .replace(
            "\"architecture\": \"standard\"",
            "\"architecture\": \"jumprelu\"",
        )
        .into_bytes();
    assert!(
        err(&jump).contains("no tensor `threshold`"),
        "{}",
        err(&jump)
    );

    let mut other = files;
    other.config = b"[1]".to_vec();
    assert!(matches!(other.load(&device), Err(SaeError::Config(_))));
}

#[test]
fn an_sae_for_another_width_or_a_missing_feature_is_refused_by_its_place_in_the_spec() {
    let device = patchbay::device::cpu();
    let model = common::load_tiny("model.safetensors", &device);
    let sae = load("standard", &device);
    let mut wide = sae.config.clone();
    wide.d_in = 768;
    let wide = patchbay::sae::Sae::random(wide, 0, &device);
    assert!(
        wide.check_fits(&model.model.config)
            .unwrap_err()
            .to_string()
            .contains(
                "d_in 768, but the model's blocks.1.hook_resid_pre has shape [batch, pos, 64]"
            )
    );
    let spec = |experiment: serde_json::Value| {
        patchbay::spec::Spec::from_json(
            &json!({"version": 1, "model": {"id": "tiny"}, "experiment": experiment}).to_string(),
        )
    };
    let context = patchbay::spec::RunContext {
        model: &model,
        others: vec![],
        saes: vec![("sae", &sae)],
        weights_sha256: String::new(),
        device: "cpu".into(),
        limits: patchbay::spec::Limits::default(),
    };
    let failure = |experiment| {
        let spec = spec(experiment).unwrap();
        let err = pollster::block_on(patchbay::spec::run(
            &spec,
            &context,
            &mut patchbay::experiments::Progress::none(),
        ))
        .unwrap_err();
        patchbay::failure::Failure::from(err).to_string()
    };
    let edit = |feature: usize| json!({"generation": {"prompt": "Hi", "features": {"sae": {"id": "sae"}, "edits": [{"feature": feature, "action": "ablate"}]}}});
    let told = failure(edit(256));
    assert!(
        told.contains("experiment.generation.features.edits[0].feature")
            && told.contains("features 0 to 255, not 256"),
        "{told}"
    );
    let told = failure(json!({"sae_features": {"sae": {"id": "elsewhere"}, "prompt": "Hi"}}));
    assert!(
        told.contains("experiment.sae_features.sae") && told.contains("`elsewhere` is not loaded"),
        "{told}"
    );
    let told =
        failure(json!({"sae_features": {"sae": {"id": "sae"}, "prompt": "Hi", "feature": 300}}));
    assert!(told.contains("features 0 to 255, not 300"), "{told}");
    // Checked before any model: NaN, no edits, a width past any SAE.
    let refused = |experiment| spec(experiment).unwrap_err().to_string();
    let nan = json!({"generation": {"prompt": "Hi", "features": {"sae": {"id": "sae"}, "edits": [{"feature": 1, "action": {"scale": {"factor": 1e39}}}]}}});
    assert!(refused(nan).contains("experiment.generation.features.edits[0].action"));
    let none =
        json!({"generation": {"prompt": "Hi", "features": {"sae": {"id": "sae"}, "edits": []}}});
    assert!(refused(none).contains("give at least one feature"));
    let top = json!({"sae_features": {"sae": {"id": "sae"}, "prompt": "Hi", "top": 0}});
    assert!(refused(top).contains("experiment.sae_features.top"));
    let _ = run_with_saes;
}

#[test]
fn sae_experiments_export_with_saelens_where_it_runs_and_plain_torch_elsewhere() {
    use patchbay::export::{Library, to_python};
    let spec = patchbay::spec::Spec::from_json(
        &json!({"version": 1, "model": {"id": "tiny"}, "experiment": {"sae_features": {
            "sae": {"id": "jbloom/GPT2-Small-SAEs-Reformatted/blocks.8.hook_resid_pre"},
            "prompt": "When John and Mary", "feature": 7}}})
        .to_string(),
    )
    .unwrap();
    for (library, loader) in [
        (Library::TransformerLens3, "from sae_lens import SAE"),
        (Library::TransformerLens, "class Sae:"),
        (Library::Nnsight, "class Sae:"),
    ] {
        let script = to_python(&spec, library).unwrap();
        crate::export::parses_as_python("sae_features", &script);
        assert!(script.contains(loader), "{library:?}");
        assert!(
            script.contains(
                "SAE_ID = \"jbloom/GPT2-Small-SAEs-Reformatted/blocks.8.hook_resid_pre\""
            )
        );
        assert!(
            script.contains("FEATURE = 7") && script.contains("sae_features(x")
                || script.contains("sae_features(cache")
        );
    }
    let generation = patchbay::spec::Spec::from_json(
        &json!({"version": 1, "model": {"id": "tiny"}, "experiment": {"generation": {
            "prompt": "The quick brown fox",
            "features": {"sae": {"id": "local"}, "edits": [{"feature": 1, "action": {"clamp": {"value": 8.0}}}]}}}})
        .to_string(),
    )
    .unwrap();
    for (library, applied) in [
        (
            Library::TransformerLens3,
            "hooks = [(SAE_HOOK, edit_features)] + hooks",
        ),
        (
            Library::TransformerLens,
            "hooks = [(SAE_HOOK, edit_features)] + hooks",
        ),
        (Library::Nnsight, "x = edit_features(x)"),
    ] {
        let script = to_python(&generation, library).unwrap();
        crate::export::parses_as_python("feature edits", &script);
        assert!(script.contains(applied), "{library:?}");
    }
    // Feature attribution: TransformerLens's hooks (both versions); nnsight refuses it by name.
    let json = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/specs/sae-attribution-tiny.json"),
    )
    .unwrap();
    let attribution = patchbay::spec::Spec::from_json(&json).unwrap();
    for (library, gradient) in [
        (
            Library::TransformerLens3,
            "model.add_hook(SAE_HOOK, keep_gradient, \"bwd\")",
        ),
        (
            Library::TransformerLens,
            "model.add_hook(SAE_HOOK, keep_gradient, \"bwd\")",
        ),
        (
            Library::Nnsight,
            "forward_backward(corrupted_tokens, {sae_site}, rules)",
        ),
    ] {
        let script = to_python(&attribution, library).unwrap();
        crate::export::parses_as_python("sae attribution", &script);
        assert!(script.contains(gradient), "{library:?}");
        assert!(script.contains("PATCHED = 4"));
    }
    // Features as patching targets: the SAE split at its hook, then each part the spec asks for.
    let json = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/specs/sae-patching-tiny.json"),
    )
    .unwrap();
    let targets = patchbay::spec::Spec::from_json(&json).unwrap();
    for (library, loader) in [
        (Library::TransformerLens3, "from sae_lens import SAE"),
        (Library::TransformerLens, "class Sae:"),
        (Library::Nnsight, "class Sae:"),
    ] {
        let script = to_python(&targets, library).unwrap();
        crate::export::parses_as_python("sae patching targets", &script);
        assert!(script.contains(loader), "{library:?}");
        for part in [
            "FEATURE_TOP = 6",
            "FEATURE_IDS = []",
            "def gradient_at_sae_hook(rules):",
            "def patched_at_each_position(delta):",
            "SAE_PEARSON = ",
        ] {
            assert!(script.contains(part), "{library:?}: no {part}");
        }
    }
}

#[test]
fn the_cli_reads_the_sae_a_spec_names_from_model_for() {
    let run = |spec: &str, extra: &[String]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_patchbay"))
            .args(["run", &format!("tests/specs/{spec}"), "--model"])
            .arg(common::tiny_dir())
            .args(extra)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    };
    let folder = |name: &str| refs().join(name).display().to_string();
    let oracle = common::sae::oracle();
    for device in ["cpu", "wgpu"] {
        let out = run(
            "sae-clamped-tiny.json",
            &[
                "--device".into(),
                device.into(),
                "--model-for".into(),
                format!("tiny-sae-topk (tests/sae/refs)={}", folder("topk")),
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            result["generations"]["default"]["generation"]["new_ids"],
            oracle["saes"]["topk"]["generation"]["clamp"]["new_ids"],
            "{device}"
        );
    }
    let out = run("sae-features-tiny.json", &[]);
    assert_eq!(out.status.code(), Some(2));
    let told = String::from_utf8_lossy(&out.stderr);
    assert!(
        told.contains("--model-for tiny-sae-standard (tests/sae/refs)=DIR"),
        "{told}"
    );
    // A folder without an SAE: the files it lacks, by path.
    let out = run(
        "sae-features-tiny.json",
        &[
            "--model-for".into(),
            format!("tiny-sae-standard (tests/sae/refs)={}", refs().display()),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("cfg.json"));
}

#[test]
fn feature_attribution_adds_up_to_the_hooks_on_the_cpu() {
    common::sae::attribution_adds_up(&patchbay::device::cpu());
}

#[test]
fn feature_attribution_adds_up_to_the_hooks_on_wgpu() {
    common::sae::attribution_adds_up(&wgpu());
}

#[test]
fn features_as_patching_targets_match_saelens_on_the_cpu() {
    common::sae::feature_patching_matches(&patchbay::device::cpu());
}

#[test]
fn features_as_patching_targets_match_saelens_on_wgpu() {
    common::sae::feature_patching_matches(&wgpu());
}

#[test]
fn a_run_whose_features_would_not_fit_is_refused_before_it_runs() {
    use patchbay::experiments::features::{MAX_ACTIVATIONS, check_size};
    assert!(check_size(20, 24_576, "p").is_ok());
    let told = check_size(1024, 1 << 20, "experiment.sae_features.prompt").unwrap_err();
    assert!(told.to_string().contains("more than the"), "{told}");
    assert!(check_size(usize::MAX, 2, "p").is_err());
    assert!(check_size(MAX_ACTIVATIONS + 1, 1, "p").is_err());
}
