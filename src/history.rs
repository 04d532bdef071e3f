//! Saved runs: what the browser keeps in IndexedDB and what export/import files hold.
//!
//! A history file is `{"format": "patchbay-history", "version": 1, "runs": [RunRecord...]}`;
//! each run carries its spec and its results (grids, metrics, tokens, generations,
//! provenance), so that opening it draws the figures without recomputing. Import checks
//! everything before anything is stored.

use crate::spec::RunResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The `format` field of history files.
pub const HISTORY_FORMAT: &str = "patchbay-history";
/// The record layout this build writes (and the history file version).
pub const HISTORY_SCHEMA: u32 = 1;

const MAX_TEXT: usize = 1_000;
const MAX_VALUES: usize = 50_000_000;

/// One saved run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// Unique within a history.
    pub id: String,
    /// Given by the user (the spec's title at first).
    pub name: String,
    #[serde(default)]
    pub pinned: bool,
    /// Milliseconds since the Unix epoch.
    pub created_ms: f64,
    /// The model it ran on: a hub id, a URL or a local file label.
    pub model: String,
    pub result: RunResult,
}

impl RunRecord {
    /// What the history list shows under the name: experiment kind, model, device.
    pub fn summary(&self) -> String {
        let kind = serde_json::to_value(&self.result.spec.experiment)
            .ok()
            .and_then(|v| v.as_object().and_then(|o| o.keys().next().cloned()))
            .unwrap_or_default()
            .replace('_', " ");
        format!(
            "{kind} · {} · {}",
            self.model, self.result.provenance.device
        )
    }

    /// Whether a search query matches its name, model, experiment or title.
    pub fn matches(&self, query: &str) -> bool {
        let query = query.trim().to_lowercase();
        query.is_empty()
            || [
                self.name.as_str(),
                self.model.as_str(),
                self.result.spec.title.as_str(),
                &self.summary(),
            ]
            .iter()
            .any(|field| field.to_lowercase().contains(&query))
    }
}

/// An export file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryFile {
    pub format: String,
    pub version: u32,
    pub runs: Vec<RunRecord>,
}

impl HistoryFile {
    pub fn new(runs: Vec<RunRecord>) -> Self {
        Self {
            format: HISTORY_FORMAT.into(),
            version: HISTORY_SCHEMA,
            runs,
        }
    }

    /// Pretty JSON; the same runs always give the same bytes.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a history serialises")
    }

    /// Reads and checks a history file (or one exported run): format, version, every spec,
    /// every grid's shape, names and sizes, unique ids.
    pub fn from_json(text: &str) -> Result<Self, ImportError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ImportError::new("", format!("not JSON: {e}")))?;
        let Some(object) = value.as_object() else {
            return Err(ImportError::new("", "a history file is a JSON object"));
        };
        if object.get("format").and_then(|f| f.as_str()) != Some(HISTORY_FORMAT) {
            return Err(ImportError::new(
                "format",
                format!("not a Patchbay history file (expected \"format\": \"{HISTORY_FORMAT}\")"),
            ));
        }
        let value = migrate(value)?;
        let file: HistoryFile = serde_path_to_error::deserialize(value)
            .map_err(|e| ImportError::new(&e.path().to_string(), e.into_inner().to_string()))?;
        let mut ids = BTreeSet::new();
        for (i, run) in file.runs.iter().enumerate() {
            check_run(run).map_err(|(path, message)| {
                ImportError::new(&format!("runs[{i}]{path}"), message)
            })?;
            if !ids.insert(run.id.as_str()) {
                return Err(ImportError::new(
                    &format!("runs[{i}].id"),
                    format!("\"{}\" appears twice", run.id),
                ));
            }
        }
        Ok(file)
    }
}

/// Brings a history file or stored record written by an older Patchbay to [`HISTORY_SCHEMA`].
/// Version 1 is the first; each later version adds its step here. A newer version is refused
/// (and, in storage, left untouched), never guessed at.
pub fn migrate(value: serde_json::Value) -> Result<serde_json::Value, ImportError> {
    let version = value.get("version").and_then(|v| v.as_u64());
    match version {
        Some(v) if v == HISTORY_SCHEMA as u64 => Ok(value),
        Some(v) if v > HISTORY_SCHEMA as u64 => Err(ImportError::new(
            "version",
            format!(
                "version {v} was written by a newer Patchbay; this one reads version {HISTORY_SCHEMA}"
            ),
        )),
        _ => Err(ImportError::new(
            "version",
            format!("missing or unknown version: this Patchbay reads version {HISTORY_SCHEMA}"),
        )),
    }
}

/// What an import checks of each run, and what the browser checks of every stored record before
/// showing it (a record edited by hand is listed as damaged, not drawn): its spec, every grid's
/// shape against its values and labels, names and sizes. The error is a JSON path within the
/// run and a message.
pub fn check_run(run: &RunRecord) -> Result<(), (String, String)> {
    let fail = |path: &str, message: String| Err((path.to_string(), message));
    if run.id.is_empty() || run.id.len() > 100 {
        return fail(".id", "an id is 1 to 100 characters".into());
    }
    if run.name.len() > MAX_TEXT || run.model.len() > MAX_TEXT {
        return fail(".name", format!("names are at most {MAX_TEXT} characters"));
    }
    if !run.created_ms.is_finite() {
        return fail(".created_ms", "not a time".into());
    }
    run.result
        .spec
        .check()
        .or_else(|e| fail(&format!(".result.spec.{}", e.path), e.message))?;
    let mut values = 0usize;
    for (name, grid) in &run.result.grids {
        let path = format!(".result.grids.{name}");
        if grid.axes.len() != grid.shape.len() {
            return fail(
                &path,
                format!(
                    "{} axes for {} dimensions",
                    grid.axes.len(),
                    grid.shape.len()
                ),
            );
        }
        let size = grid
            .shape
            .iter()
            .try_fold(1usize, |n, d| n.checked_mul(*d))
            .filter(|n| *n <= MAX_VALUES);
        if size != Some(grid.values.len()) {
            return fail(
                &path,
                format!(
                    "shape {:?} does not match its {} values",
                    grid.shape,
                    grid.values.len()
                ),
            );
        }
        if let Some((axis, labels)) = grid
            .labels
            .iter()
            .enumerate()
            .find(|(axis, labels)| grid.shape.get(*axis) != Some(&labels.len()))
        {
            return fail(&path, format!("{} labels for axis {axis}", labels.len()));
        }
        values += grid.values.len();
    }
    if values > MAX_VALUES {
        return fail(".result.grids", format!("more than {MAX_VALUES} values"));
    }
    Ok(())
}

/// Why an import was refused; nothing was stored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot import: {}{message}", at_path(path))]
pub struct ImportError {
    pub path: String,
    pub message: String,
}

impl ImportError {
    fn new(path: &str, message: impl Into<String>) -> Self {
        Self {
            path: path.to_string(),
            message: message.into(),
        }
    }
}

/// `at PATH: ` for a path inside the file, nothing for the whole.
fn at_path(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("at {path}: ")
    }
}
