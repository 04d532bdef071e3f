//! A GPT-2 with random weights, for benchmarks and tests that need a model of a given shape.

use super::{Attention, Block, Gpt2, Gpt2Config, LayerNorm, Mlp};
use crate::rng::SplitMix64;
use burn::module::{Param, ParamId};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};

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

impl Gpt2 {
    /// GPT-2 of `config`'s shape with weights drawn from N(0, 0.02²) (Hugging Face's
    /// initializer range), LayerNorm weights 1 and all biases 0.
    pub fn random(config: &Gpt2Config, seed: u64, device: &Device) -> Self {
        let mut normal = Normal(SplitMix64(seed));
        let mut param = |shape: &[usize], std: Option<f32>| -> Param<Tensor<2>> {
            let n = shape.iter().product();
            let values = match std {
                Some(std) => normal.samples(n, std),
                None => vec![0.0; n],
            };
            Param::initialized(
                ParamId::new(),
                Tensor::from_data(TensorData::new(values, [shape[0], shape[1]]), device),
            )
        };
        let vector = |n: usize, value: f32| {
            Param::initialized(
                ParamId::new(),
                Tensor::<1>::from_data(TensorData::new(vec![value; n], [n]), device),
            )
        };
        let (d, d_mlp, eps) = (config.n_embd, config.n_inner, config.layer_norm_epsilon);
        let layer_norm = || LayerNorm {
            weight: vector(d, 1.0),
            bias: vector(d, 0.0),
            epsilon: eps,
        };
        let mut linear = |d_in: usize, d_out: usize| Linear {
            weight: param(&[d_in, d_out], Some(0.02)),
            bias: Some(vector(d_out, 0.0)),
        };
        let h = (0..config.n_layer)
            .map(|_| Block {
                ln_1: layer_norm(),
                attn: Attention {
                    c_attn: linear(d, 3 * d),
                    c_proj: linear(d, d),
                    n_head: config.n_head,
                },
                ln_2: layer_norm(),
                mlp: Mlp {
                    c_fc: linear(d, d_mlp),
                    c_proj: linear(d_mlp, d),
                    activation: config.activation,
                },
            })
            .collect();
        let embedding = |rows: usize| {
            let values = Normal(SplitMix64(seed ^ rows as u64)).samples(rows * d, 0.02);
            Param::initialized(
                ParamId::new(),
                Tensor::<2>::from_data(TensorData::new(values, [rows, d]), device),
            )
        };
        Gpt2 {
            wte: embedding(config.vocab_size),
            wpe: embedding(config.n_positions),
            h,
            ln_f: layer_norm(),
            lm_head: None,
            config: config.clone(),
        }
    }
}
