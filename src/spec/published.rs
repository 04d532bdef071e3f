//! Published values a spec is read against: a paper's numbers (or the components it names),
//! carried in the spec so that every run of it — fresh, from the history, from a share link —
//! draws them beside what was computed.
//!
//! ```json
//! "published": {
//!   "source": "TransformerLens, Exploratory Analysis Demo",
//!   "url": "https://…",
//!   "values": [
//!     {"of": "clean", "value": 3.552},
//!     {"of": "lens.head_dla_logit_diff", "at": {"layer": 9, "head": 9}, "value": 2.985, "note": "name mover"},
//!     {"of": "lens.accumulated_resid_ln_cached_logit_diff", "at": {"component": "9_mid"}, "value": 5.03},
//!     {"of": "patch.attn_head_out_all_pos.normalised", "at": {"layer": 9, "head": 6}, "note": "name mover"}
//!   ]
//! }
//! ```

use super::RunResult;
use crate::experiments::{Grid, GridName, MetricName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a spec's reference numbers come from, and the numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Published {
    /// The paper or demo, for people ("Wang et al. 2022, Table 2").
    pub source: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    pub values: Vec<PublishedValue>,
}

/// One published number (or a marked component) of a metric or a grid cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedValue {
    /// A metric (`clean`, `pearson.z`) or a grid (`patch.resid_pre.normalised`).
    pub of: String,
    /// The grid's cell: every axis by index, or by label where the axis has labels
    /// (`{"component": "9_mid"}`). Empty for a metric.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub at: BTreeMap<String, Coordinate>,
    /// The published number; absent where the paper names a component without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f32>,
    /// What the paper calls it ("name mover", "≈ 1.0 for layers 0–6").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// An index along an axis, or one of its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Coordinate {
    Index(usize),
    Label(String),
}

/// A published value beside the run's.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// `clean`, `lens.head_dla_logit_diff L9H9`, `patch.resid_pre.normalised layer 8, pos 10`.
    pub what: String,
    pub published: Option<f32>,
    pub note: String,
    pub found: Found,
}

/// Where the published value sits in the run's results.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// A metric's value.
    Metric(f32),
    /// A grid cell: its value and flat index.
    Cell {
        grid: GridName,
        index: usize,
        value: f32,
    },
    /// Not in this run, and why ("the model has 2 layers", "no grid `…`").
    Missing(String),
}

impl Comparison {
    /// As JSON: `what`, `published`, `computed` (null where missing), `note`, `missing` (why).
    pub fn to_json(&self) -> serde_json::Value {
        let missing = match &self.found {
            Found::Missing(why) => Some(why.clone()),
            _ => None,
        };
        serde_json::json!({
            "what": self.what,
            "published": self.published,
            "computed": self.computed().filter(|v| v.is_finite()),
            "note": self.note,
            "missing": missing,
        })
    }

    /// The computed value, when the run has it.
    pub fn computed(&self) -> Option<f32> {
        match self.found {
            Found::Metric(v) | Found::Cell { value: v, .. } => Some(v),
            Found::Missing(_) => None,
        }
    }
}

/// `url` if it is a web address a page may link to (`http://` or `https://`, nothing that
/// runs: no `javascript:`, `data:` or `file:`); `None` otherwise.
pub fn link_url(url: &str) -> Option<&str> {
    let scheme = url.split_once("://")?.0;
    let web = scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http");
    let clean = !url.chars().any(|c| c.is_control() || c.is_whitespace());
    (web && clean).then_some(url)
}

impl Published {
    /// Checks that need no run: names that exist, cells given for grids only.
    pub fn check(&self) -> Result<(), (String, String)> {
        if !self.url.is_empty() && link_url(&self.url).is_none() {
            return Err((
                "published.url".into(),
                "a link to the paper must be an http:// or https:// address".into(),
            ));
        }
        for (i, value) in self.values.iter().enumerate() {
            let path = format!("published.values[{i}]");
            if value.of.parse::<GridName>().is_err() && !value.at.is_empty() {
                return Err((
                    format!("{path}.of"),
                    format!(
                        "`{}` is not a grid of this Patchbay, and a metric has no cell (`at`)",
                        value.of
                    ),
                ));
            }
            if value.value.is_some_and(|v| !v.is_finite()) {
                return Err((format!("{path}.value"), "not a finite number".into()));
            }
        }
        Ok(())
    }

    /// Every published value beside the run's value of it.
    pub fn compare(&self, result: &RunResult) -> Vec<Comparison> {
        self.values
            .iter()
            .map(|value| Comparison {
                what: describe(value),
                published: value.value,
                note: value.note.clone(),
                found: find(value, result),
            })
            .collect()
    }
}

