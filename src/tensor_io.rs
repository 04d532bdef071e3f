//! Named f32 tensors to and from safetensors bytes (the CLI's `cache` output, test fixtures).

use crate::loading::LoadError;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::BTreeMap;

/// An f32 array with its shape, on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

impl HostTensor {
    /// Reads a burn tensor's data as f32.
    pub fn from_data(data: burn::tensor::TensorData) -> Self {
        let shape = data.shape().to_vec();
        let values = data
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32 data after conversion");
        Self { shape, values }
    }
}

/// Serialises named tensors as an f32 safetensors file.
pub fn to_safetensors(tensors: &BTreeMap<String, HostTensor>) -> Result<Vec<u8>, String> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, t)| {
            (
                name.clone(),
                t.shape.clone(),
                t.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, data)| {
            TensorView::new(Dtype::F32, shape.clone(), data)
                .map(|view| (name.as_str(), view))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    safetensors::serialize(views, None).map_err(|e| e.to_string())
}

/// Reads every f32 tensor of a safetensors file.
pub fn from_safetensors(bytes: &[u8]) -> Result<BTreeMap<String, HostTensor>, LoadError> {
    let file =
        SafeTensors::deserialize(bytes).map_err(|e| LoadError::NotSafetensors(e.to_string()))?;
    file.tensors()
        .into_iter()
        .map(|(name, view)| {
            if view.dtype() != Dtype::F32 {
                return Err(LoadError::Dtype {
                    name,
                    dtype: format!("{:?}", view.dtype()),
                });
            }
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            Ok((
                name,
                HostTensor {
                    shape: view.shape().to_vec(),
                    values,
                },
            ))
        })
        .collect()
}
