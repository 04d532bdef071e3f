//! Interventions as data: zero, scale, add, replace or mean-set an activation, at chosen
//! batch rows, positions, heads and neurons. Serializable, so an experiment that uses them
//! can be stored and re-run.

use super::{HookPoint, Hooks, SelectionMask};
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// A tensor given by value, for [`Action::Add`] and [`Action::Replace`]. Its shape is
/// broadcast against the activation's, aligned on the trailing axes (a `[d_model]` vector
/// adds to every position; `[batch, pos, d_model]` replaces position by position).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Values {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Values {
    /// A vector, broadcast over every other axis.
    pub fn vector(data: Vec<f32>) -> Self {
        Self {
            shape: vec![data.len()],
            data,
        }
    }

    /// How many numbers `shape` holds; `None` past `usize` (a hostile shape such as
    /// `[2^32, 2^32]`, whose product would wrap to a small number or panic).
    pub fn count(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
    }

    /// Whether `shape` holds exactly the numbers given.
    fn consistent(&self) -> bool {
        self.count() == Some(self.data.len())
    }
}

/// What an intervention does to the selected entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Set to zero (zero ablation).
    Zero,
    /// Multiply by `factor`.
    Scale { factor: f32 },
    /// Add `values` (steering vectors).
    Add { values: Values },
    /// Replace by `values` (patching from another run, or a precomputed mean).
    Replace { values: Values },
    /// Replace by the activation's own mean over the batch and position axes (mean ablation).
    Mean,
    /// Add `values` (`[n, d_model]`) to the first `n` positions of a residual-stream hook,
    /// position by position (activation addition as Turner et al. add it). Positions the
    /// activation does not have are skipped.
    AddFront { values: Values },
}

/// One intervention at one hook point. Unset selections mean "all".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intervention {
    /// Where, by TransformerLens name.
    pub hook: HookPoint,
    /// What.
    pub action: Action,
    /// Batch rows (axis 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Vec<usize>>,
    /// Positions (query positions for `hook_attn_scores` / `hook_pattern`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positions: Option<Vec<usize>>,
    /// Heads, for `attn.hook_q|k|v|z|attn_scores|pattern`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heads: Option<Vec<usize>>,
    /// Indices along the last axis: MLP neurons for `mlp.hook_pre|post`, residual
    /// directions, `d_head` components, key positions of a pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neurons: Option<Vec<usize>>,
}

impl Intervention {
    /// An intervention on every entry of `hook`.
    pub fn new(hook: HookPoint, action: Action) -> Self {
        Self {
            hook,
            action,
            batch: None,
            positions: None,
            heads: None,
            neurons: None,
        }
    }

    /// Restricts to these positions.
    pub fn at_positions(mut self, positions: Vec<usize>) -> Self {
        self.positions = Some(positions);
        self
    }

    /// Restricts to these heads.
    pub fn at_heads(mut self, heads: Vec<usize>) -> Self {
        self.heads = Some(heads);
        self
    }

    /// Restricts to these neurons (last-axis indices).
    pub fn at_neurons(mut self, neurons: Vec<usize>) -> Self {
        self.neurons = Some(neurons);
        self
    }

    /// Restricts to these batch rows.
    pub fn at_batch(mut self, batch: Vec<usize>) -> Self {
        self.batch = Some(batch);
        self
    }

    /// For each axis of an activation of shape `dims`: the selected indices, or `None` for all.
    fn selection(&self, dims: &[usize]) -> Vec<Option<&[usize]>> {
        let mut axes = vec![None; dims.len()];
        axes[0] = self.batch.as_deref();
        axes[self.hook.pos_axis()] = self.positions.as_deref();
        if let Some(head_axis) = self.hook.head_axis() {
            axes[head_axis] = self.heads.as_deref();
        }
        if self.neurons.is_some() {
            axes[dims.len() - 1] = self.neurons.as_deref();
        }
        axes
    }

