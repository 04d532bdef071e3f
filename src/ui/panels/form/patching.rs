//! Activation patching: which activations to patch.

use crate::experiments::PatchTarget;
use crate::spec::FormDraft;
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <fieldset class="controls">
            <legend>"Targets"</legend>
            {PatchTarget::ALL.iter().map(|&target| view! {
                <label><input type="checkbox" data-target=target.name()
                    prop:checked=move || form.with(|d| d.fields.activation_patching.targets.contains(&target))
                    on:change=move |_| form.update(|d| d.fields.activation_patching.toggle(target))/>{format!(" {}", target.name())}</label>
            }).collect_view()}
        </fieldset>
        {super::sae_targets::fields(form, "form-patch", |d| &d.fields.activation_patching.features, |d| &mut d.fields.activation_patching.features)}
    }
}
