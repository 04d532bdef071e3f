//! Running an experiment spec in the browser: bundled examples or your own JSON, progress and
//! cancel (sweeps draw their grid as it fills, generations their tokens as they come), then
//! every result grid as a figure with its numbers.

use super::{
    dataset_form::DatasetForm, experiment_form::ExperimentForm, generation::TokenStrip, history,
    lesson::LessonPanel, presets::PresetGallery, result::RunView,
};
use crate::experiments::{Filling, Grid};
use crate::failure::Failure;
use crate::history::RunRecord;
use crate::session::{Event, RunSpec};
use crate::spec::examples::{self, EXAMPLES};
use crate::spec::{Spec, TokenChoice};
use crate::ui::{AppState, FailureView, ModelCall, heatmap::GridView, page::PageParams};
use leptos::prelude::*;
use std::rc::Rc;

/// The spec the page opens with: a share link's, `?example=`'s, the first of `?preset=`'s,
/// else the IOI patching example.
fn initial_spec(params: &PageParams) -> String {
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

/// The grid so far while a sweep runs, as the experiment names it: cells in row-major order,
/// `NaN` where not yet computed.
fn partial_grid(values: &[f32], grid: &Filling) -> Grid {
    let mut all = values.to_vec();
    all.resize(grid.shape.iter().product(), f32::NAN);
    let axes: Vec<&str> = grid.axes.iter().map(String::as_str).collect();
    Grid::new(&axes, grid.shape.clone(), all)
}

fn new_run_id() -> String {
    format!(
        "{:x}-{:08x}",
        js_sys::Date::now() as u64,
        (js_sys::Math::random() * u32::MAX as f64) as u32
    )
}

#[component]
pub fn ExperimentPanel(#[prop(optional)] embed: bool) -> impl IntoView {
    let state = expect_context::<AppState>();
    let params = expect_context::<PageParams>();
    let spec_text = RwSignal::new(initial_spec(&params));
    let problem = RwSignal::new(None::<Failure>);
    let progress = RwSignal::new((0usize, 0usize));
    let live = RwSignal::new(None::<Grid>);
    // Continuations as their tokens arrive (generation and steering), until the run ends.
    let streamed = RwSignal::new(Vec::<(String, Vec<TokenChoice>)>::new());
    let autorun = StoredValue::new(params.autorun);
    let share_error = params.shared.clone().and_then(|s| s.err());
    let call = ModelCall::<RunSpec>::new(state);
    let busy = move || call.pending();
    let error = move || problem.get().or_else(|| call.failure());
    // What the record of the run in flight is named after: its title and model.
    let running = StoredValue::new_local(None::<(String, String)>);

    let start = move || {
        let Some(session) = state.session.get_untracked() else {
            return;
        };
        let spec = match Spec::from_json(&spec_text.get_untracked()) {
            Ok(spec) => spec,
            Err(e) => {
                problem.set(Some(Failure::from(e)));
                return;
            }
        };
        problem.set(None);
        live.set(None);
        progress.set((0, 0));
        streamed.set(vec![]);
        let on_event = move |event| match event {
            Event::Progress {
                done,
                total,
                values,
                grid,
            } => {
                progress.set((done, total));
                // (Experiments that fill no grid cell by cell, such as edge attribution, show none.)
                live.set(grid.map(|grid| partial_grid(&values, &grid)));
            }
            Event::Token(new) => streamed.update(|all| {
                if all.len() <= new.run {
                    all.push((new.name.to_string(), vec![]));
                }
                all[new.run].1.push(new.choice);
            }),
            _ => {}
        };
        running.set_value(Some((spec.title.clone(), session.name.clone())));
        call.run(
            RunSpec {
                spec: Box::new(spec),
            },
            on_event,
        );
    };
    // Each run that ends: its result is opened and kept in the history.
    Effect::new(move |_| {
        call.version();
        let result = untrack(|| {
            if call.pending() {
                return None;
            }
            live.set(None);
            streamed.set(vec![]);
            call.with_answer(|result| Some(result.clone()))
        });
        let (Some(result), Some((title, model))) = (result, running.get_value()) else {
            return;
        };
        running.set_value(None);
        let record = RunRecord {
            id: new_run_id(),
            name: if title.is_empty() {
                "untitled run".into()
            } else {
                title
            },
            pinned: false,
            created_ms: js_sys::Date::now(),
            model,
            result,
        };
        state.opened.set(Some(Rc::new(record.clone())));
        leptos::task::spawn_local(history::keep(state, record));
    });
    let cancel = move |_| call.cancel();
    let run_now = Callback::new(move |()| start());
    let preset_opened = params
        .preset
        .clone()
        .filter(|name| crate::presets::find(name).is_some());

    // Links and embeds with `run`: once the model is loaded, run.
    Effect::new(move |_| {
        if state.session.get().is_some() && autorun.get_value() {
            autorun.set_value(false);
            start();
        }
    });

    let title = move || {
        Spec::from_json(&spec_text.get())
            .map(|s| s.title)
            .unwrap_or_default()
    };
    view! {
        <section class="panel" aria-labelledby="experiment-heading">
            <h2 id="experiment-heading" class:visually-hidden=move || embed && state.opened.get().is_some()>{move || if embed { title() } else { "Experiment".to_string() }}</h2>
            {(!embed).then(|| view! {
                <LessonPanel spec_text=spec_text run=run_now/>
                <PresetGallery spec_text=spec_text run=run_now opened=preset_opened.clone()/>
                <label>"Example: "
                    <select id="example" on:change=move |ev| {
                        let index: usize = event_target_value(&ev).parse().unwrap_or(0);
                        spec_text.set(EXAMPLES[index].json.to_string());
                    }>
                        {EXAMPLES.iter().enumerate().map(|(i, example)| view! { <option value=i.to_string()>{example.title}</option> }).collect_view()}
                    </select>
                </label>
                <ExperimentForm spec_text=spec_text/>
                <DatasetForm spec_text=spec_text/>
                <label for="spec-text">"Spec (JSON; edit freely)"</label>
                <textarea id="spec-text" rows="12" cols="90" spellcheck="false" prop:value=move || spec_text.get() on:input=move |ev| spec_text.set(event_target_value(&ev))></textarea>
            })}
            {share_error.map(|e| view! { <p id="share-error" class="error" role="alert">{e}</p> })}
            <div>
                <button id="run-experiment" on:click=move |_| start() disabled=move || busy() || state.session.get().is_none()>"Run experiment"</button>
                <button id="cancel-experiment" on:click=cancel disabled=move || !busy()>"Cancel"</button>
                {move || busy().then(|| {
                    let (done, total) = progress.get();
                    view! {
                        <progress id="experiment-progress" aria-label="experiment progress" max=total.max(1) as f64 value=done as f64></progress>
                        <span id="experiment-progress-text" role="status">{format!("{done} / {total}")}</span>
                    }
                })}
            </div>
            {move || error().map(|failure| view! { <FailureView id="experiment-error" failure=failure/> })}
            {move || live.get().map(|grid| view! {
                <div aria-busy="true"><GridView name="live".to_string() grid=grid tokens=vec![] centre=0.0/></div>
            })}
            {move || busy().then(|| view! {
                <div class="side-by-side" aria-busy="true">
                    {streamed.get().into_iter().map(|(name, choices)| view! {
                        <p class="generation"><strong>{name.clone()}": "</strong><span class="token-strip" data-streamed=name><TokenStrip choices=choices/></span></p>
                    }).collect_view()}
                </div>
            })}
            {move || state.opened.get().map(|run| view! { <RunView run=(*run).clone() spec_text=spec_text/> })}
        </section>
    }
}
