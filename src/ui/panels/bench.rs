//! The Benchmark panel (`?bench`): a model of GPT-2 small's shape with seeded random weights,
//! built in this tab's model worker on its device (nothing is downloaded), and the workloads of
//! `patchbay bench` timed there; a table, and the report as JSON for BENCHMARKS.md.

use crate::bench::{BenchModel, Timing, Workload};
use crate::device::Backend;
use crate::gpu_calls::GpuCalls;
use crate::session::{Bench, Event};
use crate::ui::{AppState, ModelCall, backend_label, files};
use leptos::prelude::*;

/// What a page benchmarks unless `?workloads=` says otherwise: everything but the long
/// by-position head sweep.
const DEFAULT_WORKLOADS: [Workload; 6] = [
    Workload::Forward,
    Workload::Cache,
    Workload::PatchSweep,
    Workload::IoiResidPre,
    Workload::GenerateKv,
    Workload::GenerateNoKv,
];

/// `?workloads=forward,cache&reps=3&shape=narrow`, or the defaults; an unknown workload, a bad
/// count or shape is reported (and nothing runs) rather than dropped.
fn settings_from_address() -> Result<(Vec<Workload>, usize, BenchModel), String> {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let query = web_sys::UrlSearchParams::new_with_str(&search).ok();
    let get = |name: &str| query.as_ref().and_then(|q| q.get(name));
    let workloads = match get("workloads") {
        Some(list) => list
            .split(',')
            .filter(|w| !w.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<Workload>, _>>()
            .map_err(|e| format!("?workloads=: {e}"))?,
        None => DEFAULT_WORKLOADS.to_vec(),
    };
    let reps = match get("reps") {
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|r| (1..=20).contains(r))
            .ok_or_else(|| format!("?reps=: `{text}` is not a whole number from 1 to 20"))?,
        None => 3,
    };
    let shape = match get("shape") {
        Some(text) => text.parse().map_err(|e| format!("?shape=: {e}"))?,
        None => BenchModel::Small,
    };
    Ok((workloads, reps, shape))
}

/// A run's GPU work in a line: "412 dispatches · 3 uploads (1.2 kB) · 1 read-back · 0 pipelines".
fn gpu_calls_line(calls: &GpuCalls) -> String {
    match &calls.webgpu {
        Some(w) => format!(
            "{} dispatches · {} uploads ({:.1} kB) · {} read-backs · {} pipelines created · {} submits",
            w.dispatches,
            w.writes,
            w.written_bytes as f64 / 1e3,
            w.reads,
            w.pipelines,
            w.submits
        ),
        None => format!("{} kernel launches", calls.kernel_launches),
    }
}

