//! Experiment tables against the oracle, run once per device.

use super::*;
use patchbay::experiments::{
    AblationKind, AblationTarget, AnswerPair, AttributionMethod, AttributionTarget,
    ExperimentError, Grid, Metric, Output, PatchTarget, Progress, PromptSet, RelpRule,
    ablation as ablate, attribution, circuit as circuits, eap, lens, patching, path,
};
use patchbay::model::Gpt2;
use std::collections::BTreeMap;

pub struct Batches {
    pub clean: Vec<Vec<u32>>,
    pub corrupted: Vec<Vec<u32>>,
    pub answers: Vec<AnswerPair>,
}

impl Batches {
    pub fn pairs(&self) -> PromptSet<'static> {
        PromptSet::new(
            self.clean.clone(),
            self.corrupted.clone(),
            self.answers.clone(),
            Metric::LogitDiff,
        )
        .unwrap()
    }
}

// The experiments through their one entry point (`<kind>::run`), their outputs read back by
// the grids' JSON names into the shapes these checks were written against.

/// An output's grids and metrics by their names in the oracle.
struct Named {
    grids: BTreeMap<String, Grid>,
    metrics: BTreeMap<String, f32>,
}

impl Named {
    fn new(output: Output) -> Self {
        Self {
            grids: output
                .grids
                .into_iter()
                .map(|(name, grid)| (name.to_string(), grid))
                .collect(),
            metrics: output
                .metrics
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
        }
    }

    fn grid(&mut self, name: &str) -> Grid {
        self.grids
            .remove(name)
            .unwrap_or_else(|| panic!("no grid {name}"))
    }
}

#[derive(Debug)]
pub struct Patched {
    pub raw: Grid,
    pub clean: f32,
    pub corrupted: f32,
    normalised: Grid,
}

impl Patched {
    pub fn normalised(&self) -> Grid {
        self.normalised.clone()
    }
}

pub async fn activation_patching(
    model: &Gpt2,
    prompts: PromptSet<'_>,
    target: PatchTarget,
    metric: Metric,
    max_rows: usize,
    progress: &mut Progress<'_>,
) -> Result<Patched, ExperimentError> {
    assert_eq!(metric, prompts.metric);
    let params = patching::Params {
        targets: vec![target],
        max_rows,
        features: None,
    };
    let mut out = Named::new(patching::run(model, &prompts, &params, progress).await?);
    let name = format!("patch.{}", target.name());
    Ok(Patched {
        raw: out.grid(&name),
        normalised: out.grid(&format!("{name}.normalised")),
        clean: out.metrics["clean"],
        corrupted: out.metrics["corrupted"],
    })
}

pub struct Ablated {
    pub grid: Grid,
    pub per_prompt: Grid,
    pub clean: f32,
}

#[allow(clippy::too_many_arguments)]
pub async fn ablation(
    model: &Gpt2,
    clean: &[Vec<u32>],
    corrupted: Option<&[Vec<u32>]>,
    answers: &[AnswerPair],
    kind: AblationKind,
    target: &AblationTarget,
    metric: Metric,
    max_rows: usize,
    progress: &mut Progress<'_>,
) -> Result<Ablated, ExperimentError> {
    let corrupted = corrupted.map(<[_]>::to_vec).unwrap_or_default();
    let prompts = PromptSet::new(clean.to_vec(), corrupted, answers.to_vec(), metric)?;
    let params = ablate::Params {
        position: None,
        ablation: kind,
        target: target.clone(),
        max_rows,
    };
    let mut out = Named::new(ablate::run(model, &prompts, &params, progress).await?);
    let name = out
        .grids
        .keys()
        .find(|n| !n.ends_with("_per_prompt"))
        .cloned()
        .expect("an ablation grid");
    Ok(Ablated {
        per_prompt: out.grid(&format!("{name}_per_prompt")),
        grid: out.grid(&name),
        clean: out.metrics["clean"],
    })
}

pub async fn circuit(
    model: &Gpt2,
    clean: &[Vec<u32>],
    answers: &[AnswerPair],
    keep: &[(usize, usize)],
    metric: Metric,
) -> Result<(f32, Vec<f32>), ExperimentError> {
    let prompts = PromptSet::new(clean.to_vec(), vec![], answers.to_vec(), metric)?;
    let params = circuits::Params {
        keep: keep.iter().map(|&(l, h)| [l, h]).collect(),
    };
    let mut out = Named::new(circuits::run(model, &prompts, &params, &mut Progress::none()).await?);
    Ok((
        out.metrics["circuit"],
        out.grid("circuit.per_prompt").values,
    ))
}

pub struct Stack {
    pub stack: Grid,
    pub logit_diff_per_prompt: Grid,
    pub logit_diff: Grid,
}

pub struct Lens {
    pub logit_diff_directions: Grid,
    pub accumulated_resid_raw: Stack,
    pub accumulated_resid_ln_recomputed: Stack,
    pub accumulated_resid_ln_cached: Stack,
    pub decompose_resid: Stack,
    pub head_results: Stack,
    pub head_dla_per_prompt: Grid,
    pub head_dla: Grid,
}

