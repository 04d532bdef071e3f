//! Every experiment without writing JSON: choose the kind, fill in its fields (prompts with
//! their tokenisations aligned, differences marked and unequal lengths refused; answers;
//! heads as `9.9 10.7`), and the form writes the spec the experiment panel runs. The JSON
//! editor stays beside it: a spec typed or opened there fills the form where the form can
//! hold it (`FormDraft::from_spec`).

use super::form::{area, kind_fields};
use crate::experiments::steering::{self, SteerAt};
use crate::experiments::{Metric, Needs};
use crate::session::Tokenize;
use crate::spec::examples::EXAMPLES;
use crate::spec::{FormDraft, Kind, Spec, lines};
use crate::ui::AppState;
use leptos::prelude::*;

/// One prompt pair's tokens, aligned by position.
#[derive(Clone, PartialEq)]
struct Pair {
    clean: Vec<String>,
    corrupted: Vec<String>,
}

/// Token texts of `texts` from the model's worker (it holds the tokenizer); `None` if the worker
/// could not tokenise them.
async fn tokenize(
    state: AppState,
    texts: Vec<String>,
    prepend_bos: bool,
) -> Option<Vec<Vec<String>>> {
    let request = Tokenize { texts, prepend_bos };
    state.worker().ask(request).await.ok()
}

