//! Running a spec on a loaded model: resolve prompts and answers with the tokenizer, call
//! the experiment, and gather named grids, metrics, generations and provenance.

use super::budget::Limits;
use super::format::{PromptInput, Spec, SpecError, TokenInput};
use crate::experiments::Step;
use crate::experiments::{
    AnswerPair, ExperimentError, Generation, GenerationName, Grid, GridName, MetricName, Progress,
    PromptSet,
};
use crate::loading::LoadedModel;
use crate::sae::Sae;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use web_time::Instant;

/// What a run produced: the spec, then everything computed from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub spec: Spec,
    /// Named grids, written as in the oracle (`patch.resid_pre`, `ablate.zero_head_z`,
    /// `lens.head_dla_logit_diff`...).
    pub grids: BTreeMap<GridName, Grid>,
    /// Scalars: `clean`, `corrupted`, `pearson.z`...
    #[serde(deserialize_with = "crate::experiments::grid_nullable::float_map")]
    pub metrics: BTreeMap<MetricName, f32>,
    /// Token texts of the prompts (`clean`, `corrupted`), for axis labels.
    pub tokens: BTreeMap<String, Vec<Vec<String>>>,
    /// Generated continuations by name (`default`, `steered`...).
    pub generations: BTreeMap<GenerationName, GeneratedText>,
    pub provenance: Provenance,
}

impl Spec {
    /// The bundled direction example a steering spec takes its direction from, while the
    /// direction's values are not filled in.
    pub fn direction_source(&self) -> Option<&str> {
        match &self.experiment {
            crate::spec::Experiment::Steering(params) => {
                params.direction.as_ref()?.pending_example()
            }
            _ => None,
        }
    }

    /// Fills a pending direction with the one the first of `runs` that ran the example it
    /// names found (the example's spec is parsed once); whether it did.
    pub fn fill_direction<'a>(&mut self, runs: impl IntoIterator<Item = &'a RunResult>) -> bool {
        let Some(source) = self
            .direction_source()
            .and_then(super::examples::find)
            .and_then(|e| Spec::from_json(e.json).ok())
        else {
            return false;
        };
        let Some(vector) = runs
            .into_iter()
            .filter(|run| run.spec == source)
            .find_map(|run| run.grid("direction.vector"))
        else {
            return false;
        };
        let values = vector.values.clone();
        if let crate::spec::Experiment::Steering(params) = &mut self.experiment
            && let Some(direction) = &mut params.direction
        {
            direction.values = values;
        }
        true
    }
}

impl RunResult {
    /// A steering spec that adds this direction run's direction at its hook (`None` for other
    /// runs): the found direction used as a steering vector.
    pub fn steering_spec(&self) -> Option<Spec> {
        let crate::spec::Experiment::Direction(params) = &self.spec.experiment else {
            return None;
        };
        let vector = self.grid("direction.vector")?;
        let from = if self.spec.title.is_empty() {
            format!("direction.vector of a direction run at {}", params.hook)
        } else {
            format!("direction.vector of \"{}\"", self.spec.title)
        };
        Some(Spec {
            title: format!("Steering with {from}"),
            prompts: None,
            published: None,
            experiment: crate::spec::Experiment::Steering(
                crate::experiments::steering::Params::with_direction(
                    params.hook,
                    vector.values.clone(),
                    from,
                ),
            ),
            ..self.spec.clone()
        })
    }

    /// The grid written `name` in JSON (`patch.resid_pre`), if the run has it.
    pub fn grid(&self, name: &str) -> Option<&Grid> {
        self.grids.get(&name.parse().ok()?)
    }

    /// The scalar written `name` (`clean`, `pearson.z`), if the run has it.
    pub fn metric(&self, name: &str) -> Option<f32> {
        self.metrics.get(&name.parse().ok()?).copied()
    }

    /// The continuation written `name` (`default`, `steered`), if the run has it.
    pub fn generation(&self, name: &str) -> Option<&GeneratedText> {
        self.generations.get(&name.parse().ok()?)
    }
}

/// A generation with its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratedText {
    pub prompt_ids: Vec<u32>,
    pub text: String,
    pub generation: Generation,
    /// Each new token's text, and the texts of its step's five most likely tokens (empty in
    /// results saved before they were recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_texts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top5_texts: Vec<Vec<String>>,
    /// Beam search: each finished beam's text, best first (as `generation.beams`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub beam_texts: Vec<String>,
}

impl GeneratedText {
    /// Beam search's finished beams, best first: each one's score and text.
    pub fn beams(&self) -> Vec<(f32, String)> {
        self.generation
            .beams
            .iter()
            .zip(&self.beam_texts)
            .map(|(beam, text)| (beam.score, text.clone()))
            .collect()
    }

