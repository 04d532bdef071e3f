//! Loading a model in the worker: a folder URL (a hub repository's, checked against the hub's
//! sizes and sha256, or any other) or the user's files. The memory a model needs is checked
//! before its weights are downloaded; the weights stream onto the device tensor by tensor as
//! they arrive (`loading::WeightStream`), never whole in memory; files that fail to load are
//! dropped from the cache.

use super::fetch::{
    BodyFailure, Origin, fetch_cached_into, forget, hub_files, hub_files_in, read_stream,
};
use crate::device::Backend;
use crate::loading::LoadError;
use crate::loading::memory::{STREAM_BLOCK, Target, bytes};
use crate::loading::pipeline::{self, FileSource, Parts, Plan, listed_weights};
use crate::session::{Event, HubRepo, LoadSource};
use burn::tensor::Device;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

const FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// A model's parts on the device, with a name for it and notes for the user.
pub struct Fetched {
    pub name: String,
    pub parts: Parts,
    /// Each starts with `; ` (or `, ` for where the files came from).
    pub notes: String,
    /// The URLs the files came from, dropped from the cache if they do not load.
    pub urls: Vec<String>,
}

/// How the weights stream onto `backend`: in blocks for a GPU (the host holds one block at a
/// time), whole tensors built in place on the CPU.
fn block_bytes(backend: Backend) -> Option<usize> {
    (backend == Backend::Wgpu).then_some(STREAM_BLOCK as usize)
}

/// Files under a folder URL, from the browser cache or the network, with download progress.
struct WebFolder<'a> {
    base: &'a str,
    signal: &'a web_sys::AbortSignal,
    emit: &'a dyn Fn(Event),
    /// Whether files may come from the browser cache.
    use_cache: bool,
    /// Whether the file read last (the one a failure is about) came from the browser cache.
    last_from_cache: bool,
    /// Where each file came from.
    origins: Vec<Origin>,
    /// For the user: cache problems (each starts with `; `).
    notes: String,
}

impl FileSource for WebFolder<'_> {
    async fn read(
        &mut self,
        name: &str,
        check: &mut dyn FnMut(Option<u64>) -> Result<(), String>,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        let emit = self.emit;
        let started = js_sys::Date::now();
        let status = |text: String| emit(Event::Status { text });
        status(format!("downloading {name}"));
        emit(Event::Download {
            received: 0,
            total: None,
        });
        let url = format!("{}{name}", self.base);
        self.last_from_cache = false;
        let from_cache = &mut self.last_from_cache;
        let (origin, note) = fetch_cached_into(
            &url,
            self.use_cache,
            from_cache,
            self.signal,
            check,
            sink,
            |done, all| {
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
            },
        )
        .await?;
        self.origins.push(origin);
        if let Some(note) = note {
            self.notes.push_str(&format!("; {note}"));
        }
        Ok(())
    }
}

/// Downloads the three files under `base` (a folder URL ending in `/`).
pub async fn download(
    label: &str,
    base: &str,
    hub: Option<&HubRepo>,
    (device, backend): (&Device, Backend),
    held: Option<&(String, u64)>,
    signal: &web_sys::AbortSignal,
    emit: &dyn Fn(Event),
) -> Result<Fetched, LoadError> {
    let status = |text: String| emit(Event::Status { text });
    let mut notes = String::new();
    let listed = match hub {
        Some(HubRepo { hub, id }) => {
            status(format!("asking the hub for the files of {id}"));
            match hub_files(hub, id, signal).await {
                Ok(list) => Some(listed_weights(&list, id)?.clone()),
                Err(e) if signal.aborted() => return Err(LoadError::Source(e)),
                Err(e) => {
                    notes.push_str(&format!("; sizes and sha256 not checked ({e})"));
                    None
                }
            }
        }
        None => None,
    };
    let plan = Plan {
        label,
        weights: "model.safetensors",
        weights_size: listed.as_ref().map(|f| f.size),
        listed: listed.as_ref(),
        target: target(backend).await,
        device,
        block_bytes: block_bytes(backend),
        held,
    };
    let urls = FILES.map(|f| format!("{base}{f}")).to_vec();
    let mut use_cache = true;
    loop {
        let mut folder = WebFolder {
            base,
            signal,
            emit,
            use_cache,
            last_from_cache: false,
            origins: vec![],
            notes: notes.clone(),
        };
        match pipeline::load(&mut folder, &plan, &status).await {
            Ok(parts) => {
                let mut notes = folder.notes;
                if folder.origins.iter().all(|o| *o == Origin::BrowserCache) {
                    notes.insert_str(0, ", from the browser cache");
                }
                return Ok(Fetched {
                    name: label.to_string(),
                    parts,
                    notes,
                    urls,
                });
            }
            Err(e) => {
                // Files that failed must not come back from the cache next time.
                forget(&urls).await;
                // A copy the cache damaged (cut short on disk, a changed file) is not the
                // model's fault: download it once more before saying anything is wrong.
                if folder.last_from_cache && !signal.aborted() {
                    status(format!(
                        "the browser cache's copy of {label} did not load ({e}); downloading it again"
                    ));
                    notes.push_str(&format!(
                        "; the browser cache's copy did not load ({e}) and was downloaded again"
                    ));
                    use_cache = false;
                    continue;
                }
                return Err(e);
            }
        }
    }
}

/// The files the user picked or dropped, with reading progress.
struct PickedFiles<'a> {
    files: Vec<web_sys::File>,
    emit: &'a dyn Fn(Event),
}

