//! One run's results, fresh or opened from the history: metrics, generations, the attribution
//! scatter, every grid as a figure with its numbers; downloads and the share link.

use super::generation::{BeamList, TokenStrip};
use crate::experiments::eap;
use crate::experiments::{
    AttributionMethod, AttributionTarget, Grid, GridKind, GridName, MetricName, Variant,
};
use crate::export::{Library, to_python};
use crate::figures::{
    Mark, RANKED_BARS, Series, cell_label, dot_rows_svg, edge_graph_svg, edges_csv, line_svg,
    scaled_bars, scatter_svg,
};
use crate::history::RunRecord;
use crate::reading::{Finding, summarise, title};
use crate::share::SharedRun;
use crate::spec::Experiment;
use crate::spec::published::{Comparison, Found};
use crate::ui::panels::tagging::{spectrum, tagged_by_layer, tagged_neurons};
use crate::ui::storage::StoredRun;
use crate::ui::workbench::Workbench;
use crate::ui::{files, heatmap::GridView};
use leptos::prelude::*;
use std::collections::BTreeMap;

/// The value drawn white: what the grid is read against.
pub fn centre(name: &GridName, metrics: &BTreeMap<MetricName, f32>) -> f32 {
    let metric = |key: MetricName| metrics.get(&key).copied().unwrap_or(0.0);
    match (name.kind, name.variant) {
        (GridKind::Patch(_), Variant::Raw | Variant::PerPrompt) => metric(MetricName::Corrupted),
        (GridKind::Ablate(..), _) => metric(MetricName::Clean),
        // Path patching: no effect is the measured run's metric.
        (GridKind::Path(_), Variant::Raw | Variant::PerPrompt) => metric(MetricName::Base),
        (GridKind::Path(_), Variant::Normalised) => {
            let (clean, corrupted) = (metric(MetricName::Clean), metric(MetricName::Corrupted));
            (metric(MetricName::Base) - corrupted) / (clean - corrupted)
        }
        _ => 0.0,
    }
}

/// Grids worth drawing: not the per-prompt breakdowns, not `d_model`-wide stacks.
fn drawn(name: &GridName, grid: &Grid) -> bool {
    name.variant != Variant::PerPrompt
        && !grid.axes.iter().any(|a| a == "d_model")
        && grid.values.len() <= 20_000
}

/// The run's answer in words (`reading::summarise`), each sentence with a button to the figure
/// it reads.
#[component]
fn Answer(
    findings: Vec<Finding>,
    drawn: Vec<GridName>,
    shown: RwSignal<Option<GridName>>,
) -> impl IntoView {
    (!findings.is_empty()).then(|| {
        let items = findings
            .into_iter()
            .map(|finding| {
                let show = finding.grid.filter(|g| drawn.contains(g)).map(|grid| {
                    view! {
                        " "
                        <button class="show-figure link" data-show-grid=grid.to_string()
                            on:click=move |_| shown.set(Some(grid))>"see the figure"</button>
                    }
                });
                view! { <li data-finding=finding.grid.map(|g| g.to_string()).unwrap_or_default()>{finding.text}{show}</li> }
            })
            .collect_view();
        view! {
            <section id="answer" class="answer" aria-labelledby="answer-title">
                <h4 id="answer-title">"What this run shows"</h4>
                <ul>{items}</ul>
            </section>
        }
    })
}

/// The figures drawn from a grid besides (or instead of) its heatmap, by that grid: charts, an
/// attribution target's scatter, an edge graph, words on a direction, frequency tagging's.
fn extra_figures(run: &RunRecord, comparisons: &[Comparison]) -> Vec<(GridName, AnyView)> {
    let result = &run.result;
    let mut extras: Vec<(GridName, AnyView)> = result
        .grids
        .iter()
        .filter_map(|(name, grid)| Some((*name, chart_for(name, grid, comparisons)?)))
        .collect();
    for method in AttributionMethod::ALL {
        if let Some(graph) = edge_graph(run, method) {
            extras.push((GridName::raw(GridKind::EdgeScores(method)), graph));
        }
    }
    for target in AttributionTarget::ALL {
        let estimated = AttributionMethod::ALL
            .into_iter()
            .map(|method| GridName::raw(GridKind::Attribution(method, target)))
            .find(|name| result.grids.contains_key(name));
        if let (Some(name), Some(figure)) = (estimated, scatter(run, target)) {
            extras.push((name, figure));
        }
    }
    extras.extend(dot_rows(run));
    type Draw = fn(&RunRecord) -> Option<AnyView>;
    let tagging: [(&str, Draw); 3] = [
        ("hftp.tagged", tagged_by_layer),
        ("hftp.spectrum", spectrum),
        ("hftp.snr_sentence", tagged_neurons),
    ];
    for (name, draw) in tagging {
        if let (Ok(name), Some(figure)) = (name.parse(), draw(run)) {
            extras.push((name, figure));
        }
    }
    extras
}

