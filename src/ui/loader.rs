//! Choosing and loading a model: a hub id (sizes and sha256 checked against the hub's list),
//! a base URL (self-hosted or `static/models/NAME/`), or local files (picker or drag & drop).
//! The memory a model needs is checked before its weights are downloaded.

use super::backend_label;
use super::{
    AppState, Session,
    fetch::{CANCELLED, Origin, fetch_cached, forget, hub_files},
    files,
    page::{ModelLocation, PageParams, allowed_by_policy, origin_of},
};
use crate::device::Backend;
use crate::loading::ModelFiles;
use crate::loading::memory::{MemoryEstimate, Target, WASM32_MEMORY, bytes};
use crate::model::Gpt2Config;
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;

/// Hugging Face hub ids of the GPT-2 family.
pub const HUB_MODELS: [&str; 7] = [
    "openai-community/gpt2",
    "distilbert/distilgpt2",
    "openai-community/gpt2-medium",
    "openai-community/gpt2-large",
    "openai-community/gpt2-xl",
    "schaeff/gpt2-small_LNFree300",
    "schaeff/gpt2-medium_LNFree500",
];

const FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// What to load.
pub enum ModelSource {
    /// A hub id or a URL, as typed.
    Named(String),
    /// Files picked or dropped.
    Files(Vec<web_sys::File>),
}

/// The loader's state, shared by its panel and by links that load a model on opening.
#[derive(Clone, Copy)]
pub struct LoadControl {
    pub status: RwSignal<String>,
    pub error: RwSignal<Option<String>>,
    pub busy: RwSignal<bool>,
    pub received: RwSignal<u64>,
    pub total: RwSignal<Option<u64>>,
    abort: StoredValue<Option<web_sys::AbortController>, LocalStorage>,
}

impl LoadControl {
    pub fn new() -> Self {
        Self {
            status: RwSignal::new(String::new()),
            error: RwSignal::new(None),
            busy: RwSignal::new(false),
            received: RwSignal::new(0),
            total: RwSignal::new(None),
            abort: StoredValue::new_local(None),
        }
    }

    /// Stops a download in progress.
    pub fn cancel(self) {
        if let Some(controller) = self.abort.get_value() {
            controller.abort();
        }
    }

    /// Loads `source` in the background; the session appears in `state` when done.
    pub fn start(self, state: AppState, params: PageParams, source: ModelSource) {
        let Some((device, backend)) = state.device.get_untracked() else {
            self.error.set(Some("the device is not ready yet".into()));
            return;
        };
        if self.busy.get_untracked() {
            return;
        }
        let controller = web_sys::AbortController::new().expect("AbortController exists");
        self.abort.set_value(Some(controller.clone()));
        self.busy.set(true);
        self.error.set(None);
        leptos::task::spawn_local(async move {
            let signal = controller.signal();
            let mut cached = Vec::new();
            let outcome = match source {
                ModelSource::Named(text) => {
                    if let Ok(location) = ModelLocation::parse(&text) {
                        let base = location.base_url(&params.hub);
                        cached = FILES.map(|f| format!("{base}{f}")).to_vec();
                    }
                    self.download(&params, &text, backend, &signal).await
                }
                ModelSource::Files(list) => self.read_local(list, backend).await,
            };
            let outcome = match outcome {
                Ok(Some((name, files, notes))) => {
                    self.status.set("uploading weights to the device".into());
                    let sha256 = crate::spec::sha256_hex(&files.weights);
                    let loaded = files.load(&device);
                    if loaded.is_err() {
                        // Files that failed must not come back from the cache next time.
                        forget(&cached).await;
                    }
                    loaded
                        .map(|model| Some((name, model, sha256, notes)))
                        .map_err(|e| e.to_string())
                }
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            };
            self.busy.set(false);
            self.abort.set_value(None);
            match outcome {
                Ok(Some((name, model, weights_sha256, notes))) => {
                    let config = &model.model.config;
                    self.status.set(format!(
                        "loaded {name} ({} layers, {} heads, d_model {}) on {}; the page's \
                         WebAssembly memory peaked at {:.0} MiB{notes}",
                        config.n_layer,
                        config.n_head,
                        config.n_embd,
                        backend_label(backend),
                        super::wasm_memory_mb(),
                    ));
                    state.session.set(Some(Rc::new(Session {
                        name,
                        model,
                        weights_sha256,
                    })));
                }
                Ok(None) => {}
                Err(e) => {
                    self.status.set(String::new());
                    self.error.set(Some(e));
                }
            }
        });
    }

