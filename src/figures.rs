//! Figures as standalone SVG documents: what the page draws and what "export SVG/PNG" saves.
//! Pure functions of the result, so the CLI and the browser draw the same pictures.

use crate::experiments::Grid;
use crate::experiments::eap::{Downstream, Edge, Qkv, Upstream};
use std::fmt::Write;

/// Diverging colour for `v` in `[-scale, scale]`: blue negative, white 0, red positive.
pub fn colour(v: f32, scale: f32) -> String {
    let t = if scale > 0.0 && v.is_finite() {
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

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Labels along `axis`: tokens for positions, `L0`/`H0` for layers and heads, the grid's own
/// labels for components, else indices.
pub fn axis_labels(grid: &Grid, axis: usize, tokens: &[String]) -> Vec<String> {
    let n = grid.shape[axis];
    match grid.axes[axis].as_str() {
        "pos" if tokens.len() == n => tokens
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{i} {t:?}"))
            .collect(),
        _ if grid.labels.get(axis).is_some_and(|l| l.len() == n) => grid.labels[axis].clone(),
        "layer" => (0..n).map(|i| format!("L{i}")).collect(),
        "head" => (0..n).map(|i| format!("H{i}")).collect(),
        _ => (0..n).map(|i| i.to_string()).collect(),
    }
}

/// A cell that carries a published value (or that a paper names): outlined, the value in its
/// title.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// The cell's flat index in the grid.
    pub index: usize,
    pub published: Option<f32>,
    pub note: String,
}

impl Mark {
    /// `published 2.985 (name mover)`, `published: name mover`.
    pub fn text(&self) -> String {
        match (self.published, self.note.is_empty()) {
            (Some(v), true) => format!("published {v}"),
            (Some(v), false) => format!("published {v} ({})", self.note),
            (None, _) => format!("published: {}", self.note),
        }
    }
}

/// A whole grid as one SVG: a row for 1-D grids, a heatmap for 2-D grids, one heatmap per
/// leading index (stacked) for 3-D grids. `marks` outline cells with published values.
pub fn grid_svg(name: &str, grid: &Grid, tokens: &[String], centre: f32, marks: &[Mark]) -> String {
    let caption = format!("{name} [{}]", grid.axes.join(", "));
    match grid.shape.len() {
        1 => {
            heatmap_sized(
                &caption,
                grid,
                0,
                &[grid.axes[0].clone()],
                &axis_labels(grid, 0, tokens),
                centre,
                marks,
            )
            .0
        }
        2 => {
            heatmap_sized(
                &caption,
                grid,
                0,
                &axis_labels(grid, 0, tokens),
                &axis_labels(grid, 1, tokens),
                centre,
                marks,
            )
            .0
        }
        _ => {
            let (rows, cols) = (axis_labels(grid, 1, tokens), axis_labels(grid, 2, tokens));
            let block = rows.len() * cols.len();
            let lead = axis_labels(grid, 0, tokens);
            let parts: Vec<(String, f32, f32)> = (0..grid.shape[0]
                .min(grid.values.len() / block.max(1)))
                .map(|i| {
                    heatmap_sized(
                        &format!("{caption}, {} {}", grid.axes[0], lead[i]),
                        grid,
                        i * block,
                        &rows,
                        &cols,
                        centre,
                        marks,
                    )
                })
                .collect();
            let width = parts.iter().map(|(_, w, _)| *w).fold(0.0, f32::max);
            let mut y = 0.0;
            let mut body = String::new();
            for (part, _, height) in &parts {
                body.push_str(&part.replacen("<svg ", &format!("<svg y=\"{y:.0}\" "), 1));
                y += height.round();
            }
            format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{y:.0}\" viewBox=\"0 0 {width:.0} {y:.0}\">\n{body}</svg>"
            )
        }
    }
}

const CELL: f32 = 18.0;
const FONT: &str = "font-family=\"sans-serif\" font-size=\"11\"";

/// The last two axes of `grid` from `offset` as a heatmap, coloured around `centre`.
/// `rows`/`cols` label the axes; every cell carries its value in a `<title>`.
pub fn heatmap_svg(
    title: &str,
    grid: &Grid,
    offset: usize,
    rows: &[String],
    cols: &[String],
    centre: f32,
) -> String {
    heatmap_sized(title, grid, offset, rows, cols, centre, &[]).0
}