    /// Each new token as a reader sees it: its text and how likely it was.
    pub fn choices(&self) -> Vec<TokenChoice> {
        self.generation
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                TokenChoice::of(
                    step,
                    self.token_texts.get(i).cloned(),
                    self.top5_texts.get(i).map_or(&[], Vec::as_slice),
                )
            })
            .collect()
    }
}

/// One generated token for people: its text, the probability it had when it was picked
/// ([`crate::experiments::generation::Step`]), and the step's most likely tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenChoice {
    pub text: String,
    pub prob: Option<f32>,
    pub alternatives: Vec<(String, f32)>,
    /// GeDi: the token's probability of the desired class, and how many tokens its filter
    /// removed at this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_desired: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filtered: Option<u32>,
}

impl TokenChoice {
    /// `step` with the texts of its token and of its top five (`<id>` where a text is missing:
    /// results saved before texts were recorded).
    pub fn of(step: &Step, text: Option<String>, top5_texts: &[String]) -> Self {
        Self {
            text: text.unwrap_or_else(|| format!("<{}>", step.token)),
            prob: step.prob,
            alternatives: step
                .top5_ids
                .iter()
                .zip(&step.top5_probs)
                .enumerate()
                .map(|(j, (id, p))| {
                    let text = top5_texts.get(j).cloned();
                    (text.unwrap_or_else(|| format!("<{id}>")), *p)
                })
                .collect(),
            p_desired: step.p_desired,
            filtered: step.filtered,
        }
    }

    /// `step` named by the model's tokenizer (while it streams).
    pub fn named(step: &Step, tokenizer: &crate::loading::Tokenizer) -> Self {
        let text = tokenizer.token_texts(&[step.token]).pop();
        Self::of(step, text, &tokenizer.token_texts(&step.top5_ids))
    }

    /// `" fox": 43.1%; most likely " fox" 43.1%, " dog" 12.0%, ...`
    pub fn describe(&self) -> String {
        let percent = |p: f32| format!("{:.1}%", 100.0 * p);
        let mut line = format!("{:?}", self.text);
        if let Some(p) = self.prob {
            line += &format!(": {}", percent(p));
        }
        if !self.alternatives.is_empty() {
            let list: Vec<String> = self
                .alternatives
                .iter()
                .map(|(t, p)| format!("{t:?} {}", percent(*p)))
                .collect();
            line += &format!("; most likely {}", list.join(", "));
        }
        if let Some(p) = self.p_desired {
            line += &format!("; P(desired) {}", percent(p));
        }
        if let Some(n) = self.filtered {
            line += &format!(", {n} tokens filtered out");
        }
        line
    }
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
    /// Other models the spec names (GeDi's), by id; the spec's own model is known by its id.
    pub others: Vec<(&'a str, &'a LoadedModel)>,
    /// SAEs the spec names, by id.
    pub saes: Vec<(&'a str, &'a Sae)>,
    pub weights_sha256: String,
    pub device: String,
    /// What a run may hold ([`Spec::check_size`], checked before anything is tokenised).
    pub limits: Limits,
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Spec(SpecError),
    #[error(transparent)]
    Experiment(ExperimentError),
}