#[component]
pub fn ExperimentForm(spec_text: RwSignal<String>) -> impl IntoView {
    let state = expect_context::<AppState>();
    // The IOI example is the form's starting point; a spec in the editor replaces it.
    let example = Spec::from_json(EXAMPLES[0].json).expect("the bundled example parses");
    let form = RwSignal::new(FormDraft::from_spec(&example).expect("the form writes the example"));
    Effect::new(move |_| {
        let opened = Spec::from_json(&spec_text.get())
            .ok()
            .and_then(|spec| FormDraft::from_spec(&spec));
        if let Some(draft) = opened
            && untrack(|| form.get() != draft)
        {
            form.set(draft);
        }
    });
    // The spec names the loaded model (the opened spec's until one is loaded).
    let draft = move || {
        let mut draft = form.get();
        if let Some(session) = state.session.get() {
            draft.model = session.name.clone();
        }
        draft
    };
    let kind = Memo::new(move |_| form.with(|d| d.kind));
    let needs = move || kind.get().needs();
    let paired = move || needs() == Needs::CleanAndCorrupted;

    // Token texts come from the model's worker (it holds the tokenizer): the latest request wins.
    // What each preview tokenises, as memos: typing in any other field asks the worker nothing.
    let prompt_lines =
        Memo::new(move |_| form.with(|d| (lines(&d.clean), lines(&d.corrupted), d.prepend_bos)));
    let answer_words = Memo::new(move |_| {
        form.with(|d| (d.kind.needs() != Needs::NoPrompts).then(|| d.answer_words()))
    });
    let run_texts = Memo::new(move |_| form.with(|d| (d.texts(), d.prepend_bos)));
    let pairs = LocalResource::new(move || {
        let loaded = state.session.get().is_some();
        let (clean, corrupted, bos) = prompt_lines.get();
        let wanted = paired();
        async move {
            if !loaded || !wanted {
                return None;
            }
            let count = clean.len();
            let texts = tokenize(state, clean.into_iter().chain(corrupted).collect(), bos).await?;
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
    // Each answer as the tokenizer sees it: an answer must be one token.
    let answer_tokens = LocalResource::new(move || {
        let loaded = state.session.get().is_some();
        let words = answer_words.get();
        async move {
            let words = words.filter(|w| loaded && !w.is_empty())?;
            let texts = tokenize(state, words.clone(), false).await?;
            Some(words.into_iter().zip(texts).collect::<Vec<_>>())
        }
    });
    // The texts a generation, steering or repetition run reads, tokenised as it will read them.
    let text_tokens = LocalResource::new(move || {
        let loaded = state.session.get().is_some();
        let (texts, bos) = run_texts.get();
        async move {
            if !loaded || texts.is_empty() {
                return None;
            }
            let written = texts.iter().map(|(_, t)| t.replace("\\n", "\n")).collect();
            let tokens = tokenize(state, written, bos).await?;
            Some(
                texts
                    .into_iter()
                    .map(|(name, _)| name)
                    .zip(tokens)
                    .collect::<Vec<_>>(),
            )
        }
    });
    let problems = Memo::new(move |_| {
        let mut problems = draft().to_spec().err().unwrap_or_default();
        let texts = text_tokens.get().flatten().unwrap_or_default();
        let length = |name: &str| texts.iter().find(|(n, _)| *n == name).map(|(_, t)| t.len());
        if form.with(|d| d.kind == Kind::Steering && d.fields.steering.at == SteerAt::Front)
            && let (Some(prompt), Some(toward), Some(away)) =
                (length("prompt"), length("toward"), length("away from"))
            && let Some(problem) = steering::front_problem(toward.max(away), prompt)
        {
            problems.push(problem);
        }
        for (word, tokens) in answer_tokens.get().flatten().unwrap_or_default() {
            if tokens.len() != 1 {
                problems.push(format!(
                    "answer {word:?} is {} tokens ({}): an answer must be one token; try another word, or write its id as #id",
                    tokens.len(),
                    tokens.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(", ")
                ));
            }
        }
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

    let prompts = move || {
        (needs() != Needs::NoPrompts).then(|| view! {
            <div class="side-by-side">
                {area(form, "form-clean", "Clean prompts (one per line; \\n for a line break inside one)", |d| &d.clean, |d, v| d.clean = v)}
                {area(form, "form-corrupted", if paired() { "Corrupted prompts (same line, same number of tokens)" } else { "Corrupted prompts (optional)" }, |d| &d.corrupted, |d, v| d.corrupted = v)}
                {area(form, "form-answers", "Answers: correct | incorrect", |d| &d.answers, |d, v| d.answers = v)}
            </div>
            {move || answer_tokens.get().flatten().map(|answers| view! {
                <p id="form-answer-tokens" class="hint">"Answers as the tokenizer sees them: "
                    {answers.into_iter().map(|(word, tokens)| {
                        let single = tokens.len() == 1;
                        view! { <span class="answer-token" class:differs=!single data-answer=word.clone() data-tokens=tokens.len()>{tokens.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(" + ")}</span>" " }
                    }).collect_view()}
                </p>
            })}
            <div class="controls">
                <label>"Metric: "
                    <select id="form-metric" prop:value=move || match form.with(|d| d.metric) {
                        Metric::AnswerProb => "answer_prob",
                        Metric::AnswerLoss => "answer_loss",
                        Metric::LogitDiff => "logit_diff",
                    } on:change=move |ev| {
                        let metric = match event_target_value(&ev).as_str() {
                            "answer_prob" => Metric::AnswerProb,
                            "answer_loss" => Metric::AnswerLoss,
                            _ => Metric::LogitDiff,
                        };
                        form.update(|d| d.metric = metric);
                    }>
                        <option value="logit_diff">"logit difference"</option>
                        <option value="answer_prob">"probability of the answer"</option>
                        <option value="answer_loss">"loss of the answer"</option>
                    </select>
                </label>
            </div>
        })
    };
    view! {
        <details id="patching-form">
            <summary>"Build an experiment (a form for every kind; the JSON below follows it)"</summary>
            <div class="controls">
                <label>"Experiment: "
                    <select id="form-kind" prop:value=move || kind.get().name() on:change=move |ev| {
                        if let Some(kind) = Kind::from_name(&event_target_value(&ev)) {
                            form.update(|d| d.choose(kind));
                        }
                    }>
                        {Kind::ALL.iter().map(|k| view! { <option value=k.name()>{k.title()}</option> }).collect_view()}
                    </select>
                </label>
                <label><input id="form-bos" type="checkbox" prop:checked=move || form.with(|d| d.prepend_bos) on:change=move |ev| form.update(|d| d.prepend_bos = event_target_checked(&ev))/>" prepend <|endoftext|>"</label>
            </div>
            {move || {
                let kind = kind.get();
                let help = kind.about();
                view! {
                    <details id="form-help" class="help" data-kind=kind.name()>
                        <summary>{format!("What {} measures, and how to read it", kind.title().to_lowercase())}</summary>
                        <p>{help.what}</p>
                        <p>{help.read}</p>
                        <p>"Paper: "<a href=help.url target="_blank" rel="noopener">{help.paper}</a></p>
                    </details>
                }
            }}
            {prompts}
            {move || kind_fields(kind.get(), form)}
            {move || match pairs.get().flatten() {
                None => paired().then(|| view! { <p class="hint">"Load a model to see the tokenisations."</p> }).into_any(),
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
                                <table class="alignment" tabindex="0" data-pair=i data-equal=equal.to_string()>
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
            {move || text_tokens.get().flatten().map(|texts| view! {
                <div id="form-text-tokens" class="hint">
                    {texts.into_iter().map(|(name, tokens)| view! {
                        <p data-text-tokens=name data-count=tokens.len()>{format!("{name}: {} token{}: ", tokens.len(), if tokens.len() == 1 { "" } else { "s" })}
                            {tokens.iter().map(|t| view! { <span class="answer-token">{format!("{t:?}")}</span>" " }).collect_view()}
                        </p>
                    }).collect_view()}
                </div>
            })}
            {move || (!problems.get().is_empty()).then(|| view! {
                <ul id="form-problems" class="error" role="alert">{problems.get().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
            })}
            <button id="form-write" on:click=write disabled=move || !problems.get().is_empty()>"Write the spec"</button>
        </details>
    }
}
