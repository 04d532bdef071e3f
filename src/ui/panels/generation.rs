//! Generation with every control of the engine, tokens streaming in as they are produced, and
//! optionally an activation-addition steer shown beside the unsteered continuation. The panel
//! writes a generation or steering spec and runs it like any other.

use crate::experiments::{GenerationConfig, Metric, generation, steering};
use crate::hooks::UnknownHook;
use crate::session::{Event, Failure, Reply, Request};
use crate::spec::{Experiment, ModelRef, PromptInput, SPEC_VERSION, Spec};
use crate::ui::{AppState, FailureView, ModelCall};
use leptos::prelude::*;

fn parse_ids(text: &str) -> Result<Vec<u32>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u32>()
                .map_err(|_| format!("`{s}` is not a token id"))
        })
        .collect()
}

fn number<T: std::str::FromStr>(label: &str, text: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{label}: `{text}` is not a number"))
}

fn optional<T: std::str::FromStr>(label: &str, text: &str) -> Result<Option<T>, String> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        number(label, text).map(Some)
    }
}

/// A labelled text input bound to a signal.
#[component]
fn Field(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    #[prop(default = "6")] size: &'static str,
) -> impl IntoView {
    view! {
        <label class="field">{label}" "
            <input id=id type="text" size=size prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
        </label>
    }
}

