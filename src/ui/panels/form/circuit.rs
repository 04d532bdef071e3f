//! The circuit: the heads kept.

use super::text;
use crate::spec::FormDraft;
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <div class="controls">{text(form, "form-keep", "heads to keep (layer.head, as 9.9 10.7)", |d| &d.fields.circuit.keep, |d, v| d.fields.circuit.keep = v)}</div>
    }
}
