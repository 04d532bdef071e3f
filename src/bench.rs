//! The benchmark workloads of `patchbay bench` and of the browser's Benchmark panel (`?bench`):
//! a model of GPT-2 small's shape with seeded random weights (nothing to download) and the
//! things a user does with it, each timed on the device at hand. Native and in-browser numbers
//! come from this one module, so they measure the same work.

use crate::experiments::{
    AnswerPair, AttributionMethod, AttributionTarget, Discriminator, ExperimentError, Gedi,
    GenerationConfig, Metric, PatchTarget, Progress, PromptInput, PromptSet, RelpRule, attribution,
    features, frequency, generate, generation, patching, path, read,
};
use crate::gpu_calls::{Counting, GpuCalls};
use crate::hooks::HookPoint;
use crate::loading::ModelRef;
use crate::model::{Gpt2, Gpt2Config};
use crate::rng::SplitMix64;
use crate::sae::{
    Architecture, FeatureAction, FeatureEdit, FeatureEdits, Normalization, Sae, SaeConfig,
};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use web_time::Instant;

/// One thing a user does with the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// Logits of a 20-token prompt.
    Forward,
    /// The same, caching every hook.
    Cache,
    /// `resid_pre` patching of one 20-token pair (TransformerLens's baseline does the same).
    PatchSweep,
    /// `resid_pre` patching of eight IOI-shaped 15-token pairs (the IOI example's size).
    IoiResidPre,
    /// `attn_head_out_by_pos` patching of the same eight pairs (12 × 15 × 12 cells).
    IoiHeadOutByPos,
    /// Path patching of every head to the final residual stream on the eight IOI-shaped pairs,
    /// a layer's senders batched (64 rows per pass).
    IoiPathBatched,
    /// The same the straightforward way: one hooked pass per sender through every block from
    /// its layer.
    IoiPathPerSender,
    /// Attribution patching (the gradient) of `resid_pre`, `attn_out`, `mlp_out` and `z` on
    /// the eight IOI-shaped pairs: two forward passes and one backward pass.
    IoiAttribution,
    /// The same estimates by RelP (LN- and Identity-rule): its cost against the gradient's.
    IoiRelp,
    /// 32 greedy tokens after the 20-token prompt, with the KV cache.
    GenerateKv,
    /// The same without it.
    GenerateNoKv,
    /// Frequency tagging of every MLP neuron over 64 four-token sentences (256 tokens), with
    /// the shuffled control: two passes caching every `mlp.hook_post`, an FFT per neuron.
    Hftp,
    /// The same 32 tokens with the KV cache, guided by GeDi (ω 30, ρ 0.8, τ 0.8) with the model
    /// itself as the GeDi model: a second model of the same shape costs the same time.
    GenerateGedi,
    /// An SAE of `gpt2-small-res-jb`'s shape (24,576 features at `blocks.8.hook_resid_pre`,
    /// random weights) on the 20-token prompt: every token's features read back and ranked.
    SaeFeatures,
    /// The 32 tokens with the KV cache and one of that SAE's features clamped at every step.
    SaeClamped,
}

impl Workload {
    pub const ALL: [Workload; 15] = [
        Self::Forward,
        Self::Cache,
        Self::PatchSweep,
        Self::IoiResidPre,
        Self::IoiHeadOutByPos,
        Self::IoiPathBatched,
        Self::IoiPathPerSender,
        Self::IoiAttribution,
        Self::IoiRelp,
        Self::GenerateKv,
        Self::GenerateNoKv,
        Self::GenerateGedi,
        Self::Hftp,
        Self::SaeFeatures,
        Self::SaeClamped,
    ];