    /// Checks the intervention against the shape of the activation it will meet.
    pub fn validate(&self, dims: &[usize]) -> Result<(), InterventionError> {
        if dims.len() != self.hook.rank() {
            return Err(InterventionError::Shape(format!(
                "{} has shape {dims:?}, not rank {}",
                self.hook,
                self.hook.rank()
            )));
        }
        if self.heads.is_some() && self.hook.head_axis().is_none() {
            return Err(InterventionError::Selection(format!(
                "{} has no head axis",
                self.hook
            )));
        }
        let axis_names = ["batch row", "position", "head", "index"];
        for (axis, selected) in self.selection(dims).into_iter().enumerate() {
            let Some(selected) = selected else { continue };
            if selected.is_empty() {
                return Err(InterventionError::Selection(format!(
                    "{}: empty selection on axis {axis}",
                    self.hook
                )));
            }
            if let Some(&bad) = selected.iter().find(|&&i| i >= dims[axis]) {
                let what = if axis == self.hook.pos_axis() {
                    "position"
                } else if Some(axis) == self.hook.head_axis() {
                    "head"
                } else {
                    axis_names[axis.min(3)]
                };
                return Err(InterventionError::Selection(format!(
                    "{}: {what} {bad} is out of range (size {})",
                    self.hook, dims[axis]
                )));
            }
        }
        if let Action::AddFront { values } = &self.action {
            let fits = self.hook.rank() == 3
                && values.shape.len() == 2
                && values.shape[1] == dims[2]
                && values.consistent();
            if !fits {
                return Err(InterventionError::Shape(format!(
                    "{}: add_front needs a residual-stream hook and values of shape [positions, {}] (given {:?} with {} numbers)",
                    self.hook,
                    dims.last().copied().unwrap_or(0),
                    values.shape,
                    values.data.len()
                )));
            }
        }
        if let Action::Add { values } | Action::Replace { values } = &self.action {
            if !values.consistent() {
                let n = values.count().map_or_else(
                    || "more numbers than fit in memory".into(),
                    |n| format!("{n} numbers"),
                );
                return Err(InterventionError::Shape(format!(
                    "{}: values have shape {:?} ({n}) but {} numbers were given",
                    self.hook,
                    values.shape,
                    values.data.len()
                )));
            }
            let fits = values.shape.len() <= dims.len()
                && values
                    .shape
                    .iter()
                    .rev()
                    .zip(dims.iter().rev())
                    .all(|(&v, &d)| v == d || v == 1);
            if !fits {
                return Err(InterventionError::Shape(format!(
                    "{}: values of shape {:?} do not broadcast to the activation's shape {dims:?}",
                    self.hook, values.shape
                )));
            }
        }
        Ok(())
    }

    /// Applies the intervention to `x` (already validated against its shape).
    fn apply<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let dims = x.dims();
        let device = x.device();
        let broadcast = |values: &Values| -> Tensor<D> {
            let mut shape = [1usize; D];
            shape[D - values.shape.len()..].copy_from_slice(&values.shape);
            Tensor::<D>::from_data(TensorData::new(values.data.clone(), shape), &device)
                .expand(dims)
        };
        let new = match &self.action {
            Action::Zero => x.zeros_like(),
            Action::Scale { factor } => x.clone() * *factor,
            Action::Add { values } => x.clone() + broadcast(values),
            Action::Replace { values } => broadcast(values),
            Action::Mean => x
                .clone()
                .mean_dim(0)
                .mean_dim(self.hook.pos_axis())
                .expand(dims),
            Action::AddFront { values } => {
                // `[n, d]` cut or zero-padded to the activation's `pos`, then broadcast.
                let (n, d, pos) = (values.shape[0], values.shape[1], dims[1]);
                let mut front = vec![0.0; pos * d];
                let kept = n.min(pos) * d;
                front[..kept].copy_from_slice(&values.data[..kept]);
                let mut shape = [1usize; D];
                shape[D - 2] = pos;
                shape[D - 1] = d;
                x.clone()
                    + Tensor::<D>::from_data(TensorData::new(front, shape), &device).expand(dims)
            }
        };
        let selection = self.selection(&dims);
        if selection.iter().all(Option::is_none) {
            return new;
        }
        let restricted: Vec<bool> = selection.iter().map(Option::is_some).collect();
        let mut mask = SelectionMask::new(&dims, &restricted);
        mask.select(&selection);
        let mask = mask.tensor(dims, &device);
        x.mask_where(mask, new)
    }
}

/// Why an intervention cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterventionError {
    /// An index outside the activation.
    #[error("invalid intervention: {0}")]
    Selection(String),
    /// Values that do not fit the activation.
    #[error("invalid intervention: {0}")]
    Shape(String),
}

/// Hooks that apply a list of interventions, in order, wherever their hook point is reached.
#[derive(Debug, Clone, Default)]
pub struct InterventionHooks {
    interventions: Vec<Intervention>,
}

impl InterventionHooks {
    /// Interventions, to be validated with [`InterventionHooks::validate`] before the run.
    pub fn new(interventions: Vec<Intervention>) -> Self {
        Self { interventions }
    }

    /// Checks every intervention against the activation shapes of a run.
    pub fn validate(
        &self,
        shape_of: impl Fn(HookPoint) -> Vec<usize>,
    ) -> Result<(), InterventionError> {
        self.interventions
            .iter()
            .try_for_each(|i| i.validate(&shape_of(i.hook)))
    }
}

impl Hooks for InterventionHooks {
    fn fwd<const D: usize>(&mut self, point: HookPoint, mut x: Tensor<D>) -> Tensor<D> {
        for intervention in self.interventions.iter().filter(|i| i.hook == point) {
            x = intervention.apply(x);
        }
        x
    }

    fn sees(&self, point: HookPoint) -> bool {
        self.interventions.iter().any(|i| i.hook == point)
    }
}
