//! Generation with every control of the engine, tokens streaming in as they are produced, and
//! optionally an activation-addition steer shown beside the unsteered continuation. The panel
//! writes a generation or steering spec and runs it like any other.

use super::sampling::{SamplingFields, SteeringFields};
use crate::experiments::GenerationName;
use crate::session::{Event, Failure, RunSpec};
use crate::spec::draft::generation;
use crate::spec::{FormDraft, Kept, Kind, SamplingDraft, TokenChoice};
use crate::ui::{AppState, FailureView, ModelCall};
use leptos::prelude::*;

/// A continuation as tokens a reader can hover or focus: each shaded by its probability, its
/// title the probability and the step's most likely tokens. The element around it carries the
/// ids and the text decoded whole (a token's bytes may complete a character only with the next
/// one's).
#[component]
pub fn TokenStrip(choices: Vec<TokenChoice>) -> impl IntoView {
    choices
        .into_iter()
        .enumerate()
        .map(|(i, choice)| {
            let describe = choice.describe();
            // Guided tokens are shaded by how desired they are, the others by how likely.
            let shade = choice
                .p_desired
                .or(choice.prob)
                .map(|p| format!("--p:{p:.3}"))
                .unwrap_or_default();
            view! {
                <span class="token" class:guided=choice.p_desired.is_some() tabindex="0" data-step=i data-prob=choice.prob.map(|p| p.to_string())
                    data-p-desired=choice.p_desired.map(|p| p.to_string()) data-filtered=choice.filtered.map(|n| n.to_string())
                    title=describe.clone() aria-label=describe style=shade>{choice.text}</span>
            }
        })
        .collect_view()
}

/// A beam search's finished beams, best first, each with its score (nothing without beams).
#[component]
pub fn BeamList(name: &'static str, beams: Vec<(f32, String)>) -> impl IntoView {
    (!beams.is_empty()).then(|| {
        view! {
            <ol class="beams" data-continuation=name aria-label="finished beams, best first">
                {beams.into_iter().map(|(score, text)| view! {
                    <li data-score=score.to_string()><span class="score">{format!("{score:.3}")}</span>" "<q>{text}</q></li>
                }).collect_view()}
            </ol>
        }
    })
}

#[component]
pub fn GenerationPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let form = RwSignal::new({
        let mut draft = FormDraft {
            kind: Kind::Generation,
            prepend_bos: false,
            kept: Kept {
                title: "Generation (from the panel)".into(),
                ..Kept::default()
            },
            ..FormDraft::default()
        };
        *draft.continuation_mut() = generation::Draft {
            prompt: "The quick brown fox".into(),
            sampling: SamplingDraft {
                max_new_tokens: "24".into(),
                temperature: "0".into(),
                ..SamplingDraft::default()
            },
        };
        draft
    });
    let steer = move || form.with(|d| d.kind == Kind::Steering);
    // The continuations as their tokens stream in; the reply's, once done.
    let streamed = RwSignal::new(Vec::<(GenerationName, Vec<u32>, Vec<TokenChoice>)>::new());
    let problem = RwSignal::new(None::<String>);
    let call = ModelCall::<RunSpec>::new(state);
    let busy = move || call.pending();
    let outputs = move || {
        let finished = (!busy())
            .then(|| {
                call.with_answer(|result| {
                    let mut all: Vec<_> = result
                        .generations
                        .iter()
                        .map(|(name, g)| {
                            (
                                *name,
                                g.generation.new_ids.clone(),
                                g.choices(),
                                g.text.clone(),
                                g.beams(),
                            )
                        })
                        .collect();
                    // As they were generated: the steered continuation second.
                    all.sort_by_key(|(name, ..)| *name == GenerationName::Steered);
                    Some(all)
                })
            })
            .flatten();
        finished.unwrap_or_else(|| {
            streamed
                .get()
                .into_iter()
                .map(|(name, ids, choices)| {
                    let text = choices.iter().map(|c| c.text.as_str()).collect::<String>();
                    (name, ids, choices, text, vec![])
                })
                .collect()
        })
    };
    // Stopped: the tokens so far stay, and no error is shown.
    let error = move || {
        problem
            .get()
            .map(|message| Failure::Input { message })
            .or_else(|| call.failure().filter(|f| *f != Failure::Cancelled))
    };

    let start = move |_| {
        let mut draft = form.get_untracked();
        if let Some(session) = state.session.get_untracked() {
            draft.model = session.name.clone();
        }
        let spec = match draft.to_spec() {
            Ok(spec) => spec,
            Err(problems) => return problem.set(Some(problems.join("; "))),
        };
        problem.set(None);
        streamed.set(vec![]);
        let on_event = move |event| {
            if let Event::Token(new) = event {
                streamed.update(|o| {
                    if o.len() <= new.run {
                        o.push((new.name, vec![], vec![]));
                    }
                    o[new.run].1.push(new.token);
                    o[new.run].2.push(new.choice);
                });
            }
        };
        call.run(RunSpec::new(spec), on_event);
    };
    let stop = move |_| call.cancel();

    view! {
        <section class="panel" aria-labelledby="generation-heading">
            <h2 id="generation-heading">"Generation"</h2>
            <label for="generation-prompt">"Prompt to continue (exactly as typed)"</label>
            <textarea id="generation-prompt" rows="2" cols="80" prop:value=move || form.with(|d| d.continuation().prompt.clone()) on:input=move |ev| form.update(|d| d.continuation_mut().prompt = event_target_value(&ev))></textarea>
            <div class="controls">
                <label><input id="generation-bos" type="checkbox" prop:checked=move || form.with(|d| d.prepend_bos) on:change=move |ev| form.update(|d| d.prepend_bos = event_target_checked(&ev))/>" prepend <|endoftext|>"</label>
                <label><input id="generation-steer" type="checkbox" prop:checked=steer on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    form.update(|d| d.steer(on));
                }/>" steer (activation addition)"</label>
            </div>
            <SamplingFields form=form prefix="generation-"/>
            {move || steer().then(|| view! { <SteeringFields form=form prefix="generation-"/> })}
            <button id="generate" on:click=start disabled=busy>"Generate"</button>
            <button id="stop-generation" on:click=stop disabled=move || !busy()>"Stop"</button>
            {move || error().map(|failure| view! { <FailureView id="generation-error" failure=failure/> })}
            <div class="side-by-side" aria-live="polite">
                {move || outputs().into_iter().map(|(name, ids, choices, text, beams)| {
                    let ids = ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
                    let guided = choices.iter().any(|c| c.p_desired.is_some());
                    view! {
                    <div class="continuation">
                        <h3>{name.as_str()}</h3>
                        {guided.then(|| view! { <p class="hint">"Guided by GeDi: each token is shaded by its probability of the desired class; hover or focus it for the number and how many tokens the filter removed."</p> })}
                        <p class="token-strip" data-continuation=name.as_str() data-ids=ids data-text=text><TokenStrip choices=choices/></p>
                        <BeamList name=name.as_str() beams=beams/>
                    </div>
                    }
                }).collect_view()}
            </div>
        </section>
    }
}
