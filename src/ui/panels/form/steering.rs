//! Steering: the prompt continued, the steering vector, and how each token is picked.

use super::text;
use crate::spec::FormDraft;
use crate::ui::panels::sampling::{SamplingFields, SteeringFields};
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <div class="controls">{text(form, "form-prompt", "prompt to continue (exactly as typed; \\n for a line break)", |d| &d.continuation().prompt, |d, v| d.continuation_mut().prompt = v)}</div>
        <SteeringFields form=form prefix="form-"/>
        <SamplingFields form=form prefix="form-"/>
    }
}
