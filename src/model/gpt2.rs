//! GPT-2: token and position embeddings, `n_layer` blocks, final LayerNorm, tied unembedding.

use super::{
    ClassHead, Gpt2Config,
    attention::{FutureMask, LayerKv},
    block::Block,
    layer_norm::LayerNorm,
};
use crate::hooks::{
    ActivationCache, CacheHooks, HookPoint, Hooks, Intervention, InterventionError,
    InterventionHooks, NoHooks,
};
use burn::module::{Module, Param};
use burn::tensor::{Int, Tensor, TensorData};

#[derive(Module, Debug)]
pub struct Gpt2 {
    /// Token embedding `[vocab, d_model]`; also the unembedding (transposed) when tied.
    pub wte: Param<Tensor<2>>,
    /// Position embedding `[n_positions, d_model]`.
    pub wpe: Param<Tensor<2>>,
    pub h: Vec<Block>,
    pub ln_f: LayerNorm,
    /// An untied unembedding `[vocab, d_model]` (`lm_head.weight`); `None` when tied to `wte`.
    pub lm_head: Option<Param<Tensor<2>>>,
    /// GeDi's class head, in a class-conditional checkpoint only.
    pub class_head: Option<ClassHead>,
    #[module(skip)]
    pub config: Gpt2Config,
}

/// Keys and values of every layer for the positions decoded so far.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    layers: Vec<Option<LayerKv>>,
    len: usize,
}

impl KvCache {
    /// Number of positions cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keeps, for each new batch row, the keys and values of row `rows[i]` (beam search: a
    /// beam continues its parent's cache; a parent may have several children or none).
    pub fn reorder(&mut self, rows: &[usize]) {
        for kv in self.layers.iter_mut().flatten() {
            let device = kv.k.device();
            let index = Tensor::<1, Int>::from_data(
                TensorData::new(rows.iter().map(|&r| r as i32).collect(), [rows.len()]),
                &device,
            );
            kv.k = kv.k.clone().select(0, index.clone());
            kv.v = kv.v.clone().select(0, index);
        }
    }
}

/// Input that the model cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// No sequences, or a sequence without tokens.
    #[error("the prompt is empty: give at least one token")]
    Empty,
    /// More tokens than the position embedding covers.
    #[error("the prompt has {len} tokens; this model reads at most {max}")]
    TooLong { len: usize, max: usize },
    /// Sequences of different lengths in one batch.
    #[error(
        "sequences in a batch must have equal lengths: sequence 0 has {first} tokens, sequence {index} has {other}"
    )]
    Ragged {
        first: usize,
        other: usize,
        index: usize,
    },
    /// A token id outside the vocabulary.
    #[error("token id {id} is outside the vocabulary (size {vocab})")]
    TokenOutOfRange { id: u32, vocab: usize },
    /// An intervention that does not fit this run.
    #[error(transparent)]
    Intervention(#[from] InterventionError),
}

impl Gpt2 {
    /// Checks a batch of token sequences and uploads it.
    ///
    /// # Shapes
    /// - output: `[batch, pos]`
    pub fn tokens(&self, batch: &[Vec<u32>]) -> Result<Tensor<2, Int>, InputError> {
        let first = batch.first().map(Vec::len).unwrap_or(0);
        if first == 0 {
            return Err(InputError::Empty);
        }
        if first > self.config.n_positions {
            return Err(InputError::TooLong {
                len: first,
                max: self.config.n_positions,
            });
        }
        for (index, seq) in batch.iter().enumerate() {
            if seq.len() != first {
                return Err(InputError::Ragged {
                    first,
                    other: seq.len(),
                    index,
                });
            }
            if let Some(&id) = seq
                .iter()
                .find(|&&id| id as usize >= self.config.vocab_size)
            {
                return Err(InputError::TokenOutOfRange {
                    id,
                    vocab: self.config.vocab_size,
                });
            }
        }
        let ids: Vec<i32> = batch.iter().flatten().map(|&id| id as i32).collect();
        Ok(Tensor::from_data(
            TensorData::new(ids, [batch.len(), first]),
            &self.device(),
        ))
    }

    /// The device the weights live on.
    pub fn device(&self) -> burn::tensor::Device {
        self.wte.val().device()
    }

