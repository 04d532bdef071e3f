//! Attention patterns of the current prompt: a layer × head grid of small heatmaps (query
//! positions down, key positions across); hover a cell for the tokens and the weight.
//!
//! GPT-2 small has 144 heads (tens of thousands of cells for one prompt), so the layers are
//! drawn one per task: the page stays responsive while they appear.

use crate::session::inspect::Patterns;
use leptos::prelude::*;
use std::sync::Arc;

/// One layer's heads: `values` is `[head, query, key]`, row-major.
fn layer_view(
    layer: usize,
    values: &[f32],
    n_head: usize,
    tokens: &[String],
) -> impl IntoView + use<> {
    let pos = tokens.len();
    let heads = (0..n_head)
        .map(|head| {
            let rows = (0..pos)
                .map(|q| {
                    let cells = (0..pos)
                        .map(|k| {
                            let w = values[(head * pos + q) * pos + k];
                            let title = format!("L{layer}H{head}: {:?} attends to {:?}: {w:.3}", tokens[q], tokens[k]);
                            let shade = 255.0 - 255.0 * w.clamp(0.0, 1.0);
                            view! { <td data-q=q data-k=k data-value=w.to_string() title=title style=format!("background:rgb({shade:.0},{shade:.0},255)")></td> }
                        })
                        .collect_view();
                    view! { <tr>{cells}</tr> }
                })
                .collect_view();
            view! {
                <table class="pattern" data-layer=layer data-head=head aria-label=format!("attention pattern of layer {layer}, head {head}")>
                    <caption>{format!("L{layer}H{head}")}</caption>
                    <tbody>{rows}</tbody>
                </table>
            }
        })
        .collect_view();
    view! { <div class="pattern-row">{heads}</div> }
}

#[component]
pub fn AttentionPatterns(patterns: Patterns) -> impl IntoView {
    let patterns = Arc::new(patterns);
    let n_layer = patterns.patterns.len();
    let shown = RwSignal::new(0usize);
    // After each layer is drawn, the next one in a later task.
    Effect::new(move |_| {
        if shown.get() < n_layer {
            set_timeout(move || shown.update(|s| *s += 1), std::time::Duration::ZERO);
        }
    });
    view! {
        <details id="attention" open data-layers-shown=move || shown.get().to_string()>
            <summary>"Attention patterns (rows: query positions, columns: key positions)"</summary>
            <For each=move || 0..shown.get() key=|layer| *layer let(layer)>
                {layer_view(layer, &patterns.patterns[layer], patterns.n_head, &patterns.tokens)}
            </For>
        </details>
    }
}
