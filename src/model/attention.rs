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

impl Attention {
    /// # Shapes
    /// - x: `[batch, pos, d_model]` (after `ln_1`)
    /// - output: `[batch, pos, d_model]` (`hook_attn_out` before the residual add)
    pub fn forward(&self, layer: usize, x: Tensor<3>, hooks: &mut impl Hooks) -> Tensor<3> {
        let [batch, pos, d_model] = x.dims();
        let (n_head, d_head) = (self.n_head, d_model / self.n_head);
        let hook = |h| HookPoint::Block(layer, h);

        let qkv = self.c_attn.forward(x); // [batch, pos, 3·d_model]
        let split = |i: usize| {
            qkv.clone()
                .narrow(2, i * d_model, d_model)
                .reshape([batch, pos, n_head, d_head])
        };
        let q = hooks.fwd(hook(BlockHook::Q), split(0)); // [batch, pos, head, d_head]
        let k = hooks.fwd(hook(BlockHook::K), split(1));
        let v = hooks.fwd(hook(BlockHook::V), split(2));

        let q = q.swap_dims(1, 2); // [batch, head, q_pos, d_head]
        let k_t = k.permute([0, 2, 3, 1]); // [batch, head, d_head, k_pos]
        let scores = q.matmul(k_t) / (d_head as f64).sqrt(); // [batch, head, q_pos, k_pos]
        // burn's `tril_mask` is true *outside* the lower triangle: the future keys.
        let future = Tensor::<2, Bool>::tril_mask([pos, pos], 0, &scores.device())
            .unsqueeze::<4>()
            .expand([batch, n_head, pos, pos]);
        let scores = hooks.fwd(
            hook(BlockHook::AttnScores),
            scores.mask_fill(future, f32::NEG_INFINITY),
        );
        let pattern = hooks.fwd(hook(BlockHook::Pattern), activation::softmax(scores, 3));

        let z = pattern.matmul(v.swap_dims(1, 2)).swap_dims(1, 2); // [batch, pos, head, d_head]
        let z = hooks.fwd(hook(BlockHook::Z), z);
        self.c_proj.forward(z.reshape([batch, pos, d_model]))
    }
}