    /// The name in reports and JSON (`patchbay bench`'s names since its first version).
    pub fn name(self) -> &'static str {
        match self {
            Self::Forward => "forward",
            Self::Cache => "cache",
            Self::PatchSweep => "patch_sweep",
            Self::IoiResidPre => "ioi_resid_pre",
            Self::IoiHeadOutByPos => "ioi_head_out_by_pos",
            Self::IoiPathBatched => "ioi_path_batched",
            Self::IoiPathPerSender => "ioi_path_per_sender",
            Self::IoiAttribution => "ioi_attribution",
            Self::IoiRelp => "ioi_relp",
            Self::GenerateKv => "generate_kv",
            Self::GenerateNoKv => "generate_no_kv",
            Self::GenerateGedi => "generate_gedi",
            Self::Hftp => "hftp",
            Self::SaeFeatures => "sae_features",
            Self::SaeClamped => "sae_clamped",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Forward => "forward, 1×20 tokens",
            Self::Cache => "run_with_cache (every hook), 1×20 tokens",
            Self::PatchSweep => "resid_pre patching sweep, one 20-token pair (12×20 cells)",
            Self::IoiResidPre => {
                "resid_pre patching sweep, 8 IOI-shaped 15-token pairs (12×15 cells)"
            }
            Self::IoiHeadOutByPos => {
                "attn_head_out_by_pos patching sweep, 8 IOI-shaped pairs (12×15×12 cells)"
            }
            Self::IoiPathBatched => {
                "path patching to the final residual stream, 8 IOI-shaped pairs, senders batched"
            }
            Self::IoiPathPerSender => {
                "path patching to the final residual stream, 8 IOI-shaped pairs, a hooked pass per sender"
            }
            Self::IoiAttribution => {
                "attribution patching (gradient), 8 IOI-shaped pairs, resid_pre/attn_out/mlp_out/z"
            }
            Self::IoiRelp => "RelP, 8 IOI-shaped pairs, resid_pre/attn_out/mlp_out/z",
            Self::GenerateKv => "32 greedy tokens after 20, KV cache",
            Self::GenerateNoKv => "32 greedy tokens after 20, no KV cache",
            Self::GenerateGedi => {
                "32 GeDi-guided greedy tokens after 20, both models cached (GeDi model of the same shape)"
            }
            Self::Hftp => {
                "frequency tagging of every MLP neuron, 64 four-token sentences, shuffled control"
            }
            Self::SaeFeatures => {
                "SAE features of 1×20 tokens, gpt2-small-res-jb's shape (24,576 features, layer 8)"
            }
            Self::SaeClamped => {
                "32 greedy tokens after 20, KV cache, one of that SAE's features clamped"
            }
        }
    }

    /// `(warm-up runs, timed runs)` when `reps` are asked for: the IOI sweeps take minutes on
    /// a CPU and run once after one warm-up; the other sweep and generation warm up once, the
    /// single passes twice (as TransformerLens's baseline does).
    pub fn schedule(self, reps: usize) -> (usize, usize) {
        match self {
            Self::IoiResidPre
            | Self::IoiHeadOutByPos
            | Self::IoiPathBatched
            | Self::IoiPathPerSender => (1, 1),
            Self::PatchSweep
            | Self::IoiAttribution
            | Self::IoiRelp
            | Self::GenerateKv
            | Self::GenerateNoKv
            | Self::GenerateGedi
            | Self::Hftp
            | Self::SaeFeatures
            | Self::SaeClamped => (1, reps),
            Self::Forward | Self::Cache => (2, reps),
        }
    }
}

impl std::str::FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|w| w.name()).collect();
                format!("unknown workload `{s}`: one of {}", names.join(", "))
            })
    }
}

/// The model a benchmark builds, with seeded random weights.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchModel {
    /// GPT-2 small's shape (124M parameters).
    #[default]
    Small,
    /// GPT-2 small's depth, heads, context and vocabulary at width 48: the same kernels and
    /// launches, a sixteenth of the width, so that a GPU emulated on the CPU (SwiftShader,
    /// lavapipe) counts and times it in seconds.
    Narrow,
}

impl BenchModel {
    pub fn config(self) -> Gpt2Config {
        let mut config = Gpt2Config::gpt2_small();
        if self == Self::Narrow {
            config.n_embd = 48;
            config.n_inner = 4 * 48;
        }
        config
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Small => {
                "GPT-2 small shape (12 layers, d_model 768, vocab 50257), random weights"
            }
            Self::Narrow => {
                "GPT-2 small's depth, heads and vocabulary at d_model 48 (12 layers, vocab 50257), random weights"
            }
        }
    }
}

impl std::str::FromStr for BenchModel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "small" => Ok(Self::Small),
            "narrow" => Ok(Self::Narrow),
            _ => Err(format!("unknown benchmark model `{s}`: small or narrow")),
        }
    }
}

/// The token ids the workloads run on, drawn from a seed.
pub struct Inputs {
    /// 20 tokens.
    pub prompt: Vec<u32>,
    /// The prompt with one token changed (position 5), and its answers.
    pub prompt_corrupted: Vec<u32>,
    pub prompt_answers: Vec<AnswerPair>,
    /// Eight 15-token prompts; each corrupted one differs at the two "name" positions, as IOI's
    /// ABC corruption does.
    pub ioi_clean: Vec<Vec<u32>>,
    pub ioi_corrupted: Vec<Vec<u32>>,
    pub ioi_answers: Vec<AnswerPair>,
    /// The SAE of the SAE workloads, built on the first (warm-up) run.
    sae: std::cell::OnceCell<Sae>,
}

