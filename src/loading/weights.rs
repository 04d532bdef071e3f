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
use crate::model::{Attention, Block, Gpt2, Gpt2Config, LayerNorm, Mlp};
use burn::module::{Param, ParamId};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{
    Dtype, SafeTensors,
    tensor::{TensorInfo, TensorView},
};
use std::collections::BTreeMap;

/// Named tensors of a safetensors file, keys normalised.
struct WeightMap<'a> {
    tensors: BTreeMap<String, TensorView<'a>>,
    device: Device,
}

impl<'a> WeightMap<'a> {
    fn parse(bytes: &'a [u8], device: &Device) -> Result<Self, LoadError> {
        if let Err(e) = SafeTensors::read_metadata(bytes) {
            return Err(
                truncation(bytes).unwrap_or_else(|| LoadError::NotSafetensors(e.to_string()))
            );
        }
        let file = SafeTensors::deserialize(bytes)
            .map_err(|e| LoadError::NotSafetensors(e.to_string()))?;
        let mut tensors = BTreeMap::new();
        for (key, view) in file.tensors() {
            let name = key.strip_prefix("transformer.").unwrap_or(&key);
            let is_mask_buffer = name
                .strip_prefix("h.")
                .and_then(|rest| rest.split_once('.'))
                .is_some_and(|(layer, suffix)| {
                    layer.parse::<usize>().is_ok()
                        && matches!(suffix, "attn.bias" | "attn.masked_bias")
                });
            if !is_mask_buffer {
                tensors.insert(name.to_string(), view);
            }
        }
        Ok(Self {
            tensors,
            device: device.clone(),
        })
    }

    /// Removes the tensor `name`, checks its shape and uploads it as f32.
    fn take<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
    ) -> Result<Param<Tensor<D>>, LoadError> {
        let view = self
            .tensors
            .remove(name)
            .ok_or_else(|| LoadError::MissingTensor {
                name: name.into(),
                shape: shape.to_vec(),
            })?;
        if view.shape() != shape {
            return Err(LoadError::Shape {
                name: name.into(),
                expected: shape.to_vec(),
                actual: view.shape().to_vec(),
            });
        }
        let values = to_f32(name, &view)?;
        let tensor = Tensor::from_data(TensorData::new(values, shape), &self.device);
        Ok(Param::initialized(ParamId::new(), tensor))
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

/// When a readable header describes more data than the bytes hold: how much, and which
/// tensor is cut.
fn truncation(bytes: &[u8]) -> Option<LoadError> {
    let header_len = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
    let header = bytes.get(8..8usize.checked_add(header_len)?)?;
    let mut entries: BTreeMap<String, serde_json::Value> = serde_json::from_slice(header).ok()?;
    entries.remove("__metadata__");
    let infos: Vec<(String, TensorInfo)> = entries
        .into_iter()
        .map(|(name, v)| Some((name, serde_json::from_value(v).ok()?)))
        .collect::<Option<_>>()?;
    let data_start = 8 + header_len;
    let expected = data_start
        + infos
            .iter()
            .map(|(_, i)| i.data_offsets.1)
            .max()
            .unwrap_or(0);
    let available = bytes.len() - data_start;
    let (tensor, _) = infos
        .iter()
        .filter(|(_, i)| i.data_offsets.1 > available)
        .min_by_key(|(_, i)| i.data_offsets.0)?;
    Some(LoadError::Truncated {
        expected,
        actual: bytes.len(),
        tensor: tensor.clone(),
    })
}

fn to_f32(name: &str, view: &TensorView<'_>) -> Result<Vec<f32>, LoadError> {
    let bytes = view.data();
    Ok(match view.dtype() {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        other => {
            return Err(LoadError::Dtype {
                name: name.into(),
                dtype: format!("{other:?}"),
            });
        }
    })
}

/// Builds a GPT-2 on `device` from the bytes of a `model.safetensors`.
pub fn load_gpt2(config: &Gpt2Config, bytes: &[u8], device: &Device) -> Result<Gpt2, LoadError> {
    let mut w = WeightMap::parse(bytes, device)?;
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
