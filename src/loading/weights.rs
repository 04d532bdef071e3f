//! GPT-2 weights from `model.safetensors` bytes, in any of the hub's layouts.
//!
//! Keys are read through the family's table (`model::ParameterNames`): an optional
//! `transformer.` prefix (`GPT2LMHeadModel.save_pretrained` layout) is dropped, causal-mask
//! buffers (`h.{i}.attn.bias`, `h.{i}.attn.masked_bias`) ignored; `lm_head.weight` is used
//! only when the config unties the unembedding. Conv1D weights are stored `[in, out]`, which
//! is burn's `Linear` layout: no transpose. f16 and bf16 tensors are upcast to f32.

use super::LoadError;
use super::stream::{Stored, StreamedWeights, WeightStream};
use crate::model::{Gpt2, Gpt2Config, ParameterSource};
use burn::tensor::{Device, Tensor};
use std::collections::BTreeMap;

/// The file's tensors on the device, taken one by one into the model (or an SAE: anything
/// built from a [`ParameterSource`]).
pub struct WeightMap {
    tensors: BTreeMap<String, Stored>,
}

impl WeightMap {
    pub fn new(weights: StreamedWeights) -> Self {
        Self {
            tensors: weights.tensors,
        }
    }

    /// Every tensor was taken; else an error naming those left.
    pub fn finish(self) -> Result<(), LoadError> {
        if self.tensors.is_empty() {
            return Ok(());
        }
        Err(LoadError::UnexpectedTensors(
            self.tensors.into_keys().collect(),
        ))
    }
}

impl ParameterSource for WeightMap {
    type Error = LoadError;

    /// Removes the tensor `name` and checks its shape.
    fn take<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
    ) -> Result<Tensor<D>, LoadError> {
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
        Ok(values.reshape(shape))
    }

    fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }
}

/// Builds a GPT-2 on `device` from the bytes of a `model.safetensors` (in one piece; the
/// browser streams them through [`WeightStream`] instead).
pub fn load_gpt2(config: &Gpt2Config, bytes: &[u8], device: &Device) -> Result<Gpt2, LoadError> {
    let mut stream = WeightStream::new(device, None).reading(config.family);
    stream.feed(bytes)?;
    assemble(config, stream.finish()?)
}

/// Builds a GPT-2 from the tensors of a weights file already on the device; every tensor of
/// the file must be used.
pub fn assemble(config: &Gpt2Config, weights: StreamedWeights) -> Result<Gpt2, LoadError> {
    let mut map = WeightMap::new(weights);
    let model = Gpt2::build(config, &mut map)?;
    map.finish()?;
    Ok(model)
}
