//! Result grids as figures that carry their numbers: heatmaps for 2-D grids (3-D grids as one
//! heatmap per leading index, small multiples with a zoom), tables for 1-D grids. Every cell has
//! `data-value` and a title; the arrow keys move between cells, and the cell under the pointer or
//! the keyboard is read out under the figure.

use super::files;
use crate::experiments::Grid;
use crate::figures::{Mark, axis_labels, colour, grid_svg};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Where a key sends the focus from a heatmap cell.
enum Step {
    By(isize, isize),
    RowStart,
    RowEnd,
}

/// The arrow keys (and Home/End) move the focus between the `td[data-row][data-col]` cells of
/// one table; the table keeps one tab stop, the cell focused last.
pub fn arrow_keys(ev: leptos::ev::KeyboardEvent) {
    let step = match ev.key().as_str() {
        "ArrowUp" => Step::By(-1, 0),
        "ArrowDown" => Step::By(1, 0),
        "ArrowLeft" => Step::By(0, -1),
        "ArrowRight" => Step::By(0, 1),
        "Home" => Step::RowStart,
        "End" => Step::RowEnd,
        _ => return,
    };
    let Some(cell) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return;
    };
    let at = |name: &str| {
        cell.get_attribute(name)
            .and_then(|v| v.parse::<isize>().ok())
    };
    let (Some(row), Some(col), Ok(Some(table))) =
        (at("data-row"), at("data-col"), cell.closest("table"))
    else {
        return;
    };
    let selector = match step {
        Step::By(dr, dc) => format!("td[data-row=\"{}\"][data-col=\"{}\"]", row + dr, col + dc),
        Step::RowStart => format!("td[data-row=\"{row}\"][data-col=\"0\"]"),
        Step::RowEnd => format!("td[data-row=\"{row}\"]:last-child"),
    };
    let next = table.query_selector(&selector).ok().flatten();
    if let Some(next) = next.and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok()) {
        ev.prevent_default();
        cell.set_tab_index(-1);
        next.set_tab_index(0);
        let _ = next.focus();
    }
}

/// The title of the cell under the pointer or the keyboard focus, for `readout`.
pub fn read_cell(ev: &web_sys::Event, readout: RwSignal<String>) {
    if let Some(title) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .filter(|e| e.tag_name() == "TD")
        .and_then(|e| e.get_attribute("title"))
    {
        readout.set(title);
    }
}

