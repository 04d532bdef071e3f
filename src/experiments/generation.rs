//! Text generation with Hugging Face's logits processing: repetition penalty, frequency and
//! presence penalties, logit bias, banned tokens, temperature, top-k, top-p, seeded sampling,
//! an optional KV cache, and interventions active at every step.

use super::gedi::{Discriminator, Gedi, Guide, Guided};
use super::kind::{About, ExperimentKind};
use super::readback::read;
use super::{
    ExperimentError, GenerationName, Needs, Output, ParamError, Progress, PromptInput, PromptSet,
};
use crate::hooks::{Action, Hooks, Intervention, InterventionHooks};
use crate::loading::ModelRef;
use crate::model::{Gpt2, KvCache};
use crate::rng::SplitMix64;
use crate::sae::{FeatureEdits, SaeHooks};
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Generation with optional interventions active at every step: the spec's `generation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub prompt: PromptInput,
    #[serde(default)]
    pub prepend_bos: bool,
    /// Its `seed` is replaced by the spec's.
    #[serde(default)]
    pub generation: GenerationConfig,
    #[serde(default)]
    pub interventions: Vec<Intervention>,
    /// An SAE's features edited at every step (before the interventions at the same hook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<FeatureEdits>,
}

impl ExperimentKind for Params {
    const ABOUT: About = About {
        title: "Generation",
        what: "Continues your prompt one token at a time with the controls of Hugging Face's generate: temperature (0 picks the most likely token), top-k and nucleus (top-p) sampling, repetition, frequency and presence penalties, banned tokens and logit bias. The same seed gives the same continuation.",
        read: "Hover or focus a generated token for the probability the model gave it and the runners-up. Greedy decoding of a small model loops quickly (see the repetition preset); penalties and sampling break the loop at the cost of fidelity to the model's own distribution.",
        paper: "Holtzman et al. 2019, The Curious Case of Neural Text Degeneration (nucleus sampling)",
        url: "https://arxiv.org/abs/1904.09751",
    };
    const NEEDS: Needs = Needs::NoPrompts;

    fn check(&self) -> Result<(), ParamError> {
        self.generation.param_check()?;
        match &self.features {
            Some(features) => features.check().map_err(|(field, message)| ParamError {
                field: format!("features.{field}"),
                message,
            }),
            None => Ok(()),
        }
    }

    fn models(&self) -> Vec<&ModelRef> {
        self.generation.models()
    }

    fn saes(&self) -> Vec<&ModelRef> {
        self.features.iter().map(|f| &f.sae).collect()
    }
}

/// The continuation `default`.
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let ids = prompts.encode(
        &params.prompt,
        params.prepend_bos,
        "experiment.generation.prompt",
    )?;
    let config = GenerationConfig {
        seed: prompts.seed,
        ..params.generation.clone()
    };
    let discriminator =
        prompts.discriminator(&config, model, "experiment.generation.generation")?;
    progress.start_generation(GenerationName::Default);
    let generation = match &params.features {
        None => {
            generate(
                model,
                &ids,
                &config,
                &params.interventions,
                discriminator,
                progress,
            )
            .await?
        }
        Some(features) => {
            let path = "experiment.generation.features";
            let sae = prompts.sae(&features.sae, model, &format!("{path}.sae"))?;
            features
                .check_against(sae.config.d_sae)
                .map_err(|(field, message)| ExperimentError::Prompt {
                    path: format!("{path}.{field}"),
                    message,
                })?;
            let mut hooks = (
                SaeHooks::new(sae, &features.edits),
                intervention_hooks(model, &ids, &config, &params.interventions)?,
            );
            let use_cache =
                config.kv_cache && params.interventions.iter().all(position_independent);
            generate_hooked(
                model,
                &ids,
                &config,
                &mut hooks,
                use_cache,
                discriminator,
                progress,
            )
            .await?
        }
    };
    Ok(Output {
        generations: vec![(GenerationName::Default, ids, generation)],
        ..Output::default()
    })
}

