//! Named result grids: `axes`, `shape`, `values`, as in the oracle's `reference.json`.

use serde::{Deserialize, Serialize};

/// An n-dimensional table of results with named axes (`["layer", "pos"]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    pub axes: Vec<String>,
    pub shape: Vec<usize>,
    /// NaN where a value is undefined (written `null` in JSON).
    #[serde(deserialize_with = "nullable::floats")]
    pub values: Vec<f32>,
    /// Labels along an axis where they carry meaning (`"0_pre"`, `"L1H3"`, token strings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Vec<String>>,
}

/// JSON has no NaN: serde_json writes it as `null`; these read `null` back as NaN (a
/// normalisation by zero, a correlation of constants), so that results survive a history file
/// and the trip from the model's worker.
pub mod nullable {
    use serde::{Deserialize, Deserializer};
    use std::collections::BTreeMap;

    pub fn floats<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        let values = Vec::<Option<f32>>::deserialize(d)?;
        Ok(values.into_iter().map(|v| v.unwrap_or(f32::NAN)).collect())
    }

    pub fn float_map<'de, D: Deserializer<'de>, K: Deserialize<'de> + Ord>(
        d: D,
    ) -> Result<BTreeMap<K, f32>, D::Error> {
        let values = BTreeMap::<K, Option<f32>>::deserialize(d)?;
        Ok(values
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or(f32::NAN)))
            .collect())
    }
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

    /// With labels for each axis, in order.
    pub fn with_axis_labels(mut self, labels: Vec<Vec<String>>) -> Self {
        self.labels = labels;
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

impl Grid {
    /// One row per cell: the index along each axis (and its label where the axis has labels),
    /// then the value, exact (shortest round-tripping decimal).
    pub fn to_csv(&self) -> String {
        let mut header: Vec<String> = Vec::new();
        for (axis, name) in self.axes.iter().enumerate() {
            header.push(name.clone());
            if self.labels.get(axis).is_some() {
                header.push(format!("{name}_label"));
            }
        }
        header.push("value".into());
        let mut csv = header.join(",") + "\n";
        let mut index = vec![0usize; self.shape.len()];
        for value in &self.values {
            for (axis, i) in index.iter().enumerate() {
                csv.push_str(&format!("{i},"));
                if let Some(labels) = self.labels.get(axis) {
                    csv.push_str(&csv_field(&labels[*i]));
                    csv.push(',');
                }
            }
            csv.push_str(&format!("{value}\n"));
            for axis in (0..index.len()).rev() {
                index[axis] += 1;
                if index[axis] < self.shape[axis] {
                    break;
                }
                index[axis] = 0;
            }
        }
        csv
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) || text.starts_with(' ') || text.ends_with(' ') {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn undefined_values_survive_json_as_nan() {
        let grid = super::Grid::new(&["cell"], vec![3], vec![1.5, f32::NAN, -2.0]);
        let json = serde_json::to_string(&grid).unwrap();
        assert!(json.contains("[1.5,null,-2.0]"), "{json}");
        let back: super::Grid = serde_json::from_str(&json).unwrap();
        assert_eq!(back.values[0], 1.5);
        assert!(back.values[1].is_nan());
        assert_eq!(back.values[2], -2.0);
    }

    use super::*;

    #[test]
    fn csv_lists_every_cell_in_row_major_order_with_labels_quoted() {
        let grid = Grid::new(
            &["component", "pos"],
            vec![2, 2],
            vec![0.5, -1.0, 1e-7, 3.0],
        )
        .with_labels(vec!["0_pre".into(), " Mary, \"x\"".into()]);
        assert_eq!(
            grid.to_csv(),
            "component,component_label,pos,value\n\
             0,0_pre,0,0.5\n0,0_pre,1,-1\n1,\" Mary, \"\"x\"\"\",0,0.0000001\n1,\" Mary, \"\"x\"\"\",1,3\n"
        );
    }
}
