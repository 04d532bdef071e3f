//! What a spec would make a machine hold, estimated from the spec and the model's shape before
//! anything is tokenised or allocated, and refused past a limit (SECURITY.md, "Sizes"). A
//! shared link of a few kilobytes can name tens of thousands of prompts; without this the
//! first sign would be a multi-gigabyte allocation that kills the tab or the process.
//!
//! Every product is checked (`u64`, saturating: an estimate past `u64::MAX` is past any limit).

use super::format::{PromptInput, Spec, SpecError};
use crate::experiments::Needs;
use crate::model::Gpt2Config;
use crate::spec::Experiment;

/// How much a run may hold here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Activations, logits and gradients held at once, in bytes (weights not included).
    pub memory_bytes: u64,
}

const GIB: u64 = 1 << 30;

impl Limits {
    /// A native process: 16 GiB of activations (`patchbay run --max-memory-gb` changes it).
    pub const NATIVE: Self = Self {
        memory_bytes: 16 * GIB,
    };
    /// A browser tab: a wasm32 module addresses 4 GiB in all, the weights included.
    pub const BROWSER: Self = Self {
        memory_bytes: 3 * GIB,
    };

    /// The limit of the platform this was built for.
    pub const fn here() -> Self {
        if cfg!(target_arch = "wasm32") {
            Self::BROWSER
        } else {
            Self::NATIVE
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::here()
    }
}

/// The estimate for one spec on one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    /// Prompts run together (a batch).
    pub prompts: u64,
    /// The longest a prompt can be, in tokens (capped at the model's context).
    pub positions: u64,
    /// Bytes held at once.
    pub bytes: u64,
    /// Where the size comes from, for the message (`"prompts.clean"`).
    pub path: &'static str,
}

/// At most this many tokens: byte-level BPE makes at least one byte a token.
fn max_tokens(prompt: &PromptInput, bos: bool) -> u64 {
    let n = match prompt {
        PromptInput::Text(text) => text.len() as u64,
        PromptInput::Ids(ids) => ids.len() as u64,
    };
    n.saturating_add(u64::from(bos))
}

fn longest<'a>(prompts: impl IntoIterator<Item = &'a PromptInput>, bos: bool) -> u64 {
    prompts
        .into_iter()
        .map(|p| max_tokens(p, bos))
        .max()
        .unwrap_or(0)
}

/// Bytes held while `prompts × positions` run: one forward pass's transients (the logits,
/// `vocab` a position; a block's MLP hidden layer, attention scores and pattern) and what the
/// kind keeps of each of its `runs` (`cached` × `d_model` a block and position).
fn run_bytes(config: &Gpt2Config, prompts: u64, positions: u64, runs: u64, cached: u64) -> u64 {
    let c = |x: usize| x as u64;
    let transient = c(config.vocab_size)
        .saturating_add(c(config.n_inner).saturating_mul(2))
        .saturating_add(c(config.n_head).saturating_mul(positions).saturating_mul(2));
    let kept = c(config.n_layer)
        .saturating_mul(c(config.n_embd))
        .saturating_mul(cached)
        .saturating_mul(runs);
    prompts
        .saturating_mul(positions)
        .saturating_mul(transient.saturating_add(kept))
        .saturating_mul(4)
}