/// How to pick each next token. The defaults are greedy decoding of 32 tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerationConfig {
    /// Tokens to add.
    pub max_new_tokens: usize,
    /// Softmax temperature; 0 picks the most likely token (greedy).
    pub temperature: f32,
    /// Sample only among the `k` most likely tokens.
    pub top_k: Option<usize>,
    /// Sample only among the most likely tokens whose probabilities sum to `p` (nucleus).
    pub top_p: Option<f32>,
    /// Hugging Face's repetition penalty: for tokens already in the sequence (prompt
    /// included) a positive logit is divided by it, a negative one multiplied.
    pub repetition_penalty: Option<f32>,
    /// Subtracted once per earlier occurrence among the generated tokens (OpenAI semantics).
    pub frequency_penalty: f32,
    /// Subtracted once if the token was generated before.
    pub presence_penalty: f32,
    /// Added to the logits of these tokens.
    pub logit_bias: BTreeMap<u32, f32>,
    /// Tokens that are never produced.
    pub banned_tokens: Vec<u32>,
    /// Seed of the sampler: same seed, same tokens.
    pub seed: u64,
    /// Stop after producing `<|endoftext|>`.
    pub stop_at_eos: bool,
    /// Reuse keys and values of earlier positions instead of recomputing them.
    pub kv_cache: bool,
    /// Never produce a token that would repeat an n-gram of this size already in the
    /// sequence, prompt included (Hugging Face's `no_repeat_ngram_size`; 0: off).
    #[serde(skip_serializing_if = "is_zero")]
    pub no_repeat_ngram_size: usize,
    /// Beam search with this many beams (greedy; 1: no beams).
    #[serde(skip_serializing_if = "is_one")]
    pub num_beams: usize,
    /// Beam scores are the summed log-probabilities divided by (new tokens)^length_penalty:
    /// above 0 favours longer beams.
    #[serde(skip_serializing_if = "is_unit")]
    pub length_penalty: f32,
    /// Guidance by a class-conditional model (GeDi).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gedi: Option<Gedi>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

fn is_unit(x: &f32) -> bool {
    *x == 1.0
}

/// The most beams a search keeps (each is a row of every forward pass).
pub const MAX_BEAMS: usize = 16;

impl Default for GenerationConfig {
    fn default() -> Self {
        Self {
            max_new_tokens: 32,
            temperature: 0.0,
            top_k: None,
            top_p: None,
            repetition_penalty: None,
            frequency_penalty: 0.0,
            presence_penalty: 0.0,
            logit_bias: BTreeMap::new(),
            banned_tokens: vec![],
            seed: 0,
            stop_at_eos: true,
            kv_cache: true,
            no_repeat_ngram_size: 0,
            num_beams: 1,
            length_penalty: 1.0,
            gedi: None,
        }
    }
}

/// One generated token with the five best processed logits of its step, and probabilities:
/// the softmax of the processed logits (penalties, bias and bans applied; before temperature,
/// top-k and top-p), the distribution the token was picked from at temperature 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub token: u32,
    pub top5_ids: Vec<u32>,
    pub top5_logits: Vec<f32>,
    /// The token's probability (absent in results saved before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prob: Option<f32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top5_probs: Vec<f32>,
    /// GeDi: the token's probability of the desired class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_desired: Option<f32>,
    /// GeDi: how many tokens its filter removed at this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filtered: Option<u32>,
}

impl Step {
    /// The step of picking `token` from processed `logits`.
    pub fn new(token: u32, logits: &[f32]) -> Self {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let log_total = max
            + logits
                .iter()
                .map(|&l| (l as f64 - max).exp())
                .sum::<f64>()
                .ln();
        let prob = |id: u32| (logits[id as usize] as f64 - log_total).exp() as f32;
        let top5_ids = super::largest(logits, 5);
        Self {
            token,
            top5_logits: top5_ids.iter().map(|&i| logits[i as usize]).collect(),
            top5_probs: top5_ids.iter().map(|&i| prob(i)).collect(),
            prob: Some(prob(token)),
            top5_ids,
            p_desired: None,
            filtered: None,
        }
    }

    /// The step of picking `token` from GeDi's guided logits.
    fn guided(token: u32, guided: &Guided) -> Self {
        Self {
            p_desired: Some(guided.lp_desired[token as usize].exp() as f32),
            filtered: Some(guided.removed),
            ..Self::new(token, &guided.logits)
        }
    }
}

/// A generation's new tokens, step by step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    pub new_ids: Vec<u32>,
    pub steps: Vec<Step>,
    /// Whether keys and values were cached (interventions tied to positions force recomputation).
    pub used_kv_cache: bool,
    /// Beam search: every finished beam, best first (the first is `new_ids`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub beams: Vec<Beam>,
}