/// [`heatmap_svg`] with the drawing's width and height, for stacking.
fn heatmap_sized(
    title: &str,
    grid: &Grid,
    offset: usize,
    rows: &[String],
    cols: &[String],
    centre: f32,
    marks: &[Mark],
) -> (String, f32, f32) {
    let (n_rows, n_cols) = (rows.len(), cols.len());
    let block = &grid.values[offset..offset + n_rows * n_cols];
    let scale = block
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |m, v| m.max((v - centre).abs()));
    let left = 8.0 + 6.5 * rows.iter().map(|l| l.chars().count()).max().unwrap_or(1) as f32;
    let top = 28.0 + 6.5 * cols.iter().map(|l| l.chars().count()).max().unwrap_or(1) as f32;
    let (width, height) = (
        left + CELL * n_cols as f32 + 70.0,
        top + CELL * n_rows as f32 + if marks.is_empty() { 10.0 } else { 24.0 },
    );
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"4\" y=\"14\" {FONT} font-weight=\"bold\">{}</text>\n",
        escape(title)
    );
    for (r, label) in rows.iter().enumerate() {
        let y = top + CELL * (r as f32 + 0.7);
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{y:.1}\" text-anchor=\"end\" {FONT}>{}</text>",
            left - 4.0,
            escape(label)
        );
    }
    for (c, label) in cols.iter().enumerate() {
        let x = left + CELL * (c as f32 + 0.7);
        let _ = writeln!(
            svg,
            "<text transform=\"translate({x:.1},{:.1}) rotate(-60)\" {FONT}>{}</text>",
            top - 4.0,
            escape(label)
        );
    }
    for r in 0..n_rows {
        for c in 0..n_cols {
            let v = block[r * n_cols + c];
            let _ = writeln!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{CELL}\" height=\"{CELL}\" fill=\"{}\" stroke=\"white\"><title>{}, {}: {v}</title></rect>",
                left + CELL * c as f32,
                top + CELL * r as f32,
                colour(v - centre, scale),
                escape(&rows[r]),
                escape(&cols[c])
            );
        }
    }
    for mark in marks {
        let Some(local) = mark
            .index
            .checked_sub(offset)
            .filter(|&i| i < n_rows * n_cols)
        else {
            continue;
        };
        let (r, c) = (local / n_cols, local % n_cols);
        let _ = writeln!(
            svg,
            "<rect class=\"published\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"black\" stroke-width=\"2\"><title>{}, {}: {}</title></rect>",
            left + CELL * c as f32 + 1.0,
            top + CELL * r as f32 + 1.0,
            CELL - 2.0,
            CELL - 2.0,
            escape(&rows[r]),
            escape(&cols[c]),
            escape(&mark.text())
        );
    }
    if !marks.is_empty() {
        let _ = writeln!(
            svg,
            "<text x=\"4\" y=\"{:.1}\" {FONT}>outlined: published values (hover)</text>",
            height - 2.0
        );
    }
    let legend_x = left + CELL * n_cols as f32 + 10.0;
    let _ = writeln!(
        svg,
        "<text x=\"{legend_x:.1}\" y=\"{:.1}\" {FONT} fill=\"#b00\">+{scale:.3}</text>\n<text x=\"{legend_x:.1}\" y=\"{:.1}\" {FONT}>{centre:.3}</text>\n<text x=\"{legend_x:.1}\" y=\"{:.1}\" {FONT} fill=\"#00b\">−{scale:.3}</text>\n</svg>",
        top + 10.0,
        top + 24.0,
        top + 38.0
    );
    (svg, width, height)
}

/// One set of points in a scatter: a method's estimates (y) against the effects (x), with its
/// agreement for the legend.
pub struct Series<'a> {
    /// Its `data-series` attribute.
    pub id: &'a str,
    /// In the legend.
    pub name: &'a str,
    /// Pearson r of the points, shown in the legend.
    pub r: Option<f32>,
    pub points: &'a [(f32, f32, String)],
}

/// The series' colours and marks: blue circles, then orange squares, then green triangles
/// (told apart by shape as well as colour).
const SERIES_COLOURS: [&str; 3] = ["#3465a4", "#ce5c00", "#4e9a06"];