    /// Downloads the three files; `Ok(None)` when the page reloads to allow a new host.
    async fn download(
        self,
        params: &PageParams,
        text: &str,
        backend: Backend,
        signal: &web_sys::AbortSignal,
    ) -> Result<Option<(String, ModelFiles, String)>, String> {
        let location = ModelLocation::parse(text)?;
        let base = location.base_url(&params.hub);
        if !allowed_by_policy(&base, params) {
            if origin_of(&base).is_none() {
                return Err(format!("`{text}`: Patchbay loads models over http(s) only"));
            }
            if params.model.as_deref() == Some(base.as_str()) {
                // Already reloaded for this host and still refused: never reload in a loop.
                return Err(format!("the page's security policy does not allow {base}"));
            }
            reload_allowing(&base);
            self.status
                .set(format!("reloading the page so that it may contact {base}"));
            return Ok(None);
        }
        let notes = RefCell::new(String::new());
        let listed = match &location {
            ModelLocation::Hub { id } => {
                self.status
                    .set(format!("asking the hub for the files of {id}"));
                match hub_files(&params.hub, id, signal).await {
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
            ModelLocation::Url(_) => None,
        };
        let listed_file = |name: &str| {
            listed
                .as_ref()
                .and_then(|l| l.iter().find(|f| f.path == name))
                .cloned()
        };
        let origins = RefCell::new(Vec::new());
        let fetch =
            async |name: &str, check: Box<dyn FnOnce(Option<u64>) -> Result<(), String>>| {
                let started = js_sys::Date::now();
                self.status.set(format!("downloading {name}"));
                self.received.set(0);
                self.total.set(None);
                let url = format!("{base}{name}");
                let (bytes, origin, note) = fetch_cached(&url, signal, check, |done, all| {
                    self.received.set(done);
                    self.total.set(all);
                    let rate = done as f64 / ((js_sys::Date::now() - started).max(1.0) / 1e3);
                    self.status.set(format!(
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
                Ok::<_, String>(bytes)
            };
        let result = async {
            let config_bytes = fetch("config.json", Box::new(|_| Ok(()))).await?;
            let config = Gpt2Config::from_hf_json(&config_bytes).map_err(|e| e.to_string())?;
            let target = target(backend).await;
            let listed_size = listed_file("model.safetensors").map(|f| f.size);
            let estimate = MemoryEstimate::new(&config, listed_size);
            estimate
                .check(&target, WASM32_MEMORY)
                .map_err(|e| format!("{text} cannot be loaded here: {e} ({estimate})"))?;
            let tokenizer = fetch("tokenizer.json", Box::new(|_| Ok(()))).await?;
            self.status.set(format!("{text}: {estimate}"));
            let name = text.to_string();
            let weights = fetch(
                "model.safetensors",
                Box::new(move |size| {
                    let estimate = MemoryEstimate::new(&config, size.or(listed_size));
                    estimate
                        .check(&target, WASM32_MEMORY)
                        .map_err(|e| format!("{name} cannot be loaded here: {e} ({estimate})"))
                }),
            )
            .await?;
            if let Some(listed) = listed_file("model.safetensors") {
                verify(&weights, &listed)?;
            }
            Ok(ModelFiles {
                config: config_bytes,
                weights,
                tokenizer,
            })
        }
        .await;
        match result {
            Ok(files) => {
                if origins.borrow().iter().all(|o| *o == Origin::BrowserCache) {
                    notes.borrow_mut().insert_str(0, ", from the browser cache");
                }
                Ok(Some((text.to_string(), files, notes.into_inner())))
            }
            Err(e) => {
                // Files that failed must not come back from the cache next time.
                forget(&FILES.map(|f| format!("{base}{f}"))).await;
                Err(e)
            }
        }
    }

    async fn read_local(
        self,
        list: Vec<web_sys::File>,
        backend: Backend,
    ) -> Result<Option<(String, ModelFiles, String)>, String> {
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
        self.status.set("reading the local files".into());
        let config_bytes = files::read_file(&config).await?;
        let parsed = Gpt2Config::from_hf_json(&config_bytes).map_err(|e| e.to_string())?;
        let estimate = MemoryEstimate::new(&parsed, Some(weights.size() as u64));
        estimate
            .check(&target(backend).await, WASM32_MEMORY)
            .map_err(|e| format!("{} cannot be loaded here: {e} ({estimate})", weights.name()))?;
        let files = ModelFiles {
            config: config_bytes,
            tokenizer: files::read_file(&tokenizer).await?,
            weights: files::read_file(&weights).await?,
        };
        Ok(Some((
            format!("local files ({})", weights.name()),
            files,
            String::new(),
        )))
    }
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
    let gpu = Reflect::get(&web_sys::window()?.navigator(), &"gpu".into()).ok()?;
    let request: js_sys::Function = Reflect::get(&gpu, &"requestAdapter".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let promise: js_sys::Promise = request.call0(&gpu).ok()?.dyn_into().ok()?;
    let adapter = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let limits = Reflect::get(&adapter, &"limits".into()).ok()?;
    Reflect::get(&limits, &"maxStorageBufferBindingSize".into())
        .ok()?
        .as_f64()
        .map(|v| v as u64)
}

/// Checks downloaded weights against the hub's size and sha256.
fn verify(weights: &[u8], listed: &super::fetch::HubFile) -> Result<(), String> {
    if weights.len() as u64 != listed.size {
        return Err(format!(
            "model.safetensors is {} bytes but the hub lists {}: the download is incomplete or the file changed",
            weights.len(),
            listed.size
        ));
    }
    if let Some(lfs) = &listed.lfs {
        let sha256 = crate::spec::sha256_hex(weights);
        if sha256 != lfs.oid {
            return Err(format!(
                "model.safetensors has sha256 {sha256} but the hub lists {}: the file is corrupt",
                lfs.oid
            ));
        }
    }
    Ok(())
}

/// The page's policy names the hosts it may contact when it starts: another host needs a
/// reload with that model in the address.
fn reload_allowing(base: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let query = web_sys::UrlSearchParams::new_with_str(&location.search().unwrap_or_default())
        .expect("a search string parses");
    query.set("model", base);
    let _ = location.set_search(&String::from(query.to_string()));
}

/// The model picker with a download progress bar.
#[component]
pub fn ModelLoader() -> impl IntoView {
    let state = expect_context::<AppState>();
    let control = expect_context::<LoadControl>();
    let params = expect_context::<PageParams>();
    let name = RwSignal::new(
        params
            .model
            .clone()
            .unwrap_or_else(|| HUB_MODELS[0].to_string()),
    );
    let dragging = RwSignal::new(false);
    let start = {
        let params = params.clone();
        move |source| control.start(state, params.clone(), source)
    };
    let start_named = {
        let start = start.clone();
        move |_| start(ModelSource::Named(name.get_untracked()))
    };
    let start_files = {
        let start = start.clone();
        move |ev: leptos::ev::Event| {
            let input: web_sys::HtmlInputElement = event_target(&ev);
            start(ModelSource::Files(files::list(input.files())));
        }
    };
    let start_dropped = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        let dropped = files::list(ev.data_transfer().and_then(|d| d.files()));
        start(ModelSource::Files(dropped));
    };
    let ready = move || !control.busy.get() && state.device.get().is_some();

    view! {
        <section class="panel" aria-labelledby="model-heading">
            <h2 id="model-heading">"Model"</h2>
            <label>"GPT-2 from the Hugging Face hub: "
                <select id="hub-model" on:change=move |ev| name.set(event_target_value(&ev))>
                    {HUB_MODELS.iter().map(|id| view! { <option value=*id selected=move || name.get() == *id>{*id}</option> }).collect_view()}
                </select>
            </label>
            <label>"or any hub id, or a URL of a folder with config.json, model.safetensors, tokenizer.json: "
                <input id="model-url" type="text" size="60" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))
                    on:keydown={
                        let start_named = start_named.clone();
                        move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Enter" && ready() { start_named(()) }
                    }/>
            </label>
            <button id="load-model" on:click={let s = start_named.clone(); move |_| s(())} disabled=move || !ready()>"Load"</button>
            <button id="cancel-load" on:click=move |_| control.cancel() disabled=move || !control.busy.get()>"Cancel"</button>
            <div id="drop-zone" class="drop-zone" class:dragging=move || dragging.get()
                on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); dragging.set(true); }
                on:dragleave=move |_| dragging.set(false)
                on:drop=start_dropped>
                <label>"or your own files (drop them here, or choose): "
                    <input id="model-files" type="file" multiple accept=".json,.safetensors" on:change=start_files disabled=move || !ready()/>
                </label>
            </div>
            <LoadStatus/>
        </section>
    }
}

/// The download's progress bar, status line and error.
#[component]
pub fn LoadStatus() -> impl IntoView {
    let control = expect_context::<LoadControl>();
    view! {
            <div id="load-status" role="status" aria-live="polite">
                {move || control.busy.get().then(|| view! {
                    <progress id="load-progress" aria-label="download progress" max=move || control.total.get().unwrap_or(0) as f64 value=move || control.received.get() as f64></progress>
                })}
                <span>{move || control.status.get()}</span>
            </div>
            {move || control.error.get().map(|e| view! { <p id="load-error" class="error" role="alert">{e}</p> })}
    }
}