/// The run's grids one at a time: a list by title (the technical name beside it), the chosen
/// one drawn large. Every grid stays in the page, hidden but for the one shown, so that its
/// numbers can be read and found.
#[component]
fn Figures(
    run: RunRecord,
    shown: RwSignal<Option<GridName>>,
    tokens: Vec<String>,
    comparisons: Vec<Comparison>,
    /// The grids the answer reads, in its order: listed first.
    read: Vec<GridName>,
    /// What else is drawn from a grid (`extra_figures`).
    mut extras: Vec<(GridName, AnyView)>,
) -> impl IntoView {
    let chosen = RwSignal::new(None::<Chosen>);
    let result = &run.result;
    // Each figure: a grid, its heatmap if it is drawn, and what else is drawn from it.
    let mut grids: Vec<(GridName, Grid, bool)> = result
        .grids
        .iter()
        .filter(|(name, grid)| drawn(name, grid) || extras.iter().any(|(e, _)| e == *name))
        .map(|(name, grid)| (*name, grid.clone(), drawn(name, grid)))
        .collect();
    grids.sort_by_key(|(name, _, _)| read.iter().position(|r| r == name).unwrap_or(read.len()));
    if grids.is_empty() {
        return None;
    }
    let list = grids
        .iter()
        .map(|(name, grid, _)| {
            let name = *name;
            view! {
                <li>
                    <button data-show-grid=name.to_string() aria-pressed=move || (shown.get() == Some(name)).to_string()
                        on:click=move |_| shown.set(Some(name))>
                        {title(&name)}<small>{format!("{name} [{}]", grid.axes.join(", "))}</small>
                    </button>
                </li>
            }
        })
        .collect_view();
    let stage = grids
        .into_iter()
        .map(|(name, grid, heatmap)| {
            let extra = extras
                .iter()
                .position(|(e, _)| *e == name)
                .map(|i| extras.swap_remove(i).1);
            // A head's or a layer-and-position cell (click or Enter) opens what can be asked
            // about it next.
            let choose = {
                let grid = grid.clone();
                move |ev: &web_sys::Event| {
                    if let Some(cell) = cell_at(&grid, ev) {
                        chosen.set(Some(cell));
                    }
                }
            };
            let on_key = {
                let choose = choose.clone();
                move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Enter" {
                        choose(&ev);
                    }
                }
            };
            view! {
                <div class="figure-slot" data-slot=name.to_string() hidden=move || shown.get() != Some(name)
                    on:click=move |ev| choose(&ev) on:keydown=on_key>
                    {
                        let drawing = heatmap.then(|| view! {
                            <GridView name=name.to_string() grid=grid tokens=tokens.clone() centre=centre(&name, &result.metrics)
                                exports=true marks=marks_of(&comparisons, &name) title=title(&name)/>
                        });
                        // Beside a chart or scatter of the same numbers, the heatmap is one click away.
                        match (extra, drawing) {
                            (Some(extra), Some(drawing)) => view! {
                                {extra}
                                <details class="as-heatmap"><summary>"The same numbers as a heatmap"</summary>{drawing}</details>
                            }
                            .into_any(),
                            (extra, drawing) => view! { {extra}{drawing} }.into_any(),
                        }
                    }
                </div>
            }
        })
        .collect_view();
    Some(view! {
        <section class="figures" aria-label="Figures of this run">
            <nav class="figure-list" aria-label="Choose a figure"><ul>{list}</ul></nav>
            <div class="figure-stage">
                {stage}
                <CellDrill run=run.clone() chosen=chosen/>
                <Compare run=run.clone() shown=shown tokens=tokens/>
            </div>
        </section>
    })
}

/// A cell of a figure, as the next experiments see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chosen {
    Head { layer: usize, head: usize },
    Position { layer: usize, pos: usize },
}