pub async fn logit_lens(
    model: &Gpt2,
    clean: &[Vec<u32>],
    answers: &[AnswerPair],
) -> Result<Lens, ExperimentError> {
    let prompts = PromptSet::new(clean.to_vec(), vec![], answers.to_vec(), Metric::LogitDiff)?;
    let mut out =
        Named::new(lens::run(model, &prompts, &lens::Params, &mut Progress::none()).await?);
    let mut stack = |name: &str| {
        let projected = name != "head_results";
        let mut take = |suffix: &str| {
            if projected {
                out.grid(&format!("lens.{name}{suffix}"))
            } else {
                Grid::new(&["none"], vec![0], vec![])
            }
        };
        Stack {
            logit_diff_per_prompt: take("_logit_diff_per_prompt"),
            logit_diff: take("_logit_diff"),
            stack: out.grid(&format!("lens.{name}")),
        }
    };
    let accumulated_resid_raw = stack("accumulated_resid_raw");
    let accumulated_resid_ln_recomputed = stack("accumulated_resid_ln_recomputed");
    let accumulated_resid_ln_cached = stack("accumulated_resid_ln_cached");
    let decompose_resid = stack("decompose_resid");
    let head_results = stack("head_results");
    Ok(Lens {
        accumulated_resid_raw,
        accumulated_resid_ln_recomputed,
        accumulated_resid_ln_cached,
        decompose_resid,
        head_results,
        logit_diff_directions: out.grid("lens.logit_diff_directions"),
        head_dla_per_prompt: out.grid("lens.head_dla_logit_diff_per_prompt"),
        head_dla: out.grid("lens.head_dla_logit_diff"),
    })
}

pub struct Attribution {
    pub z: Grid,
    pub z_by_pos: Grid,
    pub resid_pre: Grid,
}