/// Scatters of `(x, y, label)` points sharing axes, with the diagonal `y = x`, axis names and a
/// legend: attribution estimates (y) against activation patching (x), one series per method.
/// Each series is a `<g data-series=NAME>`; each point has a `<title>`.
pub fn scatter_svg(title: &str, x_name: &str, y_name: &str, series: &[Series]) -> String {
    const SIZE: f32 = 320.0;
    const PAD: f32 = 48.0;
    const LEGEND: f32 = 16.0;
    let finite = series
        .iter()
        .flat_map(|s| s.points)
        .filter(|(x, y, _)| x.is_finite() && y.is_finite());
    let (lo, hi) = finite.fold((0.0f32, 0.0f32), |(lo, hi), (x, y, _)| {
        (lo.min(*x).min(*y), hi.max(*x).max(*y))
    });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let (lo, hi) = (lo - 0.05 * span, hi + 0.05 * span);
    let at = |v: f32| (v - lo) / (hi - lo) * SIZE;
    let top = PAD + LEGEND * series.len() as f32;
    let (width, height) = (SIZE + 2.0 * PAD, SIZE + PAD + top);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"4\" y=\"14\" {FONT} font-weight=\"bold\">{}</text>\n\
         <rect x=\"{PAD}\" y=\"{top}\" width=\"{SIZE}\" height=\"{SIZE}\" fill=\"none\" stroke=\"#999\"/>\n\
         <line x1=\"{PAD}\" y1=\"{}\" x2=\"{}\" y2=\"{top}\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" {FONT}>{}</text>\n\
         <text transform=\"translate(14,{}) rotate(-90)\" text-anchor=\"middle\" {FONT}>{}</text>\n\
         <text x=\"{PAD}\" y=\"{}\" {FONT}>{lo:.3}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\" {FONT}>{hi:.3}</text>\n",
        escape(title),
        escape(title),
        top + SIZE,
        PAD + SIZE,
        PAD + SIZE / 2.0,
        top + SIZE + 34.0,
        escape(x_name),
        top + SIZE / 2.0,
        escape(y_name),
        top + SIZE + 14.0,
        PAD + SIZE,
        top + SIZE + 14.0,
    );
    for (i, one) in series.iter().enumerate() {
        let colour = SERIES_COLOURS[i % SERIES_COLOURS.len()];
        let mark = |cx: f32, cy: f32| match i % SERIES_COLOURS.len() {
            0 => format!("<circle cx=\"{cx:.2}\" cy=\"{cy:.2}\" r=\"3\""),
            1 => format!(
                "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"6\" height=\"6\"",
                cx - 3.0,
                cy - 3.0
            ),
            _ => format!(
                "<path d=\"M{cx:.2} {:.2}L{:.2} {:.2}L{:.2} {:.2}Z\"",
                cy - 4.0,
                cx + 3.5,
                cy + 2.5,
                cx - 3.5,
                cy + 2.5
            ),
        };
        let legend_y = PAD - 6.0 + LEGEND * i as f32;
        let r = one
            .r
            .map(|r| format!(", Pearson r = {r:.3}"))
            .unwrap_or_default();
        let _ = write!(
            svg,
            "<g data-series=\"{}\" fill=\"{colour}\" fill-opacity=\"0.7\">\n{} fill-opacity=\"1\"/><text x=\"{}\" y=\"{}\" fill=\"#222\" {FONT}>{}{r}</text>\n",
            escape(one.id),
            mark(PAD + 4.0, legend_y - 4.0),
            PAD + 14.0,
            legend_y,
            escape(one.name),
        );
        for (x, y, label) in one.points {
            if !(x.is_finite() && y.is_finite()) {
                continue;
            }
            let _ = writeln!(
                svg,
                "{} data-x=\"{x}\" data-y=\"{y}\"><title>{}: {x_name} {x}, {} {y}</title>{}",
                mark(PAD + at(*x), top + SIZE - at(*y)),
                escape(label),
                escape(one.name),
                match i % SERIES_COLOURS.len() {
                    0 => "</circle>",
                    1 => "</rect>",
                    _ => "</path>",
                },
            );
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg>");
    svg
}

/// A value per labelled step (the logit lens: the logit difference after each layer) as a line,
/// with published values as diamonds at their steps (`marks` index `values`). Every point has a
/// `<title>`.
pub fn line_svg(
    title: &str,
    y_name: &str,
    labels: &[String],
    values: &[f32],
    marks: &[Mark],
) -> String {
    const HEIGHT: f32 = 220.0;
    const LEFT: f32 = 56.0;
    const TOP: f32 = 28.0;
    let step = (480.0 / labels.len().max(1) as f32).clamp(14.0, 40.0);
    let width = step * labels.len() as f32;
    let bottom = 6.5 * labels.iter().map(|l| l.chars().count()).max().unwrap_or(1) as f32 + 16.0;
    let shown = values
        .iter()
        .copied()
        .chain(marks.iter().filter_map(|m| m.published))
        .filter(|v| v.is_finite());
    let (lo, hi) = shown.fold((0.0f32, 0.0f32), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let (lo, hi) = (lo - 0.05 * span, hi + 0.05 * span);
    let y = |v: f32| TOP + (hi - v) / (hi - lo) * HEIGHT;
    let x = |i: usize| LEFT + step * (i as f32 + 0.5);
    let (total_w, total_h) = (LEFT + width + 16.0, TOP + HEIGHT + bottom);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total_w:.0}\" height=\"{total_h:.0}\" viewBox=\"0 0 {total_w:.0} {total_h:.0}\" role=\"img\" aria-label=\"{}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"4\" y=\"14\" {FONT} font-weight=\"bold\">{}</text>\n\
         <line x1=\"{LEFT}\" y1=\"{zero:.1}\" x2=\"{:.1}\" y2=\"{zero:.1}\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" {FONT}>{hi:.2}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" {FONT}>{lo:.2}</text>\n\
         <text transform=\"translate(12,{:.1}) rotate(-90)\" text-anchor=\"middle\" {FONT}>{}</text>\n",
        escape(title),
        escape(title),
        LEFT + width,
        LEFT - 4.0,
        TOP + 8.0,
        LEFT - 4.0,
        TOP + HEIGHT,
        TOP + HEIGHT / 2.0,
        escape(y_name),
        zero = y(0.0),
    );
    for (i, label) in labels.iter().enumerate() {
        let _ = writeln!(
            svg,
            "<text transform=\"translate({:.1},{:.1}) rotate(-60)\" text-anchor=\"end\" {FONT}>{}</text>",
            x(i) + 3.0,
            TOP + HEIGHT + 12.0,
            escape(label)
        );
    }
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
        .collect();
    let _ = writeln!(
        svg,
        "<polyline class=\"line\" points=\"{}\" fill=\"none\" stroke=\"#3465a4\" stroke-width=\"2\"/>",
        points.join(" ")
    );
    for (i, v) in values.iter().enumerate().filter(|(_, v)| v.is_finite()) {
        let _ = writeln!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#3465a4\" data-value=\"{v}\"><title>{}: {v}</title></circle>",
            x(i),
            y(*v),
            escape(&labels[i])
        );
    }
    for mark in marks {
        let (Some(v), Some(label)) = (mark.published, labels.get(mark.index)) else {
            continue;
        };
        let (cx, cy) = (x(mark.index), y(v));
        let _ = writeln!(
            svg,
            "<path class=\"published\" d=\"M{cx:.1},{:.1} L{:.1},{cy:.1} L{cx:.1},{:.1} L{:.1},{cy:.1} Z\" fill=\"#d95f02\"><title>{}: {}</title></path>",
            cy - 5.0,
            cx + 5.0,
            cy + 5.0,
            cx - 5.0,
            escape(label),
            escape(&mark.text())
        );
    }
    if !marks.is_empty() {
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"14\" text-anchor=\"end\" {FONT} fill=\"#d95f02\">◆ published</text>",
            total_w - 4.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A cell of a grid by its coordinates: `L1H3` for layers and heads, a label where the axis
/// has them, `pos 4` otherwise (`L0 pos 4`).
pub fn cell_label(grid: &Grid, flat: usize) -> String {
    let mut rest = flat;
    let mut parts = vec![];
    for (axis, n) in grid.shape.iter().enumerate().rev() {
        let i = rest % n;
        rest /= n;
        parts.push(match grid.axes[axis].as_str() {
            "layer" => format!("L{i}"),
            "head" => format!("H{i}"),
            name => grid
                .labels
                .get(axis)
                .and_then(|l| l.get(i))
                .cloned()
                .unwrap_or_else(|| format!("{name} {i}")),
        });
    }
    parts.reverse();
    let layer_and_head = grid.axes.iter().all(|a| a == "layer" || a == "head");
    parts.join(if layer_and_head { "" } else { " " })
}

/// How many cells the ranked figures list.
pub const RANKED_BARS: usize = 12;

/// The flat indices of a grid's `top` largest |values|, largest first (ties: the earlier cell).
pub fn ranked_cells(grid: &Grid, top: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..grid.values.len())
        .filter(|&i| grid.values[i].is_finite())
        .collect();
    order.sort_by(|&a, &b| {
        grid.values[b]
            .abs()
            .total_cmp(&grid.values[a].abs())
            .then(a.cmp(&b))
    });
    order.truncate(top);
    order
}