/// The head, or the layer and position, of the heatmap cell `ev` happened in.
fn cell_at(grid: &Grid, ev: &web_sys::Event) -> Option<Chosen> {
    use wasm_bindgen::JsCast;
    let target = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
    let cell = target.closest("td[data-row][data-col]").ok()??;
    let table = cell.closest("table[data-offset]").ok()??;
    let number =
        |element: &web_sys::Element, name: &str| element.get_attribute(name)?.parse::<usize>().ok();
    let cols = *grid.shape.last()?;
    let mut flat = number(&table, "data-offset")?
        + number(&cell, "data-row")? * cols
        + number(&cell, "data-col")?;
    let mut at = vec![0; grid.shape.len()];
    for (axis, &n) in grid.shape.iter().enumerate().rev() {
        at[axis] = flat % n.max(1);
        flat /= n.max(1);
    }
    let at_axis = |name: &str| grid.axes.iter().position(|a| a == name).map(|i| at[i]);
    let layer = at_axis("layer")?;
    match (at_axis("head"), at_axis("pos")) {
        (Some(head), _) => Some(Chosen::Head { layer, head }),
        (None, Some(pos)) => Some(Chosen::Position { layer, pos }),
        (None, None) => None,
    }
}

/// A cell chosen in a figure and what to ask about it next, written into the form to run: for
/// a head, also its attention pattern on the run's first prompt (when the run's model is loaded
/// and the prompt is text).
#[component]
fn CellDrill(run: RunRecord, chosen: RwSignal<Option<Chosen>>) -> impl IntoView {
    let bench = expect_context::<Workbench>();
    use crate::session::Inspect;
    use crate::spec::{NextStep, PromptInput};
    let state = expect_context::<crate::ui::AppState>();
    let call = crate::ui::ModelCall::<Inspect>::new(state);
    let spec = StoredValue::new(run.result.spec.clone());
    let weights = run.result.provenance.weights_sha256.clone();
    let tokens = StoredValue::new(
        run.result
            .tokens
            .get("clean")
            .and_then(|t| t.first())
            .cloned()
            .unwrap_or_default(),
    );
    let prompt = run
        .result
        .spec
        .prompts
        .as_ref()
        .and_then(|p| match p.clean.first()? {
            PromptInput::Text(text) => Some(Inspect {
                text: text.clone(),
                prepend_bos: p.prepend_bos,
            }),
            PromptInput::Ids(_) => None,
        });
    let has_prompt = prompt.is_some();
    let same_model = move || {
        state
            .session
            .with(|s| s.as_ref().is_some_and(|s| s.weights_sha256 == weights))
    };
    // The prompt's patterns are computed once, at the first head chosen.
    let asked = StoredValue::new(false);
    let same = same_model.clone();
    Effect::new(move |_| {
        if matches!(chosen.get(), Some(Chosen::Head { .. }))
            && !asked.get_value()
            && same()
            && let Some(request) = prompt.clone()
        {
            asked.set_value(true);
            call.run(request, |_| {});
        }
    });
    let pattern = move |layer: usize, h: usize| {
        call.with_answer(|inspection| {
            let values = inspection.patterns.patterns.get(layer)?.clone();
            let tokens = inspection.patterns.tokens.clone();
            Some(super::attention::focused_view(layer, h, &values, &tokens))
        })
    };
    move || {
        let cell = chosen.get()?;
        let (name, steps): (String, Vec<NextStep>) = match cell {
            Chosen::Head { layer, head } => (
                format!("L{layer}H{head}"),
                NextStep::about_head(layer, head).to_vec(),
            ),
            Chosen::Position { layer, pos } => (
                match tokens.with_value(|t| t.get(pos).cloned()) {
                    Some(token) => format!("Layer {layer} at position {pos} ({token:?})"),
                    None => format!("Layer {layer} at position {pos}"),
                },
                NextStep::ABOUT_POSITION.to_vec(),
            ),
        };
        let buttons = steps
            .into_iter()
            .filter_map(|step| {
                let json = spec.with_value(|s| s.next(step))?.to_json();
                Some(view! {
                    <button id=step.id() on:click=move |_| bench.edit(json.clone())>{step.label()}</button>
                })
            })
            .collect_view();
        let attention = match cell {
            Chosen::Position { .. } => ().into_any(),
            Chosen::Head { .. } if !has_prompt => view! {
                <p class="hint">"This run's prompts are token ids: see the Prompt section for attention patterns of a text."</p>
            }
            .into_any(),
            Chosen::Head { layer, head } if !same_model() => view! {
                <p class="hint">{format!("Load {} to see L{layer}H{head}'s attention pattern on this run's prompt.", run.model)}</p>
            }
            .into_any(),
            Chosen::Head { .. } if call.pending() => {
                view! { <p class="hint">"Computing the attention patterns…"</p> }.into_any()
            }
            Chosen::Head { layer, head } => {
                pattern(layer, head).map_or_else(|| ().into_any(), IntoAny::into_any)
            }
        };
        let (layer, head, pos) = match cell {
            Chosen::Head { layer, head } => (layer, Some(head), None),
            Chosen::Position { layer, pos } => (layer, None, Some(pos)),
        };
        Some(view! {
            <aside id="cell-drill" class="drill" data-layer=layer data-head=head data-pos=pos aria-label=name.clone()>
                <h4>{name.clone()}<button class="link" on:click=move |_| chosen.set(None)>"close"</button></h4>
                {attention}
                <p class="controls">"Next, written into the experiment form: "{buttons}</p>
            </aside>
        })
    }
}

