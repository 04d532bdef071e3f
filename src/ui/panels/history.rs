//! The history panel: every run kept in IndexedDB, listed newest first (pinned on top),
//! searched, opened without recomputing, renamed, pinned, deleted, exported and imported.

use crate::history::{HistoryFile, RunRecord};
use crate::ui::views::{View, Views};
use crate::ui::{
    AppState, files,
    storage::{self, StoredRun},
};
use leptos::prelude::*;
use std::rc::Rc;

/// What the panel shows.
#[derive(Clone, Default)]
pub struct HistoryState {
    /// Why there is no history here (no IndexedDB, private mode...), if so.
    pub unavailable: Option<String>,
    pub runs: Vec<StoredRun>,
    /// The last problem (a save that failed, a refused import).
    pub error: Option<String>,
    /// The last success worth saying (`imported 3 runs`).
    pub message: Option<String>,
}

/// Opens the database and lists what it holds; other tabs' changes refresh the list.
pub async fn start(state: AppState) {
    match storage::open().await {
        Ok(()) => {
            refresh(state).await;
            storage::watch_other_tabs(move || leptos::task::spawn_local(refresh(state)));
        }
        Err(e) => state
            .history
            .update(|h| h.unavailable = Some(e.to_string())),
    }
}

async fn refresh(state: AppState) {
    match storage::load().await {
        Ok(runs) => state.history.update(|h| h.runs = runs),
        Err(e) => state.history.update(|h| h.error = Some(e.to_string())),
    }
}

fn report(state: AppState, result: Result<String, String>) {
    state.history.update(|h| match result {
        Ok(message) => {
            h.message = Some(message);
            h.error = None;
        }
        Err(e) => {
            h.error = Some(e);
            h.message = None;
        }
    });
}

/// Saves a finished run. If it cannot be saved it stays on screen and the reason is shown;
/// what was stored before is untouched (one transaction per change).
pub async fn keep(state: AppState, run: RunRecord) {
    if state.history.get_untracked().unavailable.is_some() {
        return;
    }
    match storage::save(std::slice::from_ref(&run)).await {
        Ok(()) => {
            refresh(state).await;
            report(state, Ok(format!("saved “{}”", run.name)));
        }
        Err(e) => report(
            state,
            Err(format!("“{}” is shown but was not saved: {e}", run.name)),
        ),
    }
}

async fn change(state: AppState, run: RunRecord, what: &str) {
    let result = storage::save(std::slice::from_ref(&run)).await;
    refresh(state).await;
    report(
        state,
        result
            .map(|()| format!("{what} “{}”", run.name))
            .map_err(|e| format!("could not {what} “{}”: {e}", run.name)),
    );
}

async fn import(state: AppState, file: web_sys::File) {
    let outcome = async {
        let bytes = files::read_file(&file).await?;
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("cannot import {}: not UTF-8 text", file.name()))?;
        let history = HistoryFile::from_json(&text).map_err(|e| format!("{}: {e}", file.name()))?;
        storage::save(&history.runs)
            .await
            .map_err(|e| format!("nothing was imported: {e}"))?;
        Ok(format!(
            "imported {} run{} from {}",
            history.runs.len(),
            if history.runs.len() == 1 { "" } else { "s" },
            file.name()
        ))
    }
    .await;
    refresh(state).await;
    report(state, outcome);
}

fn readable(runs: &[StoredRun]) -> Vec<RunRecord> {
    runs.iter()
        .filter_map(|r| match r {
            StoredRun::Readable(run) => Some((**run).clone()),
            StoredRun::Unreadable { .. } => None,
        })
        .collect()
}

fn export_all(state: AppState) {
    let mut runs = readable(&state.history.get_untracked().runs);
    runs.sort_by(|a, b| a.created_ms.total_cmp(&b.created_ms).then(a.id.cmp(&b.id)));
    let text = HistoryFile::new(runs).to_json();
    let result = files::download_text("patchbay-history.json", "application/json", &text)
        .map(|()| "exported the history".to_string());
    report(state, result);
}

fn date(ms: f64) -> String {
    let d = js_sys::Date::new(&ms.into());
    String::from(d.to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED))
}

