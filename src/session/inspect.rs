//! One prompt through the model: its tokens with the model's loss on each, the most likely
//! next tokens, and every layer's attention pattern (the Prompt panel).

use crate::experiments::read;
use crate::failure::Failure;
use crate::hooks::{BlockHook, HookPoint};
use crate::loading::LoadedModel;
use serde::{Deserialize, Serialize};

/// How many next-token candidates an inspection lists.
pub const TOP_K: usize = 10;

/// One token of the prompt with the model's loss on it (none for the first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenLoss {
    pub id: u32,
    pub text: String,
    pub loss: Option<f32>,
}

/// A candidate next token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub id: u32,
    pub text: String,
    pub logit: f32,
    pub prob: f32,
}

/// `hook_pattern` of every layer for one prompt.
///
/// # Shapes
/// `patterns[layer]` is `[head, query, key]`, row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patterns {
    pub n_head: usize,
    pub tokens: Vec<String>,
    pub patterns: Vec<Vec<f32>>,
}

/// What the Prompt panel shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    pub tokens: Vec<TokenLoss>,
    pub top_k: Vec<Candidate>,
    pub patterns: Patterns,
}

fn log_softmax(row: &[f32]) -> Vec<f32> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let log_sum = row
        .iter()
        .map(|&l| ((l - max) as f64).exp())
        .sum::<f64>()
        .ln() as f32
        + max;
    row.iter().map(|&l| l - log_sum).collect()
}

fn device(message: String) -> Failure {
    Failure::Device { message }
}

/// Runs `text` (after `<|endoftext|>` when `prepend_bos`) with its attention patterns cached.
pub async fn inspect(
    loaded: &LoadedModel,
    text: &str,
    prepend_bos: bool,
) -> Result<Inspection, Failure> {
    let (model, tokenizer) = (&loaded.model, &loaded.tokenizer);
    let ids = tokenizer
        .encode_prompt(text, prepend_bos)
        .map_err(|e| Failure::input(e.to_string()))?;
    let tokens = model
        .tokens(std::slice::from_ref(&ids))
        .map_err(|e| Failure::input(e.to_string()))?;
    let (logits, cache) = model.run_with_cache(tokens, |p| {
        matches!(p, HookPoint::Block(_, BlockHook::Pattern))
    });
    let mut patterns = Vec::with_capacity(model.config.n_layer);
    for layer in 0..model.config.n_layer {
        let pattern: burn::tensor::Tensor<4> = cache
            .get(HookPoint::pattern(layer))
            .ok_or(Failure::internal("no attention pattern cached"))?;
        patterns.push(read(pattern).await.map_err(device)?);
    }
    let [_, pos, vocab] = logits.dims();
    let values = read(logits.reshape([pos, vocab])).await.map_err(device)?;
    let log_probs: Vec<Vec<f32>> = values.chunks(vocab).map(log_softmax).collect();
    let texts = tokenizer.token_texts(&ids);
    let strip = ids
        .iter()
        .zip(texts.iter().cloned())
        .enumerate()
        .map(|(i, (&id, text))| TokenLoss {
            id,
            text,
            loss: (i > 0).then(|| -log_probs[i - 1][id as usize]),
        })
        .collect();
    let last = &values[(pos - 1) * vocab..];
    // Larger logits first; equal ones by id, as a stable sort of the ids would give them.
    let by_logit = |a: &u32, b: &u32| {
        last[*b as usize]
            .total_cmp(&last[*a as usize])
            .then(a.cmp(b))
    };
    let k = TOP_K.min(vocab);
    let mut order: Vec<u32> = (0..vocab as u32).collect();
    // The k largest first (in no order), then only those sorted: linear in the vocabulary.
    if k > 0 {
        order.select_nth_unstable_by(k - 1, by_logit);
    }
    order.truncate(k);
    order.sort_by(by_logit);
    let top_k = order
        .iter()
        .map(|&id| Candidate {
            id,
            text: tokenizer.token_texts(&[id]).remove(0),
            logit: last[id as usize],
            prob: log_probs[pos - 1][id as usize].exp(),
        })
        .collect();
    Ok(Inspection {
        tokens: strip,
        top_k,
        patterns: Patterns {
            n_head: model.config.n_head,
            tokens: texts,
            patterns,
        },
    })
}
