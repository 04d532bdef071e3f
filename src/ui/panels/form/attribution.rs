//! Attribution patching: what to estimate, and whether to compare with activation patching.

use crate::experiments::AttributionTarget;
use crate::spec::FormDraft;
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <div class="controls">
            <label><input id="form-compare" type="checkbox" prop:checked=move || form.with(|d| d.fields.attribution_patching.compare)
                on:change=move |ev| form.update(|d| d.fields.attribution_patching.compare = event_target_checked(&ev))/>" also run the activation patching it estimates (Pearson r)"</label>
        </div>
        <fieldset class="controls">
            <legend>"Estimate for"</legend>
            {AttributionTarget::ALL.iter().map(|&target| view! {
                <label><input type="checkbox" data-attribution=target.as_str()
                    prop:checked=move || form.with(|d| d.fields.attribution_patching.targets.contains(&target))
                    on:change=move |_| form.update(|d| d.fields.attribution_patching.toggle(target))/>{format!(" {}", target.as_str())}</label>
            }).collect_view()}
        </fieldset>
    }
}
