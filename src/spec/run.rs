//! Running a spec on a loaded model: resolve prompts and answers with the tokenizer, call
//! the experiment, and gather named grids, metrics, generations and provenance.

use super::format::{Experiment, PromptInput, Prompts, Spec, SpecError, TokenInput};
use crate::experiments::{
    self, AnswerPair, ExperimentError, Generation, Grid, PatchTarget, PatchingResult, Progress,
    PromptPairs, activation_patching_targets, attribution_patching,
};
use crate::loading::LoadedModel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use web_time::Instant;

/// What a run produced: the spec, then everything computed from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub spec: Spec,
    /// Named grids, as in the oracle (`patch.resid_pre`, `ablate.zero_head_z`, `lens.head_dla_logit_diff`...).
    pub grids: BTreeMap<String, Grid>,
    /// Scalars: `clean`, `corrupted`, `pearson.z`...
    #[serde(deserialize_with = "crate::experiments::grid_nullable::float_map")]
    pub metrics: BTreeMap<String, f32>,
    /// Token texts of the prompts (`clean`, `corrupted`), for axis labels.
    pub tokens: BTreeMap<String, Vec<Vec<String>>>,
    /// Generated continuations by name (`default`, `steered`...).
    pub generations: BTreeMap<String, GeneratedText>,
    pub provenance: Provenance,
}

/// A generation with its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratedText {
    pub prompt_ids: Vec<u32>,
    pub text: String,
    pub generation: Generation,
}

/// Where and how a result was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub patchbay_version: String,
    /// sha256 of `model.safetensors`, hex.
    pub weights_sha256: String,
    pub device: String,
    pub timings_ms: BTreeMap<String, f64>,
}

/// The model a spec runs on, with what the result records about it.
pub struct RunContext<'a> {
    pub model: &'a LoadedModel,
    pub weights_sha256: String,
    pub device: String,
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq)]
pub enum RunError {
    Spec(SpecError),
    Experiment(ExperimentError),
    /// Clean and corrupted prompt `index` tokenise to different lengths.
    UnequalLengths {
        index: usize,
        clean: Vec<String>,
        corrupted: Vec<String>,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Spec(e) => e.fmt(f),
            Self::Experiment(e) => e.fmt(f),
            Self::UnequalLengths {
                index,
                clean,
                corrupted,
            } => write!(
                f,
                "clean and corrupted prompt {index} must have the same number of tokens, position by position:\n  clean ({} tokens):     {}\n  corrupted ({} tokens): {}",
                clean.len(),
                show_tokens(clean),
                corrupted.len(),
                show_tokens(corrupted)
            ),
        }
    }
}

fn show_tokens(tokens: &[String]) -> String {
    tokens
        .iter()
        .map(|t| format!("{t:?}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl std::error::Error for RunError {}

impl From<ExperimentError> for RunError {
    fn from(e: ExperimentError) -> Self {
        Self::Experiment(e)
    }
}

/// sha256 of weights bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Resolved {
    clean: Vec<Vec<u32>>,
    corrupted: Vec<Vec<u32>>,
    answers: Vec<AnswerPair>,
}

impl Resolved {
    fn pairs(&self) -> PromptPairs<'_> {
        PromptPairs {
            clean: &self.clean,
            corrupted: &self.corrupted,
            answers: &self.answers,
        }
    }
}

impl RunContext<'_> {
    fn prompt(
        &self,
        input: &PromptInput,
        prepend_bos: bool,
        path: &str,
    ) -> Result<Vec<u32>, RunError> {
        match input {
            PromptInput::Ids(ids) => Ok(ids.clone()),
            PromptInput::Text(text) => self
                .model
                .tokenizer
                .encode_prompt(text, prepend_bos)
                .map_err(|e| {
                    RunError::Spec(SpecError {
                        path: path.into(),
                        message: e.to_string(),
                    })
                }),
        }
    }

    fn token(&self, input: &TokenInput, path: &str) -> Result<u32, RunError> {
        match input {
            TokenInput::Id(id) => Ok(*id),
            TokenInput::Text(text) => {
                let ids = self.model.tokenizer.encode(text).map_err(|e| {
                    RunError::Spec(SpecError {
                        path: path.into(),
                        message: e.to_string(),
                    })
                })?;
                match ids[..] {
                    [id] => Ok(id),
                    _ => Err(RunError::Spec(SpecError {
                        path: path.into(),
                        message: format!(
                            "answer {text:?} is {} tokens {:?}; answers must be single tokens",
                            ids.len(),
                            self.model.tokenizer.token_texts(&ids)
                        ),
                    })),
                }
            }
        }
    }

    fn resolve(&self, prompts: &Prompts) -> Result<Resolved, RunError> {
        let list = |inputs: &[PromptInput], name: &str| {
            inputs
                .iter()
                .enumerate()
                .map(|(i, p)| self.prompt(p, prompts.prepend_bos, &format!("prompts.{name}[{i}]")))
                .collect::<Result<Vec<_>, _>>()
        };
        let answers = prompts
            .answers
            .iter()
            .enumerate()
            .map(|(i, [c, w])| {
                Ok(AnswerPair {
                    correct: self.token(c, &format!("prompts.answers[{i}][0]"))?,
                    incorrect: self.token(w, &format!("prompts.answers[{i}][1]"))?,
                })
            })
            .collect::<Result<Vec<_>, RunError>>()?;
        let resolved = Resolved {
            clean: list(&prompts.clean, "clean")?,
            corrupted: list(&prompts.corrupted, "corrupted")?,
            answers,
        };
        for (index, (clean, corrupted)) in
            resolved.clean.iter().zip(&resolved.corrupted).enumerate()
        {
            if clean.len() != corrupted.len() {
                let texts = |ids: &[u32]| self.model.tokenizer.token_texts(ids);
                return Err(RunError::UnequalLengths {
                    index,
                    clean: texts(clean),
                    corrupted: texts(corrupted),
                });
            }
        }
        Ok(resolved)
    }

    fn generated(&self, prompt_ids: Vec<u32>, generation: Generation) -> GeneratedText {
        let text = self
            .model
            .tokenizer
            .decode(&generation.new_ids)
            .unwrap_or_default();
        GeneratedText {
            prompt_ids,
            text,
            generation,
        }
    }
}

