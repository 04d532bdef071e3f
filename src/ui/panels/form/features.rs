//! SAE features: the SAE, the prompt, features per token and a feature to follow.

use super::text;
use crate::spec::FormDraft;
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <div class="controls">
            {text(form, "form-sae-id", "SAE (the id it was loaded under)", |d| &d.fields.sae_features.sae, |d, v| d.fields.sae_features.sae = v)}
        </div>
        <div class="controls">
            {text(form, "form-sae-prompt", "Prompt", |d| &d.fields.sae_features.prompt, |d, v| d.fields.sae_features.prompt = v)}
        </div>
        <div class="controls">
            {text(form, "form-sae-top", "features per token", |d| &d.fields.sae_features.top, |d, v| d.fields.sae_features.top = v)}
            {text(form, "form-sae-feature", "follow feature (optional)", |d| &d.fields.sae_features.feature, |d, v| d.fields.sae_features.feature = v)}
        </div>
    }
}
