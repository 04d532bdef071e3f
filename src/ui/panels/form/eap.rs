//! Edge attribution patching: how many edges to show, and how the scores are taken.

use super::attribution::methods;
use super::text;
use crate::spec::FormDraft;
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <div class="controls">{text(form, "form-top", "edges to show", |d| &d.fields.edge_attribution_patching.top, |d, v| d.fields.edge_attribution_patching.top = v)}</div>
        {methods(form, |d| &d.fields.edge_attribution_patching.methods, |d| &mut d.fields.edge_attribution_patching.methods)}
    }
}
