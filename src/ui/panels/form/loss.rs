//! Per-token loss: the texts.

use super::area;
use crate::spec::FormDraft;
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <div class="side-by-side">{area(form, "form-texts", "Texts (one per line)", |d| &d.fields.loss.texts, |d, v| d.fields.loss.texts = v)}</div>
    }
}
