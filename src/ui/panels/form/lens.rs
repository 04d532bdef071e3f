//! The logit lens: no parameters.

use crate::spec::FormDraft;
use leptos::prelude::*;

pub fn fields(_: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <p class="hint">"No parameters: the logit lens, the decomposed residual stream and each head's direct logit attribution, at the last position."</p>
    }
}