/// How a figure is compared with another run's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CompareAs {
    Difference,
    SideBySide,
}

/// "Compare with": another stored run with the shown grid at the same shape, drawn beside it
/// or as the difference (this run minus the other).
#[component]
fn Compare(
    run: RunRecord,
    shown: RwSignal<Option<GridName>>,
    tokens: Vec<String>,
) -> impl IntoView {
    let state = expect_context::<crate::ui::AppState>();
    let other = RwSignal::new(None::<String>);
    let mode = RwSignal::new(CompareAs::Difference);
    let this = StoredValue::new(run);
    let tokens = StoredValue::new(tokens);
    // The shown grid's name and shape, read in place (a grid drawn as a heatmap only: an edge
    // graph's full score matrix is too large to draw twice).
    let shown_shape = move || {
        let name = shown.get()?;
        this.with_value(|run| {
            let grid = run.result.grids.get(&name)?;
            drawn(&name, grid).then(|| (name, grid.shape.clone()))
        })
    };
    // Stored runs (id, name) that have the shown grid at its shape, in the history's order.
    let candidates = move || -> Vec<(String, String)> {
        let Some((name, shape)) = shown_shape() else {
            return vec![];
        };
        let id = this.with_value(|run| run.id.clone());
        state.history.with(|history| {
            history
                .runs
                .iter()
                .filter_map(|stored| match stored {
                    StoredRun::Readable(run) if run.id != id => Some(run.as_ref()),
                    _ => None,
                })
                .filter(|run| {
                    run.result
                        .grids
                        .get(&name)
                        .is_some_and(|g| g.shape == shape)
                })
                .map(|run| (run.id.clone(), run.name.clone()))
                .collect()
        })
    };
    let figure = move || {
        let name = shown.get()?;
        let id = other.get()?;
        let grid = this.with_value(|run| run.result.grids.get(&name).cloned())?;
        // Only the chosen run's grid is copied out of the history.
        let (theirs, their_name, their_centre) = state.history.with(|history| {
            history.runs.iter().find_map(|stored| match stored {
                StoredRun::Readable(run) if run.id == id => Some((
                    run.result.grids.get(&name)?.clone(),
                    run.name.clone(),
                    centre(&name, &run.result.metrics),
                )),
                _ => None,
            })
        })?;
        if theirs.shape != grid.shape {
            return None;
        }
        let (label, drawn, centre_at) = match mode.get() {
            CompareAs::Difference => (
                format!("{name} − {their_name}"),
                Grid {
                    values: grid
                        .values
                        .iter()
                        .zip(&theirs.values)
                        .map(|(a, b)| a - b)
                        .collect(),
                    ..grid.clone()
                },
                0.0,
            ),
            CompareAs::SideBySide => (format!("{name} in {their_name}"), theirs, their_centre),
        };
        let heading = match mode.get() {
            CompareAs::Difference => format!("{}: this run minus “{their_name}”", title(&name)),
            CompareAs::SideBySide => format!("{} in “{their_name}”", title(&name)),
        };
        Some(view! {
            <div class="compared" data-compared=id>
                <GridView name=label grid=drawn tokens=tokens.get_value() centre=centre_at exports=true title=heading/>
            </div>
        })
    };
    move || {
        let runs = candidates();
        (!runs.is_empty()).then(|| {
            let options = runs
                .into_iter()
                .map(|(id, name)| {
                    let selected = other.get_untracked().as_deref() == Some(id.as_str());
                    view! { <option value=id selected=selected>{name}</option> }
                })
                .collect_view();
            view! {
                <div class="compare controls">
                    <label>"Compare with "
                        <select id="compare-with" on:change=move |ev| {
                            let id = event_target_value(&ev);
                            other.set((!id.is_empty()).then_some(id));
                        }>
                            <option value="">"no other run"</option>
                            {options}
                        </select>
                    </label>
                    <label>"as "
                        <select id="compare-as" on:change=move |ev| mode.set(if event_target_value(&ev) == "side" { CompareAs::SideBySide } else { CompareAs::Difference })>
                            <option value="difference">"the difference"</option>
                            <option value="side">"side by side"</option>
                        </select>
                    </label>
                </div>
                {figure}
            }
        })
    }
}

