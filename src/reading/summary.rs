//! A run's answer in a few sentences, written from its numbers: the metric on clean and
//! corrupted prompts, then the components that matter most ("Patching each head's output
//! (all positions): L9H9 recovers 61 % of the effect"), each with the published value beside
//! it where the spec has one.

use super::titles::{patch_site, title};
use crate::experiments::{
    AttributionMethod, AttributionTarget, Grid, GridKind, GridName, LensGrid, LensStackName,
    Metric, MetricName, Variant, eap, path::PathGrid, repetition::RepetitionGrid,
};
use crate::figures::{cell_label, ranked_cells};
use crate::spec::published::{Comparison, Found};
use crate::spec::{Experiment, RunResult};

/// One sentence of the summary and the figure it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub text: String,
    /// The grid the sentence reads, to open beside it.
    pub grid: Option<GridName>,
}

impl Finding {
    fn about(text: String, grid: GridName) -> Self {
        Self {
            text,
            grid: Some(grid),
        }
    }

    fn plain(text: String) -> Self {
        Self { text, grid: None }
    }
}

/// How many components a sentence names.
const NAMED: usize = 3;

/// The run's findings, most important first.
pub fn summarise(result: &RunResult) -> Vec<Finding> {
    let published = result
        .spec
        .published
        .as_ref()
        .map(|p| p.compare(result))
        .unwrap_or_default();
    let reader = Reader {
        result,
        published: &published,
        tokens: result
            .tokens
            .get("clean")
            .and_then(|t| t.first())
            .map(Vec::as_slice)
            .unwrap_or(&[]),
    };
    let mut findings: Vec<Finding> = reader.metrics().into_iter().collect();
    findings.extend(reader.by_kind());
    findings
}

struct Reader<'a> {
    result: &'a RunResult,
    published: &'a [Comparison],
    tokens: &'a [String],
}

fn metric_name(metric: Metric) -> &'static str {
    match metric {
        Metric::LogitDiff => "logit difference",
        Metric::AnswerProb => "probability of the answer",
        Metric::AnswerLoss => "loss on the answer",
    }
}

/// `+2.99`, `−0.41`: signed, three significant places for the sizes these grids have.
fn signed(v: f32) -> String {
    let text = format!("{v:+.2}");
    if text[1..].chars().all(|c| c == '0' || c == '.') {
        return format!("±{}", &text[1..]);
    }
    text.replace('-', "−")
}

fn number(v: f32) -> String {
    let text = format!("{v:.2}");
    // −0.004 reads as 0.00, not as a negative zero.
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        return text.trim_start_matches('-').to_string();
    }
    text.replace('-', "−")
}

/// A probability: two places, or two significant digits below 1 %.
fn probability(p: f32) -> String {
    if p.abs() >= 0.01 || p == 0.0 {
        number(p)
    } else {
        format!("{p:.1e}")
    }
}

fn percent(v: f32) -> String {
    format!("{:.0} %", 100.0 * v).replace('-', "−")
}

fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