/// A finished beam: its new tokens and its score (log-probability sum over
/// `new_ids.len()^length_penalty`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Beam {
    pub new_ids: Vec<u32>,
    pub score: f32,
}

impl GenerationConfig {
    /// Checks the settings against the model.
    pub fn validate(&self, vocab: usize) -> Result<(), ExperimentError> {
        let bad = |m: String| Err(ExperimentError::Parameter(m));
        if !(self.temperature >= 0.0 && self.temperature.is_finite()) {
            return bad(format!(
                "temperature must be 0 (greedy) or positive, not {}",
                self.temperature
            ));
        }
        if self.top_k == Some(0) {
            return bad("top_k must be at least 1".into());
        }
        if let Some(p) = self.top_p.filter(|p| !(*p > 0.0 && *p <= 1.0)) {
            return bad(format!("top_p must be in (0, 1], not {p}"));
        }
        if let Some(r) = self
            .repetition_penalty
            .filter(|r| !(*r > 0.0 && r.is_finite()))
        {
            return bad(format!("repetition_penalty must be positive, not {r}"));
        }
        if let Some(t) = self
            .banned_tokens
            .iter()
            .chain(self.logit_bias.keys())
            .find(|&&t| t as usize >= vocab)
        {
            return bad(format!(
                "token {t} is outside the vocabulary (size {vocab})"
            ));
        }
        if self.banned_tokens.len() >= vocab {
            return bad("every token is banned".into());
        }
        self.check().map_err(|(field, message)| {
            ExperimentError::Parameter(format!("generation.{field}: {message}"))
        })
    }

    /// [`Self::check`] as the parameters of a kind report it.
    pub fn param_check(&self) -> Result<(), ParamError> {
        self.check().map_err(|(field, message)| ParamError {
            field: format!("generation.{field}"),
            message,
        })
    }

    /// The GeDi model, if guided.
    pub fn models(&self) -> Vec<&ModelRef> {
        self.gedi.iter().map(|gedi| &gedi.model).collect()
    }

    /// Checks that need no model; a problem names its field under `generation`.
    pub fn check(&self) -> Result<(), (String, String)> {
        let bad = |field: &str, message: String| Err((field.to_string(), message));
        if !(1..=MAX_BEAMS).contains(&self.num_beams) {
            return bad(
                "num_beams",
                format!(
                    "must be 1 (no beams) to {MAX_BEAMS}, not {}",
                    self.num_beams
                ),
            );
        }
        if !self.length_penalty.is_finite() {
            return bad(
                "length_penalty",
                format!("must be a number, not {}", self.length_penalty),
            );
        }
        if self.num_beams > 1 && self.temperature != 0.0 {
            return bad(
                "num_beams",
                "beams are searched greedily: set temperature to 0, or num_beams to 1 to sample"
                    .into(),
            );
        }
        if self.num_beams > 1 && self.gedi.is_some() {
            return bad(
                "num_beams",
                "GeDi guides one sequence at a time: set num_beams to 1 to guide, or remove gedi to search beams".into(),
            );
        }
        if let Some(gedi) = &self.gedi {
            gedi.check()
                .map_err(|(field, message)| (format!("gedi.{field}"), message))?;
        }
        Ok(())
    }

    /// Applies penalties, bias and bans to one step's logits, in Hugging Face's order.
    pub fn process(&self, logits: &mut [f32], sequence: &[u32], generated: &[u32]) {
        if let Some(penalty) = self.repetition_penalty {
            let mut seen = sequence.to_vec();
            seen.sort_unstable();
            seen.dedup();
            for id in seen {
                let l = &mut logits[id as usize];
                *l = if *l > 0.0 { *l / penalty } else { *l * penalty };
            }
        }
        if self.frequency_penalty != 0.0 || self.presence_penalty != 0.0 {
            let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
            for &id in generated {
                *counts.entry(id).or_default() += 1;
            }
            for (id, count) in counts {
                logits[id as usize] -=
                    self.frequency_penalty * count as f32 + self.presence_penalty;
            }
        }
        for (&id, &bias) in &self.logit_bias {
            logits[id as usize] += bias;
        }
        for &id in &self.banned_tokens {
            logits[id as usize] = f32::NEG_INFINITY;
        }
        for id in repeated_ngram_ends(sequence, self.no_repeat_ngram_size) {
            logits[id as usize] = f32::NEG_INFINITY;
        }
    }

