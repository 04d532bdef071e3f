//! Generation: the prompt continued, and how each token is picked.

use super::text;
use crate::spec::FormDraft;
use crate::ui::panels::sampling::SamplingFields;
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <div class="controls">{text(form, "form-prompt", "prompt to continue (exactly as typed; \\n for a line break)", |d| &d.continuation().prompt, |d, v| d.continuation_mut().prompt = v)}</div>
        <SamplingFields form=form prefix="form-"/>
    }
}
