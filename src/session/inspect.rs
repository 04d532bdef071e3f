//! One prompt through the model: its tokens with the model's loss on each, the most likely
//! next tokens, and every layer's attention pattern (the Prompt panel).

use crate::experiments::{largest, read};
use crate::failure::Failure;
use crate::hooks::{BlockHook, HookPoint};
use crate::loading::LoadedModel;
use burn::tensor::{Int, Tensor, TensorData, activation};
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
    // On the device: each position's loss on the next token, and the last position's logits
    // and log-probabilities. Only those come back (not `pos × vocab` values: 200 MB at
    // GPT-2's full context).
    let [_, pos, vocab] = logits.dims();
    let log_probs = activation::log_softmax(logits.clone().reshape([pos, vocab]), 1);
    let losses = match ids.get(1..).filter(|next| !next.is_empty()) {
        Some(next) => {
            let next: Vec<i32> = next.iter().map(|&id| id as i32).collect();
            let index = Tensor::<2, Int>::from_data(
                TensorData::new(next, [pos - 1, 1]),
                &log_probs.device(),
            );
            read(-log_probs.clone().slice(0..pos - 1).gather(1, index))
                .await
                .map_err(device)?
        }
        None => vec![],
    };
    let last = read(logits.reshape([pos, vocab]).slice(pos - 1..pos))
        .await
        .map_err(device)?;
    let last_log_probs = read(log_probs.slice(pos - 1..pos)).await.map_err(device)?;
    let texts = tokenizer.token_texts(&ids);
    let strip = ids
        .iter()
        .zip(texts.iter().cloned())
        .enumerate()
        .map(|(i, (&id, text))| TokenLoss {
            id,
            text,
            loss: i.checked_sub(1).map(|before| losses[before]),
        })
        .collect();
    let order = largest(&last, TOP_K);
    let top_k = order
        .iter()
        .map(|&id| Candidate {
            id,
            text: tokenizer.token_texts(&[id]).remove(0),
            logit: last[id as usize],
            prob: last_log_probs[id as usize].exp(),
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
