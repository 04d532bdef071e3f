//! The gallery of published studies: each preset's claim, number and what to look at, and its
//! specs, each opened into the editor (or run at once) with the paper's values to draw beside
//! the result.

use crate::presets::{PRESETS, Preset};
use crate::spec::Spec;
use crate::spec::examples::Example;
use crate::ui::AppState;
use crate::ui::panels::history::HistoryState;
use crate::ui::workbench::{OnStart, Workbench};
use leptos::prelude::*;

#[component]
pub fn PresetGallery(
    /// The preset `?preset=` names, shown open.
    opened: Option<String>,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let cards = PRESETS
        .iter()
        .map(|preset| {
            view! { <PresetCard preset=*preset open=opened.as_deref() == Some(preset.name) state=state/> }
        })
        .collect_view();
    view! {
        <details id="presets" open=opened.is_some()>
            <summary>"Published studies: rerun a famous GPT-2 result"</summary>
            <p class="hint">"Each study opens its experiments with the paper's numbers; a run draws them beside its own (outlined cells, a table). The numbers need the paper's weights: load the model named on the card."</p>
            <div class="preset-cards">{cards}</div>
        </details>
    }
}

#[component]
fn PresetCard(preset: Preset, open: bool, state: AppState) -> impl IntoView {
    let bench = expect_context::<Workbench>();
    let specs = preset
        .examples()
        .map(|example: &'static Example| {
            let open_spec = move |_| bench.spec_text.set(with_found_direction(example, state));
            let open_and_run = move |_| {
                bench.spec_text.set(with_found_direction(example, state));
                bench.start(OnStart::ShowResults);
            };
            let source = Spec::from_json(example.json)
                .ok()
                .and_then(|spec| spec.direction_source().map(str::to_string));
            view! {
                <li data-preset-spec=example.stem>
                    <span>{example.title}</span>" "
                    {source.map(|stem| view! { <span class="hint">{format!("(steers with the direction {stem} finds: run that first)")}</span>" " })}
                    <button class="open-spec" on:click=open_spec>"Open"</button>
                    <button class="run-spec" on:click=open_and_run disabled=move || state.session.get().is_none()
                        title="Runs on the model loaded now">"Run"</button>
                </li>
            }
        })
        .collect_view();
    view! {
        <article class="preset" id=format!("preset-{}", preset.name) data-preset=preset.name class:highlighted=open>
            <h3>{preset.title}</h3>
            <p class="paper"><a href=preset.url target="_blank" rel="noopener">{preset.paper}</a></p>
            <p class="claim">{preset.claim}</p>
            <p class="look-at"><strong>"Look at: "</strong>{preset.look_at}</p>
            <p class="preset-model">"Paper's weights: "<code>{preset.model}</code></p>
            <ol class="preset-specs">{specs}</ol>
        </article>
    }
}

/// An example's spec, with the direction it takes from another example's run filled in from
/// the run on screen or the newest such run in the history (left pending, which its run
/// explains, where there is none).
fn with_found_direction(example: &Example, state: AppState) -> String {
    let Ok(mut spec) = Spec::from_json(example.json) else {
        return example.json.to_string();
    };
    if spec.direction_source().is_none() {
        return example.json.to_string();
    }
    // Read in place: the history holds every stored run's grids.
    let opened = state.opened.get_untracked();
    let filled = state.history.with_untracked(|history: &HistoryState| {
        let stored = history.runs.iter().filter_map(|run| match run {
            crate::ui::storage::StoredRun::Readable(run) => Some(&run.result),
            crate::ui::storage::StoredRun::Unreadable { .. } => None,
        });
        spec.fill_direction(opened.iter().map(|run| &run.result).chain(stored))
    });
    if filled {
        spec.to_json()
    } else {
        example.json.to_string()
    }
}