impl Reader<'_> {
    fn metric(&self, name: MetricName) -> Option<f32> {
        self.result.metrics.get(&name).copied()
    }

    fn grid(&self, name: GridName) -> Option<&Grid> {
        self.result.grids.get(&name)
    }

    fn metric_name(&self) -> &'static str {
        metric_name(self.result.spec.metric)
    }

    /// " (published: 2.99)" where the spec's paper has a value for this cell.
    fn published_at(&self, grid: GridName, index: usize) -> String {
        self.published
            .iter()
            .find_map(|c| match (&c.found, c.published) {
                (
                    Found::Cell {
                        grid: g, index: i, ..
                    },
                    Some(v),
                ) if *g == grid && *i == index => Some(format!(" (published: {})", number(v))),
                _ => None,
            })
            .unwrap_or_default()
    }

    fn published_metric(&self, what: &str) -> String {
        self.published
            .iter()
            .find_map(|c| match (&c.found, c.published) {
                (Found::Metric(_), Some(v)) if c.what == what => {
                    Some(format!(" (published: {})", number(v)))
                }
                _ => None,
            })
            .unwrap_or_default()
    }

    /// A cell as people name it: `L9H9`, `layer 9 at position 14 (" Mary")`,
    /// `L9H9 at position 14 (" Mary")`.
    fn cell(&self, grid: &Grid, index: usize) -> String {
        let mut rest = index;
        let mut at = vec![0; grid.shape.len()];
        for (axis, &n) in grid.shape.iter().enumerate().rev() {
            at[axis] = rest % n.max(1);
            rest /= n.max(1);
        }
        let axis = |name: &str| grid.axes.iter().position(|a| a == name);
        let find = |name: &str| axis(name).map(|i| at[i]);
        // Token texts label positions when they are the grid's positions.
        let tokens = axis("pos").is_some_and(|i| grid.shape[i] == self.tokens.len());
        let position = find("pos").map(|p| match self.tokens.get(p) {
            Some(token) if tokens => format!("position {p} ({token:?})"),
            _ => format!("position {p}"),
        });
        let label = |axis: usize, i: usize| grid.labels.get(axis).and_then(|l| l.get(i)).cloned();
        let unit = match (find("layer"), find("head"), axis("feature")) {
            (Some(l), Some(h), _) => Some(format!("L{l}H{h}")),
            (Some(l), None, _) => Some(format!("layer {l}")),
            (None, _, Some(f)) => Some(format!(
                "feature {}",
                label(f, at[f]).unwrap_or_else(|| at[f].to_string())
            )),
            _ => None,
        };
        match (unit, position) {
            (Some(unit), Some(position)) => format!("{unit} at {position}"),
            (Some(unit), None) => unit,
            (None, Some(position)) if grid.axes.len() == 1 => position,
            _ => cell_label(grid, index),
        }
    }

    /// The `NAMED` largest cells: "L9H9 {first}, L10H0 {value}, L9H6 {value}".
    fn top(
        &self,
        name: GridName,
        first: impl Fn(f32) -> String,
        rest: impl Fn(f32) -> String,
    ) -> Option<String> {
        let grid = self.grid(name)?;
        let cells = ranked_cells(grid, NAMED);
        let (head, tail) = cells.split_first()?;
        let mut text = format!(
            "{} {}{}",
            self.cell(grid, *head),
            first(grid.values[*head]),
            self.published_at(name, *head)
        );
        for &i in tail {
            text.push_str(&format!(
                ", {} {}{}",
                self.cell(grid, i),
                rest(grid.values[i]),
                self.published_at(name, i)
            ));
        }
        Some(text)
    }

    fn metrics(&self) -> Option<Finding> {
        let clean = self.metric(MetricName::Clean)?;
        let metric = upper_first(self.metric_name());
        let mut text = format!(
            "{metric}: {}{} on the clean prompts",
            number(clean),
            self.published_metric("clean")
        );
        if let Some(corrupted) = self.metric(MetricName::Corrupted) {
            text.push_str(&format!(
                ", {}{} on the corrupted ones",
                number(corrupted),
                self.published_metric("corrupted")
            ));
        }
        text.push('.');
        Some(Finding::plain(text))
    }

    fn by_kind(&self) -> Vec<Finding> {
        match &self.result.spec.experiment {
            Experiment::ActivationPatching(params) => params
                .targets
                .iter()
                .filter_map(|&t| self.restored(GridKind::Patch(t), patch_site(t)))
                .chain(self.feature_targets())
                .collect(),
            Experiment::PathPatching(_) => [
                (
                    PathGrid::FinalResid,
                    "each head's direct path to the logits",
                ),
                (
                    PathGrid::Receivers(crate::experiments::path::HeadInput::Q),
                    "each head's path to the receivers' queries",
                ),
                (
                    PathGrid::Receivers(crate::experiments::path::HeadInput::K),
                    "each head's path to the receivers' keys",
                ),
                (
                    PathGrid::Receivers(crate::experiments::path::HeadInput::V),
                    "each head's path to the receivers' values",
                ),
            ]
            .into_iter()
            .filter_map(|(grid, what)| self.restored(GridKind::Path(grid), what))
            .collect(),
            Experiment::Ablation(_) => self.ablations(),
            Experiment::LogitLens(_) => self.lens(),
            Experiment::AttributionPatching(_) => {
                let mut found = self.attribution();
                found.extend(self.feature_targets());
                found
            }
            Experiment::EdgeAttributionPatching(_) => self.edges(),
            Experiment::Circuit(_) => self.circuit().into_iter().collect(),
            Experiment::NeuronDla(_) => self.neurons().into_iter().collect(),
            Experiment::Loss(_) => self.loss().into_iter().collect(),
            Experiment::Generation(_) | Experiment::Steering(_) => self.generations(),
            Experiment::Direction(_) => self.direction().into_iter().collect(),
            Experiment::AssociationTest(_) => self.association().into_iter().collect(),
            Experiment::FrequencyTagging(_) => self.frequency().into_iter().collect(),
            Experiment::Repetition(_) => self.repetition().into_iter().collect(),
            Experiment::SaeFeatures(_) => self.sae_features(),
            Experiment::SaeAttribution(_) => self.sae_attribution().into_iter().collect(),
        }
    }

    /// An SAE's features as targets: the strongest estimates (with their agreement with
    /// patching), the features and positions whose patch restores most, and the error term's.
    fn feature_targets(&self) -> Vec<Finding> {
        let named = |name: &str| -> GridName { name.parse().expect("a declared grid") };
        let mut found = vec![];
        for (grid, pearson, what) in [
            (
                "sae_patch.attrib",
                "sae_patch.pearson",
                "attribution patching",
            ),
            ("sae_patch.relp", "sae_patch.pearson_relp", "RelP"),
        ] {
            let signed_value = |v: f32| format!("({})", signed(v));
            let Some(top) = self.top(named(grid), signed_value, signed_value) else {
                continue;
            };
            let agreement = self
                .result
                .metric(pearson)
                .map(|r| format!("; against activation patching, r = {r:.2}"))
                .unwrap_or_default();
            found.push(Finding::about(
                format!("SAE features by {what}: {top}{agreement}."),
                named(grid),
            ));
        }
        found.extend(self.restored(
            GridKind::Named("sae_patch.features"),
            "each SAE feature at each position",
        ));
        found.extend(self.restored(
            GridKind::Named("sae_patch.error"),
            "the SAE's error term at each position",
        ));
        found
    }

    /// The feature with the largest attribution, what patching it restores, and the error node.
    fn sae_attribution(&self) -> Option<Finding> {
        let ids_name: GridName = "sae_attrib.top_features".parse().ok()?;
        let values_name: GridName = "sae_attrib.top_values".parse().ok()?;
        let (ids, values) = (self.grid(ids_name)?, self.grid(values_name)?);
        let (&first, &value) = (ids.values.first()?, values.values.first()?);
        let patched = "sae_attrib.patched"
            .parse::<GridName>()
            .ok()
            .and_then(|n| self.grid(n))
            .and_then(|g| g.values.first().copied())
            .map(|share| {
                format!(
                    "; patched alone from the clean run it restores {} of the effect",
                    percent(share)
                )
            })
            .unwrap_or_default();
        let error = self
            .result
            .metric("sae_attrib.error_patched")
            .map(|share| {
                format!(
                    " Patching the SAE's error term restores {}.",
                    percent(share)
                )
            })
            .unwrap_or_default();
        Some(Finding::about(
            format!(
                "Feature #{} has the largest attribution ({}){patched}.{error}",
                first as usize,
                signed(value)
            ),
            values_name,
        ))
    }

    /// How well the SAE rebuilds the activation, the strongest feature of the last token, and
    /// a followed feature's strongest token.
    fn sae_features(&self) -> Vec<Finding> {
        let mut found = vec![];
        if let (Some(fve), Some(l0)) = (self.result.metric("sae.fve"), self.result.metric("sae.l0"))
        {
            found.push(Finding::about(
                format!(
                    "The SAE's features explain {} of the activation's variance over the prompt, with {} features active per token on average; the rest is the error term.",
                    percent(fve),
                    number(l0)
                ),
                "sae.error_norm".parse().expect("a declared grid"),
            ));
        }
        let ids_name: Option<GridName> = "sae.top_features".parse().ok();
        let values_name: Option<GridName> = "sae.top_activations".parse().ok();
        if let (Some(ids), Some(values)) = (
            ids_name.and_then(|n| self.grid(n)),
            values_name.and_then(|n| self.grid(n)),
        ) && let [pos, top] = ids.shape[..]
            && pos > 0
            && top > 0
        {
            let last = (pos - 1) * top;
            let token = ids
                .labels
                .first()
                .and_then(|l| l.get(pos - 1))
                .cloned()
                .unwrap_or_default();
            found.push(Finding::about(
                format!(
                    "At the last token “{token}” feature #{} fires most ({}).",
                    ids.values[last] as usize,
                    number(values.values[last])
                ),
                values_name.expect("parsed above"),
            ));
        }
        let feature: Option<GridName> = "sae.feature".parse().ok();
        if let Some(grid) = feature.and_then(|n| self.grid(n))
            && let Some(&i) = ranked_cells(grid, 1).first()
            && grid.values[i] > 0.0
        {
            let token = grid
                .labels
                .first()
                .and_then(|l| l.get(i))
                .cloned()
                .unwrap_or_default();
            found.push(Finding::about(
                format!(
                    "The followed feature fires most on “{token}” (position {i}, {}).",
                    number(grid.values[i])
                ),
                feature.expect("parsed above"),
            ));
        }
        found
    }

    /// "Patching each head's output (all positions): L9H9 recovers 61 % of the effect, …"
    fn restored(&self, kind: GridKind, what: &str) -> Option<Finding> {
        let name = GridName::normalised(kind);
        let top = self.top(
            name,
            |v| format!("recovers {} of the effect", percent(v)),
            percent,
        )?;
        let verb = match kind {
            GridKind::Path(_) => "Path patching",
            _ => "Patching",
        };
        Some(Finding::about(format!("{verb} {what}: {top}."), name))
    }

    /// Each ablation grid: the units whose loss moves the metric most, as changes.
    fn ablations(&self) -> Vec<Finding> {
        let Some(clean) = self.metric(MetricName::Clean) else {
            return vec![];
        };
        self.result
            .grids
            .iter()
            .filter(|(name, _)| {
                matches!(name.kind, GridKind::Ablate(..)) && name.variant == Variant::Raw
            })
            .filter_map(|(name, grid)| {
                let change = Grid {
                    values: grid.values.iter().map(|v| v - clean).collect(),
                    ..grid.clone()
                };
                let cells = ranked_cells(&change, NAMED);
                let (head, tail) = cells.split_first()?;
                let mut text = format!(
                    "{}: {} moves the {} most, {} → {} ({})",
                    title(name),
                    self.cell(grid, *head),
                    self.metric_name(),
                    number(clean),
                    number(grid.values[*head]),
                    signed(change.values[*head])
                );
                for &i in tail {
                    text.push_str(&format!(
                        "; then {} ({})",
                        self.cell(grid, i),
                        signed(change.values[i])
                    ));
                }
                text.push('.');
                Some(Finding::about(text, *name))
            })
            .collect()
    }

    fn lens(&self) -> Vec<Finding> {
        let mut findings = vec![];
        let heads = GridName::raw(GridKind::Lens(LensGrid::HeadDla));
        let metric = self.metric_name();
        if let Some(top) = self.top(
            heads,
            |v| format!("contributes {} to the {metric}", signed(v)),
            signed,
        ) {
            findings.push(Finding::about(
                format!("Direct logit attribution: {top}."),
                heads,
            ));
        }
        let lens = GridName::raw(GridKind::Lens(LensGrid::StackLogitDiff(
            LensStackName::AccumulatedResidLnCached,
        )));
        if let Some(grid) = self.grid(lens).filter(|g| g.values.len() >= 2) {
            let labels = grid.labels.first();
            let label = |i: usize| {
                labels
                    .and_then(|l| l.get(i))
                    .cloned()
                    .unwrap_or_else(|| i.to_string())
            };
            let (rise, at) = grid
                .values
                .windows(2)
                .enumerate()
                .map(|(i, w)| (w[1] - w[0], i + 1))
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .unwrap_or((0.0, 0));
            let last = grid.values.len() - 1;
            findings.push(Finding::about(
                format!(
                    "Logit lens: the residual stream reads a {metric} of {} at {} and {} at {}; it rises most at {} ({}).",
                    number(grid.values[0]),
                    label(0),
                    number(grid.values[last]),
                    label(last),
                    label(at),
                    signed(rise)
                ),
                lens,
            ));
        }
        findings
    }

    fn attribution(&self) -> Vec<Finding> {
        AttributionTarget::ALL
            .into_iter()
            .filter_map(|target| {
                let agreement: Vec<String> = AttributionMethod::ALL
                    .into_iter()
                    .filter_map(|method| {
                        let r = self.metric(MetricName::Pearson(method, target))?;
                        Some(format!(
                            "{} r = {r:.2}",
                            match method {
                                AttributionMethod::Gradient => "attribution patching",
                                AttributionMethod::Relp => "RelP",
                            }
                        ))
                    })
                    .collect();
                let estimate = GridName::raw(GridKind::Attribution(
                    AttributionMethod::ALL.into_iter().find(|&m| {
                        self.grid(GridName::raw(GridKind::Attribution(m, target)))
                            .is_some()
                    })?,
                    target,
                ));
                let top = self.top(
                    estimate,
                    |v| format!("({})", signed(v)),
                    |v| format!("({})", signed(v)),
                )?;
                let site = patch_site(target.patch_target());
                let text = if agreement.is_empty() {
                    format!("Estimated for {site}: {top}.")
                } else {
                    format!(
                        "Estimated for {site}: {top}; against activation patching, {}.",
                        agreement.join(", ")
                    )
                };
                Some(Finding::about(upper_first(&text), estimate))
            })
            .collect()
    }

    fn edges(&self) -> Vec<Finding> {
        AttributionMethod::ALL
            .into_iter()
            .filter_map(|method| {
                let name = GridName::raw(GridKind::EdgeScores(method));
                let grid = self.grid(name)?;
                let (n_layer, n_head) = eap::shape_of(grid)?;
                let edges = eap::top_edges(grid, n_layer, n_head, NAMED);
                let (first, rest) = edges.split_first()?;
                let mut text = format!(
                    "The strongest edges ({}): {} → {} ({})",
                    match method {
                        AttributionMethod::Gradient => "edge attribution patching",
                        AttributionMethod::Relp => "edge RelP",
                    },
                    first.up,
                    first.down,
                    signed(first.score)
                );
                for e in rest {
                    text.push_str(&format!(", {} → {} ({})", e.up, e.down, signed(e.score)));
                }
                text.push('.');
                Some(Finding::about(text, name))
            })
            .collect()
    }

    fn circuit(&self) -> Option<Finding> {
        let kept = self.metric(MetricName::Circuit)?;
        let of_clean = self
            .metric(MetricName::Clean)
            .filter(|&clean| clean != 0.0)
            .map(|clean| {
                format!(
                    " ({} of the clean {})",
                    percent(kept / clean),
                    number(clean)
                )
            })
            .unwrap_or_default();
        Some(Finding::plain(format!(
            "With only the circuit's heads kept (the others mean-ablated), the {} is {}{of_clean}.",
            self.metric_name(),
            number(kept),
        )))
    }

    fn neurons(&self) -> Option<Finding> {
        let name = GridName::raw(GridKind::Neurons(
            crate::experiments::neurons::NeuronGrid::Dla,
        ));
        // `[layer, neuron]` (a stored run is checked against its shape, not its kind's axes).
        let grid = self.grid(name).filter(|g| g.shape.len() == 2)?;
        let width = grid.shape[1].max(1);
        let cells = ranked_cells(grid, NAMED);
        let metric = self.metric_name();
        let named: Vec<String> = cells
            .iter()
            .map(|&i| {
                let (layer, neuron) = (i / width, i % width);
                format!("L{layer} neuron {neuron} ({})", signed(grid.values[i]))
            })
            .collect();
        Some(Finding::about(
            format!(
                "The neurons that write the {metric} most: {}.",
                named.join(", ")
            ),
            name,
        ))
    }

    fn loss(&self) -> Option<Finding> {
        let mean = self.metric(MetricName::Loss)?;
        let name = GridName::raw(GridKind::Loss);
        let mut text = format!("Mean loss {} nats a token", number(mean));
        if let Some(grid) = self.grid(name)
            && let Some(&i) = ranked_cells(grid, 1).first()
        {
            text.push_str(&format!(
                "; the hardest token: {} ({})",
                cell_label(grid, i),
                number(grid.values[i])
            ));
        }
        text.push('.');
        Some(Finding::about(text, name))
    }

    fn repetition(&self) -> Option<Finding> {
        let name = GridName::raw(GridKind::Repetition(RepetitionGrid::Tp));
        let grid = self.grid(name)?;
        let (first, last) = (grid.values.first()?, grid.values.last()?);
        Some(Finding::about(
            format!(
                "The next token's probability is {} in the first copy and {} in the last.",
                probability(*first),
                probability(*last)
            ),
            name,
        ))
    }

    /// The continuations, the unsteered one before the steered.
    fn generations(&self) -> Vec<Finding> {
        ["default", "unsteered", "steered"]
            .into_iter()
            .filter_map(|name| {
                let g = self.result.generation(name)?;
                let who = match name {
                    "unsteered" => "Without the steering vector, GPT-2 continues",
                    "steered" => "With it",
                    _ => "GPT-2 continues",
                };
                Some(Finding::plain(format!("{who}: “{}”.", g.text.trim_end())))
            })
            .collect()
    }

    fn direction(&self) -> Option<Finding> {
        let name: GridName = "direction.projection".parse().ok()?;
        let grid = self.grid(name)?;
        let &i = ranked_cells(grid, 1).first()?;
        let furthest = grid.labels.first().and_then(|l| l.get(i)).cloned()?;
        let share = self
            .result
            .metric("direction.explained")
            .map(|e| {
                format!(
                    "The direction carries {} of the texts' variance; ",
                    percent(e)
                )
            })
            .unwrap_or_default();
        Some(Finding::about(
            upper_first(&format!(
                "{share}the text furthest along it: “{furthest}” ({}).",
                signed(grid.values[i])
            )),
            name,
        ))
    }

    fn association(&self) -> Option<Finding> {
        let d = self.result.metric("weat.effect_size")?;
        let p = self.result.metric("weat.p_value")?;
        let nearer = if d >= 0.0 {
            "the first targets lie nearer the first attributes"
        } else {
            "the first targets lie nearer the second attributes"
        };
        Some(Finding::about(
            format!(
                "Effect size d = {} (one-sided p = {p:.4}): {nearer}.",
                number(d)
            ),
            "weat.s".parse().ok()?,
        ))
    }

    fn frequency(&self) -> Option<Finding> {
        let name: GridName = "hftp.tagged".parse().ok()?;
        let tagged = self.grid(name)?;
        let rates = *tagged.shape.get(1)?;
        let layers = tagged.shape[0];
        let (layer, share) = (0..layers)
            .filter_map(|l| Some((l, *tagged.values.get(l * rates)?)))
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        let control = self
            .result
            .grid("hftp.tagged_shuffled")
            .and_then(|g| g.values.get(layer * rates))
            .map(|v| format!(" ({} with the words shuffled)", percent(*v)))
            .unwrap_or_default();
        Some(Finding::about(
            format!(
                "Layer {layer} tags the most neurons at the sentence rate: {}{control}.",
                percent(share)
            ),
            name,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A result as a run writes it, with `grids` and `metrics` given and the spec of `example`.
    fn result(example: &str, grids: serde_json::Value, metrics: serde_json::Value) -> RunResult {
        let spec = crate::spec::examples::find(example).unwrap().json;
        serde_json::from_value(json!({
            "spec": serde_json::from_str::<serde_json::Value>(spec).unwrap(),
            "grids": grids,
            "metrics": metrics,
            "tokens": {},
            "generations": {},
            "provenance": {"patchbay_version": "test", "weights_sha256": "", "device": "cpu", "timings_ms": {}},
        }))
        .unwrap()
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(number(-0.004), "0.00");
        assert_eq!(number(-1.236), "−1.24");
        assert_eq!(signed(2.985), "+2.98");
        assert_eq!(signed(-0.001), "±0.00");
        assert_eq!(percent(0.936), "94 %");
        assert_eq!(probability(0.000_021), "2.1e-5");
        assert_eq!(probability(0.5), "0.50");
    }

    #[test]
    fn an_ablation_names_the_units_that_move_the_metric_most_as_changes() {
        let run = result(
            "ioi-zero-ablation-heads",
            json!({"ablate.zero_head_z": {"axes": ["layer", "head"], "shape": [2, 2], "values": [3.0, 1.0, 3.5, 2.75]}}),
            json!({"clean": 3.0}),
        );
        let findings = summarise(&run);
        assert_eq!(
            findings[0].text,
            "Logit difference: 3.00 on the clean prompts."
        );
        assert_eq!(
            findings[1].text,
            "Zero-ablating each head: L0H1 moves the logit difference most, 3.00 → 1.00 (−2.00); then L1H0 (+0.50); then L1H1 (−0.25)."
        );
        assert_eq!(
            findings[1].grid,
            Some("ablate.zero_head_z".parse().unwrap())
        );
    }

    #[test]
    fn a_published_value_stands_beside_the_cell_it_is_for() {
        // The paper puts the IOI answer at S2 (position 10) of layer 0's residual stream.
        let mut values = vec![0.0; 2 * 15];
        values[10] = 1.0;
        values[15 + 10] = 0.5;
        values[15 + 14] = -0.25;
        let run = result(
            "ioi-activation-patching",
            json!({"patch.resid_pre.normalised": {"axes": ["layer", "pos"], "shape": [2, 15], "values": values}}),
            json!({"clean": 3.552, "corrupted": -3.5}),
        );
        let findings = summarise(&run);
        assert_eq!(
            findings[0].text,
            "Logit difference: 3.55 (published: 3.55) on the clean prompts, −3.50 (published: −3.55) on the corrupted ones."
        );
        assert_eq!(
            findings[1].text,
            "Patching the residual stream entering each layer: layer 0 at position 10 recovers 100 % of the effect (published: 1.00), layer 1 at position 10 50 % (published: 1.00), layer 1 at position 14 −25 %."
        );
    }

    #[test]
    fn a_steered_run_reads_unsteered_then_steered() {
        let mut run = result("steering-love-hate", json!({}), json!({}));
        let text = |t: &str| {
            serde_json::from_value(json!({
                "prompt_ids": [], "text": t,
                "generation": {"new_ids": [], "steps": [], "used_kv_cache": true},
            }))
            .unwrap()
        };
        run.generations
            .insert("steered".parse().unwrap(), text(" love"));
        run.generations
            .insert("unsteered".parse().unwrap(), text(" hate"));
        let said: Vec<String> = summarise(&run).into_iter().map(|f| f.text).collect();
        assert_eq!(
            said,
            [
                "Without the steering vector, GPT-2 continues: “ hate”.",
                "With it: “ love”."
            ]
        );
    }
}
