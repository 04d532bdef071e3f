//! Loading a model in the worker: a folder URL (a hub repository's, checked against the hub's
//! sizes and sha256, or any other) or the user's files. The memory a model needs is checked
//! before its weights are downloaded; the weights stream onto the device tensor by tensor as
//! they arrive (`loading::WeightStream`), never whole in memory; files that fail to load are
//! dropped from the cache.

use super::fetch::{
    CANCELLED, Failure, HubFile, Origin, fetch_cached_into, forget, hub_files, read_stream,
};
use crate::device::Backend;
use crate::loading::memory::{MemoryEstimate, STREAM_BLOCK, Target, WASM32_MEMORY, bytes};
use crate::loading::{StreamedWeights, Tokenizer, WeightStream};
use crate::model::Gpt2Config;
use crate::session::{Event, HubRepo};
use crate::ui::files::read_file;
use burn::tensor::Device;
use std::cell::RefCell;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

const FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// A model's parts: its config, tokenizer and weights on the device, with a name for it and
/// notes for the user.
pub struct Fetched {
    pub name: String,
    pub config: Gpt2Config,
    pub tokenizer: Tokenizer,
    pub weights: StreamedWeights,
    /// Each starts with `; ` (or `, ` for where the files came from).
    pub notes: String,
    /// The URLs the files came from, dropped from the cache if they do not load.
    pub urls: Vec<String>,
    /// Milliseconds of each step, in order.
    pub timings_ms: Vec<(String, f64)>,
}

/// How the weights stream onto `backend`: in blocks for a GPU (the host holds one block at a
/// time), whole tensors built in place on the CPU.
fn weight_stream(device: &Device, backend: Backend) -> WeightStream {
    WeightStream::new(
        device,
        (backend == Backend::Wgpu).then_some(STREAM_BLOCK as usize),
    )
}

fn parse_tokenizer(bytes: &[u8]) -> Result<Tokenizer, String> {
    Tokenizer::from_bytes(bytes).map_err(|e| e.to_string())
}

