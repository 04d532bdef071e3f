//! A failure as people read it: what happened and what to do, in a sentence each, with the
//! precise message folded away beneath.

use crate::failure::Failure;
use leptos::prelude::*;

#[component]
pub fn FailureView(id: &'static str, failure: Failure) -> impl IntoView {
    let (what, next) = failure.advice();
    view! {
        <div id=id class="error failure" role="alert">
            <p><strong>{what}</strong>" "{next}</p>
            <details><summary>"Details"</summary><p class="failure-detail">{failure.to_string()}</p></details>
        </div>
    }
}
