//! Activation patching without writing JSON: clean and corrupted prompts side by side with
//! their tokenisations aligned (differences marked, unequal lengths refused), answers, metric
//! and targets; it writes the spec that the experiment panel runs.

use crate::experiments::{Metric, PatchTarget, patching};
use crate::session::{Reply, Request};
use crate::spec::examples::EXAMPLES;
use crate::spec::{Experiment, ModelRef, PromptInput, Prompts, SPEC_VERSION, Spec, TokenInput};
use crate::ui::AppState;
use leptos::prelude::*;

/// The IOI example's prompts, answers and targets, as the form's starting point.
fn ioi() -> (String, String, String, Vec<PatchTarget>) {
    let spec = Spec::from_json(EXAMPLES[0].json).expect("the bundled example parses");
    let prompts = spec.prompts.expect("the example has prompts");
    let text = |inputs: &[PromptInput]| {
        inputs
            .iter()
            .filter_map(|p| match p {
                PromptInput::Text(t) => Some(t.clone()),
                PromptInput::Ids(_) => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let token = |t: &TokenInput| match t {
        TokenInput::Text(t) => t.trim().to_string(),
        TokenInput::Id(id) => format!("#{id}"),
    };
    let answers = prompts
        .answers
        .iter()
        .map(|[a, b]| format!("{} | {}", token(a), token(b)))
        .collect::<Vec<_>>()
        .join("\n");
    let targets = match spec.experiment {
        Experiment::ActivationPatching(params) => params.targets,
        _ => vec![PatchTarget::ResidPre],
    };
    (
        text(&prompts.clean),
        text(&prompts.corrupted),
        answers,
        targets,
    )
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// `" Mary | John"` → the two answers, each with its leading space (GPT-2 tokens of words).
fn answer_pair(line: &str) -> Result<[TokenInput; 2], String> {
    let (a, b) = line
        .split_once('|')
        .ok_or_else(|| format!("answers: `{line}` is not `correct | incorrect`"))?;
    let word = |w: &str| TokenInput::Text(format!(" {}", w.trim()));
    Ok([word(a), word(b)])
}

/// One prompt pair's tokens, aligned by position.
#[derive(Clone, PartialEq)]
struct Pair {
    clean: Vec<String>,
    corrupted: Vec<String>,
}

#[component]
pub fn PatchingForm(spec_text: RwSignal<String>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let (clean0, corrupted0, answers0, targets0) = ioi();
    let clean = RwSignal::new(clean0);
    let corrupted = RwSignal::new(corrupted0);
    let answers = RwSignal::new(answers0);
    let bos = RwSignal::new(true);
    let metric = RwSignal::new(Metric::LogitDiff);
    let targets = RwSignal::new(targets0);

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
        let (clean, corrupted, answers) = (
            lines(&clean.get()),
            lines(&corrupted.get()),
            lines(&answers.get()),
        );
        let mut problems = Vec::new();
        if clean.is_empty() {
            problems.push("write at least one clean prompt".to_string());
        }
        if clean.len() != corrupted.len() || clean.len() != answers.len() {
            problems.push(format!(
                "{} clean prompts, {} corrupted prompts and {} answer pairs: one of each per line",
                clean.len(),
                corrupted.len(),
                answers.len()
            ));
        }
        problems.extend(answers.iter().filter_map(|a| answer_pair(a).err()));
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
        if targets.get().is_empty() {
            problems.push("choose at least one target".into());
        }
        problems
    });

    let write = move |_| {
        let answer_pairs: Result<Vec<_>, _> = lines(&answers.get_untracked())
            .iter()
            .map(|l| answer_pair(l))
            .collect();
        let Ok(answer_pairs) = answer_pairs else {
            return;
        };
        let model = state
            .session
            .get_untracked()
            .map(|s| s.name.clone())
            .unwrap_or_else(|| "openai-community/gpt2".into());
        let spec = Spec {
            version: SPEC_VERSION,
            title: "Activation patching (from the form)".into(),
            model: ModelRef {
                id: model,
                revision: None,
            },
            prompts: Some(Prompts {
                clean: lines(&clean.get_untracked())
                    .into_iter()
                    .map(PromptInput::Text)
                    .collect(),
                corrupted: lines(&corrupted.get_untracked())
                    .into_iter()
                    .map(PromptInput::Text)
                    .collect(),
                answers: answer_pairs,
                prepend_bos: bos.get_untracked(),
            }),
            metric: metric.get_untracked(),
            experiment: Experiment::ActivationPatching(patching::Params {
                targets: targets.get_untracked(),
                max_rows: 64,
            }),
            seed: 0,
        };
        spec_text.set(spec.to_json());
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
