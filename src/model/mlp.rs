//! The MLP: `c_fc`, GELU, `c_proj`.

use super::config::Activation;
use crate::hooks::{BlockHook, HookPoint, Hooks};
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Tensor, activation};

#[derive(Module, Debug)]
pub struct Mlp {
    /// `W_in`: weight `[d_model, d_mlp]` (GPT-2's Conv1D layout is burn's `Linear` layout).
    pub c_fc: Linear,
    /// `W_out`: weight `[d_mlp, d_model]`.
    pub c_proj: Linear,
    #[module(skip)]
    pub activation: Activation,
}

impl Mlp {
    /// `W_in`, as TransformerLens holds it.
    ///
    /// # Shapes
    /// - output: `[d_model, d_mlp]`
    pub fn w_in(&self) -> Tensor<2> {
        self.c_fc.weight.val()
    }

    /// `W_out`: each neuron's output direction is a row.
    ///
    /// # Shapes
    /// - output: `[d_mlp, d_model]`
    pub fn w_out(&self) -> Tensor<2> {
        self.c_proj.weight.val()
    }

    /// # Shapes
    /// - x: `[batch, pos, d_model]`
    /// - output: `[batch, pos, d_model]`
    pub fn forward(&self, layer: usize, x: Tensor<3>, hooks: &mut impl Hooks) -> Tensor<3> {
        let pre = hooks.fwd(
            HookPoint::Block(layer, BlockHook::MlpPre),
            self.c_fc.forward(x),
        ); // [batch, pos, d_mlp]
        let post = hooks.fwd(
            HookPoint::Block(layer, BlockHook::MlpPost),
            self.activation.apply(pre),
        );
        self.c_proj.forward(post)
    }
}

impl Activation {
    /// Applies the non-linearity elementwise.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::GeluNew => super::fused::gelu_new(x),
            Self::Gelu => activation::gelu(x),
            Self::Relu => activation::relu(x),
        }
    }
}
