//! Loading an SAE from SAELens's two files, `cfg.json` and `sae_weights.safetensors`, wherever
//! they are (a hub folder, the user's files, a directory): the config first, the memory check
//! before any weight byte is read, the weights streamed onto the device as they arrive (f16 and
//! bf16 upcast), their sha256 computed on the way and checked against a listing when one is
//! given.

use super::{Architecture, Sae, SaeConfig, SaeConfigError};
use crate::loading::memory::{MemoryEstimate, Target, WASM32_MEMORY, bytes};
use crate::loading::pipeline::{FileSource, ListedFile, whole};
use crate::loading::{LoadError, WeightMap, WeightStream};
use burn::tensor::Device;

/// The config's file name in an SAE folder.
pub const CONFIG_FILE: &str = "cfg.json";
/// The weights' file name in an SAE folder.
pub const WEIGHTS_FILE: &str = "sae_weights.safetensors";

/// Why an SAE could not be loaded or used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SaeError {
    #[error(transparent)]
    Config(#[from] SaeConfigError),
    /// A file as a model's would be refused (not downloaded, truncated, not safetensors, not the
    /// listing's); the message names the file.
    #[error("{0}")]
    Weights(LoadError),
    /// A tensor SAELens writes is missing or has another shape than `cfg.json` implies.
    #[error("the SAE's {WEIGHTS_FILE} {0}")]
    Tensor(String),
    /// It does not fit in this tab or on this device.
    #[error("{0}")]
    TooLarge(String),
    /// A file of the folder could not be read.
    #[error("cannot read the SAE's {path}: {message}")]
    Io { path: String, message: String },
    /// It reads an activation the model does not have, or of another width.
    #[error("{0}")]
    Mismatch(String),
}

impl From<LoadError> for SaeError {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::MissingTensor { name, shape } => Self::Tensor(format!(
                "has no tensor `{name}` (SAELens writes it with shape {shape:?} for this cfg.json)"
            )),
            LoadError::Shape {
                name,
                expected,
                actual,
            } => Self::Tensor(format!(
                "has `{name}` of shape {actual:?}, but cfg.json implies {expected:?}"
            )),
            LoadError::UnexpectedTensors(names) => Self::Tensor(format!(
                "has tensors a {} SAE does not: {}",
                "SAELens",
                names.join(", ")
            )),
            LoadError::TooLarge(message) => Self::TooLarge(message),
            other => Self::Weights(other),
        }
    }
}

/// The f32 bytes an SAE of `config`'s shape holds on the device (`gpt2-small-res-jb`: 151 MB a
/// layer).
pub fn sae_bytes(config: &SaeConfig) -> u64 {
    memory(config, None).parameter_bytes
}

fn memory(config: &SaeConfig, file: Option<u64>) -> MemoryEstimate {
    let (d_in, d_sae) = (config.d_in as u64, config.d_sae as u64);
    let threshold = u64::from(matches!(config.architecture, Architecture::JumpRelu));
    let parameters = 2 * d_in * d_sae + d_sae * (1 + threshold) + d_in;
    MemoryEstimate {
        parameters,
        weights_file: file.unwrap_or(4 * parameters),
        parameter_bytes: 4 * parameters,
        largest_tensor: 4 * d_in * d_sae,
    }
}

/// The two files of an SAE folder, as bytes (the CLI and tests; the browser streams).
#[derive(Debug, Clone)]
pub struct SaeFiles {
    pub config: Vec<u8>,
    pub weights: Vec<u8>,
}

impl SaeFiles {
    /// Reads `cfg.json` and `sae_weights.safetensors` from a folder.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_dir(dir: impl AsRef<std::path::Path>) -> Result<Self, SaeError> {
        let read = |name: &str| {
            let path = dir.as_ref().join(name);
            std::fs::read(&path).map_err(|e| SaeError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        };
        Ok(Self {
            config: read(CONFIG_FILE)?,
            weights: read(WEIGHTS_FILE)?,
        })
    }

    /// Parses both and puts the weights on `device`.
    pub fn load(&self, device: &Device) -> Result<Sae, SaeError> {
        let config = SaeConfig::from_json(&self.config)?;
        let mut stream = WeightStream::new(device, None);
        stream.feed(&self.weights)?;
        assemble(config, stream)
    }
}

fn assemble(config: SaeConfig, stream: WeightStream) -> Result<Sae, SaeError> {
    let weights = stream.finish()?;
    let sha256 = weights.sha256.clone();
    let mut map = WeightMap::new(weights);
    let sae = Sae::build(config, &mut map)?;
    map.finish()?;
    Ok(Sae { sha256, ..sae })
}

/// What to load and where it goes.
pub struct SaePlan<'a> {
    /// How the SAE is named in messages.
    pub label: &'a str,
    pub target: Target,
    pub device: &'a Device,
    /// Blocks of f32 bytes the weights go to the device in (a GPU); `None`: whole tensors.
    pub block_bytes: Option<usize>,
    /// Bytes of the worker's memory already held (the model's parameters on the CPU backend).
    pub held: u64,
    /// The listing's entry for the weights, checked after reading (size and sha256).
    pub listed: Option<&'a ListedFile>,
}

/// Loads the SAE `plan` describes from `source`, saying what it does through `status`.
pub async fn load(
    source: &mut impl FileSource,
    plan: &SaePlan<'_>,
    status: &dyn Fn(String),
) -> Result<Sae, SaeError> {
    let config = whole(source, CONFIG_FILE).await?;
    let config = SaeConfig::from_json(&config)?;
    let fits = |size: Option<u64>| {
        let estimate = memory(&config, size);
        estimate
            .check(&plan.target, WASM32_MEMORY.saturating_sub(plan.held))
            .map(|()| estimate)
            .map_err(|e| {
                SaeError::TooLarge(format!(
                    "the SAE {} ({} features of width {}) cannot be loaded here beside the model ({} held): {e}",
                    plan.label,
                    config.d_sae,
                    config.d_in,
                    bytes(plan.held)
                ))
            })
    };
    let estimate = fits(None)?;
    status(format!("{}: {estimate}", plan.label));
    let mut stream = WeightStream::new(plan.device, plan.block_bytes);
    let size = std::cell::Cell::new(None);
    let refused: std::cell::RefCell<Option<SaeError>> = Default::default();
    let refuse = |e: SaeError| {
        let message = e.to_string();
        *refused.borrow_mut() = Some(e);
        message
    };
    let read = source
        .read(
            WEIGHTS_FILE,
            &mut |announced| {
                size.set(announced);
                fits(announced).map(|_| ()).map_err(refuse)
            },
            &mut |chunk| {
                stream.announce(size.get());
                stream.feed(chunk).map_err(|e| refuse(e.into()))
            },
        )
        .await;
    if let Err(message) = read {
        return Err(refused
            .into_inner()
            .unwrap_or(SaeError::Weights(LoadError::Source(message))));
    }
    let received = stream.received();
    let sae = assemble(config, stream)?;
    if let Some(listed) = plan.listed {
        if received != listed.size {
            return Err(SaeError::Weights(LoadError::Listing(format!(
                "{} is {received} bytes but the hub lists {}: the download is incomplete or the file changed",
                listed.path, listed.size
            ))));
        }
        if let Some(lfs) = &listed.lfs
            && sae.sha256 != lfs.oid
        {
            return Err(SaeError::Weights(LoadError::Listing(format!(
                "{} has sha256 {} but the hub lists {}: the file is corrupt",
                listed.path, sae.sha256, lfs.oid
            ))));
        }
    }
    Ok(sae)
}
