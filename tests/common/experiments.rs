//! Experiment tables against the oracle, run once per device.

use super::*;
use patchbay::experiments::{
    AblationKind, AblationTarget, AnswerPair, Grid, Metric, PatchTarget, Progress, PromptPairs,
    ablation, activation_patching, attribution_patching, logit_lens,
};
use patchbay::model::Gpt2;

pub struct Batches {
    pub clean: Vec<Vec<u32>>,
    pub corrupted: Vec<Vec<u32>>,
    pub answers: Vec<AnswerPair>,
}

impl Batches {
    pub fn pairs(&self) -> PromptPairs<'_> {
        PromptPairs {
            clean: &self.clean,
            corrupted: &self.corrupted,
            answers: &self.answers,
        }
    }
}

/// `pair`: clean prompt 0 vs corrupted prompt 1 with prompt 0's answers; `batch`: all 8.
pub fn batches(mode: &str) -> Batches {
    let json = reference_json();
    let answers: Vec<AnswerPair> = ids(&json["answer_ids"])
        .iter()
        .map(|a| AnswerPair {
            correct: a[0],
            incorrect: a[1],
        })
        .collect();
    let (clean, corrupted) = (clean_ids(), ids(&json["corrupted_ids"]));
    match mode {
        "pair" => Batches {
            clean: clean[..1].to_vec(),
            corrupted: corrupted[..1].to_vec(),
            answers: answers[..1].to_vec(),
        },
        _ => Batches {
            clean,
            corrupted,
            answers,
        },
    }
}

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    pollster::block_on(future)
}

#[track_caller]
pub fn assert_grid(name: &str, grid: &Grid, tol: f32) {
    let expected = reference(name);
    assert_close(
        name,
        &HostTensor {
            shape: grid.shape.clone(),
            values: grid.values.clone(),
        },
        expected,
        tol,
    );
}

use patchbay::tensor_io::HostTensor;

pub fn patching_matches(model: &Gpt2) {
    let targets = [
        PatchTarget::ResidPre,
        PatchTarget::AttnOut,
        PatchTarget::MlpOut,
        PatchTarget::AttnHeadOutAllPos,
        PatchTarget::AttnHeadOutByPos,
        PatchTarget::AttnHeadPatternAllPos,
    ];
    for mode in ["pair", "batch"] {
        let batches = batches(mode);
        for target in targets {
            // A small row budget exercises the chunking as well.
            let result = block_on(activation_patching(
                model,
                batches.pairs(),
                target,
                Metric::LogitDiff,
                24,
                &mut Progress::none(),
            ))
            .unwrap();
            assert_grid(
                &format!("patch.{mode}.{}", target.name()),
                &result.raw,
                1e-4,
            );
        }
    }
    let batches = batches("batch");
    let result = block_on(activation_patching(
        model,
        batches.pairs(),
        PatchTarget::ResidPre,
        Metric::LogitDiff,
        64,
        &mut Progress::none(),
    ))
    .unwrap();
    let metric = &reference_json()["metric"];
    assert!((result.clean - metric["clean"].as_f64().unwrap() as f32).abs() < 1e-5);
    assert!((result.corrupted - metric["corrupted"].as_f64().unwrap() as f32).abs() < 1e-5);
    // The pairs differ only at position 10: patching resid_pre there in layer 0 makes the
    // corrupted run the clean run, so the normalised effect is exactly 1.
    let normalised = result.normalised();
    assert!(
        (normalised.values[10] - 1.0).abs() < 1e-4,
        "{}",
        normalised.values[10]
    );
    assert!(normalised.values[..10].iter().all(|v| v.abs() < 1e-4));
}

pub fn ablation_matches(model: &Gpt2) {
    let batches = batches("batch");
    let run = |kind, target: AblationTarget| {
        block_on(ablation(
            model,
            &batches.clean,
            Some(&batches.corrupted),
            &batches.answers,
            kind,
            &target,
            Metric::LogitDiff,
            32,
            &mut Progress::none(),
        ))
        .unwrap()
    };
    let zero = run(AblationKind::Zero, AblationTarget::Heads);
    assert_grid("ablate.zero_head_z", &zero.grid, 1e-5);
    assert_grid("ablate.zero_head_z_per_prompt", &zero.per_prompt, 1e-4);
    let mean = run(AblationKind::Mean, AblationTarget::Heads);
    assert_grid("ablate.mean_head_z", &mean.grid, 1e-5);
    assert_grid("ablate.mean_head_z_per_prompt", &mean.per_prompt, 1e-4);
    let mlp = run(AblationKind::Zero, AblationTarget::Mlp);
    assert_grid("ablate.zero_mlp_out", &mlp.grid, 1e-5);
    assert_grid("ablate.zero_mlp_out_per_prompt", &mlp.per_prompt, 1e-4);
}

pub fn lens_matches(model: &Gpt2) {
    let batches = batches("batch");
    let lens = block_on(logit_lens(model, &batches.clean, &batches.answers)).unwrap();
    assert_grid(
        "lens.logit_diff_directions",
        &lens.logit_diff_directions,
        1e-5,
    );
    for (name, stack) in [
        ("accumulated_resid_raw", &lens.accumulated_resid_raw),
        (
            "accumulated_resid_ln_recomputed",
            &lens.accumulated_resid_ln_recomputed,
        ),
        (
            "accumulated_resid_ln_cached",
            &lens.accumulated_resid_ln_cached,
        ),
        ("decompose_resid", &lens.decompose_resid),
        ("head_results", &lens.head_results),
    ] {
        assert_grid(&format!("lens.{name}"), &stack.stack, 1e-4);
    }
    for (name, stack) in [
        (
            "accumulated_resid_ln_recomputed",
            &lens.accumulated_resid_ln_recomputed,
        ),
        (
            "accumulated_resid_ln_cached",
            &lens.accumulated_resid_ln_cached,
        ),
        ("decompose_resid", &lens.decompose_resid),
    ] {
        assert_grid(
            &format!("lens.{name}_logit_diff_per_prompt"),
            &stack.logit_diff_per_prompt,
            1e-4,
        );
        assert_grid(&format!("lens.{name}_logit_diff"), &stack.logit_diff, 1e-4);
    }
    assert_grid(
        "lens.head_dla_logit_diff_per_prompt",
        &lens.head_dla_per_prompt,
        1e-4,
    );
    assert_grid("lens.head_dla_logit_diff", &lens.head_dla, 1e-4);
    let labels = &reference_json()["lens_labels"];
    let as_strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        lens.accumulated_resid_raw.stack.labels[0],
        as_strings(&labels["accumulated_resid"])
    );
    assert_eq!(
        lens.decompose_resid.stack.labels[0],
        as_strings(&labels["decompose_resid"])
    );
    assert_eq!(
        lens.head_results.stack.labels[0],
        as_strings(&labels["head_results"])
    );
}

pub fn attribution_matches(model: &Gpt2) {
    for mode in ["pair", "batch"] {
        let batches = batches(mode);
        let attr = block_on(attribution_patching(
            model,
            batches.pairs(),
            Metric::LogitDiff,
        ))
        .unwrap();
        assert_grid(&format!("attrib.{mode}.z"), &attr.z, 1e-4);
        assert_grid(&format!("attrib.{mode}.z_by_pos"), &attr.z_by_pos, 1e-4);
        assert_grid(&format!("attrib.{mode}.resid_pre"), &attr.resid_pre, 1e-4);
    }
}
