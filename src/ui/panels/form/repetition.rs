//! Repetition: the sentence and how many copies.

use super::text;
use crate::spec::FormDraft;
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <div class="controls">
            {text(form, "form-sentence", "sentence (keep its leading space)", |d| &d.fields.repetition.sentence, |d, v| d.fields.repetition.sentence = v)}
            {text(form, "form-repeats", "copies", |d| &d.fields.repetition.repeats, |d, v| d.fields.repetition.repeats = v)}
        </div>
    }
}
