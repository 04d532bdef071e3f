//! Choosing and loading a model: hub ids, a base URL (self-hosted or `static/models/NAME/`).

use super::{
    AppState, Session,
    fetch::{Origin, fetch_cached, forget},
};
use crate::loading::ModelFiles;
use leptos::prelude::*;
use std::rc::Rc;

/// Hugging Face hub ids of the GPT-2 family.
const HUB_MODELS: [&str; 6] = [
    "openai-community/gpt2",
    "distilbert/distilgpt2",
    "openai-community/gpt2-medium",
    "openai-community/gpt2-large",
    "openai-community/gpt2-xl",
    "schaeff/gpt2-small_LNFree300",
];

fn hub_url(id: &str) -> String {
    format!("https://huggingface.co/{id}/resolve/main/")
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The model picker with a download progress bar.
#[component]
pub fn ModelLoader() -> impl IntoView {
    let state = expect_context::<AppState>();
    let url = RwSignal::new(hub_url(HUB_MODELS[0]));
    let status = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let received = RwSignal::new(0u64);
    let total = RwSignal::new(None::<u64>);

    let load = move |_| {
        let Some((device, _)) = state.device.get_untracked() else {
            error.set(Some("the device is not ready yet".into()));
            return;
        };
        let mut base = url.get_untracked().trim().to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let started = js_sys::Date::now();
            let origins = std::cell::RefCell::new(Vec::new());
            let notes = std::cell::RefCell::new(Vec::new());
            let fetch = async |name: &str| {
                status.set(format!("downloading {name}"));
                received.set(0);
                total.set(None);
                let (bytes, origin, note) = fetch_cached(&format!("{base}{name}"), |done, all| {
                    received.set(done);
                    total.set(all);
                    let rate = done as f64 / ((js_sys::Date::now() - started).max(1.0) / 1e3);
                    status.set(format!(
                        "downloading {name}: {} of {} ({}/s)",
                        megabytes(done),
                        all.map(megabytes).unwrap_or("?".into()),
                        megabytes(rate as u64)
                    ));
                })
                .await?;
                origins.borrow_mut().push(origin);
                notes.borrow_mut().extend(note);
                Ok::<_, String>(bytes)
            };
            let result = async {
                let config = fetch("config.json").await?;
                let tokenizer = fetch("tokenizer.json").await?;
                let weights = fetch("model.safetensors").await?;
                status.set("uploading weights to the device".into());
                let sha256 = crate::spec::sha256_hex(&weights);
                let files = ModelFiles {
                    config,
                    weights,
                    tokenizer,
                };
                files
                    .load(&device)
                    .map(|model| (model, sha256))
                    .map_err(|e| e.to_string())
            }
            .await;
            busy.set(false);
            match result {
                Ok((model, weights_sha256)) => {
                    let name = base.clone();
                    let from_cache = origins.borrow().iter().all(|o| *o == Origin::BrowserCache);
                    status.set(format!(
                        "loaded {name} ({} layers, {} heads, d_model {}){}{}",
                        model.model.config.n_layer,
                        model.model.config.n_head,
                        model.model.config.n_embd,
                        if from_cache {
                            ", from the browser cache"
                        } else {
                            ""
                        },
                        notes
                            .borrow()
                            .iter()
                            .map(|n| format!("; {n}"))
                            .collect::<String>()
                    ));
                    state.session.set(Some(Rc::new(Session {
                        name,
                        model,
                        weights_sha256,
                    })));
                }
                Err(e) => {
                    // Bad files must not come back from the cache next time.
                    forget(
                        &["config.json", "tokenizer.json", "model.safetensors"]
                            .map(|f| format!("{base}{f}")),
                    )
                    .await;
                    status.set(String::new());
                    error.set(Some(e));
                }
            }
        });
    };

    view! {
        <section class="panel" aria-labelledby="model-heading">
            <h2 id="model-heading">"Model"</h2>
            <label>"From the Hugging Face hub: "
                <select on:change=move |ev| url.set(hub_url(&event_target_value(&ev)))>
                    {HUB_MODELS.iter().map(|id| view! { <option value=*id>{*id}</option> }).collect_view()}
                </select>
            </label>
            <label>" or from a URL (a folder with config.json, model.safetensors, tokenizer.json): "
                <input id="model-url" type="text" size="60" prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))/>
            </label>
            <button id="load-model" on:click=load disabled=move || busy.get() || state.device.get().is_none()>"Load"</button>
            <div id="load-status" role="status" aria-live="polite">
                {move || busy.get().then(|| view! {
                    <progress id="load-progress" max=move || total.get().unwrap_or(0) as f64 value=move || received.get() as f64></progress>
                })}
                <span>{move || status.get()}</span>
            </div>
            {move || error.get().map(|e| view! { <p id="load-error" class="error" role="alert">{e}</p> })}
        </section>
    }
}
