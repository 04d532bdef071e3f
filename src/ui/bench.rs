//! The Benchmark panel (`?bench`): a model of GPT-2 small's shape with seeded random weights,
//! built in this tab on this page's device (nothing is downloaded), and the workloads of
//! `patchbay bench` timed here; a table, and the report as JSON for BENCHMARKS.md.

use super::{AppState, adapter_info, backend_label, files, wasm_memory_mb};
use crate::bench::{Inputs, Timing, Workload, time};
use crate::experiments::yield_to_browser;
use crate::model::{Gpt2, Gpt2Config};
use leptos::prelude::*;
use web_time::Instant;

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

/// `?workloads=forward,cache&reps=3`, or the defaults; an unknown workload or a bad count is
/// reported (and nothing runs) rather than dropped.
fn settings_from_address() -> Result<(Vec<Workload>, usize), String> {
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
    Ok((workloads, reps))
}

fn user_agent() -> String {
    web_sys::window()
        .and_then(|w| w.navigator().user_agent().ok())
        .unwrap_or_default()
}

/// The report, in the shape of `patchbay bench --json` plus where it ran.
fn report(backend: &str, reps: usize, build_s: f64, timings: &[Timing]) -> serde_json::Value {
    let cases: serde_json::Map<String, serde_json::Value> = timings
        .iter()
        .map(|t| {
            (
                t.workload.name().to_string(),
                serde_json::json!({"median_s": t.median_s, "runs_s": t.runs_s}),
            )
        })
        .collect();
    serde_json::json!({
        "model": "GPT-2 small shape (12 layers, d_model 768, vocab 50257), random weights",
        "device": backend,
        "adapter": adapter_info(),
        "browser": user_agent(),
        "reps": reps,
        "build_model_s": build_s,
        "wasm_memory_mb": wasm_memory_mb(),
        "cases": cases,
    })
}

#[component]
pub fn BenchPanel(open: bool, autorun: bool) -> impl IntoView {
    let state = expect_context::<AppState>();
    let settings = settings_from_address();
    let (workloads, reps) = settings
        .clone()
        .unwrap_or_else(|_| (DEFAULT_WORKLOADS.to_vec(), 3));
    let chosen = RwSignal::new(workloads);
    let reps = RwSignal::new(reps);
    let timings = RwSignal::new(Vec::<Timing>::new());
    let status = RwSignal::new(None::<String>);
    let error = RwSignal::new(settings.as_ref().err().cloned());
    let autorun = autorun && settings.is_ok();
    let result = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let run = move || {
        let Some((device, backend)) = state.device.get_untracked() else {
            return;
        };
        busy.set(true);
        error.set(None);
        result.set(None);
        timings.set(vec![]);
        leptos::task::spawn_local(async move {
            status.set(Some(
                "building GPT-2 small's shape with random weights…".into(),
            ));
            yield_to_browser().await;
            let config = Gpt2Config::gpt2_small();
            let started = Instant::now();
            let model = Gpt2::random(&config, 0, &device);
            let inputs = Inputs::new(config.vocab_size, 12345);
            let build_s = started.elapsed().as_secs_f64();
            let reps = reps.get_untracked().max(1);
            for workload in chosen.get_untracked() {
                status.set(Some(format!("timing {}…", workload.describe())));
                yield_to_browser().await;
                let (warmup, reps) = workload.schedule(reps);
                match time(&model, &inputs, workload, warmup, reps).await {
                    Ok(timing) => timings.update(|t| t.push(timing)),
                    Err(e) => {
                        error.set(Some(format!("{}: {e}", workload.describe())));
                        break;
                    }
                }
            }
            let json = report(
                &backend.to_string(),
                reps,
                build_s,
                &timings.get_untracked(),
            );
            result.set(Some(
                serde_json::to_string_pretty(&json).expect("a JSON value serialises"),
            ));
            status.set(Some(format!(
                "done on {} (model built in {build_s:.1} s)",
                backend_label(backend)
            )));
            busy.set(false);
        });
    };
    if autorun {
        Effect::new(move |done: Option<bool>| {
            if done == Some(true) {
                return true;
            }
            if state.device.get().is_some() {
                run();
                return true;
            }
            false
        });
    }
    let download = move |_| {
        if let Some(json) = result.get_untracked()
            && let Err(e) = files::download_text("patchbay-bench.json", "application/json", &json)
        {
            error.set(Some(e));
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
                The same workloads as " <code>"patchbay bench"</code> " on the command line."</p>
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
                disabled=move || busy.get() || state.device.get().is_none() || chosen.get().is_empty()>
                "Run benchmark"
            </button>
            <p id="bench-status" role="status">{move || status.get()}</p>
            {move || error.get().map(|e| view! { <p id="bench-error" class="error" role="alert">{e}</p> })}
            <table id="bench-table">
                <caption>"Median time of each workload on this device"</caption>
                <thead><tr><th scope="col">"workload"</th><th scope="col">"median (ms)"</th><th scope="col">"runs (ms)"</th></tr></thead>
                <tbody>
                    {move || timings.get().into_iter().map(|t| {
                        let runs = t.runs_s.iter().map(|r| format!("{:.1}", r * 1e3)).collect::<Vec<_>>().join(", ");
                        view! {
                            <tr data-workload=t.workload.name() data-median-ms=format!("{}", t.median_s * 1e3)>
                                <th scope="row">{t.workload.describe()}</th>
                                <td>{format!("{:.1}", t.median_s * 1e3)}</td>
                                <td>{runs}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {move || result.get().map(|json| view! {
                <div id="bench-result" data-report=json>
                    <button id="bench-download" on:click=download>"Download the report (JSON)"</button>
                </div>
            })}
        </details>
    }
}
