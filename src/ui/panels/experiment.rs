//! Experiments in the browser: the editor (bundled examples, lessons, published studies, the
//! form, the spec as JSON one click away), the run bar (run, cancel, progress), and the results
//! view (the run as it fills, then its answer and figures).

use super::{
    dataset_form::DatasetForm, experiment_form::ExperimentForm, generation::TokenStrip,
    lesson::LessonPanel, presets::PresetGallery, result::RunView,
};
use crate::spec::examples::{self, EXAMPLES};
use crate::ui::workbench::{OnStart, Workbench};
use crate::ui::{AppState, FailureView, heatmap::GridView, page::PageParams};
use leptos::prelude::*;

/// The spec the page opens with: a share link's, `?example=`'s, the first of `?preset=`'s,
/// else the IOI patching example.
pub fn initial_spec(params: &PageParams) -> String {
    if let Some(Ok(shared)) = &params.shared {
        return shared.spec.to_json();
    }
    let preset = params.preset.as_deref().and_then(crate::presets::find);
    if let Some(first) = preset.and_then(|p| p.examples().next()) {
        return first.json.to_string();
    }
    params
        .example
        .as_deref()
        .and_then(examples::find)
        .unwrap_or(&EXAMPLES[0])
        .json
        .to_string()
}

/// Run, cancel and the progress of the run in flight, with the title of what Run would run.
#[component]
pub fn RunBar() -> impl IntoView {
    let state = expect_context::<AppState>();
    let bench = expect_context::<Workbench>();
    view! {
        <div class="run-bar">
            <button id="run-experiment" on:click=move |_| bench.start(OnStart::ShowResults) disabled=move || bench.busy() || state.session.get().is_none()
                title=move || bench.title().map(|t| format!("Run: {t}"))>"Run experiment"</button>
            <button id="cancel-experiment" on:click=move |_| bench.cancel() disabled=move || !bench.busy()>"Cancel"</button>
            <WorkersChoice/>
            {move || bench.busy().then(|| {
                let (done, total) = bench.progress();
                view! {
                    <progress id="experiment-progress" aria-label="experiment progress" max=total.max(1) as f64 value=done as f64></progress>
                    <span id="experiment-progress-text" role="status">{format!("{done} / {total}")}</span>
                }
            })}
        </div>
    }
}

/// How many workers share a sweep's cells, for specs that sweep: each holds its own copy of
/// the model, so a pool of N needs N times its memory (checked when the run starts). Up to the
/// cores the browser reports, and at least four (browsers may report fewer than there are).
#[component]
fn WorkersChoice() -> impl IntoView {
    let bench = expect_context::<Workbench>();
    let most = crate::ui::pool::cores().clamp(4, 8);
    view! {
        <Show when=move || bench.sweeps()>
            <label class="workers" title="Shares the sweep's cells among this many workers, each on a core of its own with its own copy of the model (memory times workers)">"Workers "
                <select id="workers" disabled=move || bench.busy()
                    on:change=move |ev| bench.workers.set(event_target_value(&ev).parse().unwrap_or(1))>
                    {(1..=most).map(|n| view! {
                        <option value=n.to_string() selected=move || bench.workers.get() == n>{n.to_string()}</option>
                    }).collect_view()}
                </select>
            </label>
        </Show>
    }
}

/// The editor: where an experiment is chosen and set up.
#[component]
pub fn ExperimentPanel() -> impl IntoView {
    let params = expect_context::<PageParams>();
    let bench = expect_context::<Workbench>();
    let spec_text = bench.spec_text;
    let preset_opened = params
        .preset
        .clone()
        .filter(|name| crate::presets::find(name).is_some());
    let title = move || {
        bench
            .title()
            .unwrap_or_else(|| "(the spec has no title)".into())
    };
    view! {
        <section class="panel" aria-labelledby="experiment-heading">
            <h2 id="experiment-heading">"Experiment"</h2>
            <LessonPanel/>
            <PresetGallery opened=preset_opened/>
            <label>"Example: "
                <select id="example" on:change=move |ev| {
                    let index: usize = event_target_value(&ev).parse().unwrap_or(0);
                    spec_text.set(EXAMPLES[index].json.to_string());
                }>
                    {EXAMPLES.iter().enumerate().map(|(i, example)| view! { <option value=i.to_string()>{example.title}</option> }).collect_view()}
                </select>
            </label>
            <p class="editing">"Set up: " <strong id="spec-title">{title}</strong></p>
            <ExperimentForm spec_text=spec_text/>
            <DatasetForm spec_text=spec_text/>
            <details id="spec-json" class="spec-json">
                <summary>"Edit as JSON"</summary>
                <label for="spec-text" class="hint">"The whole spec, as the CLI and exports read it; edit freely."</label>
                <textarea id="spec-text" rows="14" cols="90" spellcheck="false" prop:value=move || spec_text.get() on:input=move |ev| spec_text.set(event_target_value(&ev))></textarea>
            </details>
            {move || bench.problem().map(|failure| view! { <FailureView id="experiment-error" failure=failure/> })}
        </section>
    }
}

/// The run in flight as it fills (its grid, its tokens), a failed run's reason, and the
/// opened run's answer and figures.
#[component]
pub fn RunResults() -> impl IntoView {
    let state = expect_context::<AppState>();
    let bench = expect_context::<Workbench>();
    view! {
        {move || bench.run_failure().map(|failure| view! { <FailureView id="experiment-error" failure=failure/> })}
        {move || bench.live().map(|grid| view! {
            <div aria-busy="true"><GridView name="live".to_string() grid=grid tokens=vec![] centre=0.0/></div>
        })}
        {move || bench.busy().then(|| view! {
            <div class="side-by-side" aria-busy="true">
                {bench.streamed().into_iter().map(|(name, choices)| view! {
                    <p class="generation"><strong>{name.clone()}": "</strong><span class="token-strip" data-streamed=name><TokenStrip choices=choices/></span></p>
                }).collect_view()}
            </div>
        })}
        {move || state.opened.get().map(|run| view! { <RunView run=(*run).clone()/> })}
    }
}

/// The results view: the run and, before any, what to do to get one.
#[component]
pub fn ResultsPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let bench = expect_context::<Workbench>();
    let empty =
        move || state.opened.get().is_none() && !bench.busy() && bench.run_failure().is_none();
    view! {
        <section class="panel results" aria-labelledby="results-heading">
            <h2 id="results-heading" class="visually-hidden">"Results"</h2>
            {move || empty().then(|| view! {
                <p id="no-result" class="hint">"No result yet: choose an experiment in " <a href="#experiment">"Experiment"</a>
                " and run it, or open a stored run from " <a href="#history">"History"</a> "."</p>
            })}
            <RunResults/>
        </section>
    }
}

/// `?embed`'s experiment: its title, the run bar and its results, in one column.
#[component]
pub fn EmbeddedExperiment() -> impl IntoView {
    let state = expect_context::<AppState>();
    let params = expect_context::<PageParams>();
    let bench = expect_context::<Workbench>();
    let share_error = params.shared.clone().and_then(|s| s.err());
    let title = move || bench.title().unwrap_or_default();
    view! {
        <section class="panel" aria-labelledby="experiment-heading">
            <h2 id="experiment-heading" class:visually-hidden=move || state.opened.get().is_some()>{title}</h2>
            {share_error.map(|e| view! { <p id="share-error" class="error" role="alert">{e}</p> })}
            <RunBar/>
            {move || bench.problem().map(|failure| view! { <FailureView id="experiment-error" failure=failure/> })}
            <RunResults/>
        </section>
    }
}
