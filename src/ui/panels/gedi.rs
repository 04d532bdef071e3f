//! GeDi's model in the generation form: the second model a guided generation reads, loaded
//! beside the first under the id the spec names it by (a hub id, a folder URL, or the user's
//! files), and whether it is there.

use super::loader::locate_beside;
use crate::session::{Event, Load, LoadSource};
use crate::spec::FormDraft;
use crate::ui::page::PageParams;
use crate::ui::{AppState, FailureView, ModelCall, files};
use leptos::prelude::*;
use std::rc::Rc;

/// Where the form's GeDi model stands: the loaded model itself (zero-shot), loaded beside it,
/// or missing, with the ways to load it.
#[component]
pub fn GediModel(form: RwSignal<FormDraft>, prefix: &'static str) -> impl IntoView {
    let state = expect_context::<AppState>();
    let params = StoredValue::new(expect_context::<PageParams>());
    let call = ModelCall::<Load>::new(state);
    let status = RwSignal::new(String::new());
    let loading = StoredValue::new(None::<String>);
    Effect::new(move |_| {
        call.version();
        untrack(|| {
            if call.pending() {
                return;
            }
            status.set(String::new());
            let info = call.with_answer(|info| Some(info.clone()));
            if let (Some(id), Some(info)) = (loading.get_value(), info) {
                loading.set_value(None);
                state.beside.set(Some((id, Rc::new(info))));
            }
        })
    });
    let wanted = move || form.with(|d| d.continuation().sampling.gedi.model.trim().to_string());
    let load = move |picked: Option<Vec<web_sys::File>>| {
        let id = wanted();
        let (source, files) = match picked {
            Some(list) => (LoadSource::Files, list),
            None => match params.with_value(|params| locate_beside(params, &id)) {
                Ok(source) => (source, vec![]),
                Err(problem) => return status.set(problem),
            },
        };
        state.beside.set(None);
        loading.set_value(Some(id.clone()));
        let on_event = move |event| {
            if let Event::Status { text } = event {
                status.set(text);
            }
        };
        call.run_with_files(
            Load {
                source,
                beside: Some(id),
            },
            files,
            on_event,
        );
    };
    let id = move |name: &str| format!("{prefix}{name}");
    let line = move || {
        let wanted = wanted();
        if wanted.is_empty() {
            return view! { <p class="gedi-model" data-state="off">"GeDi is off: name its model to guide."</p> }.into_any();
        }
        let main = state.session.get().map(|s| s.name.clone());
        if main.as_deref() == Some(wanted.as_str()) {
            return view! { <p class="gedi-model" data-state="main">"GeDi model: the loaded model itself, as a zero-shot discriminator (the codes as plain words)."</p> }.into_any();
        }
        if let Some((_, info)) = state.beside.get().filter(|(beside, _)| *beside == wanted) {
            return view! { <p class="gedi-model" data-state="loaded">{format!("GeDi model {wanted} is loaded beside the model ({} layers × {} heads).", info.n_layer, info.n_head)}</p> }.into_any();
        }
        let load_named = move |_| load(None);
        let load_files = move |ev: leptos::ev::Event| {
            let input: web_sys::HtmlInputElement = event_target(&ev);
            load(Some(files::list(input.files())));
        };
        view! {
            <p class="gedi-model" data-state="missing">{format!("GeDi model {wanted} is not loaded. ")}
                <button id=id("gedi-load") on:click=load_named disabled=move || call.pending() || state.session.get().is_none()>"Load it from the hub or its URL"</button>
                <label>" or choose its files: "
                    <input id=id("gedi-files") type="file" multiple accept=".json,.safetensors" on:change=load_files disabled=move || call.pending() || state.session.get().is_none()/>
                </label>
            </p>
        }.into_any()
    };
    let error_id = match prefix {
        "form-" => "form-gedi-error",
        _ => "generation-gedi-error",
    };
    view! {
        {line}
        <p class="gedi-status" role="status">{move || status.get()}</p>
        {move || call.failure().map(|failure| view! { <FailureView id=error_id failure=failure/> })}
    }
}
