//! A word-association test: the template, the two target sets and the two attribute sets (one
//! word per line, a leading space kept), and the hook the words' vectors are read at.

use super::{area, text};
use crate::spec::FormDraft;
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <div class="controls">
            {text(form, "form-weat-template", "template ({} is each word)", |d| &d.fields.association_test.template, |d, v| d.fields.association_test.template = v)}
            {text(form, "form-weat-hook", "at hook", |d| &d.fields.association_test.hook, |d, v| d.fields.association_test.hook = v)}
        </div>
        <div class="side-by-side">
            {area(form, "form-weat-x", "Targets X (one word per line; \" John\" with its space)", |d| &d.fields.association_test.targets[0], |d, v| d.fields.association_test.targets[0] = v)}
            {area(form, "form-weat-y", "Targets Y", |d| &d.fields.association_test.targets[1], |d, v| d.fields.association_test.targets[1] = v)}
            {area(form, "form-weat-a", "Attributes A (X's expected side)", |d| &d.fields.association_test.attributes[0], |d, v| d.fields.association_test.attributes[0] = v)}
            {area(form, "form-weat-b", "Attributes B", |d| &d.fields.association_test.attributes[1], |d, v| d.fields.association_test.attributes[1] = v)}
        </div>
    }
}
