//! LayerNorm with TransformerLens's two hook points: `hook_scale` and `hook_normalized`
//! (taken before the affine). Where neither is hooked, one fused kernel ([`super::fused`]).

use crate::hooks::{HookPoint, Hooks};
use burn::module::{Module, Param};
use burn::tensor::Tensor;

/// `ln_1`, `ln_2`, `ln_f`.
#[derive(Module, Debug)]
pub struct LayerNorm {
    /// `[d_model]`
    pub weight: Param<Tensor<1>>,
    /// `[d_model]`
    pub bias: Param<Tensor<1>>,
    #[module(skip)]
    pub epsilon: f64,
}

impl LayerNorm {
    /// `(x - mean) / sqrt(var + eps) * weight + bias`, variance biased.
    ///
    /// The LN-free checkpoints use `eps = 1e12` and weight `1e6`: both stay in f32 range.
    ///
    /// # Shapes
    /// - x: `[batch, pos, d_model]`
    /// - output: `[batch, pos, d_model]`
    pub fn forward(
        &self,
        x: Tensor<3>,
        [scale_hook, normalized_hook]: [HookPoint; 2],
        hooks: &mut impl Hooks,
    ) -> Tensor<3> {
        if !hooks.sees(scale_hook) && !hooks.sees(normalized_hook) {
            return super::fused::layer_norm(x, self.w(), self.b(), self.epsilon);
        }
        let centred = x.clone() - x.mean_dim(2); // [batch, pos, d_model]
        let var = centred.clone().square().mean_dim(2); // [batch, pos, 1]
        let scale = hooks.fwd(scale_hook, (var + self.epsilon).sqrt()); // [batch, pos, 1]
        let normalized = hooks.fwd(normalized_hook, centred / scale);
        self.affine(normalized)
    }

    /// The scale (`w` in TransformerLens).
    ///
    /// # Shapes
    /// - output: `[d_model]`
    pub fn w(&self) -> Tensor<1> {
        self.weight.val()
    }

    /// The shift (`b` in TransformerLens).
    ///
    /// # Shapes
    /// - output: `[d_model]`
    pub fn b(&self) -> Tensor<1> {
        self.bias.val()
    }

    /// `normalized * weight + bias`.
    pub fn affine(&self, normalized: Tensor<3>) -> Tensor<3> {
        normalized * self.weight.val().unsqueeze::<3>() + self.bias.val().unsqueeze::<3>()
    }
}
