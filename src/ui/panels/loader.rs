//! Choosing a model: a hub id (sizes and sha256 checked against the hub's list), a base URL
//! (self-hosted or `static/models/NAME/`), or local files (picker or drag & drop). The model's
//! worker loads it (`crate::worker`); this panel shows its progress.

use crate::device::Backend;
use crate::session::{Event, Failure, HubRepo, Load, LoadSource};
use crate::ui::pool::LoadedFrom;
use crate::ui::{
    AppState, FailureView, ModelCall, backend_label, files,
    page::{ModelLocation, PageParams, allowed_by_policy, origin_of},
};
use leptos::prelude::*;
use std::rc::Rc;

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
    /// A problem found before asking the worker (a bad address, no device yet).
    problem: RwSignal<Option<String>>,
    pub received: RwSignal<u64>,
    pub total: RwSignal<Option<u64>>,
    /// The last load's steps and their milliseconds, as JSON (for benchmarks).
    pub timings: RwSignal<String>,
    call: ModelCall<Load>,
    /// Where the load in flight puts the model.
    backend: StoredValue<Option<Backend>>,
    /// A model a link names on another host, with that host: loaded only on a click.
    pub asking: RwSignal<Option<(String, String)>>,
    /// The name (hub id or address) of the load in flight, remembered once it loads.
    named: StoredValue<Option<String>>,
    /// The load in flight, which a worker pool repeats once it has loaded.
    loading: StoredValue<Option<LoadedFrom>, LocalStorage>,
}

/// Where the browser keeps the name of the last model loaded by name: the model field offers
/// it on the next visit (its files are in the browser's cache), so that Load is one click.
const LAST_MODEL_KEY: &str = "patchbay-last-model";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The last model loaded by name in this browser, if any (and if storage is allowed).
fn last_model() -> Option<String> {
    local_storage()?
        .get_item(LAST_MODEL_KEY)
        .ok()
        .flatten()
        .filter(|name| !name.is_empty() && name.len() <= 2048)
}

impl LoadControl {
    /// The loader of `state`'s worker; a finished load becomes `state`'s session.
    pub fn new(state: AppState) -> Self {
        let control = Self {
            status: RwSignal::new(String::new()),
            problem: RwSignal::new(None),
            received: RwSignal::new(0),
            total: RwSignal::new(None),
            timings: RwSignal::new(String::new()),
            call: ModelCall::new(state),
            backend: StoredValue::new(None),
            asking: RwSignal::new(None),
            named: StoredValue::new(None),
            loading: StoredValue::new_local(None),
        };
        Effect::new(move |_| {
            control.call.version();
            untrack(|| control.finished(state));
        });
        control
    }

    /// Whether a load is in flight (reactive).
    pub fn busy(&self) -> bool {
        self.call.pending()
    }

    /// Why the last load failed (reactive).
    /// Why the last load failed (a cancel included: the download stopped).
    pub fn failure(&self) -> Option<Failure> {
        self.problem
            .get()
            .map(|message| Failure::Input { message })
            .or_else(|| self.call.failure())
    }

    /// Shows "Load model from `host`?" for `model` instead of loading it.
    pub fn ask(self, model: String, host: String) {
        self.status.set(String::new());
        self.asking.set(Some((model, host)));
    }

    /// Stops a load in progress.
    pub fn cancel(self) {
        self.call.cancel();
    }

    /// Loads `source` in the model's worker; the session appears in `state` when done. The model
    /// loaded before is dropped at once (its memory is needed for the new one).
    pub fn start(self, state: AppState, params: PageParams, source: ModelSource) {
        let Some(backend) = state.backend.get_untracked() else {
            self.problem.set(Some("the device is not ready yet".into()));
            return;
        };
        if untrack(|| self.busy()) {
            return;
        }
        self.problem.set(None);
        self.named.set_value(match &source {
            ModelSource::Named(text) => Some(text.clone()),
            ModelSource::Files(_) => None,
        });
        let (source, files) = match source {
            ModelSource::Named(text) => match self.locate(&params, &text) {
                Ok(Some(source)) => (source, vec![]),
                Ok(None) => return,
                Err(e) => return self.problem.set(Some(e)),
            },
            ModelSource::Files(list) => (LoadSource::Files, list),
        };
        state.session.set(None);
        self.backend.set_value(Some(backend));
        let on_event = move |event| match event {
            Event::Status { text } => self.status.set(text),
            Event::Download { received, total } => {
                self.received.set(received);
                self.total.set(total);
            }
            _ => {}
        };
        let load = Load {
            source,
            beside: None,
        };
        self.loading.set_value(Some(LoadedFrom {
            load: load.clone(),
            files: files.clone(),
        }));
        self.call.run_with_files(load, files, on_event);
    }