impl Inputs {
    pub fn new(vocab_size: usize, seed: u64) -> Self {
        let mut rng = SplitMix64(seed);
        let mut token = move || (rng.next_u64() % vocab_size as u64) as u32;
        let prompt: Vec<u32> = (0..20).map(|_| token()).collect();
        let mut prompt_corrupted = prompt.clone();
        prompt_corrupted[5] = (prompt_corrupted[5] + 1) % vocab_size as u32;
        let prompt_answers = vec![AnswerPair {
            correct: prompt[3],
            incorrect: prompt[7],
        }];
        let ioi_clean: Vec<Vec<u32>> = (0..8).map(|_| (0..15).map(|_| token()).collect()).collect();
        let ioi_corrupted = ioi_clean
            .iter()
            .map(|clean| {
                let mut corrupted = clean.clone();
                corrupted[2] = token();
                corrupted[10] = token();
                corrupted
            })
            .collect();
        let ioi_answers = ioi_clean
            .iter()
            .map(|clean| AnswerPair {
                correct: clean[2],
                incorrect: clean[4],
            })
            .collect();
        Self {
            prompt,
            prompt_corrupted,
            prompt_answers,
            ioi_clean,
            ioi_corrupted,
            ioi_answers,
            sae: std::cell::OnceCell::new(),
        }
    }

    /// An SAE of `gpt2-small-res-jb`'s shape for `model` (at its layer 8, or its last layer),
    /// with random weights.
    pub fn sae(&self, model: &Gpt2) -> &Sae {
        self.sae.get_or_init(|| {
            let config = SaeConfig {
                architecture: Architecture::Standard,
                d_in: model.config.n_embd,
                d_sae: 24_576,
                hook: HookPoint::resid_pre(8.min(model.config.n_layer - 1)),
                apply_b_dec_to_input: true,
                normalization: Normalization::None,
            };
            Sae::random(config, 5, &model.device())
        })
    }
}

impl Inputs {
    /// The eight IOI-shaped pairs as prompts, scored by the logit difference.
    fn ioi_pairs(&self) -> Result<PromptSet<'static>, ExperimentError> {
        PromptSet::new(
            self.ioi_clean.clone(),
            self.ioi_corrupted.clone(),
            self.ioi_answers.clone(),
            Metric::LogitDiff,
        )
    }
}

/// Waits for the device: reads the last position's logits back.
async fn sync(logits: Tensor<3>) -> Result<(), ExperimentError> {
    let [_, pos, vocab] = logits.dims();
    read(logits.narrow(1, pos - 1, 1).reshape([vocab]))
        .await
        .map(|_| ())
        .map_err(ExperimentError::Device)
}