impl From<ExperimentError> for RunError {
    fn from(e: ExperimentError) -> Self {
        match e {
            // A prompt of the parameters: reported at its place in the spec.
            ExperimentError::Prompt { path, message } => Self::Spec(SpecError { path, message }),
            other => Self::Experiment(other),
        }
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

impl RunContext<'_> {
    fn token(&self, input: &TokenInput, path: &str) -> Result<u32, RunError> {
        let spec_error = |message: String| {
            RunError::Spec(SpecError {
                path: path.into(),
                message,
            })
        };
        match input {
            TokenInput::Id(id) => {
                let vocab = self.model.model.config.vocab_size;
                if *id as usize >= vocab {
                    return Err(spec_error(format!(
                        "token id {id} is outside the model's vocabulary (ids 0 to {})",
                        vocab.saturating_sub(1)
                    )));
                }
                Ok(*id)
            }
            TokenInput::Text(text) => {
                let ids = self
                    .model
                    .tokenizer
                    .encode(text)
                    .map_err(|e| spec_error(e.to_string()))?;
                match ids[..] {
                    [id] => Ok(id),
                    _ => Err(spec_error(format!(
                        "answer {text:?} is {} tokens {:?}; answers must be single tokens",
                        ids.len(),
                        self.model.tokenizer.token_texts(&ids)
                    ))),
                }
            }
        }
    }

    /// The spec's prompts tokenised and paired up; an empty set for experiments without.
    fn prompt_set<'s>(&'s self, spec: &'s Spec) -> Result<PromptSet<'s>, RunError> {
        let tokenizer = &self.model.tokenizer;
        let Some(prompts) = &spec.prompts else {
            let set = PromptSet::empty()
                .with_seed(spec.seed)
                .with_tokenizer(tokenizer);
            return Ok(self.with_models(spec, set));
        };
        let encode = |inputs: &[PromptInput], name: &str| {
            inputs
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let path = format!("prompts.{name}[{i}]");
                    p.encode(Some(tokenizer), prompts.prepend_bos, &path)
                })
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
        let clean = encode(&prompts.clean, "clean")?;
        let corrupted = encode(&prompts.corrupted, "corrupted")?;
        let set = PromptSet::new(clean, corrupted, answers, spec.metric).map_err(|e| match e {
            ExperimentError::UnequalLengths(e) => {
                ExperimentError::from(e.named(|ids| tokenizer.token_texts(ids))).into()
            }
            other => RunError::from(other),
        })?;
        Ok(self.with_models(spec, set.with_seed(spec.seed).with_tokenizer(tokenizer)))
    }

    fn with_models<'s>(&'s self, spec: &'s Spec, prompts: PromptSet<'s>) -> PromptSet<'s> {
        let prompts = self.others.iter().fold(
            prompts.with_model(&spec.model.id, self.model),
            |set, &(id, model)| set.with_model(id, model),
        );
        self.saes
            .iter()
            .fold(prompts, |set, &(id, sae)| set.with_sae(id, sae))
    }

    fn generated(&self, prompt_ids: Vec<u32>, generation: Generation) -> GeneratedText {
        let text = self
            .model
            .tokenizer
            .decode(&generation.new_ids)
            .unwrap_or_default();
        let tokenizer = &self.model.tokenizer;
        GeneratedText {
            prompt_ids,
            text,
            token_texts: tokenizer.token_texts(&generation.new_ids),
            top5_texts: generation
                .steps
                .iter()
                .map(|s| tokenizer.token_texts(&s.top5_ids))
                .collect(),
            beam_texts: generation
                .beams
                .iter()
                .map(|b| tokenizer.decode(&b.new_ids).unwrap_or_default())
                .collect(),
            generation,
        }
    }
}

/// Runs `spec` on the context's model.
pub async fn run(
    spec: &Spec,
    ctx: &RunContext<'_>,
    progress: &mut Progress<'_>,
) -> Result<RunResult, RunError> {
    let started = Instant::now();
    spec.check_size(&ctx.model.model.config, ctx.limits)
        .map_err(RunError::Spec)?;
    let prompts = ctx.prompt_set(spec)?;
    let mut tokens = BTreeMap::new();
    if spec.prompts.is_some() {
        let texts = |batch: &[Vec<u32>]| {
            batch
                .iter()
                .map(|ids| ctx.model.tokenizer.token_texts(ids))
                .collect::<Vec<_>>()
        };
        tokens.insert("clean".to_string(), texts(prompts.clean()));
        if let Ok(corrupted) = prompts.corrupted() {
            tokens.insert("corrupted".to_string(), texts(corrupted));
        }
    }
    let output = spec
        .experiment
        .run(&ctx.model.model, &prompts, progress)
        .await?;
    let mut timings_ms = BTreeMap::new();
    timings_ms.insert("total".to_string(), started.elapsed().as_secs_f64() * 1e3);
    Ok(RunResult {
        spec: spec.clone(),
        grids: output.grids.into_iter().collect(),
        metrics: output.metrics.into_iter().collect(),
        tokens,
        generations: output
            .generations
            .into_iter()
            .map(|(name, ids, generation)| (name, ctx.generated(ids, generation)))
            .collect(),
        provenance: Provenance {
            patchbay_version: env!("CARGO_PKG_VERSION").to_string(),
            weights_sha256: ctx.weights_sha256.clone(),
            device: ctx.device.clone(),
            timings_ms,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_in_the_parameters_is_reported_at_its_place_in_the_spec() {
        let err = RunError::from(ExperimentError::Prompt {
            path: "experiment.positive".into(),
            message: "bad".into(),
        });
        assert_eq!(
            err.to_string(),
            "invalid experiment spec at `experiment.positive`: bad"
        );
        let err = RunError::from(ExperimentError::Cancelled);
        assert_eq!(err, RunError::Experiment(ExperimentError::Cancelled));
    }
}
