//! An SAE's features as targets: activation and attribution patching's optional fields.

use crate::spec::FormDraft;
use crate::spec::draft::sae_targets::FeaturesDraft;
use leptos::prelude::*;

/// The SAE's id, the feature ids and how many to take; inputs `#<prefix>-sae`, `-sae-ids`,
/// `-sae-top`.
pub fn fields(
    form: RwSignal<FormDraft>,
    prefix: &'static str,
    get: fn(&FormDraft) -> &FeaturesDraft,
    get_mut: fn(&mut FormDraft) -> &mut FeaturesDraft,
) -> impl IntoView {
    let input = move |suffix: &'static str,
                      label: &'static str,
                      field: fn(&FeaturesDraft) -> &String,
                      field_mut: fn(&mut FeaturesDraft) -> &mut String| {
        view! {
            <label class="field">{label}" "
                <input id=format!("{prefix}-{suffix}") type="text"
                    prop:value=move || form.with(|d| field(get(d)).clone())
                    on:input=move |ev| form.update(|d| *field_mut(get_mut(d)) = event_target_value(&ev))/>
            </label>
        }
    };
    view! {
        <fieldset class="controls">
            <legend>"SAE features (optional: the features and the error term at the SAE's hook, each position)"</legend>
            {input("sae", "SAE (the id it was loaded under)", |f| &f.sae, |f| &mut f.sae)}
            {input("sae-ids", "features (ids; empty: those that change most)", |f| &f.ids, |f| &mut f.ids)}
            {input("sae-top", "how many", |f| &f.top, |f| &mut f.top)}
        </fieldset>
    }
}