/// The share link of a run: this page with the spec and model in the fragment.
pub fn share_link(run: &RunRecord) -> String {
    let model = (!run.model.starts_with("local files")).then(|| run.model.clone());
    let fragment = SharedRun {
        model,
        spec: run.result.spec.clone(),
    }
    .to_fragment();
    let location = web_sys::window().map(|w| w.location());
    let base = location
        .map(|l| {
            format!(
                "{}{}",
                l.origin().unwrap_or_default(),
                l.pathname().unwrap_or_default()
            )
        })
        .unwrap_or_default();
    format!("{base}#{fragment}")
}

/// Edge attribution patching's strongest edges by one method: the graph, a table, CSV and SVG
/// downloads.
fn edge_graph(run: &RunRecord, method: AttributionMethod) -> Option<AnyView> {
    let grid = run
        .result
        .grids
        .get(&GridName::raw(GridKind::EdgeScores(method)))?;
    let (n_layer, n_head) = eap::shape_of(grid)?;
    let top = match &run.result.spec.experiment {
        Experiment::EdgeAttributionPatching(p) => p.top,
        _ => 50,
    };
    let edges = eap::top_edges(grid, n_layer, n_head, top);
    let title = match method {
        AttributionMethod::Gradient => format!(
            "The {} strongest edges (edge attribution patching)",
            edges.len()
        ),
        AttributionMethod::Relp => format!("The {} strongest edges (edge RelP)", edges.len()),
    };
    let svg = edge_graph_svg(&title, &edges, n_layer, n_head);
    let csv = edges_csv(&edges);
    let stem = match method {
        AttributionMethod::Gradient => "eap-edges",
        AttributionMethod::Relp => "eap-relp-edges",
    };
    let save_csv = move |_| {
        let _ = files::download_text(&format!("{stem}.csv"), "text/csv", &csv);
    };
    let save_svg = {
        let svg = svg.clone();
        move |_| {
            let _ = files::download_text(&format!("{stem}.svg"), "image/svg+xml", &svg);
        }
    };
    let rows = edges
        .iter()
        .map(|e| {
            view! {
                <tr data-edge=format!("{}->{}", e.up, e.down) data-score=e.score.to_string()>
                    <td>{e.up.to_string()}</td><td>{e.down.to_string()}</td><td>{format!("{:.4}", e.score)}</td>
                </tr>
            }
        })
        .collect_view();
    Some(view! {
        <figure class="edge-graph" data-method=method.as_str() data-edges=edges.len().to_string()>
            <div class="exports" role="group" aria-label="download the edges">
                <button data-export="csv" on:click=save_csv>"CSV"</button>
                <button data-export="svg" on:click=save_svg>"SVG"</button>
            </div>
            <div inner_html=svg></div>
            <figcaption>{title}</figcaption>
            <details>
                <summary>"The edges as a table"</summary>
                <table class="edges">
                    <thead><tr><th scope="col">"from"</th><th scope="col">"to"</th><th scope="col">"score"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }.into_any())
}

/// One target's estimates by each method against activation patching's effects, with each
/// method's Pearson r in the legend.
fn scatter(run: &RunRecord, target: AttributionTarget) -> Option<AnyView> {
    let metrics = &run.result.metrics;
    let grids = &run.result.grids;
    let corrupted = metrics.get(&MetricName::Corrupted).copied().unwrap_or(0.0);
    let name = target.as_str();
    let actual = grids.get(&GridName::raw(GridKind::Patch(target.patch_target())))?;
    let labels = (0..actual.values.len())
        .map(|i| cell_label(actual, i))
        .collect::<Vec<_>>();
    let methods: Vec<(AttributionMethod, f32, Points)> = AttributionMethod::ALL
        .into_iter()
        .filter_map(|method| {
            let estimate = grids.get(&GridName::raw(GridKind::Attribution(method, target)))?;
            let r = metrics.get(&MetricName::Pearson(method, target)).copied()?;
            (estimate.values.len() == actual.values.len()).then_some(())?;
            let points = actual
                .values
                .iter()
                .zip(&estimate.values)
                .zip(&labels)
                .map(|((a, e), l)| (a - corrupted, *e, l.clone()))
                .collect();
            Some((method, r, points))
        })
        .collect();
    let (_, first_r, _) = methods.first()?;
    let first_r = *first_r;
    let series: Vec<Series> = methods
        .iter()
        .map(|(method, r, points)| Series {
            id: method.as_str(),
            name: method_name(*method),
            r: Some(*r),
            points,
        })
        .collect();
    let title = format!("{name}: estimates vs activation patching");
    let svg = scatter_svg(
        &title,
        "activation patching (change of metric)",
        "estimate",
        &series,
    );
    let agreement = methods
        .iter()
        .map(|(method, r, _)| {
            view! { <span data-method=method.as_str() data-pearson=r.to_string()>{format!("{} r = {r:.3}", method_name(*method))}</span> }
        })
        .collect_view();
    let stem = format!("attribution-vs-activation-{name}");
    let save_svg = {
        let (svg, stem) = (svg.clone(), stem.clone());
        move |_| {
            let _ = files::download_text(&format!("{stem}.svg"), "image/svg+xml", &svg);
        }
    };
    let save_png = {
        let svg = svg.clone();
        move |_| {
            let (svg, stem) = (svg.clone(), stem.clone());
            leptos::task::spawn_local(async move {
                let _ = files::download_png(&format!("{stem}.png"), &svg).await;
            });
        }
    };
    Some(
        view! {
            <figure class="scatter" data-scatter=name.to_string() data-pearson=first_r.to_string()>
                <div class="exports" role="group" aria-label="download the scatter">
                    <button data-export="svg" on:click=save_svg>"SVG"</button>
                    <button data-export="png" on:click=save_png>"PNG"</button>
                </div>
                <div inner_html=svg></div>
                <figcaption>{title}": "{agreement}</figcaption>
            </figure>
        }
        .into_any(),
    )
}

