//! Causal self-attention with TransformerLens's per-head hooks.

use crate::hooks::{BlockHook, HookPoint, Hooks};
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Bool, Tensor, activation};

#[derive(Module, Debug)]
pub struct Attention {
    /// Query, key and value projections side by side: weight `[d_model, 3·d_model]`.
    pub c_attn: Linear,
    /// `W_O`: weight `[d_model, d_model]` (heads along the input axis).
    pub c_proj: Linear,
    #[module(skip)]
    pub n_head: usize,
}

/// The keys each new position must not attend to: those after it. Built on first use (a pass
/// whose attention runs fused never builds it) and shared by every layer; none when a single
/// new position attends to all before it (a decoding step).
///
/// # Shapes
/// - `[pos, past_pos + pos]`, true where the key is in the query's future
#[derive(Debug)]
pub struct FutureMask {
    pos: usize,
    past: usize,
    device: burn::tensor::Device,
    mask: std::cell::OnceCell<Option<Tensor<2, Bool>>>,
}

impl FutureMask {
    /// For `pos` new positions after `past` seen ones.
    pub fn new(pos: usize, past: usize, device: &burn::tensor::Device) -> Self {
        Self {
            pos,
            past,
            device: device.clone(),
            mask: std::cell::OnceCell::new(),
        }
    }

    fn get(&self) -> Option<&Tensor<2, Bool>> {
        self.mask
            .get_or_init(|| {
                // burn's `tril_mask` is true *outside* the lower triangle: the future keys.
                (self.pos > 1).then(|| {
                    Tensor::<2, Bool>::tril_mask(
                        [self.pos, self.past + self.pos],
                        self.past as i64,
                        &self.device,
                    )
                })
            })
            .as_ref()
    }
}

/// Keys and values of the positions already seen, for incremental decoding.
///
/// # Shapes
/// - k, v: `[batch, head, past_pos, d_head]`
#[derive(Debug, Clone)]
pub struct LayerKv {
    pub k: Tensor<4>,
    pub v: Tensor<4>,
}

/// The weights per head, in TransformerLens's shapes (`W_Q`, `W_K`, `W_V`, `W_O`): what
/// experiments that read weights use, whatever the checkpoint's layout.
impl Attention {
    /// # Shapes
    /// - output: `[head, d_model, d_head]`
    pub fn w_q(&self) -> Tensor<3> {
        self.projection(0)
    }

    /// # Shapes
    /// - output: `[head, d_model, d_head]`
    pub fn w_k(&self) -> Tensor<3> {
        self.projection(1)
    }

    /// # Shapes
    /// - output: `[head, d_model, d_head]`
    pub fn w_v(&self) -> Tensor<3> {
        self.projection(2)
    }

    /// # Shapes
    /// - output: `[head, d_head, d_model]`
    pub fn w_o(&self) -> Tensor<3> {
        let weight = self.c_proj.weight.val(); // [head·d_head, d_model]
        let [_, d_model] = weight.dims();
        weight.reshape([self.n_head, d_model / self.n_head, d_model])
    }

    /// Query (0), key (1) or value (2) weights, `[head, d_model, d_head]`.
    fn projection(&self, which: usize) -> Tensor<3> {
        let weight = self.c_attn.weight.val(); // [d_model, 3·d_model]
        let [d_model, _] = weight.dims();
        weight
            .narrow(1, which * d_model, d_model)
            .reshape([d_model, self.n_head, d_model / self.n_head])
            .swap_dims(0, 1)
    }
}

impl Attention {
    /// Attention of the new positions over the cached ones and themselves. With `kv`, the
    /// new keys and values are appended to it and the hooks see the new positions only
    /// (scores and pattern are `[batch, head, new_pos, past_pos + new_pos]`).
    ///
    /// # Shapes
    /// - x: `[batch, pos, d_model]` (after `ln_1`)
    /// - output: `[batch, pos, d_model]` (`hook_attn_out` before the residual add)
    pub fn forward(
        &self,
        layer: usize,
        x: Tensor<3>,
        kv: Option<&mut Option<LayerKv>>,
        future: &FutureMask,
        hooks: &mut impl Hooks,
    ) -> Tensor<3> {
        let [batch, pos, d_model] = x.dims();
        let (n_head, d_head) = (self.n_head, d_model / self.n_head);
        let hook = |h| HookPoint::Block(layer, h);

        let [q, k, v] = head_major(self.c_attn.forward(x), n_head); // [batch, head, pos, d_head]
        // The hooks see TransformerLens's `[batch, pos, head, d_head]`: views, no copies.
        let mut hooked = |h, t: Tensor<4>| hooks.fwd(hook(h), t.swap_dims(1, 2)).swap_dims(1, 2);
        let q = hooked(BlockHook::Q, q);
        let (mut k, mut v) = (hooked(BlockHook::K, k), hooked(BlockHook::V, v));
        let mut past = 0;
        if let Some(kv) = kv {
            if let Some(cached) = kv.take() {
                past = cached.k.dims()[2];
                k = Tensor::cat(vec![cached.k, k], 2);
                v = Tensor::cat(vec![cached.v, v], 2);
            }
            *kv = Some(LayerKv {
                k: k.clone(),
                v: v.clone(),
            });
        }
        let keys = past + pos;

        let fused =
            !hooks.sees(hook(BlockHook::AttnScores)) && !hooks.sees(hook(BlockHook::Pattern));
        let z = if fused {
            super::fused::causal_attention(q, k, v)
        } else {
            let scores = q.matmul(k.swap_dims(2, 3)) / (d_head as f64).sqrt(); // [batch, head, q_pos, k_pos]
            let scores = match future.get() {
                Some(mask) => {
                    debug_assert_eq!(mask.dims(), [pos, keys], "a mask for another pass");
                    let mask = mask
                        .clone()
                        .unsqueeze::<4>()
                        .expand([batch, n_head, pos, keys]);
                    scores.mask_fill(mask, f32::NEG_INFINITY)
                }
                None => scores,
            };
            let scores = hooks.fwd(hook(BlockHook::AttnScores), scores);
            let pattern = hooks.fwd(hook(BlockHook::Pattern), activation::softmax(scores, 3));
            pattern.matmul(v)
        };
        let z = z.swap_dims(1, 2); // [batch, pos, head, d_head]
        let z = hooks.fwd(hook(BlockHook::Z), z);
        self.c_proj.forward(z.reshape([batch, pos, d_model]))
    }
}

/// The query, key and value projections, each `[batch, head, pos, d_head]` and contiguous, from
/// their side-by-side output: one copy for the three (a copy each, and three more where the
/// matrix products needed them contiguous, before).
///
/// # Shapes
/// - qkv: `[batch, pos, 3·d_model]`
fn head_major(qkv: Tensor<3>, n_head: usize) -> [Tensor<4>; 3] {
    let [batch, pos, three_d] = qkv.dims();
    let d_head = three_d / 3 / n_head;
    // `· 1` writes the permuted view out once, in its own (head-major) order.
    let heads = qkv
        .reshape([batch, pos, 3, n_head, d_head])
        .permute([2, 0, 3, 1, 4])
        .mul_scalar(1.0); // [3, batch, head, pos, d_head]
    let part = |i: usize| heads.clone().narrow(0, i, 1).squeeze_dim::<4>(0);
    [part(0), part(1), part(2)]
}
