//! The model is built in one place, from any source of parameters: a weights file
//! (`loading::assemble`) or seeded random values ([`RandomParameters`], for benches and tests).
//! The source is asked for each parameter by its Hugging Face name, in the file's usual order.

use super::{Attention, Block, ClassHead, Gpt2, Gpt2Config, LayerNorm, Mlp, ParameterNames};
use crate::rng::SplitMix64;
use burn::module::{Param, ParamId};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use std::convert::Infallible;

/// Parameters by their Hugging Face names (`wte.weight`, `h.0.attn.c_attn.weight`,
/// `lm_head.weight`...; Conv1D weights `[in, out]`).
pub trait ParameterSource {
    type Error;

    /// The parameter `name`, which must have `shape`.
    fn take<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
    ) -> Result<Tensor<D>, Self::Error>;

    /// Whether the source has `name` (asked only of `lm_head.weight`, which a tied GPT-2 may
    /// lack).
    fn has(&self, name: &str) -> bool;
}

struct Builder<'a, S> {
    source: &'a mut S,
}

impl<S: ParameterSource> Builder<'_, S> {
    fn param<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
    ) -> Result<Param<Tensor<D>>, S::Error> {
        Ok(Param::initialized(
            ParamId::new(),
            self.source.take(name, shape)?,
        ))
    }

    fn layer_norm(&mut self, prefix: &str, d: usize, epsilon: f64) -> Result<LayerNorm, S::Error> {
        Ok(LayerNorm {
            weight: self.param(&format!("{prefix}.weight"), [d])?,
            bias: self.param(&format!("{prefix}.bias"), [d])?,
            epsilon,
        })
    }

    fn linear(&mut self, prefix: &str, d_in: usize, d_out: usize) -> Result<Linear, S::Error> {
        Ok(Linear {
            weight: self.param(&format!("{prefix}.weight"), [d_in, d_out])?,
            bias: Some(self.param(&format!("{prefix}.bias"), [d_out])?),
        })
    }
}

impl<S: ParameterSource> Builder<'_, S> {
    /// GeDi's class head, when the source has either of its parameters (the other then takes
    /// its neutral value: scale 1, bias 0).
    fn class_head(
        &mut self,
        names: &ParameterNames,
        device: &Device,
    ) -> Result<Option<ClassHead>, S::Error> {
        let (scale, bias) = (names.class_logit_scale, names.class_bias);
        if !(self.source.has(scale) || self.source.has(bias)) {
            return Ok(None);
        }
        let mut param = |name: &str, neutral: f32, shape: [usize; 2]| {
            if self.source.has(name) {
                self.param(name, shape)
            } else {
                Ok(Param::initialized(
                    ParamId::new(),
                    Tensor::full(shape, neutral, device),
                ))
            }
        };
        Ok(Some(ClassHead {
            logit_scale: param(scale, 1.0, [1, 1])?,
            bias: param(bias, 0.0, [1, 2])?,
        }))
    }
}

impl Gpt2 {
    /// GPT-2 of `config`'s shape with the parameters `source` gives, asked for by the names
    /// of `config`'s family.
    pub fn build<S: ParameterSource>(
        config: &Gpt2Config,
        source: &mut S,
    ) -> Result<Self, S::Error> {
        let mut b = Builder { source };
        let names = config.family.names();
        let (d, d_mlp, eps) = (config.n_embd, config.n_inner, config.layer_norm_epsilon);
        let wte = b.param(names.token_embedding, [config.vocab_size, d])?;
        let wpe = b.param(names.position_embedding, [config.n_positions, d])?;
        let h = (0..config.n_layer)
            .map(|i| {
                let name = |part: &str| names.in_block(i, part);
                Ok(Block {
                    layer: i,
                    ln_1: b.layer_norm(&name(names.ln_1), d, eps)?,
                    attn: Attention {
                        c_attn: b.linear(&name(names.qkv), d, 3 * d)?,
                        c_proj: b.linear(&name(names.attn_out), d, d)?,
                        n_head: config.n_head,
                    },
                    ln_2: b.layer_norm(&name(names.ln_2), d, eps)?,
                    mlp: Mlp {
                        c_fc: b.linear(&name(names.mlp_in), d, d_mlp)?,
                        c_proj: b.linear(&name(names.mlp_out), d_mlp, d)?,
                        activation: config.activation,
                    },
                })
            })
            .collect::<Result<Vec<_>, S::Error>>()?;
        let ln_f = b.layer_norm(names.final_norm, d, eps)?;
        // Tied: `wte` is the unembedding, and an `lm_head.weight` in the file (some exports
        // write one) is checked and dropped.
        let tied = config.tie_word_embeddings;
        let lm_head = if b.source.has(names.unembedding) || !tied {
            let lm_head = b.param(names.unembedding, [config.vocab_size, d])?;
            (!tied).then_some(lm_head)
        } else {
            None
        };
        let class_head = b.class_head(names, &wte.val().device())?;
        Ok(Gpt2 {
            wte,
            wpe,
            h,
            ln_f,
            lm_head,
            class_head,
            config: config.clone(),
        })
    }

    /// GPT-2 of `config`'s shape with weights drawn from N(0, 0.02²) (Hugging Face's
    /// initializer range), LayerNorm weights 1 and all biases 0.
    pub fn random(config: &Gpt2Config, seed: u64, device: &Device) -> Self {
        let mut source = RandomParameters {
            seed,
            normal: Normal(SplitMix64(seed)),
            device: device.clone(),
        };
        match Self::build(config, &mut source) {
            Ok(model) => model,
            Err(never) => match never {},
        }
    }
}

/// Normal samples by Box–Muller from splitmix64: the same weights on every platform.
struct Normal(SplitMix64);

impl Normal {
    fn samples(&mut self, n: usize, std: f32) -> Vec<f32> {
        (0..n)
            .map(|_| {
                let (u, v) = (1.0 - self.0.next_f64(), self.0.next_f64()); // u in (0, 1]
                ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32 * std
            })
            .collect()
    }
}

/// Seeded random parameters: matrices N(0, 0.02²) (each embedding from its own stream, the
/// others from one stream in build order), LayerNorm weights 1, biases 0.
pub struct RandomParameters {
    seed: u64,
    normal: Normal,
    device: Device,
}

impl ParameterSource for RandomParameters {
    type Error = Infallible;

    fn take<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
    ) -> Result<Tensor<D>, Infallible> {
        let n = shape.iter().product();
        let values = if name.ends_with(".bias") {
            vec![0.0; n]
        } else if D == 1 {
            vec![1.0; n] // LayerNorm weights
        } else if name.ends_with("wte.weight") || name.ends_with("wpe.weight") {
            Normal(SplitMix64(self.seed ^ shape[0] as u64)).samples(n, 0.02)
        } else {
            self.normal.samples(n, 0.02)
        };
        Ok(Tensor::from_data(
            TensorData::new(values, shape),
            &self.device,
        ))
    }

    fn has(&self, _name: &str) -> bool {
        false
    }
}
