//! GeDi's class head (Krause et al. 2020): a class-conditional GPT-2 turns the length-normalised
//! log-likelihood `S_c` of a text under each control code `c` into class logits
//! `logit_scale · S_c + bias_c`. The authors' checkpoints store both beside the GPT-2 weights.

use burn::module::{Module, Param};
use burn::tensor::Tensor;

#[derive(Module, Debug)]
pub struct ClassHead {
    /// `[1, 1]`
    pub logit_scale: Param<Tensor<2>>,
    /// `[1, 2]`: the first entry goes with the desired control code, the second with the
    /// undesired one (the authors read the two codes in that order).
    pub bias: Param<Tensor<2>>,
}
