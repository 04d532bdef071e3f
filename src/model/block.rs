//! One transformer block: `x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))`.

use super::{
    attention::{Attention, FutureMask, LayerKv},
    layer_norm::LayerNorm,
    mlp::Mlp,
};
use crate::hooks::{BlockHook, HookPoint, Hooks};
use burn::module::Module;
use burn::tensor::Tensor;

#[derive(Module, Debug)]
pub struct Block {
    /// Its index in the model: the layer of its hook points.
    #[module(skip)]
    pub layer: usize,
    pub ln_1: LayerNorm,
    pub attn: Attention,
    pub ln_2: LayerNorm,
    pub mlp: Mlp,
}

impl Block {
    /// # Shapes
    /// - resid: `[batch, pos, d_model]` (`hook_resid_pre` of this block)
    /// - output: `[batch, pos, d_model]` (`hook_resid_post`)
    pub fn forward(
        &self,
        resid: Tensor<3>,
        kv: Option<&mut Option<LayerKv>>,
        future: &FutureMask,
        hooks: &mut impl Hooks,
    ) -> Tensor<3> {
        let layer = self.layer;
        let hook = |h| HookPoint::Block(layer, h);
        let resid = hooks.fwd(hook(BlockHook::ResidPre), resid);
        let ln1 = self.ln_1.forward(
            resid.clone(),
            [hook(BlockHook::Ln1Scale), hook(BlockHook::Ln1Normalized)],
            hooks,
        );
        let attn_out = self.attn.forward(layer, ln1, kv, future, hooks);
        let attn_out = hooks.fwd(hook(BlockHook::AttnOut), attn_out);
        let resid = hooks.fwd(hook(BlockHook::ResidMid), resid + attn_out);
        self.mlp_half(resid, hooks)
    }

    /// The block after attention: `ln_2`, the MLP and its residual add.
    ///
    /// # Shapes
    /// - resid: `[batch, pos, d_model]` (`hook_resid_mid`)
    /// - output: `[batch, pos, d_model]` (`hook_resid_post`)
    pub fn mlp_half(&self, resid: Tensor<3>, hooks: &mut impl Hooks) -> Tensor<3> {
        let layer = self.layer;
        let hook = |h| HookPoint::Block(layer, h);
        let ln2 = self.ln_2.forward(
            resid.clone(),
            [hook(BlockHook::Ln2Scale), hook(BlockHook::Ln2Normalized)],
            hooks,
        );
        let mlp_out = self.mlp.forward(layer, ln2, hooks);
        let mlp_out = hooks.fwd(hook(BlockHook::MlpOut), mlp_out);
        hooks.fwd(hook(BlockHook::ResidPost), resid + mlp_out)
    }
}
