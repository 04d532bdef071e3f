//! Ablation: replaced by what, each of which components, and where.

use super::text;
use crate::experiments::ablation::AblationKind;
use crate::spec::FormDraft;
use crate::spec::draft::ablation::Unit;
use leptos::prelude::*;

pub fn fields(form: RwSignal<FormDraft>) -> impl IntoView {
    let kind_name = |kind: AblationKind| match kind {
        AblationKind::Zero => "zero",
        AblationKind::Mean => "mean",
        AblationKind::Resample => "resample",
    };
    view! {
        <div class="controls">
            <label>"Replace by: "
                <select id="form-ablation" prop:value=move || kind_name(form.with(|d| d.fields.ablation.ablation)) on:change=move |ev| {
                    let kind = [AblationKind::Zero, AblationKind::Mean, AblationKind::Resample]
                        .into_iter()
                        .find(|k| kind_name(*k) == event_target_value(&ev))
                        .unwrap_or(AblationKind::Zero);
                    form.update(|d| d.fields.ablation.ablation = kind);
                }>
                    <option value="zero">"zero"</option>
                    <option value="mean">"the mean over the clean batch"</option>
                    <option value="resample">"the corrupted run's value"</option>
                </select>
            </label>
            <label>"Each of: "
                <select id="form-ablation-unit" prop:value=move || form.with(|d| d.fields.ablation.unit.as_str()) on:change=move |ev| {
                    if let Some(unit) = Unit::from_name(&event_target_value(&ev)) {
                        form.update(|d| d.fields.ablation.unit = unit);
                    }
                }>
                    <option value="heads">"the heads"</option>
                    <option value="mlp">"the MLP layers"</option>
                    <option value="neurons">"neurons of one layer"</option>
                </select>
            </label>
            {move || (form.with(|d| d.fields.ablation.unit == Unit::Neurons)).then(|| view! {
                {text(form, "form-neuron-layer", "layer", |d| &d.fields.ablation.neuron_layer, |d, v| d.fields.ablation.neuron_layer = v)}
                {text(form, "form-neurons", "neurons (empty: all)", |d| &d.fields.ablation.neurons, |d, v| d.fields.ablation.neurons = v)}
            })}
            {text(form, "form-position", "at position (empty: all)", |d| &d.fields.ablation.position, |d, v| d.fields.ablation.position = v)}
        </div>
    }
}
