//! Loading a model from wherever its three files are (the network with the browser's cache,
//! files the user picked, memory in tests), in one order of steps: `config.json`; the memory
//! check, before any weight byte is read; `tokenizer.json`; the weights streamed onto the
//! device as they arrive (checked again against the size the source announces); and, when a
//! listing gives them, the file's size and sha256. Only reading a file differs between places:
//! that is [`FileSource`].

use super::memory::{MemoryEstimate, Target, WASM32_MEMORY};
use super::{LoadError, StreamedWeights, Tokenizer, WeightStream};
use crate::model::Gpt2Config;
use burn::tensor::Device;
use serde::Deserialize;
use web_time::Instant;

/// A file as a listing gives it (the hub's `api/models/<id>/tree/main`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ListedFile {
    pub path: String,
    pub size: u64,
    #[serde(default)]
    pub lfs: Option<ListedLfs>,
}

/// A large file's content hash in a listing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ListedLfs {
    /// The sha256 of the file's content, hex.
    pub oid: String,
    pub size: u64,
}

/// Somewhere a model's files can be read from.
#[allow(async_fn_in_trait)] // used with concrete types only
pub trait FileSource {
    /// Feeds the file `name` to `sink` as it arrives. Before the first byte, `check` sees the
    /// size the source announces (if any) and may refuse the file.
    async fn read(
        &mut self,
        name: &str,
        check: &mut dyn FnMut(Option<u64>) -> Result<(), String>,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), String>;
}

/// What to load and where it goes.
pub struct Plan<'a> {
    /// How the model is named in messages.
    pub label: &'a str,
    /// The weights file's name in the source (`model.safetensors`).
    pub weights: &'a str,
    /// The weights file's size when known before reading (a listing, a picked file).
    pub weights_size: Option<u64>,
    /// The listing's entry for the weights, checked after reading (size and sha256).
    pub listed: Option<&'a ListedFile>,
    pub target: Target,
    pub device: &'a Device,
    /// Blocks of f32 bytes the weights go to the device in (a GPU); `None`: whole tensors.
    pub block_bytes: Option<usize>,
    /// Another loaded model and the bytes of the worker's memory it holds (its parameters on
    /// the CPU backend): the room left is smaller by that much.
    pub held: Option<&'a (String, u64)>,
}

/// A model's parts, read and on the device.
pub struct Parts {
    pub config: Gpt2Config,
    pub tokenizer: Tokenizer,
    pub weights: StreamedWeights,
    /// Milliseconds of each step, in order.
    pub timings_ms: Vec<(String, f64)>,
}

/// Reads the whole file `name`.
pub async fn whole(source: &mut impl FileSource, name: &str) -> Result<Vec<u8>, LoadError> {
    let mut bytes = Vec::new();
    source
        .read(name, &mut |_| Ok(()), &mut |chunk| {
            bytes.extend_from_slice(chunk);
            Ok(())
        })
        .await
        .map_err(LoadError::Source)?;
    Ok(bytes)
}

/// Loads the model `plan` describes from `source`, saying what it does through `status`.
pub async fn load(
    source: &mut impl FileSource,
    plan: &Plan<'_>,
    status: &dyn Fn(String),
) -> Result<Parts, LoadError> {
    let started = Instant::now();
    let ms = |since: Instant| since.elapsed().as_secs_f64() * 1e3;
    let config = whole(source, "config.json").await?;
    let config = Gpt2Config::from_hf_json(&config)?;
    let fits = |size: Option<u64>| {
        let estimate = MemoryEstimate::new(&config, size.or(plan.weights_size));
        let held = plan.held.map_or(0, |(_, bytes)| *bytes);
        estimate
            .check(&plan.target, WASM32_MEMORY.saturating_sub(held))
            .map(|()| estimate)
            .map_err(|e| {
                let beside = plan.held.map_or(String::new(), |(name, bytes)| {
                    format!(
                        " beside {name}, which holds {}",
                        super::memory::bytes(*bytes)
                    )
                });
                LoadError::TooLarge(format!(
                    "{} cannot be loaded here{beside}: {e} ({estimate})",
                    plan.label
                ))
            })
    };
    let estimate = fits(None)?;
    let tokenizer = whole(source, "tokenizer.json").await?;
    let tokenizer = Tokenizer::from_bytes(&tokenizer)?.with_bos(config.bos_token_id);
    status(format!("{}: {estimate}", plan.label));
    let mut timings_ms = vec![("config.json and tokenizer.json".to_string(), ms(started))];

    let started = Instant::now();
    let mut stream = WeightStream::new(plan.device, plan.block_bytes).reading(config.family);
    let size = std::cell::Cell::new(None);
    // The source carries its callbacks' refusals as text; the typed error waits here.
    let refused: std::cell::RefCell<Option<LoadError>> = Default::default();
    let read = source
        .read(
            plan.weights,
            &mut |announced| {
                size.set(announced);
                fits(announced).map(|_| ()).map_err(|e| {
                    let message = e.to_string();
                    *refused.borrow_mut() = Some(e);
                    message
                })
            },
            &mut |chunk| {
                stream.announce(size.get());
                stream.feed(chunk).map_err(|e| {
                    let message = e.to_string();
                    *refused.borrow_mut() = Some(e);
                    message
                })
            },
        )
        .await;
    if let Err(message) = read {
        return Err(refused.into_inner().unwrap_or(LoadError::Source(message)));
    }
    let weights = stream.finish()?;
    timings_ms.push((
        format!(
            "{} read and put on the device (streamed together)",
            plan.weights
        ),
        ms(started),
    ));
    if let Some(listed) = plan.listed {
        verify(&weights, listed)?;
    }
    Ok(Parts {
        config,
        tokenizer,
        weights,
        timings_ms,
    })
}

/// Checks read weights against a listing's size and sha256.
fn verify(weights: &StreamedWeights, listed: &ListedFile) -> Result<(), LoadError> {
    if weights.bytes != listed.size {
        return Err(LoadError::Listing(format!(
            "{} is {} bytes but the hub lists {}: the download is incomplete or the file changed",
            listed.path, weights.bytes, listed.size
        )));
    }
    if let Some(lfs) = &listed.lfs
        && weights.sha256 != lfs.oid
    {
        return Err(LoadError::Listing(format!(
            "{} has sha256 {} but the hub lists {}: the file is corrupt",
            listed.path, weights.sha256, lfs.oid
        )));
    }
    Ok(())
}

/// A hub listing's entry for the weights, or why the repository cannot be loaded.
pub fn listed_weights<'a>(list: &'a [ListedFile], id: &str) -> Result<&'a ListedFile, LoadError> {
    list.iter()
        .find(|f| f.path == "model.safetensors")
        .ok_or_else(|| {
            LoadError::Listing(format!(
                "{id} has no model.safetensors (Patchbay reads safetensors weights; this \
                 repository has {})",
                list.iter()
                    .map(|f| f.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}