/// One named grid, coloured by distance from `centre` (white): the corrupted metric for raw
/// patching grids, the clean metric for ablations, 0 otherwise. `exports` adds CSV, SVG and
/// PNG downloads.
#[component]
pub fn GridView(
    name: String,
    grid: Grid,
    tokens: Vec<String>,
    centre: f32,
    #[prop(optional)] exports: bool,
    /// Cells with published values: outlined, the value in their title.
    #[prop(optional)]
    marks: Vec<Mark>,
    /// What the grid is called for people (`reading::title`), above its technical name.
    #[prop(optional)]
    title: Option<String>,
) -> impl IntoView {
    let mark_at = |index: usize| marks.iter().find(|m| m.index == index);
    let scale = grid
        .values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |m, v| m.max((v - centre).abs()));
    let caption = format!("{name} [{}]", grid.axes.join(", "));
    // `at`: the leading coordinate of a 3-D grid's heatmap (`layer L3, `), in every cell's title.
    let heatmap = |title: String, offset: usize, at: String| {
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
                        let mark = mark_at(offset + r * cols + c);
                        let title = match mark {
                            Some(mark) => format!("{at}{row_name} {}, {col_name} {}: {v:.4}; {}", row_labels[r], col_labels[c], mark.text()),
                            None => format!("{at}{row_name} {}, {col_name} {}: {v:.4}", row_labels[r], col_labels[c]),
                        };
                        let published = mark.map(|m| m.published.map(|p| p.to_string()).unwrap_or_default());
                        let stop = if r == 0 && c == 0 { "0" } else { "-1" };
                        view! { <td tabindex=stop data-row=r data-col=c data-value=v.to_string() data-published=published class:published=mark.is_some() title=title.clone() aria-label=title style=format!("background:{}", colour(v - centre, scale))></td> }
                    })
                    .collect_view();
                view! { <tr><th scope="row">{row_labels[r].clone()}</th>{cells}</tr> }
            })
            .collect_view();
        view! {
            <table class="heatmap" data-grid=name.clone() data-offset=offset on:keydown=arrow_keys>
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
                            <tr class:published=mark_at(i).is_some()><th scope="row">{labels[i].clone()}</th><td data-row=i data-value=v.to_string() data-published=mark_at(i).map(|m| m.published.map(|p| p.to_string()).unwrap_or_default())>{format!("{v:.4}")}{mark_at(i).map(|m| view! { <span class="published-value">{format!(" · {}", m.text())}</span> })}</td>
                            <td><span class="bar" style=format!("width:{:.1}px;background:{}", 120.0 * (v - centre).abs() / scale.max(1e-12), colour(v - centre, scale))></span></td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }
        2 => heatmap(caption.clone(), 0, String::new()).into_any(),
        3 => {
            let block = grid.shape[1] * grid.shape[2];
            let labels = axis_labels(&grid, 0, &tokens);
            (0..grid.shape[0]).map(|i| heatmap(format!("{caption}, {} {}", grid.axes[0], labels[i]), i * block, format!("{} {}, ", grid.axes[0], labels[i]))).collect_view().into_any()
        }
        _ => view! { <p>{format!("{caption}: {} values (download the result to see them)", grid.values.len())}</p> }.into_any(),
    };
    let export = exports.then(|| {
        let stem = files::file_stem(&name);
        let csv = {
            let (grid, stem) = (grid.clone(), stem.clone());
            move |_| {
                let _ = files::download_text(&format!("{stem}.csv"), "text/csv", &grid.to_csv());
            }
        };
        let svg = grid_svg(&name, &grid, &tokens, centre, &marks);
        let save_svg = {
            let (svg, stem) = (svg.clone(), stem.clone());
            move |_| {
                let _ = files::download_text(&format!("{stem}.svg"), "image/svg+xml", &svg);
            }
        };
        let save_png = move |_| {
            let (svg, stem) = (svg.clone(), stem.clone());
            leptos::task::spawn_local(async move {
                let _ = files::download_png(&format!("{stem}.png"), &svg).await;
            });
        };
        // One menu for the figure's downloads.
        view! {
            <details class="menu downloads">
                <summary>"Download"</summary>
                <div class="menu-items" role="group" aria-label=format!("download {name}")>
                    <button data-export="csv" on:click=csv>"CSV (the numbers)"</button>
                    <button data-export="svg" on:click=save_svg>"SVG (the figure)"</button>
                    <button data-export="png" on:click=save_png>"PNG (an image)"</button>
                </div>
            </details>
        }
    });
    // The colour scale: blue below the centre, white at it, red above, with its numbers.
    let legend = view! {
        <p class="legend" data-centre=centre.to_string() data-scale=scale.to_string()>
            <span>{format!("{:.3}", centre - scale)}</span>
            <span class="ramp" role="img" aria-label=format!("colour scale from {:.3} (blue) through {centre:.3} (white) to {:.3} (red)", centre - scale, centre + scale)></span>
            <span>{format!("{:.3}", centre + scale)}</span>
            <span class="legend-centre">{format!("white: {centre:.3}")}</span>
        </p>
    };
    let readout = RwSignal::new(String::new());
    // Small multiples (a heatmap per layer) can be shrunk to see them all at once, or enlarged.
    let zoom = RwSignal::new(100u32);
    let zoomable = grid.shape.len() >= 2;
    let zoom_control = zoomable.then(|| view! {
        <label class="zoom">"Cell size "
            <input type="range" min="40" max="200" step="10" data-zoom=name.clone() prop:value=move || zoom.get().to_string()
                on:input=move |ev| zoom.set(event_target_value(&ev).parse().unwrap_or(100))/>
        </label>
    });
    let technical = caption.clone();
    // Focusable, so that a wide figure scrolls from the keyboard.
    view! {
        <figure class="grid" data-figure=name.clone() tabindex="0" aria-label=caption
            style=move || format!("--zoom:{}", zoom.get() as f32 / 100.0)
            on:mouseover=move |ev| read_cell(&ev, readout) on:focusin=move |ev| read_cell(&ev, readout)>
            {title.map(|title| view! { <h4 class="figure-title">{title}<small>{technical}</small></h4> })}
            {export}{zoom_control}
            <div class="multiples">{figures}</div>
            <p class="readout" aria-hidden="true">{move || readout.get()}</p>
            {legend}
        </figure>
    }
}