    /// Picks the next token from processed logits.
    fn pick(&self, logits: &[f32], rng: &mut SplitMix64) -> u32 {
        // Highest logit first, ties to the lower id.
        let before = |a: &u32, b: &u32| {
            logits[*b as usize]
                .total_cmp(&logits[*a as usize])
                .then(a.cmp(b))
        };
        if self.temperature == 0.0 {
            // Greedy needs the maximum only, not a sort of the vocabulary at every step.
            return (0..logits.len() as u32)
                .min_by(before)
                .expect("a non-empty vocabulary");
        }
        let order: Vec<u32> = match self.top_k.filter(|&k| k < logits.len()) {
            Some(k) => super::largest(logits, k),
            None => {
                let mut order: Vec<u32> = (0..logits.len() as u32).collect();
                order.sort_unstable_by(before);
                order
            }
        };
        let keep = self.top_k.unwrap_or(order.len()).min(order.len());
        let scaled: Vec<f64> = order[..keep]
            .iter()
            .map(|&i| logits[i as usize] as f64 / self.temperature as f64)
            .collect();
        let max = scaled[0];
        let weights: Vec<f64> = scaled.iter().map(|l| (l - max).exp()).collect();
        let total: f64 = weights.iter().sum();
        let mut probs: Vec<f64> = weights.iter().map(|w| w / total).collect();
        if let Some(top_p) = self.top_p {
            // Keep the smallest prefix whose mass reaches top_p (at least one token).
            let mut mass = 0.0;
            let cut = probs.iter().position(|p| {
                mass += p;
                mass >= top_p as f64
            });
            probs.truncate(cut.map_or(probs.len(), |c| c + 1));
        }
        let total: f64 = probs.iter().sum();
        let mut target = rng.next_f64() * total;
        for (i, p) in probs.iter().enumerate() {
            target -= p;
            if target < 0.0 {
                return order[i];
            }
        }
        order[probs.len() - 1]
    }
}

/// The tokens that would complete an n-gram of `sequence` a second time: those that follow
/// its last `n − 1` tokens wherever they occurred before (every token of it for `n = 1`).
fn repeated_ngram_ends(sequence: &[u32], n: usize) -> Vec<u32> {
    if n == 0 || sequence.len() + 1 < n {
        return vec![];
    }
    let prefix = &sequence[sequence.len() + 1 - n..];
    sequence
        .windows(n)
        .filter(|ngram| ngram[..n - 1] == *prefix)
        .map(|ngram| ngram[n - 1])
        .collect()
}

/// Whether an intervention acts the same at every position, so the KV cache can be used:
/// no position selection, no mean over positions, no values that vary along positions.
fn position_independent(intervention: &Intervention) -> bool {
    let rank = intervention.hook.rank();
    let trailing_axes = rank - intervention.hook.pos_axis() - 1;
    intervention.positions.is_none()
        && match &intervention.action {
            Action::Mean | Action::AddFront { .. } => false,
            Action::Add { values } | Action::Replace { values } => {
                values.shape.len() <= trailing_axes
            }
            Action::Zero | Action::Scale { .. } => true,
        }
}

/// Continues `prompt`, reporting each new token to `progress` (which may stop it). With
/// `config.gedi`, `discriminator` is its model, loaded.
pub async fn generate(
    model: &Gpt2,
    prompt: &[u32],
    config: &GenerationConfig,
    interventions: &[Intervention],
    discriminator: Option<Discriminator<'_>>,
    progress: &mut Progress<'_>,
) -> Result<Generation, ExperimentError> {
    let mut hooks = intervention_hooks(model, prompt, config, interventions)?;
    let use_cache = config.kv_cache && interventions.iter().all(position_independent);
    generate_hooked(
        model,
        prompt,
        config,
        &mut hooks,
        use_cache,
        discriminator,
        progress,
    )
    .await
}

/// `interventions` as hooks, checked against the activations of a run of `prompt`.
fn intervention_hooks(
    model: &Gpt2,
    prompt: &[u32],
    config: &GenerationConfig,
    interventions: &[Intervention],
) -> Result<InterventionHooks, ExperimentError> {
    let hooks = InterventionHooks::new(interventions.to_vec());
    hooks
        .validate(|point| {
            model
                .config
                .hook_shape(point, config.num_beams, prompt.len())
        })
        .map_err(|e| ExperimentError::Input(e.into()))?;
    Ok(hooks)
}

