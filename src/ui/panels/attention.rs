//! Attention patterns of the current prompt, as CircuitsVis draws them: every head as a small
//! heatmap (query positions down, key positions across) that selects it, and the selected head
//! large with the tokens on both axes; hover or focus a cell (arrow keys move) for the tokens
//! and the weight.
//!
//! GPT-2 small has 144 heads (tens of thousands of cells for one prompt), so they are drawn a
//! few at a time, one batch per task: the page stays responsive while they appear.

use crate::session::inspect::Patterns;
use crate::ui::heatmap::{arrow_keys, read_cell};
use leptos::prelude::*;
use std::sync::Arc;

fn shade(w: f32) -> String {
    let shade = 255.0 - 255.0 * w.clamp(0.0, 1.0);
    format!("background:rgb({shade:.0},{shade:.0},255)")
}

/// One head's weights by query row, each with its title. `values` is the layer's
/// `[head, query, key]`, row-major.
fn weights(
    layer: usize,
    head: usize,
    values: &[f32],
    tokens: &[String],
) -> Vec<Vec<(f32, String)>> {
    let pos = tokens.len();
    (0..pos)
        .map(|q| {
            (0..pos)
                .map(|k| {
                    let w = values[(head * pos + q) * pos + k];
                    (
                        w,
                        format!(
                            "L{layer}H{head}: {:?} attends to {:?}: {w:.3}",
                            tokens[q], tokens[k]
                        ),
                    )
                })
                .collect()
        })
        .collect()
}

/// The selected head, large: key tokens across the top, query tokens down the side.
pub(crate) fn focused_view(
    layer: usize,
    head: usize,
    values: &[f32],
    tokens: &[String],
) -> impl IntoView + use<> {
    let readout = RwSignal::new(String::new());
    let rows = weights(layer, head, values, tokens)
        .into_iter()
        .enumerate()
        .map(|(q, row)| {
            let cells = row
                .into_iter()
                .enumerate()
                .map(|(k, (w, title))| {
                    let stop = if q == 0 && k == 0 { "0" } else { "-1" };
                    view! { <td tabindex=stop data-row=q data-col=k data-value=w.to_string() title=title.clone() aria-label=title style=shade(w)></td> }
                })
                .collect_view();
            view! { <tr><th scope="row">{tokens[q].clone()}</th>{cells}</tr> }
        })
        .collect_view();
    view! {
        <figure id="pattern-focus" data-layer=layer data-head=head
            on:mouseover=move |ev| read_cell(&ev, readout) on:focusin=move |ev| read_cell(&ev, readout)>
            <table class="pattern-focus heatmap" on:keydown=arrow_keys>
                <caption>{format!("Layer {layer}, head {head}: each row's query token attends to the key tokens across")}</caption>
                <thead><tr><th>"query \\ key"</th>{tokens.iter().map(|t| view! { <th scope="col">{t.clone()}</th> }).collect_view()}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <p class="readout" aria-hidden="true">{move || readout.get()}</p>
        </figure>
    }
}

/// One head's pattern as a thumbnail that selects the head.
fn head_view(
    layer: usize,
    head: usize,
    values: &[f32],
    tokens: &[String],
    selected: RwSignal<(usize, usize)>,
) -> impl IntoView + use<> {
    let rows = weights(layer, head, values, tokens)
        .into_iter()
        .enumerate()
        .map(|(q, row)| {
            let cells = row
                .into_iter()
                .enumerate()
                .map(|(k, (w, title))| view! { <td data-q=q data-k=k data-value=w.to_string() title=title style=shade(w)></td> })
                .collect_view();
            view! { <tr>{cells}</tr> }
        })
        .collect_view();
    view! {
        <table class="pattern" data-layer=layer data-head=head aria-label=format!("attention pattern of layer {layer}, head {head}")
            class:selected=move || selected.get() == (layer, head) on:click=move |_| selected.set((layer, head))>
            <caption>
                <button class="pick-head" aria-pressed=move || (selected.get() == (layer, head)).to_string()
                    aria-label=format!("L{layer}H{head}: show layer {layer}, head {head} with its tokens")>{format!("L{layer}H{head}")}</button>
            </caption>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[component]
pub fn AttentionPatterns(patterns: Patterns) -> impl IntoView {
    let patterns = Arc::new(patterns);
    let (n_layer, n_head) = (patterns.patterns.len(), patterns.n_head);
    let selected = RwSignal::new((0usize, 0usize));
    let focused = {
        let patterns = patterns.clone();
        move || {
            let (layer, head) = selected.get();
            patterns
                .patterns
                .get(layer)
                .map(|values| focused_view(layer, head, values, &patterns.tokens))
        }
    };
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
                    {head_view(layer, head, &patterns.patterns[layer], &patterns.tokens, selected)}
                </For>
            </div>
        }
    };
    view! {
        <details id="attention" open data-layers-shown=move || (shown.get() / n_head.max(1)).to_string()>
            <summary>"Attention patterns (rows: query positions, columns: key positions; choose a head to see it with its tokens)"</summary>
            {focused}
            <For each=move || 0..shown.get().div_ceil(n_head.max(1)) key=|layer| *layer children=layer_row/>
        </details>
    }
}