/// Downloads the three files under `base` (a folder URL ending in `/`).
pub async fn download(
    label: &str,
    base: &str,
    hub: Option<&HubRepo>,
    (device, backend): (&Device, Backend),
    signal: &web_sys::AbortSignal,
    emit: &dyn Fn(Event),
) -> Result<Fetched, String> {
    let status = |text: String| emit(Event::Status { text });
    let notes = RefCell::new(String::new());
    let listed = match hub {
        Some(HubRepo { hub, id }) => {
            status(format!("asking the hub for the files of {id}"));
            match hub_files(hub, id, signal).await {
                Ok(list) => {
                    if !list.iter().any(|f| f.path == "model.safetensors") {
                        return Err(format!(
                            "{id} has no model.safetensors (Patchbay reads safetensors weights; \
                             this repository has {})",
                            list.iter()
                                .map(|f| f.path.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                    Some(list)
                }
                Err(e) if e == CANCELLED => return Err(e),
                Err(e) => {
                    notes
                        .borrow_mut()
                        .push_str(&format!("; sizes and sha256 not checked ({e})"));
                    None
                }
            }
        }
        None => None,
    };
    let listed_file = |name: &str| {
        listed
            .as_ref()
            .and_then(|l| l.iter().find(|f| f.path == name))
            .cloned()
    };
    let origins = RefCell::new(Vec::new());
    let fetch = async |name: &str,
                       check: Box<dyn FnOnce(Option<u64>) -> Result<(), String>>,
                       sink: &mut dyn FnMut(&[u8]) -> Result<(), String>| {
        let started = js_sys::Date::now();
        status(format!("downloading {name}"));
        emit(Event::Download {
            received: 0,
            total: None,
        });
        let url = format!("{base}{name}");
        let (origin, note) = fetch_cached_into(&url, signal, check, sink, |done, all| {
            emit(Event::Download {
                received: done,
                total: all,
            });
            let rate = done as f64 / ((js_sys::Date::now() - started).max(1.0) / 1e3);
            status(format!(
                "downloading {name}: {} of {} ({}/s)",
                bytes(done),
                all.map(bytes).unwrap_or("?".into()),
                bytes(rate as u64)
            ));
        })
        .await?;
        origins.borrow_mut().push(origin);
        if let Some(note) = note {
            notes.borrow_mut().push_str(&format!("; {note}"));
        }
        Ok::<_, String>(())
    };
    let whole = async |name: &str| {
        let mut bytes = Vec::new();
        fetch(name, Box::new(|_| Ok(())), &mut |chunk: &[u8]| {
            bytes.extend_from_slice(chunk);
            Ok(())
        })
        .await?;
        Ok::<_, String>(bytes)
    };
    let started = js_sys::Date::now();
    let mut timings_ms = vec![];
    let result = async {
        let config = whole("config.json").await?;
        let config = Gpt2Config::from_hf_json(&config).map_err(|e| e.to_string())?;
        let target = target(backend).await;
        let listed_size = listed_file("model.safetensors").map(|f| f.size);
        let estimate = MemoryEstimate::new(&config, listed_size);
        estimate
            .check(&target, WASM32_MEMORY)
            .map_err(|e| format!("{label} cannot be loaded here: {e} ({estimate})"))?;
        let tokenizer = parse_tokenizer(&whole("tokenizer.json").await?)?;
        status(format!("{label}: {estimate}"));
        timings_ms.push((
            "config.json and tokenizer.json".to_string(),
            js_sys::Date::now() - started,
        ));
        let weights_started = js_sys::Date::now();
        let name = label.to_string();
        let checked = config.clone();
        let mut stream = weight_stream(device, backend);
        fetch(
            "model.safetensors",
            Box::new(move |size| {
                let estimate = MemoryEstimate::new(&checked, size.or(listed_size));
                estimate
                    .check(&target, WASM32_MEMORY)
                    .map_err(|e| format!("{name} cannot be loaded here: {e} ({estimate})"))
            }),
            &mut |chunk: &[u8]| stream.feed(chunk).map_err(|e| e.to_string()),
        )
        .await?;
        let weights = stream.finish().map_err(|e| e.to_string())?;
        timings_ms.push((
            "model.safetensors read and put on the device (streamed together)".to_string(),
            js_sys::Date::now() - weights_started,
        ));
        if let Some(listed) = listed_file("model.safetensors") {
            verify(&weights, &listed)?;
        }
        Ok((config, tokenizer, weights))
    }
    .await;
    let urls = FILES.map(|f| format!("{base}{f}")).to_vec();
    match result {
        Ok((config, tokenizer, weights)) => {
            if origins.borrow().iter().all(|o| *o == Origin::BrowserCache) {
                notes.borrow_mut().insert_str(0, ", from the browser cache");
            }
            Ok(Fetched {
                name: label.to_string(),
                config,
                tokenizer,
                weights,
                notes: notes.into_inner(),
                urls,
                timings_ms,
            })
        }
        Err(e) => {
            // Files that failed must not come back from the cache next time.
            forget(&urls).await;
            Err(e)
        }
    }
}

/// Reads config.json, tokenizer.json and the weights from the files the user gave.
pub async fn read_local(
    list: Vec<web_sys::File>,
    (device, backend): (&Device, Backend),
    emit: &dyn Fn(Event),
) -> Result<Fetched, String> {
    let find = |wanted: &dyn Fn(&str) -> bool| list.iter().find(|f| wanted(&f.name())).cloned();
    let config = find(&|n| n == "config.json");
    let tokenizer = find(&|n| n == "tokenizer.json");
    let weights = find(&|n| n.ends_with(".safetensors"));
    let (Some(config), Some(tokenizer), Some(weights)) = (config, tokenizer, weights) else {
        return Err(format!(
            "choose three files: config.json, tokenizer.json and the weights (*.safetensors); got {}",
            if list.is_empty() {
                "none".to_string()
            } else {
                list.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
            }
        ));
    };
    emit(Event::Status {
        text: "reading the local files".into(),
    });
    let config_bytes = read_file(&config).await?;
    let parsed = Gpt2Config::from_hf_json(&config_bytes).map_err(|e| e.to_string())?;
    let estimate = MemoryEstimate::new(&parsed, Some(weights.size() as u64));
    estimate
        .check(&target(backend).await, WASM32_MEMORY)
        .map_err(|e| format!("{} cannot be loaded here: {e} ({estimate})", weights.name()))?;
    let tokenizer = parse_tokenizer(&read_file(&tokenizer).await?)?;
    let mut stream = weight_stream(device, backend);
    let total = weights.size() as u64;
    read_stream(
        &weights.name(),
        &weights.stream(),
        None,
        Some(total),
        &mut |chunk: &[u8]| stream.feed(chunk).map_err(|e| e.to_string()),
        &mut |received, total| emit(Event::Download { received, total }),
    )
    .await
    .map_err(Failure::into_message)?;
    Ok(Fetched {
        name: format!("local files ({})", weights.name()),
        config: parsed,
        tokenizer,
        weights: stream.finish().map_err(|e| e.to_string())?,
        notes: String::new(),
        urls: vec![],
        timings_ms: vec![],
    })
}

/// Where the weights will live, with the WebGPU adapter's largest storage binding.
async fn target(backend: Backend) -> Target {
    match backend {
        Backend::Cpu => Target::Cpu,
        Backend::Wgpu => Target::Gpu {
            max_binding: adapter_max_binding().await,
        },
    }
}

async fn adapter_max_binding() -> Option<u64> {
    use js_sys::Reflect;
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let gpu = Reflect::get(&navigator, &"gpu".into()).ok()?;
    let request: js_sys::Function = Reflect::get(&gpu, &"requestAdapter".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let promise: js_sys::Promise = request.call0(&gpu).ok()?.dyn_into().ok()?;
    let adapter = JsFuture::from(promise).await.ok()?;
    let limits = Reflect::get(&adapter, &"limits".into()).ok()?;
    Reflect::get(&limits, &"maxStorageBufferBindingSize".into())
        .ok()?
        .as_f64()
        .map(|v| v as u64)
}

/// Checks downloaded weights against the hub's size and sha256.
fn verify(weights: &StreamedWeights, listed: &HubFile) -> Result<(), String> {
    if weights.bytes != listed.size {
        return Err(format!(
            "model.safetensors is {} bytes but the hub lists {}: the download is incomplete or the file changed",
            weights.bytes, listed.size
        ));
    }
    if let Some(lfs) = &listed.lfs {
        let sha256 = &weights.sha256;
        if *sha256 != lfs.oid {
            return Err(format!(
                "model.safetensors has sha256 {sha256} but the hub lists {}: the file is corrupt",
                lfs.oid
            ));
        }
    }
    Ok(())
}
