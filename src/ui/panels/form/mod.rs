//! Each experiment kind's own fields in the experiment form, one file a kind beside its draft
//! (`spec::draft::<module>`, which turns the text into parameters). The form around them
//! (`experiment_form`) holds what the kinds share: the kind, prompts, answers and metric.

mod ablation;
mod association;
mod attribution;
mod circuit;
mod direction;
mod eap;
mod features;
mod frequency;
mod generation;
mod lens;
mod loss;
mod neurons;
mod patching;
mod path;
mod repetition;
mod sae_attribution;
mod sae_targets;
mod steering;

use crate::spec::{FormDraft, Kind};
use leptos::prelude::*;

macro_rules! kind_fields {
    ($($name:ident => $kind:ident($module:ident),)+) => {
        /// The chosen kind's own fields.
        pub fn kind_fields(kind: Kind, form: RwSignal<FormDraft>) -> AnyView {
            match kind {
                $(Kind::$kind => $module::fields(form).into_any(),)+
            }
        }
    };
}
crate::experiments::for_each_kind!(kind_fields);

/// A one-line text field bound to one field of the draft.
pub fn text(
    form: RwSignal<FormDraft>,
    id: &'static str,
    label: &'static str,
    get: fn(&FormDraft) -> &String,
    set: fn(&mut FormDraft, String),
) -> impl IntoView {
    view! {
        <label class="field">{label}" "
            <input id=id type="text" prop:value=move || form.with(|d| get(d).clone()) on:input=move |ev| form.update(|d| set(d, event_target_value(&ev)))/>
        </label>
    }
}

/// A text area bound to one field of the draft: one text or prompt per line.
pub fn area(
    form: RwSignal<FormDraft>,
    id: &'static str,
    label: &'static str,
    get: fn(&FormDraft) -> &String,
    set: fn(&mut FormDraft, String),
) -> impl IntoView {
    view! {
        <label class="continuation">{label}
            <textarea id=id rows="6" prop:value=move || form.with(|d| get(d).clone()) on:input=move |ev| form.update(|d| set(d, event_target_value(&ev)))></textarea>
        </label>
    }
}
