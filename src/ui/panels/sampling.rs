//! The fields of generation and steering, one set of components for the experiment form and
//! the Generation panel: both edit a [`FormDraft`], which checks the text and writes the spec.
//! Ids are the field's name after a prefix (`form-`, `generation-`), so both can be on a page.

use super::gedi::GediModel;
use crate::experiments::steering::SteerAt;
use crate::spec::{FormDraft, SamplingDraft};
use leptos::prelude::*;

/// A text input bound to one field of the draft.
fn text_field(
    form: RwSignal<FormDraft>,
    id: String,
    label: &'static str,
    get: fn(&FormDraft) -> &String,
    set: fn(&mut FormDraft, String),
) -> impl IntoView {
    // Wide enough for what is typed there: a hook name, a phrase, or a number.
    let size = match label {
        "at hook" => "24",
        "toward" | "away from" | "banned token ids" | "logit bias (id:bias ...)" => "16",
        "GeDi model (hub id, URL or label)" => "32",
        "desired code" | "undesired code" => "10",
        _ => "6",
    };
    view! {
        <label class="field">{label}" "
            <input id=id type="text" size=size prop:value=move || form.with(|d| get(d).clone()) on:input=move |ev| form.update(|d| set(d, event_target_value(&ev)))/>
        </label>
    }
}

/// A checkbox bound to one flag of the draft's sampling.
fn flag(
    form: RwSignal<FormDraft>,
    id: String,
    label: &'static str,
    get: fn(&SamplingDraft) -> bool,
    set: fn(&mut SamplingDraft, bool),
) -> impl IntoView {
    view! {
        <label><input id=id type="checkbox" prop:checked=move || form.with(|d| get(&d.continuation().sampling)) on:change=move |ev| form.update(|d| set(&mut d.continuation_mut().sampling, event_target_checked(&ev)))/>{label}</label>
    }
}

/// How tokens are picked: length, temperature, truncation, penalties, banned tokens, logit
/// bias, the seed, stopping and the KV cache.
#[component]
pub fn SamplingFields(form: RwSignal<FormDraft>, prefix: &'static str) -> impl IntoView {
    let id = move |name: &str| format!("{prefix}{name}");
    view! {
        <fieldset class="controls">
            <legend>"Picking each token"</legend>
            {text_field(form, id("max-new-tokens"), "max new tokens", |d| &d.continuation().sampling.max_new_tokens, |d, v| d.continuation_mut().sampling.max_new_tokens = v)}
            {text_field(form, id("temperature"), "temperature (0 = greedy)", |d| &d.continuation().sampling.temperature, |d, v| d.continuation_mut().sampling.temperature = v)}
            {text_field(form, id("top-k"), "top-k (empty: off)", |d| &d.continuation().sampling.top_k, |d, v| d.continuation_mut().sampling.top_k = v)}
            {text_field(form, id("top-p"), "top-p (empty: off)", |d| &d.continuation().sampling.top_p, |d, v| d.continuation_mut().sampling.top_p = v)}
            {text_field(form, id("repetition-penalty"), "repetition penalty (empty: off)", |d| &d.continuation().sampling.repetition_penalty, |d, v| d.continuation_mut().sampling.repetition_penalty = v)}
            {text_field(form, id("frequency-penalty"), "frequency penalty", |d| &d.continuation().sampling.frequency_penalty, |d, v| d.continuation_mut().sampling.frequency_penalty = v)}
            {text_field(form, id("presence-penalty"), "presence penalty", |d| &d.continuation().sampling.presence_penalty, |d, v| d.continuation_mut().sampling.presence_penalty = v)}
            {text_field(form, id("banned-tokens"), "banned token ids", |d| &d.continuation().sampling.banned_tokens, |d, v| d.continuation_mut().sampling.banned_tokens = v)}
            {text_field(form, id("logit-bias"), "logit bias (id:bias ...)", |d| &d.continuation().sampling.logit_bias, |d, v| d.continuation_mut().sampling.logit_bias = v)}
            {text_field(form, id("seed"), "seed", |d| &d.seed, |d, v| d.seed = v)}
            {flag(form, id("stop-at-eos"), " stop at <|endoftext|>", |s| s.stop_at_eos, |s, v| s.stop_at_eos = v)}
            {flag(form, id("kv-cache"), " KV cache", |s| s.kv_cache, |s, v| s.kv_cache = v)}
            {text_field(form, id("no-repeat-ngram"), "no repeated n-grams of size (0: off)", |d| &d.continuation().sampling.no_repeat_ngram_size, |d, v| d.continuation_mut().sampling.no_repeat_ngram_size = v)}
        </fieldset>
        <fieldset class="controls">
            <legend>"Beam search"</legend>
            {text_field(form, id("num-beams"), "beams (1: off)", |d| &d.continuation().sampling.num_beams, |d, v| d.continuation_mut().sampling.num_beams = v)}
            {text_field(form, id("length-penalty"), "length penalty", |d| &d.continuation().sampling.length_penalty, |d, v| d.continuation_mut().sampling.length_penalty = v)}
            <p class="hint">"Beams are searched greedily (temperature 0), as Hugging Face's generate() does; every beam's score is shown. Steering acts on every beam; GeDi guides one sequence and does not combine with beams."</p>
        </fieldset>
        <fieldset class="controls">
            <legend>"GeDi: guidance by a class-conditional model"</legend>
            {text_field(form, id("gedi-model"), "GeDi model (hub id, URL or label)", |d| &d.continuation().sampling.gedi.model, |d, v| d.continuation_mut().sampling.gedi.model = v)}
            {text_field(form, id("gedi-desired"), "desired code", |d| &d.continuation().sampling.gedi.desired, |d, v| d.continuation_mut().sampling.gedi.desired = v)}
            {text_field(form, id("gedi-undesired"), "undesired code", |d| &d.continuation().sampling.gedi.undesired, |d, v| d.continuation_mut().sampling.gedi.undesired = v)}
            {text_field(form, id("gedi-weight"), "weight ω", |d| &d.continuation().sampling.gedi.disc_weight, |d, v| d.continuation_mut().sampling.gedi.disc_weight = v)}
            {text_field(form, id("gedi-filter-p"), "filter mass ρ", |d| &d.continuation().sampling.gedi.filter_p, |d, v| d.continuation_mut().sampling.gedi.filter_p = v)}
            {text_field(form, id("gedi-target-p"), "target P(desired) τ", |d| &d.continuation().sampling.gedi.target_p, |d, v| d.continuation_mut().sampling.gedi.target_p = v)}
            {text_field(form, id("gedi-class-bias"), "class bias", |d| &d.continuation().sampling.gedi.class_bias, |d, v| d.continuation_mut().sampling.gedi.class_bias = v)}
            <GediModel form=form prefix=prefix/>
        </fieldset>
    }
}