/// A scatter's `(effect, estimate, cell)` points.
type Points = Vec<(f32, f32, String)>;

/// Words by their association (`weat.s`, the two target sets in two colours) and texts on a
/// direction (`direction.projection`; for the mean difference, the two halves), largest first,
/// with the statistics beside them.
fn dot_rows(run: &RunRecord) -> Option<(GridName, AnyView)> {
    let result = &run.result;
    let metric = |name: &str| result.metric(name).unwrap_or(f32::NAN);
    let (name, first_group, groups, axis, caption) = match &result.spec.experiment {
        Experiment::AssociationTest(params) => (
            "weat.s",
            params.targets[0].len(),
            vec!["targets X", "targets Y"],
            "s(w): mean cosine with A − mean cosine with B",
            format!(
                "effect size d = {:.3}, one-sided p = {:.4} over {} partitions",
                metric("weat.effect_size"),
                metric("weat.p_value"),
                metric("weat.partitions"),
            ),
        ),
        Experiment::Direction(params) => {
            let halves = params.method == crate::experiments::direction::Method::MeanDifference;
            (
                "direction.projection",
                if halves {
                    params.texts.len() / 2
                } else {
                    params.texts.len()
                },
                if halves {
                    vec!["first half", "second half"]
                } else {
                    vec!["texts"]
                },
                "projection on the direction",
                result
                    .metric("direction.explained")
                    .map(|e| {
                        format!(
                            "the direction carries {:.1}% of the texts' variance",
                            100.0 * e
                        )
                    })
                    .unwrap_or_else(|| "the first half's mean minus the second half's".into()),
            )
        }
        _ => return None,
    };
    let grid = result.grid(name)?;
    let labels = grid.labels.first()?;
    let mut rows: Vec<(String, f32, usize)> = labels
        .iter()
        .zip(&grid.values)
        .enumerate()
        .map(|(i, (label, value))| (label.clone(), *value, usize::from(i >= first_group)))
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let svg = dot_rows_svg(name, axis, &rows, &groups);
    let save_svg = {
        let svg = svg.clone();
        move |_| {
            let _ = files::download_text(&format!("{name}.svg"), "image/svg+xml", &svg);
        }
    };
    let figure = view! {
        <figure class="dot-rows" data-figure=name>
            <div class="exports" role="group" aria-label="download the figure">
                <button data-export="svg" on:click=save_svg>"SVG"</button>
            </div>
            <div inner_html=svg></div>
            <figcaption>{caption}</figcaption>
        </figure>
    };
    Some((name.parse().ok()?, figure.into_any()))
}

/// How a method is called in figures.
fn method_name(method: AttributionMethod) -> &'static str {
    match method {
        AttributionMethod::Gradient => "gradient",
        AttributionMethod::Relp => "RelP",
    }
}