impl FileSource for PickedFiles<'_> {
    async fn read(
        &mut self,
        name: &str,
        check: &mut dyn FnMut(Option<u64>) -> Result<(), String>,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        let emit = self.emit;
        let file = self
            .files
            .iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| format!("{name} was not among the files"))?;
        let total = file.size() as u64;
        check(Some(total))?;
        read_stream(
            &file.name(),
            &file.stream(),
            None,
            Some(total),
            &mut |chunk: &[u8]| sink(chunk),
            &mut |received, total| emit(Event::Download { received, total }),
        )
        .await
        .map(|_| ())
        .map_err(BodyFailure::into_message)
    }
}

/// Reads config.json, tokenizer.json and the weights from the files the user gave.
pub async fn read_local(
    list: Vec<web_sys::File>,
    (device, backend): (&Device, Backend),
    held: Option<&(String, u64)>,
    emit: &dyn Fn(Event),
) -> Result<Fetched, LoadError> {
    let has = |wanted: &dyn Fn(&str) -> bool| list.iter().any(|f| wanted(&f.name()));
    let weights = list
        .iter()
        .find(|f| f.name().ends_with(".safetensors"))
        .cloned();
    let (true, true, Some(weights)) = (
        has(&|n| n == "config.json"),
        has(&|n| n == "tokenizer.json"),
        weights,
    ) else {
        return Err(LoadError::Source(format!(
            "choose three files: config.json, tokenizer.json and the weights (*.safetensors); got {}",
            if list.is_empty() {
                "none".to_string()
            } else {
                list.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
            }
        )));
    };
    emit(Event::Status {
        text: "reading the local files".into(),
    });
    let (name, size) = (weights.name(), weights.size() as u64);
    let plan = Plan {
        label: &name,
        weights: &name,
        weights_size: Some(size),
        listed: None,
        target: target(backend).await,
        device,
        block_bytes: block_bytes(backend),
        held,
    };
    let mut source = PickedFiles { files: list, emit };
    let status = |text: String| emit(Event::Status { text });
    let parts = pipeline::load(&mut source, &plan, &status).await?;
    Ok(Fetched {
        name: format!("local files ({name})"),
        parts,
        notes: String::new(),
        urls: vec![],
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

/// Loads an SAE's `cfg.json` and `sae_weights.safetensors` from a folder URL (a hub id may name
/// a folder inside its repository: `owner/repo/blocks.8.hook_resid_pre`) or the user's files;
/// returns it with notes for the user.
pub async fn load_sae(
    request: &crate::session::LoadSae,
    files: Vec<web_sys::File>,
    (device, backend): (&Device, Backend),
    held: u64,
    signal: &web_sys::AbortSignal,
    emit: &dyn Fn(Event),
) -> Result<(crate::sae::Sae, String), crate::sae::SaeError> {
    use crate::sae::{SaeError, SaePlan, WEIGHTS_FILE};
    let status = |text: String| emit(Event::Status { text });
    let target = target(backend).await;
    let plan = |listed| SaePlan {
        label: &request.id,
        target,
        device,
        block_bytes: block_bytes(backend),
        held,
        listed,
    };
    match &request.source {
        LoadSource::Files => {
            let mut source = PickedFiles { files, emit };
            let sae = crate::sae::load(&mut source, &plan(None), &status).await?;
            Ok((sae, ", from your files".into()))
        }
        LoadSource::Url { base, hub, .. } => {
            let mut notes = String::new();
            let listed = match hub {
                Some(HubRepo { hub, id }) => {
                    let (repo, folder) = repo_and_folder(id);
                    status(format!("asking the hub for the files of {id}"));
                    match hub_files_in(hub, repo, folder, signal).await {
                        Ok(list) => {
                            let path = match folder {
                                "" => WEIGHTS_FILE.to_string(),
                                folder => format!("{folder}/{WEIGHTS_FILE}"),
                            };
                            let found = list.into_iter().find(|f| f.path == path);
                            if found.is_none() {
                                return Err(SaeError::Weights(LoadError::Listing(format!(
                                    "{id} has no {WEIGHTS_FILE}: is it an SAE folder in SAELens's format?"
                                ))));
                            }
                            found
                        }
                        Err(e) if signal.aborted() => {
                            return Err(SaeError::Weights(LoadError::Source(e)));
                        }
                        Err(e) => {
                            notes.push_str(&format!("; size and sha256 not checked ({e})"));
                            None
                        }
                    }
                }
                None => None,
            };
            let urls: Vec<String> = [crate::sae::CONFIG_FILE, WEIGHTS_FILE]
                .iter()
                .map(|f| format!("{base}{f}"))
                .collect();
            let mut folder = WebFolder {
                base,
                signal,
                emit,
                use_cache: true,
                last_from_cache: false,
                origins: vec![],
                notes,
            };
            match crate::sae::load(&mut folder, &plan(listed.as_ref()), &status).await {
                Ok(sae) => Ok((sae, folder.notes)),
                Err(e) => {
                    forget(&urls).await;
                    Err(e)
                }
            }
        }
    }
}

/// `owner/repo` and the folder after it (empty for the repository's root).
fn repo_and_folder(id: &str) -> (&str, &str) {
    let mut slashes = id.match_indices('/').map(|(i, _)| i);
    match (slashes.next(), slashes.next()) {
        (Some(_), Some(second)) => (&id[..second], &id[second + 1..]),
        _ => (id, ""),
    }
}