/// Activation addition: the hook, the two prompts (typed exactly: a leading space is part of a
/// GPT-2 word), the coefficient, and where the difference is added.
#[component]
pub fn SteeringFields(form: RwSignal<FormDraft>, prefix: &'static str) -> impl IntoView {
    let id = move |name: &str| format!("{prefix}{name}");
    view! {
        <fieldset class="controls">
            <legend>"Steering vector"</legend>
            {text_field(form, id("steer-hook"), "at hook", |d| &d.fields.steering.hook, |d, v| d.fields.steering.hook = v)}
            {move || match form.with(|d| d.fields.steering.direction.clone()) {
                None => view! {
                    {text_field(form, id("steer-positive"), "toward", |d| &d.fields.steering.positive, |d, v| d.fields.steering.positive = v)}
                    {text_field(form, id("steer-negative"), "away from", |d| &d.fields.steering.negative, |d, v| d.fields.steering.negative = v)}
                }.into_any(),
                Some(direction) => {
                    let what = match direction.pending_example() {
                        Some(stem) => format!("the direction example {stem} finds (filled in when its run is there)"),
                        None if direction.from.is_empty() => format!("a stored direction ({} values)", direction.values.len()),
                        None => format!("{} ({} values)", direction.from, direction.values.len()),
                    };
                    view! {
                        <p id=id("steer-direction") class="stored-direction">"toward "{what}" "
                            <button type="button" on:click=move |_| form.update(|d| d.fields.steering.direction = None)>"Steer by two prompts instead"</button>
                        </p>
                    }.into_any()
                }
            }}
            {text_field(form, id("steer-coeff"), "coefficient", |d| &d.fields.steering.coeff, |d, v| d.fields.steering.coeff = v)}
            <label title="every position: the difference of the two prompts' last tokens; the front: Turner et al.'s way, both prompts padded with spaces, their difference added position by position at the prompt's start">"added "
                <select id=id("steer-at") prop:value=move || if form.with(|d| d.fields.steering.at) == SteerAt::Front { "front" } else { "every" }
                    on:change=move |ev| {
                        let at = if event_target_value(&ev) == "front" { SteerAt::Front } else { SteerAt::EveryPosition };
                        form.update(|d| d.fields.steering.at = at);
                    }>
                    <option value="every">"at every position"</option>
                    <option value="front">"at the front (ActAdd)"</option>
                </select>
            </label>
        </fieldset>
    }
}