/// A button that downloads the run's experiment as a script for `library` (disabled, saying
/// why, where that library has no export of the experiment).
#[component]
fn PythonExport(run: RunRecord, library: Library, id: &'static str) -> impl IntoView {
    let script = to_python(&run.result.spec, library);
    let name = library.title();
    let file = format!(
        "{}_{}.py",
        files::file_stem(&run.name).replace('-', "_"),
        library.name().replace(['-', '@'], "_")
    );
    let title = match &script {
        Ok(_) => {
            format!("This experiment as a Python script for {name}: python SCRIPT MODEL OUT.json")
        }
        Err(e) => e.to_string(),
    };
    let refused = script.is_err();
    let download = move |_| {
        if let Ok(script) = &script {
            let _ = files::download_text(&file, "text/x-python", script);
        }
    };
    view! {
        <button id=id on:click=download disabled=refused title=title>{format!("Python ({name})")}</button>
    }
}

/// The published values that sit in grid `name`, as marks for its figure.
fn marks_of(comparisons: &[Comparison], name: &GridName) -> Vec<Mark> {
    comparisons
        .iter()
        .filter_map(|c| match &c.found {
            Found::Cell { grid, index, .. } if grid == name => Some(Mark {
                index: *index,
                published: c.published,
                note: c.note.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// A grid's chart, drawn above its heatmap: a line for quantities that change layer by layer
/// (the logit lens, the decomposed residual) or copy by copy (the repetition curves), with
/// published values as diamonds; the heads or components that write the answer most, ranked.
fn chart_for(name: &GridName, grid: &Grid, comparisons: &[Comparison]) -> Option<AnyView> {
    use crate::experiments::{LensGrid, LensStackName};
    let decomposed = GridKind::Lens(LensGrid::StackLogitDiff(LensStackName::DecomposeResid));
    let ranked_title = match name.kind {
        _ if name.variant != Variant::Raw => None,
        GridKind::Lens(LensGrid::HeadDla) => Some("Heads by direct logit attribution"),
        kind if kind == decomposed => Some("Components by direct logit attribution"),
        _ => None,
    };
    if let Some(title) = ranked_title {
        let rows = scaled_bars(grid, RANKED_BARS)
            .into_iter()
            .map(|(label, v, width)| {
                let class = if v >= 0.0 { "positive" } else { "negative" };
                view! {
                    <tr data-bar=label.clone() data-value=v.to_string()>
                        <th scope="row">{label.clone()}</th>
                        <td class="ranked-value">{format!("{v:+.3}")}</td>
                        <td class="ranked-bar"><span class=class style=format!("width:{width:.1}%")></span></td>
                    </tr>
                }
            })
            .collect_view();
        return Some(
            view! {
                <figure class="ranked" data-ranked=name.to_string()>
                    <table><caption>{title}" (largest |effect| first)"</caption><tbody>{rows}</tbody></table>
                </figure>
            }
            .into_any(),
        );
    }
    let is_line = grid.shape.len() == 1
        && name.variant == Variant::Raw
        && matches!(grid.axes[0].as_str(), "component" | "copy")
        && grid
            .labels
            .first()
            .is_some_and(|l| l.len() == grid.values.len());
    if !is_line {
        return None;
    }
    let y_name = match name.kind {
        GridKind::Repetition(_) => "probability",
        _ => "logit difference",
    };
    let svg = line_svg(
        &name.to_string(),
        y_name,
        &grid.labels[0],
        &grid.values,
        &marks_of(comparisons, name),
    );
    Some(
        view! { <figure class="line-chart" data-chart=name.to_string() inner_html=svg></figure> }
            .into_any(),
    )
}

/// The paper's numbers beside this run's: a row per published value.
#[component]
fn PublishedTable(comparisons: Vec<Comparison>, source: Option<(String, String)>) -> impl IntoView {
    let (source, url) = source?;
    let number = |v: Option<f32>| v.map_or("—".to_string(), |v| format!("{v:.3}"));
    let rows = comparisons
        .iter()
        .map(|c| {
            let note = match &c.found {
                Found::Missing(why) if c.note.is_empty() => why.clone(),
                Found::Missing(why) => format!("{} ({why})", c.note),
                _ => c.note.clone(),
            };
            view! {
                <tr data-published=c.what.clone() data-value=c.published.map(|v| v.to_string()).unwrap_or_default()
                    data-computed=c.computed().map(|v| v.to_string()).unwrap_or_default()>
                    <th scope="row">{c.what.clone()}</th>
                    <td>{number(c.published)}</td>
                    <td>{number(c.computed())}</td>
                    <td>{note}</td>
                </tr>
            }
        })
        .collect_view();
    // Checked when a spec is read, and again here: a history record is drawn as stored.
    let cite = match crate::spec::published::link_url(&url) {
        None => view! { <span>{source.clone()}</span> }.into_any(),
        Some(url) => {
            let url = url.to_string();
            view! { <a href=url target="_blank" rel="noopener noreferrer">{source.clone()}</a> }
                .into_any()
        }
    };
    Some(view! {
        // Folded: the answer above already quotes the values it reads.
        <details class="published-details">
            <summary>{format!("All {} published values beside this run's", comparisons.len())}</summary>
            <figure class="published" id="published-values">
                <table>
                    <caption>"Published values beside this run's: "{cite}</caption>
                    <thead><tr><th scope="col">"what"</th><th scope="col">"published"</th><th scope="col">"this run"</th><th scope="col">"note"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </figure>
        </details>
    })
}

/// A run's results: its answer, its figures, what to do next (a direction run offers a steering
/// spec that uses its direction).
#[component]
pub fn RunView(run: RunRecord) -> impl IntoView {
    let bench = expect_context::<Workbench>();
    let tokens = run
        .result
        .tokens
        .get("clean")
        .and_then(|t| t.first())
        .cloned()
        .unwrap_or_default();
    let link = RwSignal::new(None::<String>);
    let export = {
        let run = run.clone();
        move |_| {
            let _ = files::download_run(&run);
        }
    };
    let share = {
        let run = run.clone();
        move |_| {
            let url = share_link(&run);
            if let Some(window) = web_sys::window() {
                let _ = window.navigator().clipboard().write_text(&url);
            }
            link.set(Some(url));
        }
    };
    let result = &run.result;
    let published = result.spec.published.as_ref();
    let comparisons = published.map(|p| p.compare(result)).unwrap_or_default();
    let published_source = published.map(|p| (p.source.clone(), p.url.clone()));
    let findings = summarise(result);
    let read: Vec<GridName> = findings.iter().filter_map(|f| f.grid).collect();
    // The figure on screen: the grid the answer reads first, else the first drawn.
    let extras = extra_figures(&run, &comparisons);
    // The grids with a figure: a heatmap, or another drawing of them.
    let drawn_names: Vec<GridName> = result
        .grids
        .iter()
        .filter(|(name, grid)| drawn(name, grid) || extras.iter().any(|(e, _)| e == *name))
        .map(|(name, _)| *name)
        .collect();
    let first = read
        .iter()
        .find(|g| drawn_names.contains(g))
        .or(drawn_names.first())
        .copied();
    let shown = RwSignal::new(first);
    view! {
        <div id="experiment-result" data-run-id=run.id.clone() data-device=result.provenance.device.clone()>
            <h3>{run.name.clone()}</h3>
            <Answer findings=findings drawn=drawn_names shown=shown/>
            <p class="provenance">{format!(
                "{} · weights sha256 {}… · {} · {:.0} ms",
                run.model,
                &result.provenance.weights_sha256.get(..12).unwrap_or(""),
                result.provenance.device,
                result.provenance.timings_ms.get("total").copied().unwrap_or(0.0)
            )}</p>
            <div class="exports">
                <button id="export-run" on:click=export>"Download run (JSON)"</button>
                <button id="share-run" on:click=share>"Share link"</button>
                <PythonExport run=run.clone() library=Library::TransformerLens id="export-python"/>
                <PythonExport run=run.clone() library=Library::TransformerLens3 id="export-python-tl3"/>
                <PythonExport run=run.clone() library=Library::Nnsight id="export-nnsight"/>
                {move || link.get().map(|l| view! {
                    <label>"Link (the recipient recomputes it): "<input id="share-link" type="text" readonly size="50" value=l/></label>
                })}
            </div>
            <ul class="metrics">
                {result.metrics.iter().map(|(k, v)| view! { <li data-metric=k.to_string() data-value=v.to_string()>{format!("{k}: {v:.4}")}</li> }).collect_view()}
            </ul>
            {result.generations.iter().map(|(name, g)| {
                let ids = g.generation.new_ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
                view! {
                    <p class="generation"><strong>{name.as_str()}": "</strong><span class="token-strip" data-generation=name.as_str() data-ids=ids data-text=g.text.clone()><TokenStrip choices=g.choices()/></span></p>
                    <BeamList name=name.as_str() beams=g.beams()/>
                }
            }).collect_view()}
            <PublishedTable comparisons=comparisons.clone() source=published_source/>
            {run.result.steering_spec().map(|spec| {
                let json = spec.to_json();
                view! {
                    <p><button id="steer-with-direction" on:click=move |_| bench.edit(json.clone())>"Steer with this direction"</button>
                    " writes a steering spec that adds it (unit length, × 10) while GPT-2 continues a prompt; edit it below, then run it."</p>
                }
            })}
            <Figures run=run.clone() shown=shown tokens=tokens comparisons=comparisons read=read extras=extras/>
        </div>
    }
}
