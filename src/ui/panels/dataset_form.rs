//! Prompts from a dataset instead of typing them: an IOI dataset generated as the paper sets it
//! up, Colored Objects, multiple-choice questions, or the user's own pairs pasted or uploaded (CSV or JSON Lines). The model's worker makes
//! and checks the set with its tokenizer; the prompts replace the spec's in the editor, so
//! the spec stays self-contained.

use crate::datasets::DatasetSource;
use crate::datasets::colored_objects::ColoredObjects;
use crate::datasets::ioi::{Ioi, Order};
use crate::datasets::mcq::Mcq;
use crate::datasets::rhythm::Rhythm;
use crate::session::MakeDataset;
use crate::ui::{AppState, ModelCall, files};
use leptos::prelude::*;

#[component]
pub fn DatasetForm(spec_text: RwSignal<String>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let call = ModelCall::<MakeDataset>::new(state);
    let n = RwSignal::new("64".to_string());
    let seed = RwSignal::new("0".to_string());
    let kind = RwSignal::new("ioi".to_string());
    let order = RwSignal::new("both".to_string());
    let anchor = RwSignal::new(false);
    let bos = RwSignal::new(true);
    let table = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let note = RwSignal::new(None::<String>);

    let ask = move |source: DatasetSource| {
        problem.set(None);
        note.set(None);
        call.run(MakeDataset { source }, |_| {});
    };
    let generate = move |_| {
        let number = |text: String, what: &str| {
            text.trim()
                .parse::<u64>()
                .map_err(|_| format!("{what} must be a whole number, not {text:?}"))
        };
        let source = (|| -> Result<DatasetSource, String> {
            let n = number(n.get_untracked(), "the number of prompts")? as usize;
            let seed = number(seed.get_untracked(), "the seed")?;
            let prepend_bos = bos.get_untracked();
            Ok(match kind.get_untracked().as_str() {
                "colored_objects" => DatasetSource::ColoredObjects(ColoredObjects {
                    n,
                    seed,
                    prepend_bos,
                }),
                "sentences" => DatasetSource::Rhythm(Rhythm { n, seed }),
                "mcq" => DatasetSource::Mcq(Mcq {
                    n,
                    seed,
                    anchor: anchor.get_untracked(),
                    prepend_bos,
                }),
                _ => DatasetSource::Ioi(Ioi {
                    n,
                    seed,
                    order: match order.get_untracked().as_str() {
                        "abba" => Order::Abba,
                        "baba" => Order::Baba,
                        _ => Order::Both,
                    },
                    prepend_bos,
                }),
            })
        })();
        match source {
            Ok(source) => ask(source),
            Err(e) => problem.set(Some(e)),
        }
    };
    let use_table = move |_| {
        ask(DatasetSource::Pairs {
            text: table.get_untracked(),
            prepend_bos: bos.get_untracked(),
        })
    };
    let upload = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = files::list(input.files()).into_iter().next() else {
            return;
        };
        leptos::task::spawn_local(async move {
            match files::read_file(&file).await {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => table.set(text),
                    Err(_) => problem.set(Some(format!("{} is not UTF-8 text", file.name()))),
                },
                Err(e) => problem.set(Some(e)),
            }
        });
    };
    // A dataset that arrives replaces the spec's prompts.
    Effect::new(move |_| {
        call.version();
        untrack(|| {
            if call.pending() {
                return;
            }
            let Some(made) = call.with_answer(|made| Some(made.clone())) else {
                return;
            };
            match made.put_into(&spec_text.get()) {
                Ok((text, put)) => {
                    spec_text.set(text);
                    note.set(Some(format!("{}: {put}.", made.note())));
                }
                Err(e) => problem.set(Some(e)),
            }
        });
    });
    let error = move || problem.get().or_else(|| call.error());
    let loaded = move || state.session.get().is_some();

    view! {
        <details id="dataset-form">
            <summary>"Prompts from a dataset"</summary>
            <p class="hint">"The prompts replace the spec's own; the model's tokenizer checks that clean and corrupted prompts align and that answers are single tokens. Sentences for frequency tagging go into the frequency-tagging experiment (a spec of another kind becomes one)."</p>
            <fieldset>
                <legend>"Generated"</legend>
                <label>"Dataset "
                    <select id="dataset-kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="ioi">"IOI (Wang et al. 2022): templates, names, the ABC corruption"</option>
                        <option value="colored_objects">"Colored Objects (Merullo et al.): what colour is the object?"</option>
                        <option value="mcq">"Multiple choice: capitals, the right answer moved to another letter"</option>
                        <option value="sentences">"Sentences for frequency tagging (HFTP): [adjective noun] [verb noun], one token a word"</option>
                    </select>
                </label>
                <label>" Prompts " <input id="ioi-n" type="number" min="1" max="4096" prop:value=move || n.get() on:input=move |ev| n.set(event_target_value(&ev))/></label>
                <label>" Seed " <input id="ioi-seed" type="number" min="0" prop:value=move || seed.get() on:input=move |ev| seed.set(event_target_value(&ev))/></label>
                {move || (kind.get() == "ioi").then(|| view! {
                    <label>" Order "
                        <select id="ioi-order" on:change=move |ev| order.set(event_target_value(&ev))>
                            <option value="both">"ABBA and BABA"</option>
                            <option value="abba">"ABBA"</option>
                            <option value="baba">"BABA"</option>
                        </select>
                    </label>
                })}
                {move || (kind.get() == "mcq").then(|| view! {
                    <label><input id="mcq-anchor" type="checkbox" prop:checked=move || anchor.get() on:change=move |ev| anchor.set(event_target_checked(&ev))/>" Corrupted prompts put the answer under A"</label>
                })}
                <button id="generate-dataset" on:click=generate disabled=move || call.pending() || !loaded()>"Generate prompts"</button>
            </fieldset>
            <fieldset>
                <legend>"Your pairs: CSV with the header clean,corrupted,correct,incorrect, or JSON Lines"</legend>
                <label for="pairs-text">"Paste the table"</label>
                <textarea id="pairs-text" rows="4" cols="90" spellcheck="false" prop:value=move || table.get() on:input=move |ev| table.set(event_target_value(&ev))></textarea>
                <label>"or open a file " <input id="pairs-file" type="file" accept=".csv,.jsonl,.txt,text/csv" on:change=upload/></label>
                <button id="use-pairs" on:click=use_table disabled=move || call.pending() || !loaded()>"Use these pairs"</button>
            </fieldset>
            <label><input id="dataset-bos" type="checkbox" prop:checked=move || bos.get() on:change=move |ev| bos.set(event_target_checked(&ev))/>" Start prompts with <|endoftext|>"</label>
            {move || (!loaded()).then(|| view! { <p class="hint">"Load a model first: its tokenizer checks the prompts."</p> })}
            {move || note.get().map(|n| view! { <p id="dataset-note" role="status">{n}</p> })}
            {move || error().map(|e| view! { <pre id="dataset-error" class="error" role="alert">{e}</pre> })}
        </details>
    }
}
