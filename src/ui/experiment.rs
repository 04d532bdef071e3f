//! Running an experiment spec in the browser: bundled examples or your own JSON, progress and
//! cancel, then every result grid as a figure with its numbers.

use super::{AppState, heatmap::GridView};
use crate::experiments::Progress;
use crate::spec::{RunContext, RunResult, Spec, run};
use leptos::prelude::*;

/// The shipped example specs (also in `static/experiments/`), compiled in so they work offline.
const EXAMPLES: [(&str, &str); 10] = [
    (
        "IOI: activation patching",
        include_str!("../../static/experiments/ioi-activation-patching.json"),
    ),
    (
        "IOI: logit lens and direct logit attribution",
        include_str!("../../static/experiments/ioi-logit-lens.json"),
    ),
    (
        "IOI: attribution vs activation patching",
        include_str!("../../static/experiments/ioi-attribution-patching.json"),
    ),
    (
        "IOI: zero-ablate heads",
        include_str!("../../static/experiments/ioi-zero-ablation-heads.json"),
    ),
    (
        "IOI: mean-ablate heads",
        include_str!("../../static/experiments/ioi-mean-ablation-heads.json"),
    ),
    (
        "IOI: zero-ablate MLP layers",
        include_str!("../../static/experiments/ioi-zero-ablation-mlp.json"),
    ),
    (
        "IOI: resample-ablate neurons",
        include_str!("../../static/experiments/ioi-resample-ablation-neurons.json"),
    ),
    (
        "IOI: keep only the IOI circuit (gpt2)",
        include_str!("../../static/experiments/ioi-circuit.json"),
    ),
    (
        "Sampling: the quick brown fox",
        include_str!("../../static/experiments/quick-brown-fox-sampling.json"),
    ),
    (
        "Steering: Love − Hate (gpt2, layer 6)",
        include_str!("../../static/experiments/steering-love-hate.json"),
    ),
];

/// The value drawn white: what the grid is read against.
fn centre(name: &str, metrics: &std::collections::BTreeMap<String, f32>) -> f32 {
    let metric = |key: &str| metrics.get(key).copied().unwrap_or(0.0);
    if name.starts_with("patch.") && !name.ends_with(".normalised") {
        metric("corrupted")
    } else if name.starts_with("ablate.") {
        metric("clean")
    } else {
        0.0
    }
}

/// Grids worth drawing: not the per-prompt breakdowns, not `d_model`-wide stacks.
fn drawn(name: &str, grid: &crate::experiments::Grid) -> bool {
    !name.ends_with("per_prompt")
        && !grid.axes.iter().any(|a| a == "d_model")
        && grid.values.len() <= 20_000
}

#[component]
pub fn ExperimentPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let spec_text = RwSignal::new(EXAMPLES[0].1.to_string());
    let result = RwSignal::new(None::<RunResult>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let cancel = RwSignal::new(false);
    let progress = RwSignal::new((0usize, 0usize));

    let start = move |_| {
        let Some(session) = state.session.get_untracked() else {
            return;
        };
        let spec = match Spec::from_json(&spec_text.get_untracked()) {
            Ok(spec) => spec,
            Err(e) => {
                error.set(Some(e.to_string()));
                return;
            }
        };
        busy.set(true);
        cancel.set(false);
        error.set(None);
        result.set(None);
        progress.set((0, 0));
        leptos::task::spawn_local(async move {
            let device = state
                .device
                .get_untracked()
                .map(|(_, b)| b.to_string())
                .unwrap_or_default();
            let context = RunContext {
                model: &session.model,
                weights_sha256: session.weights_sha256.clone(),
                device,
            };
            let mut report = Progress::new(|update| {
                progress.set((update.done, update.total));
                !cancel.get_untracked()
            });
            let outcome = run(&spec, &context, &mut report).await;
            busy.set(false);
            match outcome {
                Ok(r) => result.set(Some(r)),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };

    view! {
        <section class="panel" aria-labelledby="experiment-heading">
            <h2 id="experiment-heading">"Experiment"</h2>
            <label>"Example: "
                <select id="example" on:change=move |ev| {
                    let index: usize = event_target_value(&ev).parse().unwrap_or(0);
                    spec_text.set(EXAMPLES[index].1.to_string());
                }>
                    {EXAMPLES.iter().enumerate().map(|(i, (title, _))| view! { <option value=i.to_string()>{*title}</option> }).collect_view()}
                </select>
            </label>
            <label for="spec-text">"Spec (JSON; edit freely)"</label>
            <textarea id="spec-text" rows="12" cols="90" spellcheck="false" prop:value=move || spec_text.get() on:input=move |ev| spec_text.set(event_target_value(&ev))></textarea>
            <div>
                <button id="run-experiment" on:click=start disabled=move || busy.get()>"Run experiment"</button>
                <button id="cancel-experiment" on:click=move |_| cancel.set(true) disabled=move || !busy.get()>"Cancel"</button>
                {move || busy.get().then(|| {
                    let (done, total) = progress.get();
                    view! {
                        <progress id="experiment-progress" max=total.max(1) as f64 value=done as f64></progress>
                        <span id="experiment-progress-text">{format!("{done} / {total}")}</span>
                    }
                })}
            </div>
            {move || error.get().map(|e| view! { <pre id="experiment-error" class="error" role="alert">{e}</pre> })}
            {move || result.get().map(|r| {
                let tokens = r.tokens.get("clean").and_then(|t| t.first()).cloned().unwrap_or_default();
                view! {
                    <div id="experiment-result" data-device=r.provenance.device.clone()>
                        <ul class="metrics">
                            {r.metrics.iter().map(|(k, v)| view! { <li data-metric=k.clone() data-value=v.to_string()>{format!("{k}: {v:.4}")}</li> }).collect_view()}
                        </ul>
                        {r.generations.iter().map(|(name, g)| {
                            let ids = g.generation.new_ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
                            view! { <p class="generation"><strong>{name.clone()}": "</strong><span data-generation=name.clone() data-ids=ids>{g.text.clone()}</span></p> }
                        }).collect_view()}
                        {r.grids.iter().filter(|(name, grid)| drawn(name, grid)).map(|(name, grid)| view! {
                            <GridView name=name.clone() grid=grid.clone() tokens=tokens.clone() centre=centre(name, &r.metrics)/>
                        }).collect_view()}
                    </div>
                }
            })}
        </section>
    }
}
