//! Attention patterns of the current prompt: a layer × head grid of small heatmaps (query
//! positions down, key positions across); hover a cell for the tokens and the weight.

use leptos::prelude::*;

/// `hook_pattern` of every layer for one prompt: `patterns[layer]` is `[head, q, k]` row-major.
#[derive(Clone, PartialEq)]
pub struct Patterns {
    pub n_head: usize,
    pub tokens: Vec<String>,
    pub patterns: Vec<Vec<f32>>,
}

#[component]
pub fn AttentionPatterns(patterns: Patterns) -> impl IntoView {
    let Patterns {
        n_head,
        tokens,
        patterns,
    } = patterns;
    let pos = tokens.len();
    let layers = patterns
        .into_iter()
        .enumerate()
        .map(|(layer, values)| {
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
        })
        .collect_view();
    view! {
        <details id="attention" open>
            <summary>"Attention patterns (rows: query positions, columns: key positions)"</summary>
            {layers}
        </details>
    }
}
