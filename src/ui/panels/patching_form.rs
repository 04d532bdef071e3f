//! Activation patching without writing JSON: clean and corrupted prompts side by side with
//! their tokenisations aligned (differences marked, unequal lengths refused), answers, metric
//! and targets; it writes the spec that the experiment panel runs.

use crate::experiments::{Metric, PatchTarget};
use crate::session::{Reply, Request};
use crate::spec::examples::EXAMPLES;
use crate::spec::{PatchingDraft, Spec, lines};
use crate::ui::AppState;
use leptos::prelude::*;

/// One prompt pair's tokens, aligned by position.
#[derive(Clone, PartialEq)]
struct Pair {
    clean: Vec<String>,
    corrupted: Vec<String>,
}

#[component]
pub fn PatchingForm(spec_text: RwSignal<String>) -> impl IntoView {
    let state = expect_context::<AppState>();
    // The IOI example is the form's starting point.
    let example = Spec::from_json(EXAMPLES[0].json).expect("the bundled example parses");
    let start = PatchingDraft::from_spec(&example).expect("the example is a patching spec");
    let clean = RwSignal::new(start.clean);
    let corrupted = RwSignal::new(start.corrupted);
    let answers = RwSignal::new(start.answers);
    let bos = RwSignal::new(start.prepend_bos);
    let metric = RwSignal::new(start.metric);
    let targets = RwSignal::new(start.targets);
    // The spec names the loaded model (the example's until one is loaded).
    let example_model = StoredValue::new(start.model);
    let draft = move || PatchingDraft {
        model: state
            .session
            .get()
            .map_or_else(|| example_model.get_value(), |s| s.name.clone()),
        clean: clean.get(),
        corrupted: corrupted.get(),
        answers: answers.get(),
        prepend_bos: bos.get(),
        metric: metric.get(),
        targets: targets.get(),
    };

    // Token texts come from the model's worker (it holds the tokenizer): the latest request wins.
    let pairs = LocalResource::new(move || {
        let loaded = state.session.get().is_some();
        let (clean, corrupted, bos) = (lines(&clean.get()), lines(&corrupted.get()), bos.get());
        async move {
            if !loaded {
                return None;
            }
            let count = clean.len();
            let request = Request::Tokenize {
                texts: clean.into_iter().chain(corrupted).collect(),
                prepend_bos: bos,
            };
            let (_, outcome) = state.worker().call(request, vec![], |_| {});
            let Ok(Reply::Tokens { texts }) = outcome.await else {
                return None;
            };
            let (clean, corrupted) = texts.split_at(count.min(texts.len()));
            Some(
                clean
                    .iter()
                    .zip(corrupted)
                    .map(|(clean, corrupted)| Pair {
                        clean: clean.clone(),
                        corrupted: corrupted.clone(),
                    })
                    .collect::<Vec<_>>(),
            )
        }
    });
    let problems = Memo::new(move |_| {
        let mut problems = draft().to_spec().err().unwrap_or_default();
        for (i, pair) in pairs.get().flatten().unwrap_or_default().iter().enumerate() {
            if pair.clean.len() != pair.corrupted.len() {
                problems.push(format!(
                    "prompt {}: clean has {} tokens, corrupted {}: patching needs equal lengths",
                    i + 1,
                    pair.clean.len(),
                    pair.corrupted.len()
                ));
            }
        }
        problems
    });

    let write = move |_| {
        if let Ok(spec) = untrack(draft).to_spec() {
            spec_text.set(spec.to_json());
        }
    };

    let toggle = move |target: PatchTarget| {
        targets.update(|ts| {
            if let Some(i) = ts.iter().position(|t| *t == target) {
                ts.remove(i);
            } else {
                ts.push(target);
            }
        })
    };

    view! {
        <details id="patching-form">
            <summary>"Build an activation-patching experiment"</summary>
            <div class="side-by-side">
                <label class="continuation">"Clean prompts (one per line)"
                    <textarea id="form-clean" rows="6" prop:value=move || clean.get() on:input=move |ev| clean.set(event_target_value(&ev))></textarea>
                </label>
                <label class="continuation">"Corrupted prompts (same line, same number of tokens)"
                    <textarea id="form-corrupted" rows="6" prop:value=move || corrupted.get() on:input=move |ev| corrupted.set(event_target_value(&ev))></textarea>
                </label>
                <label class="continuation">"Answers: correct | incorrect"
                    <textarea id="form-answers" rows="6" prop:value=move || answers.get() on:input=move |ev| answers.set(event_target_value(&ev))></textarea>
                </label>
            </div>
            <div class="controls">
                <label><input id="form-bos" type="checkbox" prop:checked=move || bos.get() on:change=move |ev| bos.set(event_target_checked(&ev))/>" prepend <|endoftext|>"</label>
                <label>"Metric: "
                    <select id="form-metric" on:change=move |ev| metric.set(match event_target_value(&ev).as_str() {
                        "answer_prob" => Metric::AnswerProb,
                        "answer_loss" => Metric::AnswerLoss,
                        _ => Metric::LogitDiff,
                    })>
                        <option value="logit_diff">"logit difference"</option>
                        <option value="answer_prob">"probability of the answer"</option>
                        <option value="answer_loss">"loss of the answer"</option>
                    </select>
                </label>
            </div>
            <fieldset class="controls">
                <legend>"Targets"</legend>
                {PatchTarget::ALL.iter().map(|&target| view! {
                    <label><input type="checkbox" data-target=target.name() prop:checked=move || targets.get().contains(&target) on:change=move |_| toggle(target)/>{format!(" {}", target.name())}</label>
                }).collect_view()}
            </fieldset>
            {move || match pairs.get().flatten() {
                None => view! { <p class="hint">"Load a model to see the tokenisations."</p> }.into_any(),
                Some(pairs) => view! {
                    <div class="alignments">
                        {pairs.into_iter().enumerate().map(|(i, pair)| {
                            let equal = pair.clean.len() == pair.corrupted.len();
                            let width = pair.clean.len().max(pair.corrupted.len());
                            let row = |tokens: &[String], other: &[String]| (0..width).map(|p| {
                                let token = tokens.get(p).cloned().unwrap_or_default();
                                let differs = other.get(p) != tokens.get(p);
                                view! { <td class:differs=differs>{format!("{token:?}")}</td> }
                            }).collect_view();
                            view! {
                                <table class="alignment" data-pair=i data-equal=equal.to_string()>
                                    <caption>{format!("prompt {}: {} and {} tokens", i + 1, pair.clean.len(), pair.corrupted.len())}</caption>
                                    <tbody>
                                        <tr><th scope="row">"clean"</th>{row(&pair.clean, &pair.corrupted)}</tr>
                                        <tr><th scope="row">"corrupted"</th>{row(&pair.corrupted, &pair.clean)}</tr>
                                    </tbody>
                                </table>
                            }
                        }).collect_view()}
                    </div>
                }.into_any(),
            }}
            {move || (!problems.get().is_empty()).then(|| view! {
                <ul id="form-problems" class="error" role="alert">{problems.get().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
            })}
            <button id="form-write" on:click=write disabled=move || !problems.get().is_empty()>"Write the spec"</button>
        </details>
    }
}