impl Spec {
    /// What this spec would hold on a model of `config`'s shape.
    pub fn estimate(&self, config: &Gpt2Config) -> Estimate {
        let context = config.n_positions as u64;
        let gradients = matches!(
            self.experiment,
            Experiment::AttributionPatching(_)
                | Experiment::EdgeAttributionPatching(_)
                // Its SAE's features (a few `d_sae` a position) are small beside a backward
                // pass through every block.
                | Experiment::SaeAttribution(_)
        );
        match &self.experiment {
            Experiment::Loss(params) => {
                let positions = longest(&params.texts, params.prepend_bos).min(context);
                Estimate {
                    prompts: params.texts.len() as u64,
                    positions,
                    bytes: run_bytes(config, 1, positions, 1, 2),
                    path: "experiment.loss.texts",
                }
            }
            Experiment::SaeFeatures(params) => {
                // One pass up to the SAE's hook and its features, `d_sae` a position. The SAE's
                // width is known once it loads: 2^17 here, OpenAI's widest GPT-2 SAEs.
                let positions =
                    longest(std::slice::from_ref(&params.prompt), params.prepend_bos).min(context);
                let features = (1u64 << 17).saturating_mul(positions).saturating_mul(4);
                Estimate {
                    prompts: 1,
                    positions,
                    bytes: run_bytes(config, 1, positions, 1, 2).saturating_add(features),
                    path: "experiment.sae_features.prompt",
                }
            }
            Experiment::Direction(params) => {
                // One text at a time, one hook cached.
                let positions = longest(&params.texts, params.prepend_bos).min(context);
                Estimate {
                    prompts: params.texts.len() as u64,
                    positions,
                    bytes: run_bytes(config, 1, positions, 1, 2),
                    path: "experiment.direction.texts",
                }
            }
            Experiment::Repetition(params) => {
                let positions = max_tokens(&params.sentence, true)
                    .saturating_mul(params.repeats as u64)
                    .min(context);
                Estimate {
                    prompts: 1,
                    positions,
                    bytes: run_bytes(config, 1, positions, 1, 2),
                    path: "experiment.repetition.repeats",
                }
            }
            Experiment::FrequencyTagging(params) => {
                // One pass over the whole stream (and one over the shuffled control), every
                // layer's MLP activations kept: four d_model a position and block.
                let positions = params
                    .sentences
                    .iter()
                    .map(|s| max_tokens(s, false))
                    .sum::<u64>()
                    .saturating_add(u64::from(params.prepend_bos))
                    .min(context);
                Estimate {
                    prompts: params.sentences.len() as u64,
                    positions,
                    bytes: run_bytes(config, 1, positions, 1, 6),
                    path: "experiment.frequency_tagging.sentences",
                }
            }
            Experiment::AssociationTest(params) => {
                // One sentence at a time, one hook cached.
                let words = params.targets.iter().chain(&params.attributes).flatten();
                let longest_word = words.clone().map(String::len).max().unwrap_or(0) as u64;
                let positions = (params.template.len() as u64 + longest_word)
                    .saturating_add(u64::from(params.prepend_bos))
                    .min(context);
                Estimate {
                    prompts: words.count() as u64,
                    positions,
                    bytes: run_bytes(config, 1, positions, 1, 2),
                    path: "experiment.association_test",
                }
            }
            Experiment::Generation(crate::experiments::generation::Params {
                generation, ..
            })
            | Experiment::Steering(crate::experiments::steering::Params { generation, .. }) => {
                // Checked against the context when the prompt is tokenised; a KV cache of the
                // context is small beside the logits of one step. GeDi's model reads two rows;
                // without the cache every beam is a row of each pass over the whole sequence
                // (with it, the prompt runs once and then each beam's newest token).
                let beams = if generation.kv_cache {
                    1
                } else {
                    generation.num_beams as u64
                };
                let rows = beams.max(2);
                Estimate {
                    prompts: 1,
                    positions: context,
                    bytes: run_bytes(config, rows, context, 1, 4),
                    path: "experiment",
                }
            }
            _ => {
                let Some(prompts) = &self.prompts else {
                    return Estimate {
                        prompts: 0,
                        positions: 0,
                        bytes: 0,
                        path: "prompts",
                    };
                };
                let bos = prompts.prepend_bos;
                let positions =
                    longest(prompts.clean.iter().chain(&prompts.corrupted), bos).min(context);
                let n = prompts.clean.len() as u64;
                let runs = match self.experiment.needs() {
                    Needs::CleanAndCorrupted => 2,
                    Needs::Clean | Needs::NoPrompts => 1,
                };
                // A backward pass keeps every block's activations (about twenty `d_model`
                // vectors a block); edge attribution runs eight prompts at a time.
                let (batch, cached) = match (&self.experiment, gradients) {
                    (Experiment::EdgeAttributionPatching(_), _) => (n.min(8), 24),
                    (_, true) => (n, 24),
                    _ => (n, 2),
                };
                Estimate {
                    prompts: n,
                    positions,
                    bytes: run_bytes(config, batch, positions, runs, cached),
                    path: "prompts.clean",
                }
            }
        }
    }

