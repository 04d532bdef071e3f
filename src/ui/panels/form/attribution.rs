//! Attribution patching: what to estimate, how (the gradient, RelP), and whether to compare
//! with activation patching.

use crate::experiments::{AttributionMethod, AttributionTarget, RelpRule};
use crate::spec::{FormDraft, draft::attribution::Methods};
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    view! {
        <div class="controls">
            <label><input id="form-compare" type="checkbox" prop:checked=move || form.with(|d| d.fields.attribution_patching.compare)
                on:change=move |ev| form.update(|d| d.fields.attribution_patching.compare = event_target_checked(&ev))/>" also run the activation patching it estimates (Pearson r)"</label>
        </div>
        {methods(form, |d| &d.fields.attribution_patching.methods, |d| &mut d.fields.attribution_patching.methods)}
        <fieldset class="controls">
            <legend>"Estimate for"</legend>
            {AttributionTarget::ALL.iter().map(|&target| view! {
                <label><input type="checkbox" data-attribution=target.as_str()
                    prop:checked=move || form.with(|d| d.fields.attribution_patching.targets.contains(&target))
                    on:change=move |_| form.update(|d| d.fields.attribution_patching.toggle(target))/>{format!(" {}", target.as_str())}</label>
            }).collect_view()}
        </fieldset>
        {super::sae_targets::fields(form, "form-attribution", |d| &d.fields.attribution_patching.features, |d| &mut d.fields.attribution_patching.features)}
    }
}

/// The methods and RelP's rules, with what RelP changes: attribution and edge attribution
/// patching's.
pub fn methods(
    form: RwSignal<FormDraft>,
    get: fn(&FormDraft) -> &Methods,
    get_mut: fn(&mut FormDraft) -> &mut Methods,
) -> impl IntoView {
    let label = |method| match method {
        AttributionMethod::Gradient => " gradient (attribution patching)",
        AttributionMethod::Relp => " RelP (relevance patching)",
    };
    let rule_label = |rule| match rule {
        RelpRule::Ln => " LayerNorm scale as a constant (LN-rule)",
        RelpRule::Identity => " GELU as the identity times GELU(x)/x (Identity-rule)",
        RelpRule::Attention => " attention pattern as a constant (AH-rule)",
    };
    view! {
        <fieldset class="controls">
            <legend>"Method"</legend>
            {AttributionMethod::ALL.iter().map(|&method| view! {
                <label><input type="checkbox" data-method=method.as_str()
                    prop:checked=move || form.with(|d| get(d).methods.contains(&method))
                    on:change=move |_| form.update(|d| get_mut(d).toggle_method(method))/>{label(method)}</label>
            }).collect_view()}
            <p class="hint">"RelP (Jafari, Eberle, Khakzar and Nanda 2025) costs the same two forward passes and one backward pass as the gradient, but lets the metric's signal flow back by Layer-wise Relevance Propagation rules: through each LayerNorm as if its scale were a constant, and through the MLP's GELU as through the identity scaled by GELU(x)/x. The forward pass is unchanged. On IOI in GPT-2 small its estimates of MLP outputs agree with activation patching at r = 0.99, where the gradient's reach 0.20."</p>
        </fieldset>
        <fieldset class="controls" prop:disabled=move || form.with(|d| !get(d).methods.contains(&AttributionMethod::Relp))>
            <legend>"RelP's rules"</legend>
            {RelpRule::ALL.iter().map(|&rule| view! {
                <label><input type="checkbox" data-relp-rule=rule.as_str()
                    prop:checked=move || form.with(|d| get(d).rules.contains(&rule))
                    on:change=move |_| form.update(|d| get_mut(d).toggle_rule(rule))/>{rule_label(rule)}</label>
            }).collect_view()}
        </fieldset>
    }
}
