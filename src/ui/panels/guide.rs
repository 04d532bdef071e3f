//! A first run in three steps, for a student arriving from a course page (`?guide` opens it):
//! load GPT-2 small, run the IOI activation-patching example, read its heatmap. Each step is
//! ticked off by what the app has done, not by a click.

use super::loader::{HUB_MODELS, LoadControl, ModelSource};
use crate::spec::Experiment;
use crate::spec::examples::EXAMPLES;
use crate::ui::{AppState, page::PageParams};
use leptos::prelude::*;

#[component]
pub fn Guide(spec_text: RwSignal<String>, run: Callback<()>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let control = expect_context::<LoadControl>();
    let params = expect_context::<PageParams>();
    let model = params
        .model
        .clone()
        .unwrap_or_else(|| HUB_MODELS[0].to_string());
    let loaded = move || state.session.get().is_some();
    let patched = move || {
        state.opened.get().is_some_and(|run| {
            matches!(
                run.result.spec.experiment,
                Experiment::ActivationPatching(_)
            )
        })
    };
    let load = {
        let (model, params) = (model.clone(), params.clone());
        move |_| control.start(state, params.clone(), ModelSource::Named(model.clone()))
    };
    let run_example = move |_| {
        spec_text.set(EXAMPLES[0].json.to_string());
        run.run(());
    };
    view! {
        <details id="guide" class="guide" open=params.guide>
            <summary>"New here? A first causal experiment in three steps"</summary>
            <ol>
                <li data-step="load" class:done=loaded>
                    <strong>"Load GPT-2 small. "</strong>
                    "Its weights (about 500 MB; the browser keeps them for the next visit) run here, on your GPU if the browser offers WebGPU. "
                    <button id="guide-load" on:click=load disabled=move || loaded() || control.busy()>{format!("Load {model}")}</button>
                </li>
                <li data-step="run" class:done=patched>
                    <strong>"Run activation patching on the indirect-object task. "</strong>
                    "GPT-2 completes \"When John and Mary went to the shops, John gave the bag to\" with \" Mary\". The experiment runs the prompts with the names swapped and puts back one piece of the original run at a time. "
                    <button id="guide-run" on:click=run_example disabled=move || !loaded()>"Run IOI patching"</button>
                </li>
                <li data-step="read" class:done=patched>
                    <strong>"Read the heatmap. "</strong>
                    "In patch.resid_pre.normalised each row is a layer and each column a token. A red cell is a place where putting the original residual stream back restores the answer (1 = fully): the name's information sits at the second \"John\" in early layers and moves to the last token around layers 7 to 9. "
                    {move || patched().then(|| view! { <a href="#experiment-result">"Go to the result"</a> })}
                </li>
            </ol>
        </details>
    }
}
