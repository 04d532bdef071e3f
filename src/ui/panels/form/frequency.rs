//! Frequency tagging: the sentences (one per line; every word one token), the rhythm, the
//! threshold and the shuffled control.

use super::{area, text};
use crate::spec::FormDraft;
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <div class="side-by-side">{area(form, "form-hftp-sentences", "Sentences (one per line; every word one token, a leading space kept)", |d| &d.fields.frequency_tagging.sentences, |d, v| d.fields.frequency_tagging.sentences = v)}</div>
        <div class="controls">
            {text(form, "form-hftp-words-per-sentence", "words per sentence", |d| &d.fields.frequency_tagging.words_per_sentence, |d, v| d.fields.frequency_tagging.words_per_sentence = v)}
            {text(form, "form-hftp-words-per-phrase", "words per phrase", |d| &d.fields.frequency_tagging.words_per_phrase, |d, v| d.fields.frequency_tagging.words_per_phrase = v)}
            {text(form, "form-hftp-threshold", "tagged above SNR", |d| &d.fields.frequency_tagging.threshold, |d, v| d.fields.frequency_tagging.threshold = v)}
            <label><input id="form-hftp-shuffled" type="checkbox" prop:checked=move || form.with(|d| d.fields.frequency_tagging.shuffled_control)
                on:change=move |ev| form.update(|d| d.fields.frequency_tagging.shuffled_control = event_target_checked(&ev))/>" the same words shuffled, as a control"</label>
        </div>
    }
}
