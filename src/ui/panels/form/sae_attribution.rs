//! SAE feature attribution: the SAE, how many features are listed and patched, the method.

use super::text;
use crate::experiments::AttributionMethod;
use crate::spec::FormDraft;
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <div class="controls">
            {text(form, "form-sae-attribution-id", "SAE (the id it was loaded under)", |d| &d.fields.sae_attribution.sae, |d, v| d.fields.sae_attribution.sae = v)}
            {text(form, "form-sae-attribution-top", "features listed", |d| &d.fields.sae_attribution.top, |d, v| d.fields.sae_attribution.top = v)}
            {text(form, "form-sae-attribution-patched", "of them patched", |d| &d.fields.sae_attribution.patched, |d, v| d.fields.sae_attribution.patched = v)}
            <label>"Method: "
                <select id="form-sae-attribution-method" prop:value=move || match form.with(|d| d.fields.sae_attribution.method) { AttributionMethod::Gradient => "gradient", AttributionMethod::Relp => "relp" }
                    on:change=move |ev| {
                        let method = if event_target_value(&ev) == "relp" { AttributionMethod::Relp } else { AttributionMethod::Gradient };
                        form.update(|d| d.fields.sae_attribution.method = method);
                    }>
                    <option value="gradient">"the gradient"</option>
                    <option value="relp">"RelP (LN and identity rules)"</option>
                </select>
            </label>
        </div>
    }
}