/// Comparisons as a plain-text table (the CLI prints it).
pub fn table(comparisons: &[Comparison]) -> String {
    let number = |v: Option<f32>| v.map_or("—".to_string(), |v| format!("{v:.3}"));
    let width = comparisons
        .iter()
        .map(|c| c.what.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut out = format!(
        "{:width$}  {:>9}  {:>9}  note\n",
        "what", "published", "computed"
    );
    for c in comparisons {
        let note = match &c.found {
            Found::Missing(why) if c.note.is_empty() => why.clone(),
            Found::Missing(why) => format!("{} ({why})", c.note),
            _ => c.note.clone(),
        };
        out += &format!(
            "{:width$}  {:>9}  {:>9}  {note}\n",
            c.what,
            number(c.published),
            number(c.computed())
        );
    }
    out
}

fn describe(value: &PublishedValue) -> String {
    if value.at.is_empty() {
        return value.of.clone();
    }
    let layer = value.at.get("layer");
    let head = value.at.get("head");
    let cell = match (layer, head) {
        (Some(Coordinate::Index(l)), Some(Coordinate::Index(h))) if value.at.len() == 2 => {
            format!("L{l}H{h}")
        }
        _ => value
            .at
            .iter()
            .map(|(axis, c)| match c {
                Coordinate::Index(i) => format!("{axis} {i}"),
                Coordinate::Label(l) => format!("{axis} {l}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!("{} {cell}", value.of)
}

fn find(value: &PublishedValue, result: &RunResult) -> Found {
    if value.at.is_empty()
        && let Some(v) = value
            .of
            .parse::<MetricName>()
            .ok()
            .and_then(|name| result.metrics.get(&name))
    {
        return Found::Metric(*v);
    }
    let Ok(name) = value.of.parse::<GridName>() else {
        return Found::Missing(format!("this run has no metric `{}`", value.of));
    };
    let Some(grid) = result.grids.get(&name) else {
        return Found::Missing(format!("this run has no grid `{}`", value.of));
    };
    match cell_index(grid, &value.at) {
        Ok(index) => Found::Cell {
            grid: name,
            index,
            value: grid.values[index],
        },
        Err(why) => Found::Missing(why),
    }
}

/// The flat index of the cell `at` names in `grid`.
pub fn cell_index(grid: &Grid, at: &BTreeMap<String, Coordinate>) -> Result<usize, String> {
    if let Some(extra) = at.keys().find(|k| !grid.axes.contains(k)) {
        return Err(format!(
            "the grid has no axis `{extra}` (its axes: {})",
            grid.axes.join(", ")
        ));
    }
    let mut index = 0;
    for (axis, name) in grid.axes.iter().enumerate() {
        let n = grid.shape[axis];
        let i = match at.get(name) {
            None if n == 1 => 0,
            None => return Err(format!("the cell needs a `{name}` (0 to {})", n - 1)),
            Some(Coordinate::Index(i)) if *i < n => *i,
            Some(Coordinate::Index(i)) => {
                return Err(format!("this model has no {name} {i} (it has {n})"));
            }
            Some(Coordinate::Label(label)) => grid
                .labels
                .get(axis)
                .and_then(|labels| labels.iter().position(|l| l == label))
                .ok_or_else(|| format!("this model has no {name} `{label}`"))?,
        };
        index = index * n + i;
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(pairs: &[(&str, Coordinate)]) -> BTreeMap<String, Coordinate> {
        pairs
            .iter()
            .map(|(k, c)| (k.to_string(), c.clone()))
            .collect()
    }

    #[test]
    fn cells_are_found_by_index_and_label_or_said_missing() {
        let grid = Grid::new(
            &["layer", "head"],
            vec![2, 3],
            (0..6).map(|v| v as f32).collect(),
        );
        let cell = at(&[
            ("layer", Coordinate::Index(1)),
            ("head", Coordinate::Index(2)),
        ]);
        assert_eq!(cell_index(&grid, &cell), Ok(5));
        let beyond = at(&[
            ("layer", Coordinate::Index(9)),
            ("head", Coordinate::Index(9)),
        ]);
        assert_eq!(
            cell_index(&grid, &beyond).unwrap_err(),
            "this model has no layer 9 (it has 2)"
        );
        assert!(cell_index(&grid, &at(&[("layer", Coordinate::Index(0))])).is_err());
        let lens = Grid::new(&["component"], vec![3], vec![0.5, 1.5, 2.5]).with_labels(vec![
            "0_pre".into(),
            "0_mid".into(),
            "final_post".into(),
        ]);
        let mid = at(&[("component", Coordinate::Label("0_mid".into()))]);
        assert_eq!(cell_index(&lens, &mid), Ok(1));
        let absent = at(&[("component", Coordinate::Label("9_mid".into()))]);
        assert_eq!(
            cell_index(&lens, &absent).unwrap_err(),
            "this model has no component `9_mid`"
        );
    }

    #[test]
    fn heads_read_as_tl_writes_them() {
        let value = PublishedValue {
            of: "lens.head_dla_logit_diff".into(),
            at: at(&[
                ("layer", Coordinate::Index(9)),
                ("head", Coordinate::Index(9)),
            ]),
            value: Some(2.985),
            note: String::new(),
        };
        assert_eq!(describe(&value), "lens.head_dla_logit_diff L9H9");
    }

    #[test]
    fn a_cell_on_a_metric_is_refused() {
        let published = Published {
            source: "x".into(),
            url: String::new(),
            values: vec![PublishedValue {
                of: "clean".into(),
                at: at(&[("layer", Coordinate::Index(0))]),
                value: Some(1.0),
                note: String::new(),
            }],
        };
        assert_eq!(published.check().unwrap_err().0, "published.values[0].of");
    }
}
