//! Result grids as figures that carry their numbers: heatmaps for 2-D grids (3-D grids as one
//! heatmap per leading index), tables for 1-D grids. Every cell has `data-value` and a title.

use crate::experiments::Grid;
use leptos::prelude::*;

/// Diverging colour for `v` in `[-scale, scale]`: blue negative, red positive.
fn colour(v: f32, scale: f32) -> String {
    let t = if scale > 0.0 {
        (v / scale).clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let (r, g, b) = if t >= 0.0 {
        (255.0, 255.0 * (1.0 - t), 255.0 * (1.0 - t))
    } else {
        (255.0 * (1.0 + t), 255.0 * (1.0 + t), 255.0)
    };
    format!("rgb({r:.0},{g:.0},{b:.0})")
}

fn axis_labels(grid: &Grid, axis: usize, tokens: &[String]) -> Vec<String> {
    let n = grid.shape[axis];
    match grid.axes[axis].as_str() {
        "pos" if tokens.len() == n => tokens
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{i} {t:?}"))
            .collect(),
        "component" if grid.labels.first().is_some_and(|l| l.len() == n) => grid.labels[0].clone(),
        "layer" => (0..n).map(|i| format!("L{i}")).collect(),
        "head" => (0..n).map(|i| format!("H{i}")).collect(),
        _ => (0..n).map(|i| i.to_string()).collect(),
    }
}

/// One named grid, coloured by distance from `centre` (white): the corrupted metric for raw
/// patching grids, the clean metric for ablations, 0 otherwise.
#[component]
pub fn GridView(name: String, grid: Grid, tokens: Vec<String>, centre: f32) -> impl IntoView {
    let scale = grid
        .values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |m, v| m.max((v - centre).abs()));
    let caption = format!("{name} [{}]", grid.axes.join(", "));
    let heatmap = |title: String, offset: usize| {
        let (rows, cols) = (
            grid.shape[grid.shape.len() - 2],
            grid.shape[grid.shape.len() - 1],
        );
        let row_axis = grid.shape.len() - 2;
        let row_labels = axis_labels(&grid, row_axis, &tokens);
        let col_labels = axis_labels(&grid, row_axis + 1, &tokens);
        let (row_name, col_name) = (grid.axes[row_axis].clone(), grid.axes[row_axis + 1].clone());
        let body = (0..rows)
            .map(|r| {
                let cells = (0..cols)
                    .map(|c| {
                        let v = grid.values[offset + r * cols + c];
                        let title = format!("{row_name} {}, {col_name} {}: {v:.4}", row_labels[r], col_labels[c]);
                        view! { <td data-row=r data-col=c data-value=v.to_string() title=title style=format!("background:{}", colour(v - centre, scale))></td> }
                    })
                    .collect_view();
                view! { <tr><th scope="row">{row_labels[r].clone()}</th>{cells}</tr> }
            })
            .collect_view();
        view! {
            <table class="heatmap" data-grid=name.clone() data-offset=offset>
                <caption>{title}</caption>
                <thead><tr><th>{format!("{row_name} \\ {col_name}")}</th>{col_labels.iter().map(|l| view! { <th scope="col">{l.clone()}</th> }).collect_view()}</tr></thead>
                <tbody>{body}</tbody>
            </table>
        }
    };
    let figures = match grid.shape.len() {
        1 => {
            let labels = axis_labels(&grid, 0, &tokens);
            view! {
                <table class="bars" data-grid=name.clone()>
                    <caption>{caption.clone()}</caption>
                    <tbody>
                        {grid.values.iter().enumerate().map(|(i, v)| view! {
                            <tr><th scope="row">{labels[i].clone()}</th><td data-row=i data-value=v.to_string()>{format!("{v:.4}")}</td>
                            <td><span class="bar" style=format!("width:{:.1}px;background:{}", 120.0 * (v - centre).abs() / scale.max(1e-12), colour(v - centre, scale))></span></td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }
        2 => heatmap(caption.clone(), 0).into_any(),
        3 => {
            let block = grid.shape[1] * grid.shape[2];
            let labels = axis_labels(&grid, 0, &tokens);
            (0..grid.shape[0]).map(|i| heatmap(format!("{caption}, {} {}", grid.axes[0], labels[i]), i * block)).collect_view().into_any()
        }
        _ => view! { <p>{format!("{caption}: {} values (download the result to see them)", grid.values.len())}</p> }.into_any(),
    };
    view! { <figure class="grid">{figures}</figure> }
}
