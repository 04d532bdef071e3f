//! The top of the app: the page (`App`) and the embed mode (`Embed`), with the routing between
//! them, the service worker and the update banner. Panels live in `panels/`.

use super::js::{apply_update, register_service_worker_js, report_height};
use super::panels::{bench, experiment, features, generation, history, loader, prompt};
use super::state::{AppState, backend_label, on_worker_news};
use super::views::{View, Views};
use super::workbench::Workbench;
use super::{ModelWorker, page};
use history::HistoryState;
use leptos::prelude::*;
use loader::{LoadControl, ModelSource};
use page::PageParams;

/// Lets the service worker keep the app shell for offline visits (a failure only costs that);
/// `update_ready` turns true when a new deploy is installed and waits for a reload.
fn register_service_worker(update_ready: RwSignal<bool>) {
    let on_update = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
        update_ready.set(true);
    });
    leptos::task::spawn_local(async move {
        if let Err(e) = register_service_worker_js(on_update.as_ref()).await {
            web_sys::console::warn_2(&"offline use is not available:".into(), &e);
        }
        // The worker may announce an update at any time while the page is open.
        on_update.forget();
    });
}

/// The build this page runs (`ci/dist` stamps it into index.html; `dev` for `trunk serve`).
fn build_id() -> String {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector("meta[name=patchbay-build]").ok().flatten())
        .and_then(|meta| meta.get_attribute("content"))
        .unwrap_or_else(|| "dev".to_string())
}

/// "A new version is ready": shown while a newly deployed app waits; Reload switches to it.
#[component]
fn UpdateBanner(update_ready: RwSignal<bool>) -> impl IntoView {
    move || {
        update_ready.get().then(|| {
            view! {
                <p id="update-banner" class="notice" role="status">
                    "A new version of Patchbay is ready. Your history and downloaded models are kept. "
                    <button id="apply-update" on:click=|_| apply_update()>"Reload to update"</button>
                </p>
            }
        })
    }
}

/// The page.
#[component]
pub fn App() -> impl IntoView {
    let params = page::params();
    page::install_content_security_policy(&params);
    let update_ready = RwSignal::new(false);
    register_service_worker(update_ready);
    let note = RwSignal::new(None::<String>);
    let lost = RwSignal::new(None::<String>);
    let backend = RwSignal::new(None);
    let session = RwSignal::new_local(None);
    let beside = RwSignal::new_local(None);
    let worker = ModelWorker::start(on_worker_news(backend, session, beside, note, lost));
    let state = AppState {
        backend,
        session,
        beside,
        history: RwSignal::new_local(HistoryState::default()),
        opened: RwSignal::new_local(None),
        worker: StoredValue::new_local(worker),
        model_source: StoredValue::new_local(None),
    };
    let control = LoadControl::new(state);
    provide_context(state);
    provide_context(control);
    provide_context(params.clone());
    // A lesson, a study or an example opens at the experiment; anything else at the model.
    let opens_experiment =
        params.lesson.is_some() || params.preset.is_some() || params.example.is_some();
    let views = (!params.embed).then(|| {
        Views::from_address(if opens_experiment {
            View::Experiment
        } else {
            View::Model
        })
    });
    if let Some(views) = views {
        provide_context(views);
    }
    provide_context(Workbench::new(
        state,
        views,
        experiment::initial_spec(&params),
        params.autorun,
    ));
    leptos::task::spawn_local(history::start(state));

    // A link that names a model loads it at once (embeds only with `run`, so that a course
    // page does not download a model nobody asked for).
    let auto_model = params
        .model
        .clone()
        .filter(|_| !params.embed || params.autorun)
        .or_else(|| (params.embed && params.autorun).then(|| loader::HUB_MODELS[0].to_string()));
    let load_params = params.clone();
    let pending = StoredValue::new(auto_model);
    // From another host than the page's and the hub's, only after a click (SECURITY.md).
    Effect::new(move |_| {
        if state.backend.get().is_some()
            && let Some(model) = pending.get_value()
        {
            pending.set_value(None);
            match page::needs_consent(&load_params, &model) {
                Some(host) => control.ask(model, host),
                None => control.start(state, load_params.clone(), ModelSource::Named(model)),
            }
        }
    });

    let device_line = move || {
        match state.backend.get() {
        None => view! { <p id="device" data-state="probing">"Looking for WebGPU…"</p> }.into_any(),
        Some(backend) => view! {
            <p id="device" data-state="ready" data-backend=backend.to_string()>"Device: " <strong>{backend_label(backend)}</strong></p>
        }
        .into_any(),
    }
    };
    let lost_banner = move || {
        lost.get().map(|why| view! {
            <p id="device-lost" class="error" role="alert">{format!(
                "The GPU device was lost ({why}). Patchbay now runs on the CPU: load the model again \
                 (it comes from the browser cache). Your history is kept."
            )}</p>
        })
    };
    if params.embed {
        report_height();
        return view! {
            {lost_banner}
            <UpdateBanner update_ready=update_ready/>
            <Embed device_line=device_line note=note/>
        }
        .into_any();
    }
    let share_error = params.shared.clone().and_then(|s| s.err());
    view! {
        {lost_banner}
        <UpdateBanner update_ready=update_ready/>
        <header>
            <h1>"Patchbay"</h1>
            <p class="tagline">"GPT-2 interpretability in your browser: the model runs here, nothing leaves your machine."</p>
            {device_line}
            {move || note.get().map(|why| view! {
                <div class="notice" id="device-notice" role="status">
                    <p>"This browser offers no WebGPU, so Patchbay runs the model on the CPU: everything works, more slowly."</p>
                    <details><summary>"Details"</summary>
                        <p>"GPT-2 small takes seconds per prompt, a minute or more per patching sweep. For the GPU, use a recent Chrome or Edge, or turn WebGPU on in your browser's settings."</p>
                        <code>{why}</code>
                    </details>
                </div>
            })}
            {share_error.map(|e| view! { <p id="share-error" class="error" role="alert">{e}</p> })}
        </header>
        <WorkBar/>
        <main>
            <ViewSection view=View::Model>
                <loader::ModelLoader/>
                <bench::BenchPanel open=params.bench autorun=params.bench && params.autorun/>
            </ViewSection>
            <ViewSection view=View::Prompt>
                <WithModel what="read a prompt">{|| view! { <prompt::PromptPanel/> }}</WithModel>
            </ViewSection>
            <ViewSection view=View::Generation>
                <WithModel what="generate text">{|| view! { <generation::GenerationPanel/> }}</WithModel>
            </ViewSection>
            <ViewSection view=View::Features>
                <WithModel what="read SAE features">{|| view! { <features::FeaturesPanel/> }}</WithModel>
            </ViewSection>
            <ViewSection view=View::Experiment><experiment::ExperimentPanel/></ViewSection>
            <ViewSection view=View::Results><experiment::ResultsPanel/></ViewSection>
            <ViewSection view=View::History><history::HistoryPanel/></ViewSection>
        </main>
        <footer>
            <p>"Patchbay build " <code id="build">{build_id()}</code>
               " · runs entirely in this browser; nothing you compute leaves it."</p>
        </footer>
    }
    .into_any()
}

