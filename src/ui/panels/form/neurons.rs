//! Neuron attribution: how many neurons to list.

use super::text;
use crate::spec::FormDraft;
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <div class="controls">{text(form, "form-top", "neurons to list", |d| &d.fields.neuron_dla.top, |d, v| d.fields.neuron_dla.top = v)}</div>
    }
}