    /// A load has ended: the model becomes the session, or the status clears for the error.
    fn finished(self, state: AppState) {
        if self.call.pending() {
            return;
        }
        if self.call.error().is_some() {
            self.status.set(String::new());
            return;
        }
        let info = self.call.with_answer(|info| Some(info.clone()));
        let (Some(info), Some(backend)) = (info, self.backend.get_value()) else {
            return;
        };
        self.backend.set_value(None);
        state.model_source.set_value(self.loading.get_value());
        self.status.set(format!(
            "loaded {} ({} layers, {} heads, d_model {}) on {}; the model's WebAssembly memory \
             peaked at {:.0} MiB{}",
            info.name,
            info.n_layer,
            info.n_head,
            info.d_model,
            backend_label(backend),
            info.memory_mb,
            info.notes,
        ));
        self.timings
            .set(serde_json::to_string(&info.timings_ms).expect("timings serialise"));
        state.session.set(Some(Rc::new(info)));
        if let (Some(name), Some(storage)) = (self.named.get_value(), local_storage()) {
            // Storage refused (a private window, a full quota) costs only the suggestion.
            let _ = storage.set_item(LAST_MODEL_KEY, &name);
        }
    }

    /// Where a typed model lives; `Ok(None)` when the page reloads to allow a new host.
    fn locate(self, params: &PageParams, text: &str) -> Result<Option<LoadSource>, String> {
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
        Ok(Some(url_source(location, base, text, params)))
    }
}

/// Where a second model lives (GeDi's, loaded beside the first): the hub, or a host the page's
/// policy already allows. The page never reloads for it: the reload would make it the page's
/// model.
pub(crate) fn locate_beside(params: &PageParams, text: &str) -> Result<LoadSource, String> {
    let location = ModelLocation::parse(text)?;
    let base = location.base_url(&params.hub);
    if !allowed_by_policy(&base, params) {
        return Err(format!(
            "`{text}`: a second model loads from the Hugging Face hub or this page's host; from another host, download its three files and choose them here"
        ));
    }
    Ok(url_source(location, base, text, params))
}

fn url_source(
    location: ModelLocation,
    base: String,
    text: &str,
    params: &PageParams,
) -> LoadSource {
    let hub = match location {
        ModelLocation::Hub { id } => Some(HubRepo {
            hub: params.hub.clone(),
            id,
        }),
        ModelLocation::Url(_) => None,
    };
    LoadSource::Url {
        label: text.to_string(),
        base,
        hub,
    }
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
            .or_else(last_model)
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
    let ready = move || !control.busy() && state.backend.get().is_some();

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
            <button id="cancel-load" on:click=move |_| control.cancel() disabled=move || !control.busy()>"Cancel"</button>
            <div id="drop-zone" class="drop-zone" class:dragging=move || dragging.get()
                on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); dragging.set(true); }
                on:dragleave=move |_| dragging.set(false)
                on:drop=start_dropped>
                <label>"or your own files (drop them here, or choose): "
                    <input id="model-files" type="file" multiple accept=".json,.safetensors" on:change=start_files disabled=move || !ready()/>
                </label>
            </div>
            {params.hub_problem.clone().map(|problem| view! { <p id="hub-problem" class="error" role="alert">{problem}</p> })}
            <LoadAsk/>
            <LoadStatus/>
        </section>
    }
}

/// The question a link's model on another host waits behind.
#[component]
fn LoadAsk() -> impl IntoView {
    let state = expect_context::<AppState>();
    let control = expect_context::<LoadControl>();
    let params = expect_context::<PageParams>();
    move || {
        let (model, host) = control.asking.get()?;
        let params = params.clone();
        let yes = move |_| {
            control.asking.set(None);
            control.start(state, params.clone(), ModelSource::Named(model.clone()));
        };
        let no = move |_| {
            control.asking.set(None);
            control
                .status
                .set("Not loaded. Choose a model above, or press Load to load the link's.".into());
        };
        Some(view! {
            <div id="load-ask" class="ask" role="alertdialog" aria-labelledby="load-ask-question" aria-describedby="load-ask-why">
                <p id="load-ask-question"><strong>"Load model from "<span class="host">{host.clone()}</span>"?"</strong></p>
                <p id="load-ask-why">"This link names a model on a host other than this page and the Hugging Face hub. \
                    That host will see your address, and what it serves is downloaded into this browser and run here."</p>
                <button id="load-ask-yes" on:click=yes>"Load from "{host}</button>
                <button id="load-ask-no" on:click=no>"Don't load"</button>
            </div>
        })
    }
}

/// The download's progress bar, status line and error.
#[component]
pub fn LoadStatus() -> impl IntoView {
    let control = expect_context::<LoadControl>();
    view! {
            <div id="load-status" role="status" aria-live="polite" data-timings=move || control.timings.get()>
                {move || control.busy().then(|| view! {
                    <progress id="load-progress" aria-label="download progress" max=move || control.total.get().unwrap_or(0) as f64 value=move || control.received.get() as f64></progress>
                })}
                <span>{move || control.status.get()}</span>
            </div>
            {move || control.failure().map(|failure| match failure {
                // Not a fault: said plainly, with the way back.
                Failure::Cancelled => view! {
                    <div id="load-error" class="error failure" role="alert"><p><strong>"Stopped: "</strong>"the download was cancelled. Press Load to start it again."</p></div>
                }.into_any(),
                failure => view! { <FailureView id="load-error" failure=failure/> }.into_any(),
            })}
    }
}