#[component]
fn RunItem(run: RunRecord) -> impl IntoView {
    let state = expect_context::<AppState>();
    let name = run.name.clone();
    let rename = {
        let run = run.clone();
        move |ev: leptos::ev::Event| {
            let mut renamed = run.clone();
            renamed.name = event_target_value(&ev).trim().to_string();
            if renamed.name.is_empty() || renamed.name == run.name {
                return;
            }
            leptos::task::spawn_local(change(state, renamed, "renamed"));
        }
    };
    let pin = {
        let run = run.clone();
        move |_| {
            let mut toggled = run.clone();
            toggled.pinned = !toggled.pinned;
            let what = if toggled.pinned { "pinned" } else { "unpinned" };
            leptos::task::spawn_local(change(state, toggled, what));
        }
    };
    let open = {
        let run = run.clone();
        move |_| {
            state.opened.set(Some(Rc::new(run.clone())));
            if let Some(views) = use_context::<Views>() {
                views.show(View::Results);
            }
        }
    };
    let export = {
        let run = run.clone();
        move |_| {
            let _ = files::download_run(&run);
        }
    };
    let delete = {
        let run = run.clone();
        move |_| {
            let (id, name) = (run.id.clone(), run.name.clone());
            leptos::task::spawn_local(async move {
                let result = storage::delete(std::slice::from_ref(&id)).await;
                if state.opened.get_untracked().is_some_and(|o| o.id == id) {
                    state.opened.set(None);
                }
                refresh(state).await;
                report(
                    state,
                    result
                        .map(|()| format!("deleted “{name}”"))
                        .map_err(|e| format!("could not delete “{name}”: {e}")),
                );
            });
        }
    };
    view! {
        <li class="run" data-run-id=run.id.clone() data-pinned=run.pinned.to_string()>
            <input class="run-name" type="text" value=name aria-label="name of this run" on:change=rename/>
            <button class="open-run" on:click=open>"Open"</button>
            <button class="pin-run" aria-pressed=run.pinned.to_string() on:click=pin>{if run.pinned { "Unpin" } else { "Pin" }}</button>
            <button class="export-run" on:click=export>"Export"</button>
            <button class="delete-run" on:click=delete>"Delete"</button>
            <span class="summary">{format!("{} · {}", run.summary(), date(run.created_ms))}</span>
        </li>
    }
}

#[component]
pub fn HistoryPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let query = RwSignal::new(String::new());
    let delete_all = move |_| {
        let confirmed = web_sys::window()
            .and_then(|w| {
                w.confirm_with_message("Delete every saved run? Export them first to keep them.")
                    .ok()
            })
            .unwrap_or(false);
        if !confirmed {
            return;
        }
        let ids: Vec<String> = state
            .history
            .get_untracked()
            .runs
            .iter()
            .map(|r| r.id().to_string())
            .collect();
        leptos::task::spawn_local(async move {
            let result = storage::delete(&ids).await;
            state.opened.set(None);
            refresh(state).await;
            report(
                state,
                result
                    .map(|()| format!("deleted {} runs", ids.len()))
                    .map_err(|e| e.to_string()),
            );
        });
    };
    let import_file = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        if let Some(file) = files::list(input.files()).into_iter().next() {
            input.set_value("");
            leptos::task::spawn_local(import(state, file));
        }
    };
    view! {
        <section id="history" class="panel" aria-labelledby="history-heading">
            <h2 id="history-heading">"History"</h2>
            <p class="hint">"Every run is kept in this browser (IndexedDB) and nowhere else."</p>
            {move || state.history.get().unavailable.map(|why| view! { <p id="history-unavailable" class="notice" role="status">{why}</p> })}
            <div class="controls">
                <label>"Search: "<input id="history-search" type="search" on:input=move |ev| query.set(event_target_value(&ev))/></label>
                <button id="export-history" on:click=move |_| export_all(state)>"Export all (JSON)"</button>
                <label>"Import: "<input id="import-history" type="file" accept=".json,application/json" on:change=import_file/></label>
                <button id="delete-history" on:click=delete_all>"Delete all"</button>
            </div>
            {move || state.history.get().message.map(|m| view! { <p id="history-message" role="status">{m}</p> })}
            {move || state.history.get().error.map(|e| view! { <p id="history-error" class="error" role="alert">{e}</p> })}
            <ul id="history-list">
                {move || {
                    let q = query.get();
                    state.history.get().runs.into_iter().filter_map(|stored| match stored {
                        StoredRun::Readable(run) => run.matches(&q).then(|| view! { <RunItem run=*run/> }.into_any()),
                        StoredRun::Unreadable { id, why } => Some(view! {
                            <li class="run unreadable" data-run-id=id.clone()>{format!("{id}: {why}")}</li>
                        }.into_any()),
                    }).collect_view()
                }}
            </ul>
        </section>
    }
}
