//! Beam search as Hugging Face's `generate(num_beams=...)` does it (transformers 5, greedy,
//! `early_stopping=False`): every step extends each running beam by every token, keeps the
//! `2·num_beams` best extensions by summed log-probability, continues the best `num_beams` that
//! did not end, and keeps as finished the ended ones among the first `num_beams`, scored by the
//! sum over (new tokens)^length_penalty. A beam ends at `<|endoftext|>` or at the last token.
//! The search stops when no running beam could beat the worst of `num_beams` finished ones.

use super::generation::{Beam, Generation, GenerationConfig, Step};
use super::readback::read;
use super::{ExperimentError, Progress};
use crate::hooks::Hooks;
use crate::model::{Gpt2, KvCache};
use burn::tensor::{Int, Tensor, TensorData};

/// A beam's new tokens so far and their summed log-probability.
#[derive(Clone)]
struct Hypothesis {
    steps: Vec<Step>,
    log_prob: f64,
}

impl Hypothesis {
    fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.steps.iter().map(|s| s.token)
    }
}

/// One extension of a running beam.
struct Candidate {
    parent: usize,
    token: u32,
    log_prob: f64,
}

/// Continues `prompt` with `config.num_beams` beams; the best finished beam is the generation.
pub(super) async fn search(
    model: &Gpt2,
    prompt: &[u32],
    config: &GenerationConfig,
    hooks: &mut impl Hooks,
    use_cache: bool,
    progress: &mut Progress<'_>,
) -> Result<Generation, ExperimentError> {
    let beams = config.num_beams;
    let eos = config.stop_at_eos.then_some(model.config.eos_token_id);
    let penalty = |new_tokens: usize| (new_tokens as f64).powf(config.length_penalty as f64);
    let device = model.device();
    let mut running = vec![Hypothesis {
        steps: vec![],
        log_prob: 0.0,
    }];
    let mut finished: Vec<(Hypothesis, f64)> = vec![];
    let mut cache = KvCache::default();
    for t in 0..config.max_new_tokens {
        let sequences: Vec<Vec<u32>> = running
            .iter()
            .map(|h| prompt.iter().copied().chain(h.ids()).collect())
            .collect();
        let fresh: Vec<&[u32]> = sequences
            .iter()
            .map(|s| if use_cache { &s[cache.len()..] } else { &s[..] })
            .collect();
        let width = fresh[0].len();
        let ids: Vec<i32> = fresh
            .iter()
            .flat_map(|f| f.iter().map(|&id| id as i32))
            .collect();
        let tokens =
            Tensor::<2, Int>::from_data(TensorData::new(ids, [fresh.len(), width]), &device);
        let logits = if use_cache {
            model.forward_cached(tokens, &mut cache, hooks)
        } else {
            model.forward_hooked(tokens, hooks)
        };
        let [rows, _, vocab] = logits.dims();
        let last = read(logits.narrow(1, width - 1, 1).reshape([rows, vocab]))
            .await
            .map_err(ExperimentError::Device)?;
        // Processors act on log-probabilities in beam search (Hugging Face's order).
        let log_probs: Vec<Vec<f32>> = last
            .chunks(vocab)
            .zip(&running)
            .zip(&sequences)
            .map(|((row, beam), sequence)| {
                let mut lp: Vec<f32> = super::gedi::log_softmax(row)
                    .iter()
                    .map(|&l| l as f32)
                    .collect();
                let generated: Vec<u32> = beam.ids().collect();
                config.process(&mut lp, sequence, &generated);
                lp
            })
            .collect();
        let candidates = best_extensions(&running, &log_probs, 2 * beams);
        let last_step = t + 1 == config.max_new_tokens;
        let extend = |c: &Candidate| {
            let parent = &running[c.parent];
            let mut steps = parent.steps.clone();
            steps.push(Step::new(c.token, &log_probs[c.parent]));
            Hypothesis {
                steps,
                log_prob: c.log_prob,
            }
        };
        let ends = |c: &Candidate| last_step || Some(c.token) == eos;
        for c in candidates.iter().take(beams).filter(|c| ends(c)) {
            finished.push((extend(c), c.log_prob / penalty(t + 1)));
        }
        finished.sort_by(|a, b| b.1.total_cmp(&a.1));
        finished.truncate(beams);
        let next: Vec<&Candidate> = candidates.iter().filter(|c| !ends(c)).take(beams).collect();
        let parents: Vec<usize> = next.iter().map(|c| c.parent).collect();
        running = next.into_iter().map(extend).collect();
        // Beams change places until the end: steps are reported, tokens only in the result.
        progress.report(t + 1, config.max_new_tokens, &[], 1)?;
        let full = finished.len() == beams;
        let hopeless = running
            .first()
            .is_none_or(|best| full && best.log_prob / penalty(t + 1) <= finished[beams - 1].1);
        if hopeless {
            break;
        }
        if use_cache {
            cache.reorder(&parents);
        }
    }
    let beams: Vec<Beam> = finished
        .iter()
        .map(|(h, score)| Beam {
            new_ids: h.ids().collect(),
            score: *score as f32,
        })
        .collect();
    let best = finished
        .into_iter()
        .next()
        .map(|(h, _)| h.steps)
        .unwrap_or_default();
    Ok(Generation {
        new_ids: best.iter().map(|s| s.token).collect(),
        steps: best,
        used_kv_cache: use_cache,
        beams,
    })
}

/// The `k` best (beam, token) extensions by summed log-probability, best first; ties to the
/// earlier beam, then the lower token (the order of a top-k over the flattened scores).
fn best_extensions(running: &[Hypothesis], log_probs: &[Vec<f32>], k: usize) -> Vec<Candidate> {
    let mut candidates: Vec<Candidate> = running
        .iter()
        .zip(log_probs)
        .enumerate()
        .flat_map(|(parent, (beam, lp))| {
            super::largest(lp, k)
                .into_iter()
                .map(move |token| Candidate {
                    parent,
                    token,
                    log_prob: beam.log_prob + lp[token as usize] as f64,
                })
        })
        .filter(|c| c.log_prob > f64::NEG_INFINITY)
        .collect();
    candidates.sort_by(|a, b| {
        b.log_prob
            .total_cmp(&a.log_prob)
            .then(a.parent.cmp(&b.parent))
            .then(a.token.cmp(&b.token))
    });
    candidates.truncate(k);
    candidates
}