/// Pearson correlation of two equally long series (NaN when either is constant).
pub fn pearson(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len() as f64;
    let (ma, mb) = (
        a.iter().map(|&x| x as f64).sum::<f64>() / n,
        b.iter().map(|&x| x as f64).sum::<f64>() / n,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x as f64 - ma, y as f64 - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    (sab / (saa * sbb).sqrt()) as f32
}

/// Adds a patching result as `patch.<target>` (raw), `.normalised` and `.per_prompt`, with
/// the clean and corrupted metrics.
fn insert_patching(
    grids: &mut BTreeMap<String, Grid>,
    metrics: &mut BTreeMap<String, f32>,
    target: PatchTarget,
    result: PatchingResult,
) {
    let name = format!("patch.{}", target.name());
    grids.insert(format!("{name}.normalised"), result.normalised());
    grids.insert(format!("{name}.per_prompt"), result.per_prompt);
    grids.insert(name, result.raw);
    metrics.insert("clean".into(), result.clean);
    metrics.insert("corrupted".into(), result.corrupted);
}

/// Runs `spec` on the context's model.
pub async fn run(
    spec: &Spec,
    ctx: &RunContext<'_>,
    progress: &mut Progress<'_>,
) -> Result<RunResult, RunError> {
    let started = Instant::now();
    let model = &ctx.model.model;
    let mut grids = BTreeMap::new();
    let mut metrics = BTreeMap::new();
    let mut tokens = BTreeMap::new();
    let mut generations = BTreeMap::new();
    let resolved = spec.prompts.as_ref().map(|p| ctx.resolve(p)).transpose()?;
    if let Some(r) = &resolved {
        let texts = |batch: &[Vec<u32>]| {
            batch
                .iter()
                .map(|ids| ctx.model.tokenizer.token_texts(ids))
                .collect::<Vec<_>>()
        };
        tokens.insert("clean".to_string(), texts(&r.clean));
        if !r.corrupted.is_empty() {
            tokens.insert("corrupted".to_string(), texts(&r.corrupted));
        }
    }
    let resolved_ref = || resolved.as_ref().expect("checked by Spec::check");

    match &spec.experiment {
        Experiment::ActivationPatching { targets, max_rows } => {
            let r = resolved_ref();
            let results = activation_patching_targets(
                model,
                r.pairs(),
                targets,
                spec.metric,
                *max_rows,
                progress,
            )
            .await?;
            for (target, result) in targets.iter().zip(results) {
                insert_patching(&mut grids, &mut metrics, *target, result);
            }
        }
        Experiment::Ablation {
            ablation,
            target,
            max_rows,
        } => {
            let r = resolved_ref();
            let corrupted = (!r.corrupted.is_empty()).then_some(&r.corrupted[..]);
            let result = experiments::ablation(
                model,
                &r.clean,
                corrupted,
                &r.answers,
                *ablation,
                target,
                spec.metric,
                *max_rows,
                progress,
            )
            .await?;
            let unit = match target {
                experiments::AblationTarget::Heads => "head_z".to_string(),
                experiments::AblationTarget::Mlp => "mlp_out".to_string(),
                experiments::AblationTarget::Neurons { layer, .. } => format!("mlp_post_{layer}"),
            };
            let kind = serde_json::to_value(ablation)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let name = format!("ablate.{kind}_{unit}");
            grids.insert(format!("{name}_per_prompt"), result.per_prompt);
            grids.insert(name, result.grid);
            metrics.insert("clean".into(), result.clean);
        }
        Experiment::Circuit { keep } => {
            let r = resolved_ref();
            let keep: Vec<(usize, usize)> = keep.iter().map(|[l, h]| (*l, *h)).collect();
            let (value, per_prompt) =
                experiments::circuit(model, &r.clean, &r.answers, &keep, spec.metric).await?;
            let n = per_prompt.len();
            grids.insert(
                "circuit.per_prompt".into(),
                Grid::new(&["prompt"], vec![n], per_prompt),
            );
            metrics.insert("circuit".into(), value);
        }
        Experiment::LogitLens => {
            let r = resolved_ref();
            let lens = experiments::logit_lens(model, &r.clean, &r.answers).await?;
            metrics.insert("clean".into(), lens.clean);
            grids.insert(
                "lens.logit_diff_directions".into(),
                lens.logit_diff_directions,
            );
            for (name, stack) in [
                ("accumulated_resid_raw", lens.accumulated_resid_raw),
                (
                    "accumulated_resid_ln_recomputed",
                    lens.accumulated_resid_ln_recomputed,
                ),
                (
                    "accumulated_resid_ln_cached",
                    lens.accumulated_resid_ln_cached,
                ),
                ("decompose_resid", lens.decompose_resid),
                ("head_results", lens.head_results),
            ] {
                grids.insert(format!("lens.{name}"), stack.stack);
                if name != "head_results" {
                    grids.insert(
                        format!("lens.{name}_logit_diff_per_prompt"),
                        stack.logit_diff_per_prompt,
                    );
                    grids.insert(format!("lens.{name}_logit_diff"), stack.logit_diff);
                }
            }
            grids.insert(
                "lens.head_dla_logit_diff_per_prompt".into(),
                lens.head_dla_per_prompt,
            );
            grids.insert("lens.head_dla_logit_diff".into(), lens.head_dla);
        }
        Experiment::AttributionPatching { compare, max_rows } => {
            let r = resolved_ref();
            let attr = attribution_patching(model, r.pairs(), spec.metric).await?;
            if *compare {
                let compared = [
                    (PatchTarget::AttnHeadOutAllPos, "z", &attr.z),
                    (PatchTarget::AttnHeadOutByPos, "z_by_pos", &attr.z_by_pos),
                    (PatchTarget::ResidPre, "resid_pre", &attr.resid_pre),
                ];
                let targets = compared.map(|(target, _, _)| target);
                let results = activation_patching_targets(
                    model,
                    r.pairs(),
                    &targets,
                    spec.metric,
                    *max_rows,
                    progress,
                )
                .await?;
                for ((target, name, estimate), actual) in compared.into_iter().zip(results) {
                    // Attribution estimates the change from the corrupted run.
                    let effect: Vec<f32> = actual
                        .raw
                        .values
                        .iter()
                        .map(|v| v - actual.corrupted)
                        .collect();
                    metrics.insert(
                        format!("pearson.{name}"),
                        pearson(&estimate.values, &effect),
                    );
                    insert_patching(&mut grids, &mut metrics, target, actual);
                }
            }
            grids.insert("attrib.z".into(), attr.z);
            grids.insert("attrib.z_by_pos".into(), attr.z_by_pos);
            grids.insert("attrib.resid_pre".into(), attr.resid_pre);
        }
        Experiment::Generation {
            prompt,
            prepend_bos,
            generation,
            interventions,
        } => {
            let ids = ctx.prompt(prompt, *prepend_bos, "experiment.prompt")?;
            let config = experiments::GenerationConfig {
                seed: spec.seed,
                ..generation.clone()
            };
            let out =
                experiments::generate(model, &ids, &config, interventions, &mut |_| true).await?;
            generations.insert("default".into(), ctx.generated(ids, out));
        }
        Experiment::Steering {
            hook,
            positive,
            negative,
            coeff,
            prompt,
            prepend_bos,
            generation,
        } => {
            let positive = ctx.prompt(positive, *prepend_bos, "experiment.positive")?;
            let negative = ctx.prompt(negative, *prepend_bos, "experiment.negative")?;
            let ids = ctx.prompt(prompt, *prepend_bos, "experiment.prompt")?;
            let vector = experiments::steering_vector(model, *hook, &positive, &negative).await?;
            let d = vector.vector.len();
            grids.insert(
                "steer.vector".into(),
                Grid::new(&["d_model"], vec![d], vector.vector.clone()),
            );
            let config = experiments::GenerationConfig {
                seed: spec.seed,
                ..generation.clone()
            };
            let plain = experiments::generate(model, &ids, &config, &[], &mut |_| true).await?;
            generations.insert("unsteered".into(), ctx.generated(ids.clone(), plain));
            let steered = experiments::generate(
                model,
                &ids,
                &config,
                &[vector.intervention(*coeff)],
                &mut |_| true,
            )
            .await?;
            generations.insert("steered".into(), ctx.generated(ids, steered));
        }
    }

    let mut timings_ms = BTreeMap::new();
    timings_ms.insert("total".to_string(), started.elapsed().as_secs_f64() * 1e3);
    Ok(RunResult {
        spec: spec.clone(),
        grids,
        metrics,
        tokens,
        generations,
        provenance: Provenance {
            patchbay_version: env!("CARGO_PKG_VERSION").to_string(),
            weights_sha256: ctx.weights_sha256.clone(),
            device: ctx.device.clone(),
            timings_ms,
        },
    })
}