#[component]
pub fn GenerationPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let prompt = RwSignal::new("The quick brown fox".to_string());
    let prepend_bos = RwSignal::new(false);
    let max_new = RwSignal::new("24".to_string());
    let temperature = RwSignal::new("0".to_string());
    let top_k = RwSignal::new(String::new());
    let top_p = RwSignal::new(String::new());
    let repetition = RwSignal::new(String::new());
    let frequency = RwSignal::new("0".to_string());
    let presence = RwSignal::new("0".to_string());
    let banned = RwSignal::new(String::new());
    let seed = RwSignal::new("0".to_string());
    let kv_cache = RwSignal::new(true);
    let steer = RwSignal::new(false);
    // Turner et al.'s placement: the padded prompts' difference at the prompt's front.
    let front = RwSignal::new(false);
    let hook = RwSignal::new("blocks.6.hook_resid_pre".to_string());
    let positive = RwSignal::new(" Love".to_string());
    let negative = RwSignal::new(" Hate".to_string());
    let coeff = RwSignal::new("5".to_string());
    // The continuations as their tokens stream in; the reply's, decoded whole, once done (a
    // token's bytes may complete a character only with the next one's).
    let streamed = RwSignal::new(Vec::<(String, Vec<u32>, String)>::new());
    let problem = RwSignal::new(None::<String>);
    let call = ModelCall::new(state);
    let busy = move || call.pending();
    let outputs = move || {
        let finished = (!busy())
            .then(|| {
                call.with_reply(|reply| match reply {
                    Reply::Run(result) => {
                        let mut all: Vec<_> = result
                            .generations
                            .iter()
                            .map(|(name, g)| {
                                (name.clone(), g.generation.new_ids.clone(), g.text.clone())
                            })
                            .collect();
                        // As they were generated: the steered continuation second.
                        all.sort_by_key(|(name, _, _)| name == "steered");
                        Some(all)
                    }
                    _ => None,
                })
            })
            .flatten();
        finished.unwrap_or_else(|| streamed.get())
    };
    // Stopped: the tokens so far stay, and no error is shown.
    let error = move || {
        problem
            .get()
            .map(|message| Failure::Input { message })
            .or_else(|| call.failure().filter(|f| *f != Failure::Cancelled))
    };

    let start = move |_| {
        let spec = (|| -> Result<Spec, String> {
            let seed = number("seed", &seed.get_untracked())?;
            let config = GenerationConfig {
                max_new_tokens: number("max tokens", &max_new.get_untracked())?,
                temperature: number("temperature", &temperature.get_untracked())?,
                top_k: optional("top-k", &top_k.get_untracked())?,
                top_p: optional("top-p", &top_p.get_untracked())?,
                repetition_penalty: optional("repetition penalty", &repetition.get_untracked())?,
                frequency_penalty: number("frequency penalty", &frequency.get_untracked())?,
                presence_penalty: number("presence penalty", &presence.get_untracked())?,
                banned_tokens: parse_ids(&banned.get_untracked())?,
                seed,
                kv_cache: kv_cache.get_untracked(),
                ..GenerationConfig::default()
            };
            let prompt = PromptInput::Text(prompt.get_untracked());
            let prepend_bos = prepend_bos.get_untracked();
            let experiment = if steer.get_untracked() {
                Experiment::Steering(steering::Params {
                    hook: hook
                        .get_untracked()
                        .trim()
                        .parse()
                        .map_err(|e: UnknownHook| e.to_string())?,
                    positive: PromptInput::Text(positive.get_untracked()),
                    negative: PromptInput::Text(negative.get_untracked()),
                    coeff: number("coefficient", &coeff.get_untracked())?,
                    prompt,
                    prepend_bos,
                    generation: config,
                    at: if front.get_untracked() {
                        steering::SteerAt::Front
                    } else {
                        steering::SteerAt::EveryPosition
                    },
                })
            } else {
                Experiment::Generation(generation::Params {
                    prompt,
                    prepend_bos,
                    generation: config,
                    interventions: vec![],
                })
            };
            let model = state.session.get_untracked().map(|s| s.name.clone());
            Ok(Spec {
                version: SPEC_VERSION,
                title: "Generation (from the panel)".into(),
                model: ModelRef {
                    id: model.unwrap_or_default(),
                    revision: None,
                },
                prompts: None,
                metric: Metric::default(),
                experiment,
                seed,
                published: None,
            })
        })();
        let spec = match spec {
            Ok(spec) => spec,
            Err(e) => return problem.set(Some(e)),
        };
        problem.set(None);
        streamed.set(vec![]);
        let on_event = move |event| {
            if let Event::Token(new) = event {
                streamed.update(|o| {
                    if o.len() <= new.run {
                        o.push((new.name.clone(), vec![], String::new()));
                    }
                    o[new.run].1.push(new.token);
                    o[new.run].2.push_str(&new.text);
                });
            }
        };
        call.run(
            Request::Run {
                spec: Box::new(spec),
            },
            on_event,
        );
    };
    let stop = move |_| call.cancel();

    view! {
        <section class="panel" aria-labelledby="generation-heading">
            <h2 id="generation-heading">"Generation"</h2>
            <label for="generation-prompt">"Prompt to continue"</label>
            <textarea id="generation-prompt" rows="2" cols="80" prop:value=move || prompt.get() on:input=move |ev| prompt.set(event_target_value(&ev))></textarea>
            <div class="controls">
                <label><input id="generation-bos" type="checkbox" prop:checked=move || prepend_bos.get() on:change=move |ev| prepend_bos.set(event_target_checked(&ev))/>" prepend <|endoftext|>"</label>
                <Field id="max-new-tokens" label="max tokens" value=max_new/>
                <Field id="temperature" label="temperature (0 = greedy)" value=temperature/>
                <Field id="top-k" label="top-k" value=top_k/>
                <Field id="top-p" label="top-p" value=top_p/>
                <Field id="repetition-penalty" label="repetition penalty" value=repetition/>
                <Field id="frequency-penalty" label="frequency penalty" value=frequency/>
                <Field id="presence-penalty" label="presence penalty" value=presence/>
                <Field id="banned-tokens" label="banned token ids" value=banned size="14"/>
                <Field id="seed" label="seed" value=seed/>
                <label><input id="kv-cache" type="checkbox" prop:checked=move || kv_cache.get() on:change=move |ev| kv_cache.set(event_target_checked(&ev))/>" KV cache"</label>
            </div>
            <div class="controls">
                <label><input id="steer" type="checkbox" prop:checked=move || steer.get() on:change=move |ev| steer.set(event_target_checked(&ev))/>" steer (activation addition) "</label>
                <Field id="steer-hook" label="at" value=hook size="24"/>
                <Field id="steer-positive" label="toward" value=positive size="10"/>
                <Field id="steer-negative" label="away from" value=negative size="10"/>
                <Field id="steer-coeff" label="coefficient" value=coeff/>
                <label title="every position: the difference of the two prompts' last tokens; the front: Turner et al.'s way, both prompts padded with spaces, their difference added position by position at the prompt's start">"added "
                    <select id="steer-at" on:change=move |ev| front.set(event_target_value(&ev) == "front")>
                        <option value="every">"at every position"</option>
                        <option value="front">"at the front (ActAdd)"</option>
                    </select>
                </label>
            </div>
            <button id="generate" on:click=start disabled=busy>"Generate"</button>
            <button id="stop-generation" on:click=stop disabled=move || !busy()>"Stop"</button>
            {move || error().map(|failure| view! { <FailureView id="generation-error" failure=failure/> })}
            <div class="side-by-side" aria-live="polite">
                {move || outputs().into_iter().map(|(name, ids, text)| {
                    let ids = ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
                    view! {
                        <div class="continuation">
                            <h3>{name.clone()}</h3>
                            <p data-continuation=name data-ids=ids>{text}</p>
                        </div>
                    }
                }).collect_view()}
            </div>
        </section>
    }
}