/// Runs `workload` once.
pub async fn run(model: &Gpt2, inputs: &Inputs, workload: Workload) -> Result<(), ExperimentError> {
    let prompt = || model.tokens(std::slice::from_ref(&inputs.prompt));
    let sweep = |clean: &[Vec<u32>], corrupted: &[Vec<u32>], answers: &[AnswerPair], target| {
        let prompts = PromptSet::new(
            clean.to_vec(),
            corrupted.to_vec(),
            answers.to_vec(),
            Metric::LogitDiff,
        );
        async move {
            let params = patching::Params {
                targets: vec![target],
                max_rows: 64,
                features: None,
            };
            patching::run(model, &prompts?, &params, &mut Progress::none())
                .await
                .map(|_| ())
        }
    };
    match workload {
        Workload::Forward => sync(model.forward(prompt()?)).await,
        Workload::Cache => sync(model.run_with_cache(prompt()?, |_| true).0).await,
        Workload::PatchSweep => {
            sweep(
                std::slice::from_ref(&inputs.prompt),
                std::slice::from_ref(&inputs.prompt_corrupted),
                &inputs.prompt_answers[..],
                PatchTarget::ResidPre,
            )
            .await
        }
        Workload::IoiResidPre | Workload::IoiHeadOutByPos => {
            let target = if workload == Workload::IoiResidPre {
                PatchTarget::ResidPre
            } else {
                PatchTarget::AttnHeadOutByPos
            };
            sweep(
                &inputs.ioi_clean[..],
                &inputs.ioi_corrupted[..],
                &inputs.ioi_answers[..],
                target,
            )
            .await
        }
        Workload::IoiPathBatched | Workload::IoiPathPerSender => {
            let prompts = inputs.ioi_pairs()?;
            let mut params = path::Params {
                direction: path::Direction::Noising,
                receivers: path::Receivers::FinalResid,
                // 8 prompts a sender: 64 rows batch 8 senders.
                max_rows: 64,
            };
            let progress = &mut Progress::none();
            if workload == Workload::IoiPathBatched {
                path::run(model, &prompts, &params, progress).await
            } else {
                params.max_rows = inputs.ioi_clean.len();
                path::baseline_forward_per_sender(model, &prompts, &params, progress).await
            }
            .map(|_| ())
        }
        Workload::IoiAttribution | Workload::IoiRelp => {
            let prompts = inputs.ioi_pairs()?;
            let method = if workload == Workload::IoiRelp {
                AttributionMethod::Relp
            } else {
                AttributionMethod::Gradient
            };
            let params = attribution::Params {
                compare: false,
                targets: vec![
                    AttributionTarget::ResidPre,
                    AttributionTarget::AttnOut,
                    AttributionTarget::MlpOut,
                    AttributionTarget::Z,
                ],
                max_rows: 64,
                methods: vec![method],
                relp_rules: RelpRule::DEFAULT.to_vec(),
                features: None,
            };
            attribution::run(model, &prompts, &params, &mut Progress::none())
                .await
                .map(|_| ())
        }
        Workload::GenerateKv | Workload::GenerateNoKv => {
            let config = GenerationConfig {
                max_new_tokens: 32,
                stop_at_eos: false,
                kv_cache: workload == Workload::GenerateKv,
                ..GenerationConfig::default()
            };
            generate(
                model,
                &inputs.prompt,
                &config,
                &[],
                None,
                &mut Progress::none(),
            )
            .await
            .map(|_| ())
        }
        Workload::Hftp => {
            let mut rng = SplitMix64(7);
            let vocab = model.config.vocab_size as u64;
            let params = frequency::Params {
                sentences: (0..64)
                    .map(|_| {
                        PromptInput::Ids((0..4).map(|_| (rng.next_u64() % vocab) as u32).collect())
                    })
                    .collect(),
                words_per_sentence: 4,
                words_per_phrase: 2,
                prepend_bos: false,
                threshold: 3.0,
                shuffled_control: true,
            };
            frequency::run(model, &PromptSet::empty(), &params, &mut Progress::none())
                .await
                .map(|_| ())
        }
        Workload::SaeFeatures | Workload::SaeClamped => {
            let sae = inputs.sae(model);
            let id = ModelRef {
                id: "gpt2-small-res-jb shape".into(),
                revision: None,
            };
            let prompts = PromptSet::empty().with_sae(&id.id, sae);
            let progress = &mut Progress::none();
            if workload == Workload::SaeFeatures {
                let params = features::Params {
                    sae: id.clone(),
                    prompt: PromptInput::Ids(inputs.prompt.clone()),
                    prepend_bos: false,
                    top: 8,
                    feature: Some(0),
                };
                features::run(model, &prompts, &params, progress).await
            } else {
                let params = generation::Params {
                    prompt: PromptInput::Ids(inputs.prompt.clone()),
                    prepend_bos: false,
                    generation: GenerationConfig {
                        max_new_tokens: 32,
                        stop_at_eos: false,
                        kv_cache: true,
                        ..GenerationConfig::default()
                    },
                    interventions: vec![],
                    features: Some(FeatureEdits {
                        sae: id.clone(),
                        edits: vec![FeatureEdit {
                            feature: 0,
                            action: FeatureAction::Clamp { value: 10.0 },
                        }],
                    }),
                };
                generation::run(model, &prompts, &params, progress).await
            }
            .map(|_| ())
        }
        Workload::GenerateGedi => {
            let config = GenerationConfig {
                max_new_tokens: 32,
                stop_at_eos: false,
                gedi: Some(Gedi::new(
                    ModelRef {
                        id: "the model itself".into(),
                        revision: None,
                    },
                    "positive",
                    "negative",
                )),
                ..GenerationConfig::default()
            };
            let discriminator = Discriminator {
                model,
                codes: [0, 1],
            };
            generate(
                model,
                &inputs.prompt,
                &config,
                &[],
                Some(discriminator),
                &mut Progress::none(),
            )
            .await
            .map(|_| ())
        }
    }
}

