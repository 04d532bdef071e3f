//! Attention patterns of the current prompt: a layer × head grid of small heatmaps (query
//! positions down, key positions across); hover a cell for the tokens and the weight.
//!
//! GPT-2 small has 144 heads (tens of thousands of cells for one prompt), so they are drawn a
//! few at a time, one batch per task: the page stays responsive while they appear.

use crate::session::inspect::Patterns;
use leptos::prelude::*;
use std::sync::Arc;

/// One head's pattern: `values` is the layer's `[head, query, key]`, row-major.
fn head_view(
    layer: usize,
    head: usize,
    values: &[f32],
    tokens: &[String],
) -> impl IntoView + use<> {
    let pos = tokens.len();
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
}

#[component]
pub fn AttentionPatterns(patterns: Patterns) -> impl IntoView {
    let patterns = Arc::new(patterns);
    let (n_layer, n_head) = (patterns.patterns.len(), patterns.n_head);
    let total = n_layer * n_head;
    // Heads drawn so far: after each batch is drawn, the next in a later task, a few hundred
    // cells at a time (a whole layer of GPT-2 small at 15 tokens is 2700 cells).
    let shown = RwSignal::new(0usize);
    let batch = (600 / (patterns.tokens.len().pow(2)).max(1)).clamp(1, n_head.max(1));
    Effect::new(move |_| {
        if shown.get() < total {
            set_timeout(
                move || shown.update(|s| *s = (*s + batch).min(total)),
                std::time::Duration::ZERO,
            );
        }
    });
    let heads_of = move |layer: usize| {
        let drawn = shown.get().saturating_sub(layer * n_head).min(n_head);
        0..drawn
    };
    let layer_row = move |layer: usize| {
        let patterns = patterns.clone();
        view! {
            <div class="pattern-row">
                <For each=move || heads_of(layer) key=|head| *head let(head)>
                    {head_view(layer, head, &patterns.patterns[layer], &patterns.tokens)}
                </For>
            </div>
        }
    };
    view! {
        <details id="attention" open data-layers-shown=move || (shown.get() / n_head.max(1)).to_string()>
            <summary>"Attention patterns (rows: query positions, columns: key positions)"</summary>
            <For each=move || 0..shown.get().div_ceil(n_head.max(1)) key=|layer| *layer children=layer_row/>
        </details>
    }
}