    /// Logits of plain inference.
    ///
    /// # Shapes
    /// - tokens: `[batch, pos]`
    /// - output: `[batch, pos, vocab]`
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        self.forward_hooked(tokens, &mut NoHooks)
    }

    /// The forward pass, calling `hooks` at every TransformerLens hook point.
    ///
    /// # Shapes
    /// - tokens: `[batch, pos]`
    /// - output: `[batch, pos, vocab]`
    pub fn forward_hooked(&self, tokens: Tensor<2, Int>, hooks: &mut impl Hooks) -> Tensor<3> {
        let resid = self.embed(tokens, 0, hooks);
        let resid = self.blocks(0, resid, hooks);
        self.unembed(resid, hooks)
    }

    /// Incremental decoding: runs only `tokens` (the positions after `cache.len()`), attending
    /// to the cached keys and values, and appends theirs. Hooks see the new positions only.
    ///
    /// # Shapes
    /// - tokens: `[batch, new_pos]`
    /// - output: `[batch, new_pos, vocab]`
    pub fn forward_cached(
        &self,
        tokens: Tensor<2, Int>,
        cache: &mut KvCache,
        hooks: &mut impl Hooks,
    ) -> Tensor<3> {
        let new = tokens.dims()[1];
        let mut resid = self.embed(tokens, cache.len, hooks);
        let future = FutureMask::new(new, cache.len, &resid.device());
        cache.layers.resize(self.h.len(), None);
        for (block, kv) in self.h.iter().zip(cache.layers.iter_mut()) {
            resid = block.forward(resid, Some(kv), &future, hooks);
        }
        cache.len += new;
        self.unembed(resid, hooks)
    }

    /// `hook_embed + hook_pos_embed`, the residual stream entering block 0, for tokens at
    /// positions `offset..offset + pos`.
    ///
    /// # Shapes
    /// - tokens: `[batch, pos]`
    /// - output: `[batch, pos, d_model]`
    pub fn embed(
        &self,
        tokens: Tensor<2, Int>,
        offset: usize,
        hooks: &mut impl Hooks,
    ) -> Tensor<3> {
        let [batch, pos] = tokens.dims();
        let d_model = self.config.n_embd;
        let embed = self
            .wte
            .val()
            .select(0, tokens.reshape([batch * pos]))
            .reshape([batch, pos, d_model]);
        let embed = hooks.fwd(HookPoint::Embed, embed);
        let pos_embed = self
            .wpe
            .val()
            .narrow(0, offset, pos)
            .unsqueeze::<3>()
            .expand([batch, pos, d_model]);
        let pos_embed = hooks.fwd(HookPoint::PosEmbed, pos_embed);
        embed + pos_embed
    }

    /// Blocks `start..n_layer` on a residual stream that enters block `start`.
    ///
    /// # Shapes
    /// - resid: `[batch, pos, d_model]`
    /// - output: `[batch, pos, d_model]` (the last `hook_resid_post`)
    pub fn blocks(&self, start: usize, resid: Tensor<3>, hooks: &mut impl Hooks) -> Tensor<3> {
        self.blocks_between(start, self.h.len(), resid, hooks)
    }

    /// Blocks `start..end` (none when `end <= start`): the residual stream leaving block
    /// `end - 1`.
    ///
    /// # Shapes
    /// - resid, output: `[batch, pos, d_model]`
    pub fn blocks_between(
        &self,
        start: usize,
        end: usize,
        mut resid: Tensor<3>,
        hooks: &mut impl Hooks,
    ) -> Tensor<3> {
        let blocks = self.h.get(start..end).unwrap_or_default();
        if blocks.is_empty() {
            return resid;
        }
        let future = FutureMask::new(resid.dims()[1], 0, &resid.device());
        for block in blocks {
            resid = block.forward(resid, None, &future, hooks);
        }
        resid
    }

    /// Final LayerNorm and unembedding.
    ///
    /// # Shapes
    /// - resid: `[batch, pos, d_model]`
    /// - output: `[batch, pos, vocab]`
    pub fn unembed(&self, resid: Tensor<3>, hooks: &mut impl Hooks) -> Tensor<3> {
        let [batch, pos, d_model] = resid.dims();
        let x = self.ln_f.forward(
            resid,
            [HookPoint::LnFinalScale, HookPoint::LnFinalNormalized],
            hooks,
        );
        let x = hooks.fwd(HookPoint::UnembedIn, x);
        let logits = x.reshape([batch * pos, d_model]).matmul(self.w_u()); // [batch·pos, vocab]
        hooks.fwd(
            HookPoint::UnembedOut,
            logits.reshape([batch, pos, self.config.vocab_size]),
        )
    }

    /// The unembedding matrix `W_U`, `[d_model, vocab]`: `wte` transposed, unless untied.
    pub fn w_u(&self) -> Tensor<2> {
        self.lm_head.as_ref().unwrap_or(&self.wte).val().transpose()
    }

    /// Logits and the activations at every hook point that `filter` accepts.
    ///
    /// # Shapes
    /// - tokens: `[batch, pos]`
    /// - output: `[batch, pos, vocab]`, and the cache (TransformerLens shapes, batch axis kept)
    pub fn run_with_cache(
        &self,
        tokens: Tensor<2, Int>,
        filter: impl Fn(HookPoint) -> bool,
    ) -> (Tensor<3>, ActivationCache) {
        let mut hooks = CacheHooks::new(filter);
        let logits = self.forward_hooked(tokens, &mut hooks);
        (logits, hooks.cache)
    }

    /// Logits with `interventions` applied, in order, at their hook points.
    pub fn run_with_hooks(
        &self,
        tokens: Tensor<2, Int>,
        interventions: Vec<Intervention>,
    ) -> Result<Tensor<3>, InputError> {
        let [batch, pos] = tokens.dims();
        let mut hooks = InterventionHooks::new(interventions);
        hooks.validate(|point| self.config.hook_shape(point, batch, pos))?;
        Ok(self.forward_hooked(tokens, &mut hooks))
    }
}

impl Gpt2Config {
    /// The shape of the activation at `point` for a `[batch, pos]` input.
    pub fn hook_shape(&self, point: HookPoint, batch: usize, pos: usize) -> Vec<usize> {
        use crate::hooks::BlockHook::*;
        let (d, h, dh) = (self.n_embd, self.n_head, self.d_head());
        match point {
            HookPoint::LnFinalScale | HookPoint::Block(_, Ln1Scale | Ln2Scale) => {
                vec![batch, pos, 1]
            }
            HookPoint::Block(_, Q | K | V | Z) => vec![batch, pos, h, dh],
            HookPoint::Block(_, AttnScores | Pattern) => vec![batch, h, pos, pos],
            HookPoint::Block(_, MlpPre | MlpPost) => vec![batch, pos, self.n_inner],
            HookPoint::UnembedOut => vec![batch, pos, self.vocab_size],
            _ => vec![batch, pos, d],
        }
    }
}