/// The times of one workload, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    pub workload: Workload,
    pub median_s: f64,
    pub runs_s: Vec<f64>,
    /// The first run, warm-up included: on a GPU it compiles every kernel it launches.
    #[serde(default)]
    pub first_run_s: f64,
    /// What the last timed run asked of the GPU (on a GPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_calls: Option<GpuCalls>,
}

/// What a benchmark run reports, in the browser's Benchmark panel and `patchbay bench --json`
/// alike (the browser adds where it ran, the command line its peak memory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub model: String,
    /// The backend (`cpu`, `wgpu`).
    pub device: String,
    /// The GPU adapter and the browser (in a browser).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    pub reps: usize,
    /// Seconds to build the model (in a browser: its weights are made on the device).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_model_s: Option<f64>,
    /// The tab's WebAssembly memory, or the process's peak resident memory, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasm_memory_mb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_mb: Option<f64>,
    /// Each workload's timing, by name.
    pub cases: BTreeMap<String, Case>,
}

/// One workload's runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub median_s: f64,
    pub runs_s: Vec<f64>,
    #[serde(default)]
    pub first_run_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_calls: Option<GpuCalls>,
}

impl BenchReport {
    /// The report of `timings` of `model` on `device`, `reps` runs each; the rest is for the
    /// caller to add.
    pub fn new(model: BenchModel, device: impl ToString, reps: usize, timings: &[Timing]) -> Self {
        Self {
            model: model.describe().into(),
            device: device.to_string(),
            adapter: None,
            browser: None,
            reps,
            build_model_s: None,
            wasm_memory_mb: None,
            peak_rss_mb: None,
            cases: timings
                .iter()
                .map(|t| {
                    let case = Case {
                        median_s: t.median_s,
                        runs_s: t.runs_s.clone(),
                        first_run_s: t.first_run_s,
                        gpu_calls: t.gpu_calls.clone(),
                    };
                    (t.workload.name().to_string(), case)
                })
                .collect(),
        }
    }
}

/// Median of `reps` runs after `warmup` runs; with `count_gpu_calls`, what the last run asked
/// of the GPU.
pub async fn time(
    model: &Gpt2,
    inputs: &Inputs,
    workload: Workload,
    (warmup, reps): (usize, usize),
    count_gpu_calls: bool,
) -> Result<Timing, ExperimentError> {
    let reps = reps.max(1);
    let mut first_run_s = None;
    for _ in 0..warmup {
        let start = Instant::now();
        run(model, inputs, workload).await?;
        first_run_s.get_or_insert(start.elapsed().as_secs_f64());
    }
    let mut runs_s = Vec::with_capacity(reps);
    let mut gpu_calls = None;
    for rep in 0..reps {
        let counting = (count_gpu_calls && rep + 1 == reps).then(Counting::start);
        let start = Instant::now();
        run(model, inputs, workload).await?;
        runs_s.push(start.elapsed().as_secs_f64());
        gpu_calls = counting.map(Counting::finish);
    }
    let mut sorted = runs_s.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(Timing {
        workload,
        median_s: sorted[sorted.len() / 2],
        first_run_s: first_run_s.unwrap_or(runs_s[0]),
        runs_s,
        gpu_calls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Gpt2Config;

    #[test]
    fn workload_names_round_trip() {
        for w in Workload::ALL {
            assert_eq!(w.name().parse::<Workload>(), Ok(w));
        }
        assert!("fast".parse::<Workload>().is_err());
    }

    #[test]
    fn every_workload_runs_on_a_small_model() {
        let mut config = Gpt2Config::gpt2_small();
        config.n_layer = 1;
        config.n_embd = 64;
        config.n_head = 4;
        config.n_inner = 256;
        let device = crate::device::cpu();
        let model = Gpt2::random(&config, 1, &device);
        let inputs = Inputs::new(config.vocab_size, 7);
        assert_eq!(inputs.ioi_clean.len(), 8);
        assert!(
            inputs
                .ioi_clean
                .iter()
                .zip(&inputs.ioi_corrupted)
                .all(|(c, k)| c.len() == 15 && k.len() == 15 && c != k)
        );
        for w in Workload::ALL {
            let timing = pollster::block_on(time(&model, &inputs, w, (0, 1), false)).expect("runs");
            assert_eq!(timing.runs_s.len(), 1);
            assert!(timing.median_s >= 0.0);
        }
    }
}
