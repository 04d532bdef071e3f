//! Named result grids: `axes`, `shape`, `values`, as in the oracle's `reference.json`.

use serde::{Deserialize, Serialize};

/// An n-dimensional table of results with named axes (`["layer", "pos"]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    pub axes: Vec<String>,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
    /// Labels along an axis where they carry meaning (`"0_pre"`, `"L1H3"`, token strings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Vec<String>>,
}

impl Grid {
    /// A grid without labels.
    ///
    /// # Panics
    /// If `values` does not fill `shape` (a bug in the experiment that built it).
    pub fn new(axes: &[&str], shape: Vec<usize>, values: Vec<f32>) -> Self {
        assert_eq!(axes.len(), shape.len(), "one axis name per dimension");
        assert_eq!(
            shape.iter().product::<usize>(),
            values.len(),
            "values fill the shape"
        );
        Self {
            axes: axes.iter().map(|a| a.to_string()).collect(),
            shape,
            values,
            labels: vec![],
        }
    }

    /// With labels for the first axis.
    pub fn with_labels(mut self, labels: Vec<String>) -> Self {
        self.labels = vec![labels];
        self
    }

    /// `(value - corrupted) / (clean - corrupted)`: 1 where patching restores the clean metric.
    pub fn normalised(&self, clean: f32, corrupted: f32) -> Self {
        let span = clean - corrupted;
        Self {
            values: self.values.iter().map(|v| (v - corrupted) / span).collect(),
            ..self.clone()
        }
    }

    /// The mean over the last axis (per-prompt values → the metric), dropping that axis.
    pub fn mean_last_axis(&self) -> Self {
        let n = *self.shape.last().expect("a grid has at least one axis");
        let values = self
            .values
            .chunks(n)
            .map(|c| c.iter().sum::<f32>() / n as f32)
            .collect();
        let shape = self.shape[..self.shape.len() - 1].to_vec();
        Self {
            axes: self.axes[..self.axes.len() - 1].to_vec(),
            shape,
            values,
            labels: self.labels.clone(),
        }
    }
}