/// One view: in the page always (its state kept), on screen when chosen.
#[component]
fn ViewSection(view: View, children: Children) -> impl IntoView {
    let views = expect_context::<Views>();
    view! {
        <div class="view" id=format!("view-{}", view.id()) data-view=view.id() hidden=move || views.current() != view>
            {children()}
        </div>
    }
}

/// A view's panel once a model is loaded; before, where to load one.
#[component]
fn WithModel(what: &'static str, children: ChildrenFn) -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        match state.session.get() {
        Some(_) => children().into_any(),
        None => view! {
            <p class="panel hint needs-model">{format!("Load a model to {what}: ")}<a href="#model">"Model"</a></p>
        }
        .into_any(),
    }
    }
}

/// The bar always in view: the views, the model and device, and the experiment's run controls.
#[component]
fn WorkBar() -> impl IntoView {
    let state = expect_context::<AppState>();
    let views = expect_context::<Views>();
    let model = move || match state.session.get() {
        Some(info) => format!(
            "{} ({} layers × {} heads)",
            info.name, info.n_layer, info.n_head
        ),
        None => "no model loaded".to_string(),
    };
    let beside = move || {
        state.beside.get().map(|(id, info)| {
            view! { " · " <span id="status-beside" data-id=id.clone()>{format!("GeDi: {id} ({} layers × {} heads)", info.n_layer, info.n_head)}</span> }
        })
    };
    let device = move || {
        state
            .backend
            .get()
            .map_or("…".to_string(), |b| backend_label(b).to_string())
    };
    let has_result = move || state.opened.get().is_some();
    view! {
        <nav id="sections" aria-label="Views">
            <ul>
                {View::ALL.into_iter().map(|view| view! {
                    <li><a href=format!("#{}", view.id()) data-view=view.id()
                        aria-current=move || (views.current() == view).then_some("page")
                        class:dim=move || view.needs_model() && state.session.get().is_none()
                        class:fresh=move || view == View::Results && has_result()>{view.label()}</a></li>
                }).collect_view()}
            </ul>
            <p id="status" role="status"><span id="status-model">{model}</span>{beside}" · "<span id="status-device">{device}</span></p>
            <experiment::RunBar/>
        </nav>
    }
}

/// `?embed`: one experiment for an iframe in course material: the model line, the run
/// button, the figures; a link to the full app.
#[component]
fn Embed(
    device_line: impl Fn() -> AnyView + Send + Sync + 'static,
    note: RwSignal<Option<String>>,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let control = expect_context::<LoadControl>();
    let params = expect_context::<PageParams>();
    let model = params
        .model
        .clone()
        .unwrap_or_else(|| loader::HUB_MODELS[0].to_string());
    let full_app = full_app_url();
    let load = {
        let (params, model) = (params.clone(), model.clone());
        move |_| control.start(state, params.clone(), ModelSource::Named(model.clone()))
    };
    view! {
        <div class="embed">
            <p class="embed-bar">
                <a href=full_app target="_blank" rel="noopener">"Patchbay"</a>
                " · " {model.clone()} " · " {device_line}
            </p>
            {move || note.get().map(|why| view! { <p class="notice" role="status" title=why>"No WebGPU here: running on the CPU (slower)."</p> })}
            {move || (state.session.get().is_none() && !control.busy()).then(|| {
                let load = load.clone();
                view! { <button id="load-model" on:click=load disabled=move || state.backend.get().is_none()>{format!("Load {model}")}</button> }
            })}
            <loader::LoadStatus/>
            <experiment::EmbeddedExperiment/>
        </div>
    }
}

/// This page without `embed`: the full app with the same experiment.
fn full_app_url() -> String {
    let Some(location) = web_sys::window().map(|w| w.location()) else {
        return String::new();
    };
    let query = web_sys::UrlSearchParams::new_with_str(&location.search().unwrap_or_default())
        .expect("a search string parses");
    query.delete("embed");
    let query = String::from(query.to_string());
    format!(
        "{}{}{}{}",
        location.origin().unwrap_or_default(),
        location.pathname().unwrap_or_default(),
        if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        },
        location.hash().unwrap_or_default()
    )
}