/// [`generate`] with any hooks active at every step; `use_cache` only where they act on each
/// position alone.
async fn generate_hooked(
    model: &Gpt2,
    prompt: &[u32],
    config: &GenerationConfig,
    hooks: &mut impl Hooks,
    use_cache: bool,
    discriminator: Option<Discriminator<'_>>,
    progress: &mut Progress<'_>,
) -> Result<Generation, ExperimentError> {
    config.validate(model.config.vocab_size)?;
    model.tokens(&[prompt.to_vec()])?;
    let max = model.config.n_positions;
    if config.max_new_tokens > max.saturating_sub(prompt.len()) {
        return Err(ExperimentError::Parameter(format!(
            "the prompt ({} tokens) plus max_new_tokens ({}) exceeds the model's context of {max} tokens",
            prompt.len(),
            config.max_new_tokens
        )));
    }
    if config.num_beams > 1 {
        return super::beam::search(model, prompt, config, hooks, use_cache, progress).await;
    }
    let mut guide = match (&config.gedi, discriminator) {
        (Some(gedi), Some(discriminator)) => {
            Some(Guide::new(discriminator, gedi, config.kv_cache).await?)
        }
        (Some(gedi), None) => {
            return Err(ExperimentError::Parameter(format!(
                "generation.gedi.model: the GeDi model `{}` is not loaded",
                gedi.model.id
            )));
        }
        (None, _) => None,
    };
    let device = model.device();
    let mut rng = SplitMix64(config.seed);
    let mut cache = KvCache::default();
    let mut sequence = prompt.to_vec();
    let mut generated = vec![];
    let mut steps = vec![];
    for _ in 0..config.max_new_tokens {
        let fresh = if use_cache {
            &sequence[cache.len()..]
        } else {
            &sequence[..]
        };
        let ids: Vec<i32> = fresh.iter().map(|&id| id as i32).collect();
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, fresh.len()]), &device);
        let logits = if use_cache {
            model.forward_cached(tokens, &mut cache, &mut *hooks)
        } else {
            model.forward_hooked(tokens, &mut *hooks)
        };
        let [_, pos, vocab] = logits.dims();
        let mut last = read(logits.narrow(1, pos - 1, 1).reshape([vocab]))
            .await
            .map_err(ExperimentError::Device)?;
        config.process(&mut last, &sequence, &generated);
        let step = match guide.as_mut() {
            Some(guide) => {
                let guided = guide.guide(&sequence, &last).await?;
                Step::guided(config.pick(&guided.logits, &mut rng), &guided)
            }
            None => Step::new(config.pick(&last, &mut rng), &last),
        };
        let token = step.token;
        sequence.push(token);
        generated.push(token);
        let go_on = progress.token(&step);
        steps.push(step);
        if !go_on || (config.stop_at_eos && token == model.config.eos_token_id) {
            break;
        }
    }
    Ok(Generation {
        new_ids: generated,
        steps,
        used_kv_cache: use_cache,
        beams: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::repeated_ngram_ends;

    #[test]
    fn no_repeat_ngrams_ban_what_would_complete_a_seen_ngram() {
        let sequence = [1, 2, 3, 1, 2, 4, 1];
        // Bigrams starting with the last token (1): 1 2 twice.
        assert_eq!(repeated_ngram_ends(&sequence, 2), [2, 2]);
        // Trigrams after "4 1": none yet; after "1 2" a trigram would need the last two.
        assert!(repeated_ngram_ends(&sequence, 3).is_empty());
        assert_eq!(repeated_ngram_ends(&[5, 6, 5], 3), [] as [u32; 0]);
        assert_eq!(repeated_ngram_ends(&[5, 6, 7, 5, 6], 3), [7]);
        // Unigrams: every token seen; size 0 is off; a sequence shorter than n − 1 bans nothing.
        assert_eq!(repeated_ngram_ends(&[3, 4], 1), [3, 4]);
        assert!(repeated_ngram_ends(&sequence, 0).is_empty());
        assert!(repeated_ngram_ends(&[1], 4).is_empty());
    }
}