pub async fn attribution_patching(
    model: &Gpt2,
    prompts: PromptSet<'_>,
    metric: Metric,
) -> Result<Attribution, ExperimentError> {
    assert_eq!(metric, prompts.metric);
    let params = attribution::Params {
        compare: false,
        targets: patchbay::experiments::AttributionTarget::DEFAULT.to_vec(),
        max_rows: 64,
        methods: vec![AttributionMethod::Gradient],
        relp_rules: RelpRule::DEFAULT.to_vec(),
        features: None,
    };
    let output = attribution::run(model, &prompts, &params, &mut Progress::none()).await?;
    let mut out = Named::new(output);
    Ok(Attribution {
        z: out.grid("attrib.z"),
        z_by_pos: out.grid("attrib.z_by_pos"),
        resid_pre: out.grid("attrib.resid_pre"),
    })
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
                1e-5, // metric tables: float32 allows 1e-5
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

/// Every grid of `path.safetensors`, noising and denoising, to the final residual stream and to
/// the receivers' q, k and v; a small row budget splits a layer's senders across passes.
pub fn path_patching_matches(model: &Gpt2) {
    use path::{Direction, HeadInput, Receivers};
    let json = path_json();
    let heads: Vec<(usize, usize)> = serde_json::from_value(json["receivers"].clone()).unwrap();
    let batches = batches("batch");
    for (direction, name) in [
        (Direction::Noising, "noising"),
        (Direction::Denoising, "denoising"),
    ] {
        let mut cases = vec![(Receivers::FinalResid, "head_to_final_resid".to_string())];
        for input in HeadInput::ALL {
            cases.push((
                Receivers::Heads {
                    heads: heads.clone(),
                    input,
                },
                format!("head_to_receivers.{}", input.as_str()),
            ));
        }
        for (receivers, grid) in cases {
            let params = path::Params {
                direction,
                receivers: receivers.clone(),
                max_rows: 24,
            };
            let mut out = Named::new(
                block_on(path::run(
                    model,
                    &batches.pairs(),
                    &params,
                    &mut Progress::none(),
                ))
                .unwrap(),
            );
            let raw = out.grid(&format!("path.{grid}"));
            assert_eq!(raw.axes, ["layer", "head"]);
            let expected = path_reference(&format!("path.{name}.{grid}"));
            assert_close(
                &format!("path.{name}.{grid}"),
                &HostTensor {
                    shape: raw.shape.clone(),
                    values: raw.values.clone(),
                },
                expected,
                1e-4,
            );
            if params.receivers == Receivers::FinalResid {
                // The straightforward way (a hooked pass per sender) agrees too.
                let mut baseline = Named::new(
                    block_on(path::baseline_forward_per_sender(
                        model,
                        &batches.pairs(),
                        &params,
                        &mut Progress::none(),
                    ))
                    .unwrap(),
                );
                let values = baseline.grid(&format!("path.{grid}")).values;
                assert!(
                    max_abs_diff(&values, &expected.values) < 1e-4,
                    "baseline {name}"
                );
            }
            let base = json["base_metric"][name].as_f64().unwrap() as f32;
            assert!(
                (out.metrics["base"] - base).abs() < 1e-5,
                "{name}: base metric"
            );
            let normalised = out.grid(&format!("path.{grid}.normalised"));
            let (clean, corrupted) = (out.metrics["clean"], out.metrics["corrupted"]);
            for (n, r) in normalised.values.iter().zip(&raw.values) {
                assert!((n - (r - corrupted) / (clean - corrupted)).abs() < 1e-4);
            }
            assert_eq!(
                out.grid(&format!("path.{grid}.per_prompt")).shape,
                [raw.shape[0], raw.shape[1], batches.answers.len()]
            );
        }
    }
}

/// Edge attribution patching has no oracle of its own; it must agree with the node-level
/// oracle where the maths says so, and with its edges patched exactly.
pub fn eap_matches(model: &Gpt2) {
    use burn::tensor::Tensor;
    use eap::{Downstream, Upstream, is_edge, nodes};
    use patchbay::hooks::BlockHook;
    let batches = batches("batch");
    let params = eap::Params::new(10);
    let mut out = Named::new(
        block_on(eap::run(
            model,
            &batches.pairs(),
            &params,
            &mut Progress::none(),
        ))
        .unwrap(),
    );
    let scores = out.grid("eap.scores");
    let (n_layer, n_head) = (model.config.n_layer, model.config.n_head);
    assert_eq!(eap::shape_of(&scores), Some((n_layer, n_head)));
    let (up, down) = nodes(n_layer, n_head);
    let score = |u: usize, d: usize| scores.values[u * down.len() + d];
    for (u, &from) in up.iter().enumerate() {
        for (d, &to) in down.iter().enumerate() {
            assert_eq!(score(u, d).is_finite(), is_edge(from, to), "{from} -> {to}");
        }
    }
    // A head's outgoing edges sum to its attribution (`attrib.z`), the edges that cross the
    // residual stream before block l to `attrib.resid_pre[l]`.
    assert_edges_sum_to_nodes(
        &scores,
        reference("attrib.batch.z"),
        reference("attrib.batch.resid_pre"),
        "attrib",
    );
    // The strongest edges into the logits, patched exactly: the corrupted run's final residual
    // stream plus that one component's clean-minus-corrupted output, nothing else changed (the
    // edge as a path of its own), through ln_f and the unembedding. Its effect on the metric
    // has the sign of the score and is within a third of it. (Path patching to the final
    // residual is not this: it also carries a sender's effect through later MLPs, the exact
    // counterpart of a last-layer head's two edges, to the logits and to MLP1, together; on
    // this model L1H2's direct edge scores +0.041 while its path moves the metric by −0.012.)
    let prompts = batches.pairs();
    let last = HookPoint::resid_post(n_layer - 1);
    let outputs = |p: HookPoint| {
        p == last || matches!(p, HookPoint::Block(_, BlockHook::Z | BlockHook::MlpOut))
    };
    let clean = block_on(prompts.clean_run(model, outputs)).unwrap();
    let corrupted = block_on(prompts.corrupted_run(model, outputs)).unwrap();
    let output_delta = |u: Upstream| -> Tensor<3> {
        let get = |cache: &patchbay::hooks::ActivationCache, p| cache.get::<4>(p).unwrap();
        match u {
            Upstream::Head(l, h) => {
                let z = get(&clean.cache, HookPoint::z(l)) - get(&corrupted.cache, HookPoint::z(l));
                let [b, p, _, d_head] = z.dims();
                let z = z.narrow(2, h, 1).reshape([b * p, d_head]);
                let w_o = model.h[l]
                    .attn
                    .c_proj
                    .weight
                    .val()
                    .narrow(0, h * d_head, d_head);
                z.matmul(w_o).reshape([b, p, model.config.n_embd])
            }
            Upstream::Mlp(l) => {
                let out = |cache: &patchbay::hooks::ActivationCache| {
                    cache.get::<3>(HookPoint::mlp_out(l)).unwrap()
                };
                out(&clean.cache) - out(&corrupted.cache)
            }
            Upstream::Input => unreachable!("not among the checked edges"),
        }
    };
    let top = eap::top_edges(&scores, n_layer, n_head, usize::MAX);
    let into_logits: Vec<_> = top
        .iter()
        .filter(|e| e.down == Downstream::Logits && e.up != Upstream::Input)
        .take(4)
        .collect();
    assert_eq!(into_logits.len(), 4);
    for edge in into_logits {
        let resid = corrupted.cache.get::<3>(last).unwrap() + output_delta(edge.up);
        let logits = model.unembed(resid, &mut patchbay::hooks::NoHooks);
        let (patched, _) = block_on(prompts.score(logits)).unwrap();
        let effect = patched - corrupted.metric;
        assert!(
            effect.signum() == edge.score.signum()
                && (effect - edge.score).abs() < edge.score.abs() / 3.0,
            "{} -> logits: score {} but patching the edge moves the metric by {effect}",
            edge.up,
            edge.score
        );
    }
    // Sixteen prompts (the eight twice) run in two passes and average to the same scores.
    let doubled = PromptSet::new(
        [batches.clean.clone(), batches.clean.clone()].concat(),
        [batches.corrupted.clone(), batches.corrupted.clone()].concat(),
        [batches.answers.clone(), batches.answers.clone()].concat(),
        Metric::LogitDiff,
    )
    .unwrap();
    const { assert!(16 > eap::PROMPTS_PER_PASS) };
    let mut twice =
        Named::new(block_on(eap::run(model, &doubled, &params, &mut Progress::none())).unwrap());
    let again = twice.grid("eap.scores");
    for (a, b) in again.values.iter().zip(&scores.values) {
        assert!(
            a.is_nan() && b.is_nan() || (a - b).abs() < 1e-4,
            "{a} vs {b}"
        );
    }
    let metric = &reference_json()["metric"];
    assert!((out.metrics["corrupted"] - metric["corrupted"].as_f64().unwrap() as f32).abs() < 1e-5);
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

use patchbay::experiments::{Generation, GenerationConfig, generate, steering_vector};
use patchbay::hooks::{HookPoint, Intervention};

pub fn run_generation(
    model: &Gpt2,
    prompt: &[u32],
    config: &GenerationConfig,
    interventions: &[Intervention],
) -> Generation {
    block_on(generate(
        model,
        prompt,
        config,
        interventions,
        None,
        &mut Progress::none(),
    ))
    .unwrap()
}

fn json_ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// Greedy generation equals every oracle id list, with and without the KV cache, and the
/// per-step top-5 equals the oracle's processed logits.
pub fn greedy_generation_matches(model: &Gpt2) {
    for (name, case) in reference_json()["generation"].as_object().unwrap() {
        let prompt = json_ids(&case["input_ids"]);
        let expected = json_ids(&case["new_ids"]);
        for kv_cache in [true, false] {
            let config = GenerationConfig {
                max_new_tokens: expected.len(),
                repetition_penalty: case["repetition_penalty"].as_f64().map(|p| p as f32),
                stop_at_eos: false,
                kv_cache,
                ..GenerationConfig::default()
            };
            let generation = run_generation(model, &prompt, &config, &[]);
            assert_eq!(generation.new_ids, expected, "{name}, kv_cache {kv_cache}");
            assert_eq!(generation.used_kv_cache, kv_cache);
            for (step, reference) in generation
                .steps
                .iter()
                .zip(case["steps"].as_array().unwrap())
            {
                assert_eq!(step.top5_ids, json_ids(&reference["top5_ids"]), "{name}");
                let logits: Vec<f32> = reference["top5_logits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect();
                assert!(
                    max_abs_diff(&step.top5_logits, &logits) < 1e-4,
                    "{name}: {:?} vs {logits:?}",
                    step.top5_logits
                );
            }
            if name == "prompt0_with_bos" {
                first_step_probabilities_match(&generation.steps[0]);
            }
        }
    }
}

/// The first token after clean prompt 0 (BOS prepended, 15 tokens): its probability and its
/// top five's are the softmax of the oracle's logits at the last position.
fn first_step_probabilities_match(step: &patchbay::experiments::generation::Step) {
    let logits = reference("logits");
    let vocab = logits.shape[2];
    let last = &logits.values[14 * vocab..15 * vocab];
    let max = last.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let total: f64 = last.iter().map(|&l| (l as f64 - max).exp()).sum();
    let softmax = |id: u32| ((last[id as usize] as f64 - max).exp() / total) as f32;
    let prob = step.prob.expect("a new step records its probability");
    assert!(
        (prob - softmax(step.token)).abs() < 1e-5,
        "{prob} vs {}",
        softmax(step.token)
    );
    let expected: Vec<f32> = step.top5_ids.iter().map(|&id| softmax(id)).collect();
    assert!(
        max_abs_diff(&step.top5_probs, &expected) < 1e-5,
        "{:?} vs {expected:?}",
        step.top5_probs
    );
    assert_eq!(
        prob, step.top5_probs[0],
        "greedy picks the most likely token"
    );
}

/// Activation addition: the vector, the activations it comes from, the steered and
/// unsteered logits, and steered greedy generation with the intervention at every step.
pub fn steering_matches(model: &Gpt2) {
    let steering = &reference_json()["steering"];
    let hook: HookPoint = steering["hook"].as_str().unwrap().parse().unwrap();
    let vector = block_on(steering_vector(
        model,
        hook,
        &json_ids(&steering["pos_ids"]),
        &json_ids(&steering["neg_ids"]),
    ))
    .unwrap();
    let d = vector.vector.len();
    let grid = |values: &Vec<f32>, shape: Vec<usize>| {
        Grid::new(
            if shape.len() == 1 {
                &["d"]
            } else {
                &["pos", "d"]
            },
            shape,
            values.clone(),
        )
    };
    assert_grid("steer.vector", &grid(&vector.vector, vec![d]), 1e-5);
    assert_grid(
        "steer.resid_pre_pos_prompt",
        &grid(&vector.positive_acts, vec![2, d]),
        1e-5,
    );
    assert_grid(
        "steer.resid_pre_neg_prompt",
        &grid(&vector.negative_acts, vec![2, d]),
        1e-5,
    );

    let coeff = steering["coeff"].as_f64().unwrap() as f32;
    let prompt = json_ids(&steering["prompt_ids"]);
    let last_logits = |interventions: Vec<Intervention>| {
        let logits = model
            .run_with_hooks(
                model.tokens(std::slice::from_ref(&prompt)).unwrap(),
                interventions,
            )
            .unwrap();
        let [_, pos, vocab] = logits.dims();
        let values = block_on(patchbay::experiments::read(
            logits.narrow(1, pos - 1, 1).reshape([vocab]),
        ))
        .unwrap();
        Grid::new(&["vocab"], vec![vocab], values)
    };
    assert_grid("steer.last_logits_unsteered", &last_logits(vec![]), 1e-4);
    assert_grid(
        "steer.last_logits_steered",
        &last_logits(vec![vector.intervention(coeff)]),
        1e-4,
    );

    let expected = json_ids(&steering["steered_new_ids"]);
    for kv_cache in [true, false] {
        let config = GenerationConfig {
            max_new_tokens: expected.len(),
            stop_at_eos: false,
            kv_cache,
            ..GenerationConfig::default()
        };
        let generation = run_generation(model, &prompt, &config, &[vector.intervention(coeff)]);
        assert_eq!(generation.new_ids, expected, "steered, kv_cache {kv_cache}");
        assert_eq!(
            generation.used_kv_cache, kv_cache,
            "an add at every position keeps the KV cache"
        );
    }
}

/// Sampling: same seed, same tokens; top-k 1 is greedy; bans and biases hold; the token
/// frequencies follow the softmax.
pub fn sampling_behaves(model: &Gpt2) {
    let prompt = json_ids(&reference_json()["generation"]["quick_brown_fox_no_bos"]["input_ids"]);
    let sampled = GenerationConfig {
        max_new_tokens: 12,
        temperature: 1.0,
        top_p: Some(0.9),
        seed: 7,
        stop_at_eos: false,
        ..GenerationConfig::default()
    };
    let a = run_generation(model, &prompt, &sampled, &[]);
    let b = run_generation(model, &prompt, &sampled, &[]);
    assert_eq!(a.new_ids, b.new_ids, "same seed, same tokens");
    let c = run_generation(
        model,
        &prompt,
        &GenerationConfig {
            seed: 8,
            ..sampled.clone()
        },
        &[],
    );
    assert_ne!(a.new_ids, c.new_ids, "another seed, other tokens");
    let no_cache = run_generation(
        model,
        &prompt,
        &GenerationConfig {
            kv_cache: false,
            ..sampled.clone()
        },
        &[],
    );
    assert_eq!(a.new_ids, no_cache.new_ids, "the KV cache changes nothing");

    let greedy = run_generation(
        model,
        &prompt,
        &GenerationConfig {
            max_new_tokens: 12,
            stop_at_eos: false,
            ..Default::default()
        },
        &[],
    );
    let top1 = run_generation(
        model,
        &prompt,
        &GenerationConfig {
            top_k: Some(1),
            ..sampled.clone()
        },
        &[],
    );
    assert_eq!(top1.new_ids, greedy.new_ids, "top-k 1 is greedy");

    let banned = greedy.new_ids[0];
    let with_ban = run_generation(
        model,
        &prompt,
        &GenerationConfig {
            banned_tokens: vec![banned],
            ..sampled.clone()
        },
        &[],
    );
    assert!(!with_ban.new_ids.contains(&banned));
    let forced = run_generation(
        model,
        &prompt,
        &GenerationConfig {
            logit_bias: [(42u32, 100.0)].into(),
            ..sampled.clone()
        },
        &[],
    );
    assert!(forced.new_ids.iter().all(|&t| t == 42));
    let penalised = run_generation(
        model,
        &prompt,
        &GenerationConfig {
            logit_bias: [(42u32, 100.0)].into(),
            presence_penalty: 1000.0,
            ..sampled.clone()
        },
        &[],
    );
    assert_eq!(penalised.new_ids[0], 42);
    assert!(
        !penalised.new_ids[1..].contains(&42),
        "presence penalty after the first use"
    );

    // One step sampled 400 times with top-k 2: the frequency of the top token follows the
    // two-way softmax of its step logits (binomial, 5 standard deviations).
    let one = GenerationConfig {
        max_new_tokens: 1,
        temperature: 1.0,
        top_k: Some(2),
        stop_at_eos: false,
        ..GenerationConfig::default()
    };
    let first = run_generation(model, &prompt, &one, &[]);
    let (l0, l1) = (first.steps[0].top5_logits[0], first.steps[0].top5_logits[1]);
    let p = 1.0 / (1.0 + (l1 - l0).exp());
    let n = 400;
    let hits = (0..n)
        .filter(|&seed| {
            run_generation(
                model,
                &prompt,
                &GenerationConfig {
                    seed,
                    ..one.clone()
                },
                &[],
            )
            .new_ids[0]
                == first.steps[0].top5_ids[0]
        })
        .count();
    let sd = (n as f32 * p * (1.0 - p)).sqrt();
    assert!(
        (hits as f32 - n as f32 * p).abs() < 5.0 * sd,
        "{hits} of {n} with p = {p}"
    );
}

pub fn bad_generation_settings_are_refused(model: &Gpt2) {
    let prompt = vec![464, 2068];
    for (config, message) in [
        (
            GenerationConfig {
                temperature: -1.0,
                ..Default::default()
            },
            "temperature",
        ),
        (
            GenerationConfig {
                top_p: Some(1.5),
                ..Default::default()
            },
            "top_p",
        ),
        (
            GenerationConfig {
                top_k: Some(0),
                ..Default::default()
            },
            "top_k",
        ),
        (
            GenerationConfig {
                banned_tokens: vec![60000],
                ..Default::default()
            },
            "outside the vocabulary",
        ),
        (
            GenerationConfig {
                max_new_tokens: 127,
                ..Default::default()
            },
            "exceeds the model's context of 128",
        ),
    ] {
        let err = block_on(generate(
            model,
            &prompt,
            &config,
            &[],
            None,
            &mut Progress::none(),
        ))
        .unwrap_err();
        assert!(err.to_string().contains(message), "{err}");
    }
    let err = block_on(generate(
        model,
        &[],
        &GenerationConfig::default(),
        &[],
        None,
        &mut Progress::none(),
    ))
    .unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
}

/// Identities that tie the other patching targets and ablation modes to independent paths.
pub fn consistency_checks(model: &Gpt2) {
    use patchbay::hooks::{Action, BlockHook};
    let batches = batches("batch");
    let patch = |target| {
        block_on(activation_patching(
            model,
            batches.pairs(),
            target,
            Metric::LogitDiff,
            40,
            &mut Progress::none(),
        ))
        .unwrap()
    };

    // resid_post of layer 0 is resid_pre of layer 1.
    let post = patch(PatchTarget::ResidPost);
    let pre = patch(PatchTarget::ResidPre);
    assert!(max_abs_diff(&post.raw.values[..15], &pre.raw.values[15..]) < 1e-5);
    // Every other target runs, with the right axes and finite values.
    for target in PatchTarget::ALL {
        let result = patch(target);
        assert_eq!(result.raw.axes, target.axes(), "{target:?}");
        assert!(
            result.raw.values.iter().all(|v| v.is_finite()),
            "{target:?}"
        );
    }

    // Progress reaches the total, and cancelling stops the sweep.
    let mut seen = vec![];
    let mut progress = Progress::new(|u| {
        seen.push((u.done, u.total, u.values.len()));
        true
    });
    block_on(activation_patching(
        model,
        batches.pairs(),
        PatchTarget::ResidPre,
        Metric::LogitDiff,
        16,
        &mut progress,
    ))
    .unwrap();
    drop(progress);
    assert!(seen.len() > 1 && seen.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(*seen.last().unwrap(), (30, 30, 30));
    let mut calls = 0;
    let mut cancel = Progress::new(|_| {
        calls += 1;
        calls < 2
    });
    let err = block_on(activation_patching(
        model,
        batches.pairs(),
        PatchTarget::ResidPre,
        Metric::LogitDiff,
        16,
        &mut cancel,
    ))
    .unwrap_err();
    assert_eq!(err, ExperimentError::Cancelled);

    // Resampling from the clean prompts themselves changes nothing.
    let same = block_on(ablation(
        model,
        &batches.clean,
        Some(&batches.clean),
        &batches.answers,
        AblationKind::Resample,
        &AblationTarget::Heads,
        Metric::LogitDiff,
        32,
        &mut Progress::none(),
    ))
    .unwrap();
    assert!(
        same.grid
            .values
            .iter()
            .all(|v| (v - same.clean).abs() < 1e-5)
    );

    // Zero-ablating one neuron equals a plain intervention on mlp.hook_post.
    let neurons = block_on(ablation(
        model,
        &batches.clean,
        None,
        &batches.answers,
        AblationKind::Zero,
        &AblationTarget::Neurons {
            layer: 1,
            neurons: vec![3, 200],
        },
        Metric::LogitDiff,
        32,
        &mut Progress::none(),
    ))
    .unwrap();
    for (i, neuron) in [3usize, 200].into_iter().enumerate() {
        let hook = HookPoint::Block(1, BlockHook::MlpPost);
        let logits = model
            .run_with_hooks(
                model.tokens(&batches.clean).unwrap(),
                vec![Intervention::new(hook, Action::Zero).at_neurons(vec![neuron])],
            )
            .unwrap();
        let expected = mean_logit_diff(logits, &batches.answers);
        assert!(
            (neurons.grid.values[i] - expected).abs() < 1e-5,
            "neuron {neuron}"
        );
    }

    // Keeping every head is the clean run; keeping none equals mean-ablating every head.
    let (all, _) = block_on(circuit(
        model,
        &batches.clean,
        &batches.answers,
        &[
            (0, 0),
            (0, 1),
            (0, 2),
            (0, 3),
            (1, 0),
            (1, 1),
            (1, 2),
            (1, 3),
        ],
        Metric::LogitDiff,
    ))
    .unwrap();
    assert!((all - same.clean).abs() < 1e-5);
    let (none, _) = block_on(circuit(
        model,
        &batches.clean,
        &batches.answers,
        &[],
        Metric::LogitDiff,
    ))
    .unwrap();
    let logits = model
        .run_with_hooks(
            model.tokens(&batches.clean).unwrap(),
            (0..2)
                .map(|l| Intervention::new(HookPoint::z(l), Action::Mean))
                .collect(),
        )
        .unwrap();
    let expected = mean_logit_diff(logits, &batches.answers);
    assert!((none - expected).abs() < 1e-4, "{none} vs {expected}");
    let err = block_on(circuit(
        model,
        &batches.clean,
        &batches.answers,
        &[(2, 0)],
        Metric::LogitDiff,
    ))
    .unwrap_err();
    assert!(err.to_string().contains("L2H0 does not exist"), "{err}");
}

/// Mean logit difference at the last position, computed on the host.
fn mean_logit_diff(logits: burn::tensor::Tensor<3>, answers: &[AnswerPair]) -> f32 {
    let [b, pos, vocab] = logits.dims();
    let last = block_on(patchbay::experiments::read(
        logits.narrow(1, pos - 1, 1).reshape([b, vocab]),
    ))
    .unwrap();
    answers
        .iter()
        .enumerate()
        .map(|(r, a)| last[r * vocab + a.correct as usize] - last[r * vocab + a.incorrect as usize])
        .sum::<f32>()
        / b as f32
}

/// A direction from texts, by PCA and by mean difference, against `probes.safetensors`.
pub fn direction_matches(model: &Gpt2) {
    use patchbay::experiments::PromptInput;
    use patchbay::experiments::direction::{self, Method};
    let Probes {
        doc,
        oracle,
        tokenizer,
    } = Probes::read();
    let texts: Vec<PromptInput> = doc["direction"]["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| PromptInput::Text(t.as_str().unwrap().to_string()))
        .collect();
    let hook = doc["direction"]["hook"].as_str().unwrap().parse().unwrap();
    for (method, key) in [
        (Method::Pca, "pca"),
        (Method::MeanDifference, "mean_difference"),
    ] {
        let params = direction::Params {
            texts: texts.clone(),
            hook,
            method,
            prepend_bos: false,
        };
        let prompts = PromptSet::empty().with_tokenizer(&tokenizer);
        let output = block_on(direction::run(
            model,
            &prompts,
            &params,
            &mut Progress::none(),
        ));
        let mut out = Named::new(output.unwrap());
        let projection = out.grid("direction.projection");
        let expected = &oracle[&format!("direction.{key}.projection")];
        assert_eq!(projection.shape, expected.shape, "{key}");
        let diff = max_abs_diff(&projection.values, &expected.values);
        assert!(diff < 1e-4, "direction.{key}.projection: max |diff| {diff}");
        assert_eq!(projection.labels[0][0], "help people");
        let vector = out.grid("direction.vector");
        let norm: f32 = vector.values.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "unit length: {norm}");
        match method {
            Method::Pca => {
                let explained = out.metrics["direction.explained"];
                let expected = oracle["direction.pca.explained"].values[0];
                assert!(
                    (explained - expected).abs() < 1e-4,
                    "explained {explained} vs {expected}"
                );
            }
            Method::MeanDifference => assert!(!out.metrics.contains_key("direction.explained")),
        }
    }
}

/// A tensor of `relp.safetensors` (`{attrib,relp,relp_ah}.batch.*`).
fn relp_reference(name: &str) -> HostTensor {
    static TENSORS: std::sync::OnceLock<BTreeMap<String, HostTensor>> = std::sync::OnceLock::new();
    TENSORS
        .get_or_init(|| {
            let bytes = std::fs::read(tiny_dir().join("relp.safetensors")).unwrap();
            from_safetensors(&bytes).unwrap()
        })
        .get(name)
        .unwrap_or_else(|| panic!("no `{name}` in relp.safetensors"))
        .clone()
}

/// RelP with the paper's rules (`relp.*`) and with the attention rule too (`relp_ah.*`), and
/// the gradient beside them (`attrib.*`), for every target the oracle has, in one run each;
/// with the comparison on, each method's Pearson r against the activation patching it
/// estimates.
pub fn relp_matches(model: &Gpt2) {
    let batches = batches("batch");
    let targets = [
        AttributionTarget::ResidPre,
        AttributionTarget::AttnOut,
        AttributionTarget::MlpOut,
        AttributionTarget::ZByPos,
        AttributionTarget::Z,
    ];
    let both = vec![AttributionMethod::Gradient, AttributionMethod::Relp];
    for (rules, oracle, compare) in [
        (RelpRule::DEFAULT.to_vec(), "relp", true),
        (RelpRule::ALL.to_vec(), "relp_ah", false),
    ] {
        let params = attribution::Params {
            compare,
            targets: targets.to_vec(),
            max_rows: 64,
            methods: both.clone(),
            relp_rules: rules,
            features: None,
        };
        let mut out = Named::new(
            block_on(attribution::run(
                model,
                &batches.pairs(),
                &params,
                &mut Progress::none(),
            ))
            .unwrap(),
        );
        for target in targets {
            let name = target.as_str();
            for (prefix, expected) in [("attrib", "attrib"), ("relp", oracle)] {
                let grid = out.grid(&format!("{prefix}.{name}"));
                let what = format!("{prefix}.{name} against {expected}.batch.{name}");
                let expected = relp_reference(&format!("{expected}.batch.{name}"));
                assert_close(
                    &what,
                    &HostTensor {
                        shape: grid.shape.clone(),
                        values: grid.values.clone(),
                    },
                    &expected,
                    1e-4,
                );
            }
            if compare {
                let effect = out.grid(&format!("patch.{}", target.patch_target().name()));
                let corrupted = out.metrics["corrupted"];
                let effect: Vec<f32> = effect.values.iter().map(|v| v - corrupted).collect();
                let relp = relp_reference(&format!("relp.batch.{name}"));
                let r = attribution::pearson(&relp.values, &effect);
                let reported = out.metrics[&format!("pearson_relp.{name}")];
                assert!(
                    (reported - r).abs() < 1e-3,
                    "pearson_relp.{name}: {reported} vs {r}"
                );
                assert!(out.metrics.contains_key(&format!("pearson.{name}")));
            }
        }
    }
}

/// Edge RelP: a head's outgoing edges sum to its node RelP score (`relp.z`), and the edges
/// that cross the residual stream before block l to `relp.resid_pre[l]`, as the gradient's do
/// to `attrib.*`; with the attention rule too (`relp_ah.*`).
pub fn edge_relp_matches(model: &Gpt2) {
    let batches = batches("batch");
    for (rules, oracle) in [
        (RelpRule::DEFAULT.to_vec(), "relp"),
        (RelpRule::ALL.to_vec(), "relp_ah"),
    ] {
        let params = eap::Params {
            top: 10,
            methods: vec![AttributionMethod::Relp],
            relp_rules: rules,
        };
        let mut out = Named::new(
            block_on(eap::run(
                model,
                &batches.pairs(),
                &params,
                &mut Progress::none(),
            ))
            .unwrap(),
        );
        assert!(
            !out.grids.contains_key("eap.scores"),
            "only the methods asked for"
        );
        let scores = out.grid("eap.relp_scores");
        assert_edges_sum_to_nodes(
            &scores,
            &relp_reference(&format!("{oracle}.batch.z")),
            &relp_reference(&format!("{oracle}.batch.resid_pre")),
            oracle,
        );
    }
}

/// A head's outgoing edges sum to its node score (`z`, `[layer, head]`): the coefficient at a
/// residual write is the sum of its readers'. The edges that cross the residual stream before
/// block l sum to the node score of `resid_pre` there (`[layer, pos]`, all positions).
fn assert_edges_sum_to_nodes(scores: &Grid, z: &HostTensor, resid_pre: &HostTensor, what: &str) {
    use eap::{Upstream, nodes};
    let (n_layer, n_head) = eap::shape_of(scores).expect("an edge score grid");
    let (up, down) = nodes(n_layer, n_head);
    let score = |u: usize, d: usize| scores.values[u * down.len() + d];
    for (u, &from) in up.iter().enumerate() {
        if let Upstream::Head(l, h) = from {
            let total: f32 = (0..down.len())
                .map(|d| score(u, d))
                .filter(|s| s.is_finite())
                .sum();
            let expected = z.values[l * n_head + h];
            assert!(
                (total - expected).abs() < 1e-4,
                "{what}: {from}: {total} vs {what}.z {expected}"
            );
        }
    }
    let n_pos = resid_pre.shape[1];
    for l in 0..n_layer {
        let crossing: f32 = up
            .iter()
            .enumerate()
            .filter(|(_, u)| u.layer().is_none_or(|ul| ul < l))
            .flat_map(|(u, _)| {
                down.iter()
                    .enumerate()
                    .filter(|(_, d)| d.layer().is_none_or(|dl| dl >= l))
                    .map(move |(d, _)| (u, d))
            })
            .map(|(u, d)| score(u, d))
            .sum();
        let expected: f32 = resid_pre.values[l * n_pos..(l + 1) * n_pos].iter().sum();
        assert!(
            (crossing - expected).abs() < 1e-4,
            "{what}: layer {l}: {crossing} vs {expected}"
        );
    }
}

/// The probes' oracle: `probes.json`, `probes.safetensors` and the tiny model's tokenizer.
struct Probes {
    doc: Value,
    oracle: BTreeMap<String, patchbay::tensor_io::HostTensor>,
    tokenizer: patchbay::loading::Tokenizer,
}

impl Probes {
    fn read() -> Self {
        let dir = tiny_dir();
        let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
        Self {
            doc: serde_json::from_slice(&read("probes.json")).unwrap(),
            oracle: from_safetensors(&read("probes.safetensors")).unwrap(),
            tokenizer: patchbay::loading::Tokenizer::from_bytes(&read("tokenizer.json")).unwrap(),
        }
    }
}

/// The word-association test on the oracle's words, at the token embedding and the last
/// layer's residual stream: s per target word, the effect size and the exact p-value.
pub fn association_matches(model: &Gpt2) {
    use patchbay::experiments::association;
    let Probes {
        doc,
        oracle,
        tokenizer,
    } = Probes::read();
    let weat = &doc["weat"];
    let words = |key: &str| -> Vec<String> { serde_json::from_value(weat[key].clone()).unwrap() };
    for key in ["embed", "resid"] {
        let params = association::Params {
            template: weat["template"].as_str().unwrap().to_string(),
            targets: [words("X"), words("Y")],
            attributes: [words("A"), words("B")],
            hook: weat["hooks"][key].as_str().unwrap().parse().unwrap(),
            prepend_bos: false,
        };
        let prompts = PromptSet::empty().with_tokenizer(&tokenizer);
        let output = block_on(association::run(
            model,
            &prompts,
            &params,
            &mut Progress::none(),
        ));
        let output = output.unwrap();
        let metrics: Vec<(String, f32)> = output
            .metrics
            .iter()
            .map(|(m, v)| (m.to_string(), *v))
            .collect();
        let mut out = Named::new(output);
        let s = out.grid("weat.s");
        let expected = &oracle[&format!("weat.{key}.s")];
        assert_eq!(s.shape, expected.shape, "{key}");
        let diff = max_abs_diff(&s.values, &expected.values);
        assert!(diff < 1e-4, "weat.{key}.s: max |diff| {diff}");
        assert_eq!(s.labels[0][0], " John");
        let metric = |name: &str| {
            metrics
                .iter()
                .find(|(m, _)| m == name)
                .unwrap_or_else(|| panic!("no {name}"))
                .1
        };
        for (ours, theirs) in [
            ("weat.effect_size", "effect_size"),
            ("weat.p_value", "p_value"),
        ] {
            let want = oracle[&format!("weat.{key}.{theirs}")].values[0];
            let got = metric(ours);
            assert!((got - want).abs() < 1e-4, "{key} {ours}: {got} vs {want}");
        }
        assert_eq!(
            metric("weat.partitions"),
            70.0,
            "C(8, 4) partitions, all counted"
        );
    }
}

/// Frequency tagging on the oracle's 32 sentences: every neuron's SNR at both rates and every
/// layer's spectrum (relative 1e-3), the tagged shares; the shuffled control is reported beside.
pub fn frequency_matches(model: &Gpt2) {
    use patchbay::experiments::{PromptInput, frequency};
    let Probes {
        doc,
        oracle,
        tokenizer,
    } = Probes::read();
    let hftp = &doc["hftp"];
    let params = frequency::Params {
        sentences: hftp["sentences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| PromptInput::Text(s.as_str().unwrap().to_string()))
            .collect(),
        words_per_sentence: hftp["words_per_sentence"].as_u64().unwrap() as usize,
        words_per_phrase: hftp["words_per_phrase"].as_u64().unwrap() as usize,
        prepend_bos: false,
        threshold: 3.0,
        shuffled_control: true,
    };
    let prompts = PromptSet::empty().with_tokenizer(&tokenizer);
    let output = block_on(frequency::run(
        model,
        &prompts,
        &params,
        &mut Progress::none(),
    ));
    let mut out = Named::new(output.unwrap());
    let snr_grids = ["hftp.snr_sentence", "hftp.snr_phrase"].map(|name| out.grids[name].clone());
    for name in ["hftp.snr_sentence", "hftp.snr_phrase", "hftp.spectrum"] {
        let ours = out.grid(name);
        let theirs = &oracle[name];
        assert_eq!(ours.shape, theirs.shape, "{name}");
        for (i, (a, b)) in ours.values.iter().zip(&theirs.values).enumerate() {
            let close = (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-3 * b.abs().max(1e-6);
            assert!(close, "{name}[{i}]: {a} vs {b}");
        }
    }
    let tagged = out.grid("hftp.tagged");
    let diff = max_abs_diff(&tagged.values, &oracle["hftp.tagged"].values);
    assert!(diff < 1e-4, "hftp.tagged: {diff}");
    assert_eq!(tagged.labels[1], ["sentence", "phrase"]);
    let control = out.grid("hftp.tagged_shuffled");
    assert_eq!(control.shape, tagged.shape);

    // The neurons the ranked figures list, each with its mlp.hook_post over the stream.
    let traces = out.grid("hftp.traces").clone();
    let mut listed: Vec<String> = vec![];
    for grid in &snr_grids {
        for (label, _) in patchbay::figures::sorted_bars(grid, frequency::TRACED) {
            if !listed.contains(&label) {
                listed.push(label);
            }
        }
    }
    assert_eq!(traces.labels[0], listed);
    let ids: Vec<u32> = hftp["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(traces.shape, vec![listed.len(), ids.len()]);
    assert_eq!(traces.labels[1], tokenizer.token_texts(&ids));
    let (_, cache) =
        model.run_with_cache(model.tokens(std::slice::from_ref(&ids)).unwrap(), |_| true);
    for (row, label) in listed.iter().enumerate() {
        let (layer, neuron) = label
            .strip_prefix('L')
            .and_then(|rest| rest.split_once(" neuron "))
            .map(|(l, n)| (l.parse::<usize>().unwrap(), n.parse::<usize>().unwrap()))
            .unwrap_or_else(|| panic!("{label}"));
        let point = HookPoint::Block(layer, patchbay::hooks::BlockHook::MlpPost);
        let acts = block_on(patchbay::experiments::read(cache.get::<3>(point).unwrap())).unwrap();
        let width = acts.len() / ids.len();
        let expected: Vec<f32> = (0..ids.len()).map(|t| acts[t * width + neuron]).collect();
        let got = &traces.values[row * ids.len()..(row + 1) * ids.len()];
        assert!(max_abs_diff(got, &expected) < 1e-5, "{label}");
    }
}
