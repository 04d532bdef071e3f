//! Turning bytes into a runnable model: `config.json`, `model.safetensors`, `tokenizer.json`.
//! Bytes, not paths: the browser has no files.

pub mod memory;
pub mod pipeline;
mod stream;
mod tokenizer;
mod weights;

pub use stream::{StreamedWeights, WeightStream};
pub use tokenizer::{END_OF_TEXT, Tokenizer};
pub use weights::{WeightMap, assemble, load_gpt2};

use crate::model::{ConfigError, Gpt2, Gpt2Config};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

/// Which weights: a Hugging Face hub id (and revision), or any label for local files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

/// Why a model could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    /// `config.json` is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The weights are not a safetensors file.
    #[error("the weights are not a valid safetensors file ({0})")]
    NotSafetensors(String),
    /// The weights file ends before its header says it should.
    #[error(
        "the weights file is truncated at byte {actual} of {expected}, inside tensor `{tensor}` (was the download cut off?)"
    )]
    Truncated {
        expected: usize,
        actual: usize,
        tensor: String,
    },
    /// A parameter the architecture needs is absent.
    #[error(
        "the weights have no tensor `{name}` (expected shape {shape:?}): is this a GPT-2 checkpoint matching config.json?"
    )]
    MissingTensor { name: String, shape: Vec<usize> },
    /// A parameter has the wrong shape for the config.
    #[error("tensor `{name}` has shape {actual:?}, but config.json implies {expected:?}")]
    Shape {
        name: String,
        expected: Vec<usize>,
        actual: Vec<usize>,
    },
    /// Tensors that GPT-2 does not have (another architecture, or another config).
    #[error("the weights contain tensors GPT-2 does not have: {}", first_five(.0))]
    UnexpectedTensors(Vec<String>),
    /// A tensor in a number format we cannot read.
    #[error("tensor `{name}` is stored as {dtype}; only F32, F16 and BF16 are supported")]
    Dtype { name: String, dtype: String },
    /// `tokenizer.json` is unusable.
    #[error("tokenizer.json could not be used: {0}")]
    Tokenizer(String),
    /// A file could not be read.
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    /// A file could not be had from where it is (the network, the browser cache, a picked
    /// file); the message names it.
    #[error("{0}")]
    Source(String),
    /// The model does not fit in this tab or on this device.
    #[error("{0}")]
    TooLarge(String),
    /// The file read differs from the listing's size or sha256.
    #[error("{0}")]
    Listing(String),
    /// The device failed while the weights were put on it.
    #[error("the device failed while taking the weights ({0})")]
    Device(String),
}

/// `a, b, c, d, e and 3 more`.
fn first_five(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
    let more = if names.len() > 5 {
        format!(" and {} more", names.len() - 5)
    } else {
        String::new()
    };
    format!("{}{more}", shown.join(", "))
}

/// The three files of a Hugging Face GPT-2 model folder, as bytes.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub config: Vec<u8>,
    pub weights: Vec<u8>,
    pub tokenizer: Vec<u8>,
}

/// A loaded model and its tokenizer.
#[derive(Debug)]
pub struct LoadedModel {
    pub model: Gpt2,
    pub tokenizer: Tokenizer,
}

impl ModelFiles {
    /// Reads `config.json`, `model.safetensors` and `tokenizer.json` from a folder.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_dir(dir: impl AsRef<std::path::Path>) -> Result<Self, LoadError> {
        let read = |name: &str| {
            let path = dir.as_ref().join(name);
            std::fs::read(&path).map_err(|e| LoadError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        };
        Ok(Self {
            config: read("config.json")?,
            weights: read("model.safetensors")?,
            tokenizer: read("tokenizer.json")?,
        })
    }

    /// Parses everything and uploads the weights to `device`.
    pub fn load(&self, device: &Device) -> Result<LoadedModel, LoadError> {
        let config = Gpt2Config::from_hf_json(&self.config)?;
        let tokenizer = Tokenizer::from_bytes(&self.tokenizer)?.with_bos(config.bos_token_id);
        let model = load_gpt2(&config, &self.weights, device)?;
        Ok(LoadedModel { model, tokenizer })
    }
}