    /// Refuses a spec whose [`Spec::estimate`] is past `limits` on this model, with the field
    /// that sizes it.
    pub fn check_size(&self, config: &Gpt2Config, limits: Limits) -> Result<Estimate, SpecError> {
        let estimate = self.estimate(config);
        if estimate.bytes > limits.memory_bytes {
            let gib = |b: u64| b as f64 / GIB as f64;
            return Err(SpecError {
                path: estimate.path.into(),
                message: format!(
                    "this run would hold about {:.1} GiB at once ({} prompts of up to {} tokens on a \
                     model with {} layers, d_model {}, {} tokens); the limit here is {:.1} GiB: \
                     run fewer or shorter prompts{}",
                    gib(estimate.bytes),
                    estimate.prompts,
                    estimate.positions,
                    config.n_layer,
                    config.n_embd,
                    config.vocab_size,
                    gib(limits.memory_bytes),
                    if cfg!(target_arch = "wasm32") {
                        ", or run it with `patchbay run` on a larger machine"
                    } else {
                        " (or raise the limit with --max-memory-gb)"
                    }
                ),
            });
        }
        Ok(estimate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::examples::EXAMPLES;

    fn gpt2_small() -> Gpt2Config {
        Gpt2Config::gpt2_small()
    }

    #[test]
    fn every_example_fits_in_a_browser_on_gpt2_small() {
        for example in EXAMPLES {
            let spec = Spec::from_json(example.json).unwrap();
            let estimate = spec.check_size(&gpt2_small(), Limits::BROWSER);
            assert!(estimate.is_ok(), "{}: {estimate:?}", example.stem);
        }
    }

    #[test]
    fn beams_without_the_kv_cache_count_a_row_each() {
        let spec = |kv_cache: bool| {
            let json = EXAMPLES
                .iter()
                .find(|e| e.stem == "beam-search-quick-brown-fox")
                .unwrap()
                .json;
            let mut spec = Spec::from_json(json).unwrap();
            if let Experiment::Generation(p) = &mut spec.experiment {
                p.generation.num_beams = 16;
                p.generation.kv_cache = kv_cache;
            }
            spec
        };
        let cached = spec(true).estimate(&gpt2_small()).bytes;
        let uncached = spec(false).estimate(&gpt2_small()).bytes;
        assert_eq!(uncached, 8 * cached, "16 rows a pass instead of 2");
    }

    #[test]
    fn tens_of_thousands_of_prompts_are_refused_before_anything_runs() {
        let mut spec = Spec::from_json(EXAMPLES[0].json).unwrap();
        let prompts = spec.prompts.as_mut().unwrap();
        let (clean, answers) = (prompts.clean[0].clone(), prompts.answers[0].clone());
        prompts.clean = vec![clean; 12_000];
        prompts.answers = vec![answers; 12_000];
        prompts.corrupted = prompts.clean.clone();
        let err = spec.check_size(&gpt2_small(), Limits::NATIVE).unwrap_err();
        assert_eq!(err.path, "prompts.clean");
        assert!(err.message.contains("12000 prompts"), "{}", err.message);
    }

    #[test]
    fn estimates_saturate_instead_of_overflowing() {
        let mut config = gpt2_small();
        config.vocab_size = usize::MAX;
        config.n_positions = usize::MAX;
        let spec = Spec::from_json(EXAMPLES[0].json).unwrap();
        assert!(spec.check_size(&config, Limits::NATIVE).is_err());
    }
}