#[component]
pub fn BenchPanel(open: bool, autorun: bool) -> impl IntoView {
    let state = expect_context::<AppState>();
    let settings = settings_from_address();
    let (workloads, reps, shape) = settings
        .clone()
        .unwrap_or_else(|_| (DEFAULT_WORKLOADS.to_vec(), 3, BenchModel::Small));
    let chosen = RwSignal::new(workloads);
    let reps = RwSignal::new(reps);
    let timings = RwSignal::new(Vec::<Timing>::new());
    let status = RwSignal::new(None::<String>);
    // A bad `?bench` address, or a download that failed.
    let problem = RwSignal::new(settings.as_ref().err().cloned());
    let autorun = autorun && settings.is_ok();
    let call = ModelCall::<Bench>::new(state);
    let busy = move || call.pending();
    let error = move || problem.get().or_else(|| call.error());
    // The report, as JSON, once a run is done.
    let result = move || {
        call.with_answer(|report| {
            Some(serde_json::to_string_pretty(report).expect("a JSON value serialises"))
        })
    };
    let on_device = StoredValue::new(None::<Backend>);

    let run = move || {
        let Some(backend) = state.backend.get_untracked() else {
            return;
        };
        on_device.set_value(Some(backend));
        problem.set(None);
        timings.set(vec![]);
        let on_event = move |event| match event {
            Event::Status { text } => status.set(Some(text)),
            Event::Timed(timing) => timings.update(|t| t.push(timing)),
            _ => {}
        };
        let request = Bench {
            workloads: chosen.get_untracked(),
            reps: reps.get_untracked().max(1),
            model: shape,
        };
        call.run(request, on_event);
    };
    // The status line says how a run ended.
    Effect::new(move |_| {
        call.version();
        untrack(|| {
            if call.pending() {
                return;
            }
            if call.error().is_some() {
                status.set(None);
            }
            let built = call.with_answer(|report| Some(report.build_model_s.unwrap_or(0.0)));
            if let (Some(build_s), Some(backend)) = (built, on_device.get_value()) {
                status.set(Some(format!(
                    "done on {} (model built in {build_s:.1} s)",
                    backend_label(backend)
                )));
            }
        })
    });
    if autorun {
        Effect::new(move |done: Option<bool>| {
            if done == Some(true) {
                return true;
            }
            if state.backend.get().is_some() {
                run();
                return true;
            }
            false
        });
    }
    let download = move |_| {
        if let Some(json) = untrack(result)
            && let Err(e) = files::download_text("patchbay-bench.json", "application/json", &json)
        {
            problem.set(Some(e));
        }
    };
    let checkbox = move |workload: Workload| {
        let id = format!("bench-{}", workload.name());
        let label_for = id.clone();
        view! {
            <label for=label_for>
                <input type="checkbox" id=id
                    prop:checked=move || chosen.get().contains(&workload)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        chosen.update(|c| {
                            c.retain(|w| *w != workload);
                            if on {
                                c.push(workload);
                                c.sort_by_key(|w| Workload::ALL.iter().position(|a| a == w));
                            }
                        });
                    }/>
                {workload.describe()}
            </label>
        }
    };
    view! {
        <details id="bench" open=open>
            <summary><h2 id="bench-title">"Benchmark this device"</h2></summary>
            <p>"Builds a model of GPT-2 small's shape (124M parameters) with random weights in this tab \
                — nothing is downloaded — and times what you would do with it, on this page's device. \
                The same workloads as " <code>"patchbay bench"</code> " on the command line. \
                On WebGPU the last run of each is counted: compute dispatches, uploads, read-backs \
                and pipelines created (none once every kernel is compiled)."</p>
            {(shape == BenchModel::Narrow).then(|| view! { <p id="bench-shape">"Model: " {shape.describe()}</p> })}
            <fieldset>
                <legend>"Workloads"</legend>
                {Workload::ALL.into_iter().map(checkbox).collect_view()}
            </fieldset>
            <label for="bench-reps">"timed runs each "
                <input id="bench-reps" type="number" min="1" max="20" size="3"
                    prop:value=move || reps.get().to_string()
                    on:change=move |ev| reps.set(event_target_value(&ev).parse::<usize>().unwrap_or(3).clamp(1, 20))/>
            </label>
            <button id="run-bench" on:click=move |_| run()
                disabled=move || busy() || state.backend.get().is_none() || chosen.get().is_empty()>
                "Run benchmark"
            </button>
            <p id="bench-status" role="status">{move || status.get()}</p>
            {move || error().map(|e| view! { <p id="bench-error" class="error" role="alert">{e}</p> })}
            <table id="bench-table">
                <caption>"Median time of each workload on this device"</caption>
                <thead><tr>
                    <th scope="col">"workload"</th><th scope="col">"median (ms)"</th><th scope="col">"runs (ms)"</th>
                    <th scope="col">"first run (ms)"</th><th scope="col">"GPU work of the last run"</th>
                </tr></thead>
                <tbody>
                    {move || timings.get().into_iter().map(|t| {
                        let runs = t.runs_s.iter().map(|r| format!("{:.1}", r * 1e3)).collect::<Vec<_>>().join(", ");
                        let gpu = t.gpu_calls.as_ref().map(gpu_calls_line).unwrap_or_else(|| "–".into());
                        view! {
                            <tr data-workload=t.workload.name() data-median-ms=format!("{}", t.median_s * 1e3)>
                                <th scope="row">{t.workload.describe()}</th>
                                <td>{format!("{:.1}", t.median_s * 1e3)}</td>
                                <td>{runs}</td>
                                <td>{format!("{:.1}", t.first_run_s * 1e3)}</td>
                                <td class="gpu-calls">{gpu}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {move || (!busy()).then(result).flatten().map(|json| view! {
                <div id="bench-result" data-report=json>
                    <button id="bench-download" on:click=download>"Download the report (JSON)"</button>
                </div>
            })}
        </details>
    }
}
