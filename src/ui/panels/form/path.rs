//! Path patching: the direction, and the receivers with their input.

use super::text;
use crate::experiments::path::{Direction, HeadInput};
use crate::spec::FormDraft;
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <div class="controls">
            <label>"Direction: "
                <select id="form-direction" prop:value=move || match form.with(|d| d.fields.path_patching.direction) { Direction::Noising => "noising", Direction::Denoising => "denoising" }
                    on:change=move |ev| {
                        let direction = if event_target_value(&ev) == "noising" { Direction::Noising } else { Direction::Denoising };
                        form.update(|d| d.fields.path_patching.direction = direction);
                    }>
                    <option value="noising">"noising (the sender from the corrupted run)"</option>
                    <option value="denoising">"denoising (the sender from the clean run)"</option>
                </select>
            </label>
            {text(form, "form-receivers", "receiver heads (empty: the logits)", |d| &d.fields.path_patching.receivers, |d, v| d.fields.path_patching.receivers = v)}
            <label>"their input: "
                <select id="form-receiver-input" prop:value=move || form.with(|d| d.fields.path_patching.receiver_input.as_str()) on:change=move |ev| {
                    let input = HeadInput::ALL.into_iter().find(|i| i.as_str() == event_target_value(&ev)).unwrap_or(HeadInput::Q);
                    form.update(|d| d.fields.path_patching.receiver_input = input);
                }>
                    <option value="q">"queries"</option>
                    <option value="k">"keys"</option>
                    <option value="v">"values"</option>
                </select>
            </label>
        </div>
    }
}
