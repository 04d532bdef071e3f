//! A direction from texts: the texts, the hook, and how the direction is found.

use super::{area, text};
use crate::experiments::direction::Method;
use crate::spec::FormDraft;
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <div class="side-by-side">{area(form, "form-direction-texts", "Texts (one per line; for the mean difference, the first half against the second)", |d| &d.fields.direction.texts, |d, v| d.fields.direction.texts = v)}</div>
        <div class="controls">
            {text(form, "form-direction-hook", "at hook", |d| &d.fields.direction.hook, |d, v| d.fields.direction.hook = v)}
            <label>"Direction: "
                <select id="form-direction-method" prop:value=move || match form.with(|d| d.fields.direction.method) { Method::Pca => "pca", Method::MeanDifference => "mean_difference" }
                    on:change=move |ev| {
                        let method = if event_target_value(&ev) == "mean_difference" { Method::MeanDifference } else { Method::Pca };
                        form.update(|d| d.fields.direction.method = method);
                    }>
                    <option value="pca">"the first principal component"</option>
                    <option value="mean_difference">"first half's mean minus second half's"</option>
                </select>
            </label>
        </div>
    }
}
