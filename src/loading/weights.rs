//! GPT-2 weights from `model.safetensors` bytes, in any of the hub's layouts.
//!
//! The key map, in one place:
//! - an optional `transformer.` prefix is dropped (`GPT2LMHeadModel.save_pretrained` layout);
//! - `h.{i}.attn.bias` and `h.{i}.attn.masked_bias` are causal-mask buffers, not
//!   parameters: ignored (not to be confused with `h.{i}.attn.c_attn.bias`);
//! - `lm_head.weight` is the unembedding; GPT-2 ties it to `wte`, so it is used only when the
//!   config unties them;
//! - Conv1D weights are stored `[in, out]`, which is burn's `Linear` layout: no transpose.
//!
//! f16 and bf16 tensors are upcast to f32.

use super::LoadError;
use super::stream::{Stored, StreamedWeights, WeightStream};
use crate::model::{Attention, Block, Gpt2, Gpt2Config, LayerNorm, Mlp};
use burn::module::{Param, ParamId};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor};
use std::collections::BTreeMap;

/// The parameter a safetensors key holds (the `transformer.` prefix dropped), or `None` for a
/// causal-mask buffer (`h.{i}.attn.bias`, `h.{i}.attn.masked_bias`).
pub(super) fn parameter_name(key: &str) -> Option<&str> {
    let name = key.strip_prefix("transformer.").unwrap_or(key);
    let is_mask_buffer = name
        .strip_prefix("h.")
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(layer, suffix)| {
            layer.parse::<usize>().is_ok() && matches!(suffix, "attn.bias" | "attn.masked_bias")
        });
    (!is_mask_buffer).then_some(name)
}

/// The file's tensors on the device, taken one by one into the model.
struct WeightMap {
    tensors: BTreeMap<String, Stored>,
}

impl WeightMap {
    /// Removes the tensor `name` and checks its shape.
    fn take<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
    ) -> Result<Param<Tensor<D>>, LoadError> {
        let stored = self
            .tensors
            .remove(name)
            .ok_or_else(|| LoadError::MissingTensor {
                name: name.into(),
                shape: shape.to_vec(),
            })?;
        let Stored {
            shape: actual,
            values,
        } = stored;
        let values = values.map_err(|dtype| LoadError::Dtype {
            name: name.into(),
            dtype,
        })?;
        if actual != shape {
            return Err(LoadError::Shape {
                name: name.into(),
                expected: shape.to_vec(),
                actual,
            });
        }
        Ok(Param::initialized(ParamId::new(), values.reshape(shape)))
    }

    fn layer_norm(&mut self, prefix: &str, d: usize, epsilon: f64) -> Result<LayerNorm, LoadError> {
        Ok(LayerNorm {
            weight: self.take(&format!("{prefix}.weight"), [d])?,
            bias: self.take(&format!("{prefix}.bias"), [d])?,
            epsilon,
        })
    }

    fn linear(&mut self, prefix: &str, d_in: usize, d_out: usize) -> Result<Linear, LoadError> {
        Ok(Linear {
            weight: self.take(&format!("{prefix}.weight"), [d_in, d_out])?,
            bias: Some(self.take(&format!("{prefix}.bias"), [d_out])?),
        })
    }
}

/// Builds a GPT-2 on `device` from the bytes of a `model.safetensors` (in one piece; the
/// browser streams them through [`WeightStream`] instead).
pub fn load_gpt2(config: &Gpt2Config, bytes: &[u8], device: &Device) -> Result<Gpt2, LoadError> {
    let mut stream = WeightStream::new(device, None);
    stream.feed(bytes)?;
    assemble(config, stream.finish()?)
}

/// Builds a GPT-2 from the tensors of a weights file already on the device.
pub fn assemble(config: &Gpt2Config, weights: StreamedWeights) -> Result<Gpt2, LoadError> {
    let mut w = WeightMap {
        tensors: weights.tensors,
    };
    let (d, d_mlp, eps) = (config.n_embd, config.n_inner, config.layer_norm_epsilon);
    let wte = w.take("wte.weight", [config.vocab_size, d])?;
    let wpe = w.take("wpe.weight", [config.n_positions, d])?;
    let h = (0..config.n_layer)
        .map(|i| {
            Ok(Block {
                ln_1: w.layer_norm(&format!("h.{i}.ln_1"), d, eps)?,
                attn: Attention {
                    c_attn: w.linear(&format!("h.{i}.attn.c_attn"), d, 3 * d)?,
                    c_proj: w.linear(&format!("h.{i}.attn.c_proj"), d, d)?,
                    n_head: config.n_head,
                },
                ln_2: w.layer_norm(&format!("h.{i}.ln_2"), d, eps)?,
                mlp: Mlp {
                    c_fc: w.linear(&format!("h.{i}.mlp.c_fc"), d, d_mlp)?,
                    c_proj: w.linear(&format!("h.{i}.mlp.c_proj"), d_mlp, d)?,
                    activation: config.activation,
                },
            })
        })
        .collect::<Result<Vec<_>, LoadError>>()?;
    let ln_f = w.layer_norm("ln_f", d, eps)?;
    let lm_head = match (
        w.tensors.contains_key("lm_head.weight"),
        config.tie_word_embeddings,
    ) {
        (false, false) => {
            return Err(LoadError::MissingTensor {
                name: "lm_head.weight".into(),
                shape: vec![config.vocab_size, d],
            });
        }
        (false, true) => None,
        (true, tied) => {
            let lm_head = w.take("lm_head.weight", [config.vocab_size, d])?;
            (!tied).then_some(lm_head)
        }
    };
    if !w.tensors.is_empty() {
        return Err(LoadError::UnexpectedTensors(
            w.tensors.into_keys().collect(),
        ));
    }
    Ok(Gpt2 {
        wte,
        wpe,
        h,
        ln_f,
        lm_head,
        config: config.clone(),
    })
}