/// The `top` largest |values| of a grid, largest first, as horizontal bars (direct logit
/// attribution per head: which heads write the answer): `(label, value)`, labelled by
/// [`cell_label`].
pub fn sorted_bars(grid: &Grid, top: usize) -> Vec<(String, f32)> {
    ranked_cells(grid, top)
        .into_iter()
        .map(|i| (cell_label(grid, i), grid.values[i]))
        .collect()
}

/// [`sorted_bars`] with each bar's length in percent of the longest: `(label, value, percent)`.
pub fn scaled_bars(grid: &Grid, top: usize) -> Vec<(String, f32, f32)> {
    let bars = sorted_bars(grid, top);
    let scale = bars.first().map_or(1.0, |(_, v)| v.abs().max(1e-12));
    bars.into_iter()
        .map(|(label, v)| (label, v, 100.0 * v.abs() / scale))
        .collect()
}

/// Edge attribution patching's strongest edges as a graph: blocks bottom to top (the
/// embeddings below block 0, the logits above the last), each block's heads left to right and
/// its MLP at the right, half a row above them (it reads what they write). An edge into a head
/// ends at its query, key or value input (left, middle, right of the node); red raises the
/// metric, blue lowers it, and the width grows with |score|. Every edge has a `<title>`.
pub fn edge_graph_svg(title: &str, edges: &[Edge], n_layer: usize, n_head: usize) -> String {
    const COL: f32 = 34.0;
    const ROW: f32 = 64.0;
    const PAD: f32 = 40.0;
    let width = PAD * 2.0 + COL * (n_head as f32 + 1.0);
    let height = PAD * 2.0 + ROW * (n_layer as f32 + 1.0);
    // The centre of a node's row: block l's heads at row l + 1 from the bottom.
    let y_of = |row: f32| height - PAD - ROW * row;
    let head = |l: usize, h: usize| (PAD + COL * (h as f32 + 0.5), y_of(l as f32 + 1.0));
    let mlp = |l: usize| (PAD + COL * (n_head as f32 + 0.5), y_of(l as f32 + 1.5));
    let from = |u: Upstream| match u {
        Upstream::Input => (width / 2.0, y_of(0.0)),
        Upstream::Head(l, h) => head(l, h),
        Upstream::Mlp(l) => mlp(l),
    };
    let to = |d: Downstream| match d {
        Downstream::Head(l, h, qkv) => {
            let (x, y) = head(l, h);
            let dx = match qkv {
                Qkv::Q => -6.0,
                Qkv::K => 0.0,
                Qkv::V => 6.0,
            };
            (x + dx, y + 6.0)
        }
        Downstream::Mlp(l) => {
            let (x, y) = mlp(l);
            (x, y + 6.0)
        }
        Downstream::Logits => (width / 2.0, y_of(n_layer as f32 + 0.75)),
    };
    let scale = edges.iter().map(|e| e.score.abs()).fold(0.0f32, f32::max);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"{}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"4\" y=\"14\" {FONT} font-weight=\"bold\">{}</text>\n",
        escape(title),
        escape(title)
    );
    for l in 0..n_layer {
        let (_, y) = head(l, 0);
        let _ = writeln!(svg, "<text x=\"4\" y=\"{:.1}\" {FONT}>L{l}</text>", y + 4.0);
        for h in 0..n_head {
            let (x, y) = head(l, h);
            let _ = writeln!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"6\" fill=\"#eee\" stroke=\"#999\"><title>L{l}H{h}</title></circle>"
            );
        }
        let (x, y) = mlp(l);
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"#eee\" stroke=\"#999\"><title>MLP{l}</title></rect>",
            x - 6.0,
            y - 6.0
        );
    }
    let (x, y) = from(Upstream::Input);
    let _ = writeln!(
        svg,
        "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" {FONT}>embeddings</text>",
        y + 14.0
    );
    let (x, y) = to(Downstream::Logits);
    let _ = writeln!(
        svg,
        "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" {FONT}>logits</text>",
        y - 4.0
    );
    for edge in edges.iter().rev() {
        let ((x1, y1), (x2, y2)) = (from(edge.up), to(edge.down));
        let strength = if scale > 0.0 {
            edge.score.abs() / scale
        } else {
            0.0
        };
        let colour = if edge.score >= 0.0 {
            "#c0392b"
        } else {
            "#2e5fa3"
        };
        let _ = writeln!(
            svg,
            "<line class=\"edge\" x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{colour}\" stroke-opacity=\"{:.2}\" stroke-width=\"{:.2}\" data-score=\"{}\"><title>{} → {}: {}</title></line>",
            0.35 + 0.65 * strength,
            0.5 + 3.5 * strength,
            edge.score,
            edge.up,
            edge.down,
            edge.score
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Edges as CSV: `upstream,downstream,score`.
pub fn edges_csv(edges: &[Edge]) -> String {
    let mut csv = String::from("upstream,downstream,score\n");
    for edge in edges {
        let _ = writeln!(csv, "{},{},{}", edge.up, edge.down, edge.score);
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heatmap_has_one_titled_cell_per_value_and_escapes_labels() {
        let grid = Grid::new(
            &["layer", "pos"],
            vec![2, 3],
            vec![0.0, 1.0, -1.0, 0.5, 0.25, 2.0],
        );
        let rows = vec!["L0".to_string(), "L1".to_string()];
        let cols = vec!["<a>".to_string(), "b".into(), "c".into()];
        let svg = heatmap_svg("patch & co", &grid, 0, &rows, &cols, 0.0);
        assert_eq!(svg.matches("<title>").count(), 6);
        assert!(svg.contains("patch &amp; co") && svg.contains("&lt;a&gt;"));
        assert!(svg.contains("<title>L1, c: 2</title>"));
        assert!(
            svg.contains("fill=\"rgb(255,0,0)\""),
            "the largest value is full red"
        );
    }

    #[test]
    fn a_3d_grid_stacks_one_heatmap_per_layer() {
        let grid = Grid::new(
            &["layer", "head", "pos"],
            vec![2, 2, 3],
            (0..12).map(|v| v as f32).collect(),
        );
        let svg = grid_svg("g", &grid, &[], 0.0, &[]);
        assert_eq!(svg.matches("<title>").count(), 12);
        assert!(svg.contains("layer L1") && svg.contains("<title>H1, 2: 11</title>"));
        assert!(svg.contains("y=\"0\"") && svg.starts_with("<svg xmlns"));
    }

    #[test]
    fn a_scatter_skips_non_finite_points() {
        let points = vec![
            (0.0, 0.1, "L0H0".to_string()),
            (f32::NAN, 1.0, "bad".into()),
            (1.0, 0.9, "L0H1".into()),
        ];
        let relp = vec![(0.0, 0.0, "L0H0".to_string()), (1.0, 1.0, "L0H1".into())];
        let series = [
            Series {
                id: "gradient",
                name: "gradient",
                r: Some(0.5),
                points: &points,
            },
            Series {
                id: "relp",
                name: "RelP",
                r: None,
                points: &relp,
            },
        ];
        let svg = scatter_svg("attribution", "activation", "estimate", &series);
        // One mark per finite point and one per legend entry (and the plot's frame, a rect).
        assert_eq!(svg.matches("<circle").count(), 2 + 1);
        assert_eq!(svg.matches("<rect x=").count(), 1 + 2 + 1);
        assert_eq!(svg.matches("data-x=").count(), 4);
        assert!(svg.contains("data-x=\"1\" data-y=\"0.9\""));
        assert!(svg.contains("gradient, Pearson r = 0.500") && svg.contains(">RelP</text>"));
        assert!(svg.contains("<title>L0H1: activation 1, RelP 1</title>"));
    }

    #[test]
    fn the_edge_graph_draws_each_edge_with_its_score() {
        use crate::experiments::eap::{Downstream, Edge, Qkv, Upstream};
        let edges = [
            Edge {
                up: Upstream::Head(0, 1),
                down: Downstream::Head(1, 2, Qkv::K),
                score: 0.5,
            },
            Edge {
                up: Upstream::Input,
                down: Downstream::Logits,
                score: -0.25,
            },
        ];
        let svg = edge_graph_svg("edges", &edges, 2, 3);
        assert_eq!(svg.matches("<line class=\"edge\"").count(), 2);
        assert!(svg.contains("<title>L0H1 → L1H2.k: 0.5</title>"), "{svg}");
        assert!(
            svg.contains("stroke=\"#2e5fa3\""),
            "a negative edge is blue"
        );
        assert_eq!(
            edges_csv(&edges),
            "upstream,downstream,score\nL0H1,L1H2.k,0.5\ninput,logits,-0.25\n"
        );
    }

    #[test]
    fn the_lens_line_has_a_point_per_layer_and_a_diamond_per_published_value() {
        let labels: Vec<String> = ["0_pre", "0_mid", "final_post"].map(String::from).to_vec();
        let marks = [Mark {
            index: 2,
            published: Some(3.55),
            note: "TL demo".into(),
        }];
        let svg = line_svg(
            "lens & co",
            "logit difference",
            &labels,
            &[0.1, -0.5, 2.0],
            &marks,
        );
        assert_eq!(svg.matches("<circle").count(), 3);
        assert_eq!(svg.matches("class=\"published\"").count(), 1);
        assert!(svg.contains("<title>final_post: published 3.55 (TL demo)</title>"));
        assert!(svg.contains("<title>0_mid: -0.5</title>") && svg.contains("lens &amp; co"));
        let points = svg
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(points.split(' ').count(), 3);
    }

    #[test]
    fn sorted_bars_rank_heads_by_absolute_effect() {
        let grid = Grid::new(
            &["layer", "head"],
            vec![2, 2],
            vec![0.5, -3.0, 2.0, f32::NAN],
        );
        assert_eq!(
            sorted_bars(&grid, 2),
            vec![("L0H1".to_string(), -3.0), ("L1H0".to_string(), 2.0)]
        );
        let lens = Grid::new(&["component"], vec![2], vec![1.0, -2.0])
            .with_labels(vec!["embed".into(), "0_attn_out".into()]);
        assert_eq!(sorted_bars(&lens, 5)[0], ("0_attn_out".to_string(), -2.0));
    }
}

/// One labelled value a row, in the order given, a dot each on one shared axis with zero
/// marked, coloured by its group (`groups` names them in the legend): words by their
/// association, texts on a direction.
///
/// # Shapes
/// - rows: `(label, value, group)`, group an index into `groups`
pub fn dot_rows_svg(
    title: &str,
    axis: &str,
    rows: &[(String, f32, usize)],
    groups: &[&str],
) -> String {
    const ROW: f32 = 16.0;
    const LABELS: f32 = 180.0;
    const PLOT: f32 = 320.0;
    const TOP: f32 = 40.0;
    let (lo, hi) = rows
        .iter()
        .map(|(_, v, _)| *v)
        .filter(|v| v.is_finite())
        .fold((0.0f32, 0.0f32), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let (lo, hi) = (lo - 0.05 * span, hi + 0.05 * span);
    let at = |v: f32| LABELS + (v - lo) / (hi - lo) * PLOT;
    let height = TOP + ROW * rows.len() as f32 + 36.0;
    let width = LABELS + PLOT + 20.0;
    let bottom = TOP + ROW * rows.len() as f32;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"4\" y=\"14\" {FONT} font-weight=\"bold\">{}</text>\n\
         <line x1=\"{zero:.2}\" y1=\"{TOP}\" x2=\"{zero:.2}\" y2=\"{bottom}\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>\n\
         <line x1=\"{LABELS}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\" stroke=\"#999\"/>\n\
         <text x=\"{LABELS}\" y=\"{}\" {FONT}>{lo:.3}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\" {FONT}>{hi:.3}</text>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" {FONT}>{}</text>\n",
        escape(title),
        escape(title),
        LABELS + PLOT,
        bottom + 14.0,
        LABELS + PLOT,
        bottom + 14.0,
        LABELS + PLOT / 2.0,
        bottom + 30.0,
        escape(axis),
        zero = at(0.0),
    );
    for (i, name) in groups.iter().enumerate() {
        let colour = SERIES_COLOURS[i % SERIES_COLOURS.len()];
        let x = LABELS + 120.0 * i as f32;
        let _ = writeln!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"26\" r=\"4\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"30\" {FONT}>{}</text>",
            x + 4.0,
            x + 12.0,
            escape(name)
        );
    }
    for (i, (label, value, group)) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f32 + ROW / 2.0;
        let colour = SERIES_COLOURS[group % SERIES_COLOURS.len()];
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" {FONT}>{}</text>\
             <line x1=\"{LABELS}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#eee\"/>\
             <circle cx=\"{:.2}\" cy=\"{y:.1}\" r=\"4\" fill=\"{colour}\" data-label=\"{}\" data-value=\"{value}\" data-group=\"{group}\"><title>{}: {value:.4}</title></circle>",
            LABELS - 6.0,
            y + 4.0,
            escape(label),
            LABELS + PLOT,
            if value.is_finite() {
                at(*value)
            } else {
                at(0.0)
            },
            escape(label),
            escape(label),
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod dot_rows_tests {
    use super::dot_rows_svg;

    #[test]
    fn every_row_is_a_dot_with_its_label_value_and_group() {
        let rows = vec![
            (" John".to_string(), 0.25, 0),
            ("<Amy>".to_string(), -0.1, 1),
        ];
        let svg = dot_rows_svg("weat.s", "s(w)", &rows, &["X", "Y"]);
        assert_eq!(svg.matches("data-label=").count(), 2);
        assert!(svg.contains("data-label=\" John\" data-value=\"0.25\" data-group=\"0\""));
        assert!(svg.contains("&lt;Amy&gt;"), "labels are escaped");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }
}

/// Several values per labelled step as lines, one colour and dash each, with a legend: the
/// share of neurons tagged by layer at each rate, and in the shuffled control.
///
/// # Shapes
/// - series: `(name, values)`, each `[labels.len()]`
pub fn lines_svg(
    title: &str,
    y_name: &str,
    labels: &[String],
    series: &[(String, Vec<f32>)],
) -> String {
    const HEIGHT: f32 = 200.0;
    const LEFT: f32 = 56.0;
    const DASHES: [&str; 2] = ["", " stroke-dasharray=\"5 3\""];
    let top = 28.0 + 14.0 * series.len() as f32;
    let step = (480.0 / labels.len().max(1) as f32).clamp(14.0, 40.0);
    let width = step * labels.len() as f32;
    let (lo, hi) = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold((0.0f32, 0.0f32), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let (lo, hi) = (lo, hi + 0.05 * span);
    let y = |v: f32| top + (hi - v) / (hi - lo) * HEIGHT;
    let x = |i: usize| LEFT + step * (i as f32 + 0.5);
    let (total_w, total_h) = (LEFT + width + 160.0, top + HEIGHT + 40.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total_w:.0}\" height=\"{total_h:.0}\" viewBox=\"0 0 {total_w:.0} {total_h:.0}\" role=\"img\" aria-label=\"{}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"4\" y=\"14\" {FONT} font-weight=\"bold\">{}</text>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" {FONT}>{hi:.2}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" {FONT}>{lo:.2}</text>\n\
         <text transform=\"translate(12,{:.1}) rotate(-90)\" text-anchor=\"middle\" {FONT}>{}</text>\n",
        escape(title),
        escape(title),
        LEFT - 4.0,
        top + 8.0,
        LEFT - 4.0,
        top + HEIGHT,
        top + HEIGHT / 2.0,
        escape(y_name),
    );
    for (i, label) in labels.iter().enumerate() {
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" {FONT}>{}</text>",
            x(i),
            top + HEIGHT + 16.0,
            escape(label)
        );
    }
    for (s, (name, values)) in series.iter().enumerate() {
        let colour = SERIES_COLOURS[(s / DASHES.len()) % SERIES_COLOURS.len()];
        let dash = DASHES[s % DASHES.len()];
        let legend_y = 26.0 + 14.0 * s as f32;
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = writeln!(
            svg,
            "<g data-series=\"{}\"><line x1=\"{LEFT}\" y1=\"{legend_y:.1}\" x2=\"{:.1}\" y2=\"{legend_y:.1}\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/><text x=\"{:.1}\" y=\"{:.1}\" {FONT}>{}</text>\n\
             <polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>",
            escape(name),
            LEFT + 24.0,
            LEFT + 30.0,
            legend_y + 4.0,
            escape(name),
            points.join(" ")
        );
        for (i, v) in values.iter().enumerate().filter(|(_, v)| v.is_finite()) {
            let _ = writeln!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\" data-value=\"{v}\"><title>{} {}: {v:.4}</title></circle>",
                x(i),
                y(*v),
                escape(name),
                escape(&labels[i])
            );
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg>");
    svg
}

/// A vertical line across a [`signal_svg`] at a position along its axis (fractional indices
/// allowed), labelled at the top when the label is not empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub at: f32,
    pub label: String,
}

/// One long series (a neuron's activation token by token, a spectrum bin by bin) as a line
/// fitted to the figure's width, with vertical rules (the phrase and sentence rates, the
/// sentences' first words), a tick label every few steps, and each point's label and value on
/// hover.
///
/// # Shapes
/// - labels, values: `[n]`
pub fn signal_svg(
    title: &str,
    x_name: &str,
    y_name: &str,
    labels: &[String],
    values: &[f32],
    rules: &[Rule],
) -> String {
    const WIDTH: f32 = 640.0;
    const HEIGHT: f32 = 180.0;
    const LEFT: f32 = 56.0;
    const TOP: f32 = 40.0;
    const TICKS: usize = 8;
    let n = values.len().max(2);
    let (lo, hi) = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold((0.0f32, 0.0f32), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let (lo, hi) = (lo, hi + 0.05 * span);
    let x = |i: f32| LEFT + i / (n - 1) as f32 * WIDTH;
    let y = |v: f32| TOP + (hi - v) / (hi - lo) * HEIGHT;
    let (total_w, total_h) = (LEFT + WIDTH + 24.0, TOP + HEIGHT + 44.0);
    let bottom = TOP + HEIGHT;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total_w:.0}\" height=\"{total_h:.0}\" viewBox=\"0 0 {total_w:.0} {total_h:.0}\" role=\"img\" aria-label=\"{}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"4\" y=\"14\" {FONT} font-weight=\"bold\">{}</text>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" {FONT}>{hi:.3}</text><text x=\"{:.1}\" y=\"{bottom:.1}\" text-anchor=\"end\" {FONT}>{lo:.3}</text>\n\
         <text transform=\"translate(12,{:.1}) rotate(-90)\" text-anchor=\"middle\" {FONT}>{}</text>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" {FONT}>{}</text>\n\
         <line x1=\"{LEFT}\" y1=\"{bottom:.1}\" x2=\"{:.1}\" y2=\"{bottom:.1}\" stroke=\"#999\"/>\n",
        escape(title),
        escape(title),
        LEFT - 4.0,
        TOP + 8.0,
        LEFT - 4.0,
        TOP + HEIGHT / 2.0,
        escape(y_name),
        LEFT + WIDTH / 2.0,
        bottom + 36.0,
        escape(x_name),
        LEFT + WIDTH,
    );
    for rule in rules.iter().filter(|r| r.at.is_finite()) {
        let at = x(rule.at);
        let (stroke, dash) = if rule.label.is_empty() {
            ("#ddd", "")
        } else {
            ("#d95f02", " stroke-dasharray=\"4 3\"")
        };
        let _ = writeln!(
            svg,
            "<line x1=\"{at:.1}\" y1=\"{TOP}\" x2=\"{at:.1}\" y2=\"{bottom:.1}\" stroke=\"{stroke}\"{dash} data-rule=\"{}\"/>",
            escape(&rule.label)
        );
        if !rule.label.is_empty() {
            let _ = writeln!(
                svg,
                "<text x=\"{at:.1}\" y=\"{:.1}\" text-anchor=\"middle\" {FONT} fill=\"#d95f02\">{}</text>",
                TOP - 6.0,
                escape(&rule.label)
            );
        }
    }
    let step = values.len().div_ceil(TICKS).max(1);
    for (i, label) in labels.iter().enumerate().step_by(step) {
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" {FONT}>{}</text>",
            x(i as f32),
            bottom + 16.0,
            escape(label)
        );
    }
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, v)| format!("{:.1},{:.1}", x(i as f32), y(*v)))
        .collect();
    let _ = writeln!(
        svg,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>",
        points.join(" "),
        SERIES_COLOURS[0]
    );
    for (i, v) in values.iter().enumerate().filter(|(_, v)| v.is_finite()) {
        let label = labels.get(i).map_or(String::new(), |l| escape(l));
        let _ = writeln!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"{}\" data-value=\"{v}\"><title>{i} {label}: {v:.4}</title></circle>",
            x(i as f32),
            y(*v),
            SERIES_COLOURS[0]
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod signal_tests {
    use super::{Rule, signal_svg};

    #[test]
    fn a_signal_has_a_point_per_value_its_rules_and_a_tick_every_few_steps() {
        let labels: Vec<String> = (0..64).map(|i| format!("t{i}")).collect();
        let values: Vec<f32> = (0..64).map(|i| (i as f32 * 0.5).sin()).collect();
        let rules = [
            Rule {
                at: 16.0,
                label: "sentence rate".into(),
            },
            Rule {
                at: 4.0,
                label: String::new(),
            },
        ];
        let svg = signal_svg("trace", "token", "activation", &labels, &values, &rules);
        assert_eq!(svg.matches("<circle").count(), 64);
        assert_eq!(svg.matches("data-rule=").count(), 2);
        assert!(svg.contains(">sentence rate</text>"));
        assert!(svg.contains(">t0</text>") && svg.contains(">t8</text>"));
        assert!(!svg.contains(">t1</text>"), "not every step is labelled");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }
}
