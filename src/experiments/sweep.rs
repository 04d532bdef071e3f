//! The one generic patching routine behind activation patching and ablation sweeps: run a
//! base batch with one hook's activation replaced, at one index ("cell") per run, by a source.
//!
//! Cells of a layer are batched (each cell's copy of the base batch patched at its own
//! index), and every run starts at the patched layer from the base run's cached
//! `resid_pre`: the blocks before it would compute exactly what the base run did.

use super::metric::{AnswerPair, Metric, last_position};
use super::readback::read;
use super::{ExperimentError, Progress};
use crate::hooks::{Activation, ActivationCache, HookPoint, Hooks, NoHooks};
use crate::model::Gpt2;
use burn::tensor::{Bool, Tensor, TensorData};

/// One index of a sweep: a layer, and where applicable a position, a head and a neuron.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub layer: usize,
    pub pos: Option<usize>,
    pub head: Option<usize>,
    pub neuron: Option<usize>,
}

/// What a sweep needs besides the cells.
pub struct Sweep<'a> {
    pub model: &'a Gpt2,
    /// Cache of the run being patched (must hold `resid_pre` of every layer and the hook).
    pub base: &'a ActivationCache,
    /// The hook that is patched, per layer.
    pub hook: &'a dyn Fn(usize) -> HookPoint,
    /// The values patched in at `hook(layer)`, same shape as the base activation.
    pub source: &'a dyn Fn(usize) -> Result<Activation, ExperimentError>,
    pub answers: &'a [AnswerPair],
    pub metric: Metric,
    /// Rows per forward pass (cells × prompts): bounds memory.
    pub max_rows: usize,
}

impl Sweep<'_> {
    /// The metric of every prompt after patching each cell: `[cells, prompts]`, row-major.
    pub async fn run(
        &self,
        cells: &[Cell],
        progress: &mut Progress<'_>,
    ) -> Result<Vec<f32>, ExperimentError> {
        let prompts = self.answers.len();
        let per_pass = (self.max_rows / prompts).max(1);
        let mut values = Vec::with_capacity(cells.len() * prompts);
        let mut start = 0;
        while start < cells.len() {
            let layer = cells[start].layer;
            let same_layer = cells[start..]
                .iter()
                .take(per_pass)
                .take_while(|c| c.layer == layer)
                .count();
            let chunk = &cells[start..start + same_layer];
            values.extend(self.run_chunk(layer, chunk).await?);
            start += same_layer;
            progress.report(start, cells.len(), &values, prompts)?;
        }
        Ok(values)
    }

    async fn run_chunk(&self, layer: usize, cells: &[Cell]) -> Result<Vec<f32>, ExperimentError> {
        let copies = cells.len();
        let point = (self.hook)(layer);
        let resid: Tensor<3> = self.base.get(HookPoint::resid_pre(layer)).ok_or(
            ExperimentError::MissingActivation(HookPoint::resid_pre(layer)),
        )?;
        let source = (self.source)(layer)?;
        let dims = source.dims();
        let mut hooks = SweepHooks {
            point,
            source: repeat_rows(&source, copies),
            mask: CellMask::new(point, &dims, cells),
        };
        let resid = Tensor::cat(vec![resid; copies], 0);
        let out = self.model.blocks(layer, resid, &mut hooks);
        let last = last_position(out).unsqueeze_dim::<3>(1);
        let logits = self.model.unembed(last, &mut NoHooks);
        let [rows, _, vocab] = logits.dims();
        let answers: Vec<AnswerPair> = self.answers.iter().copied().cycle().take(rows).collect();
        read(self.metric.per_row(logits.reshape([rows, vocab]), &answers))
            .await
            .map_err(ExperimentError::Device)
    }
}

fn repeat_rows(activation: &Activation, copies: usize) -> Activation {
    match activation {
        Activation::Rank3(t) => Activation::Rank3(Tensor::cat(vec![t.clone(); copies], 0)),
        Activation::Rank4(t) => Activation::Rank4(Tensor::cat(vec![t.clone(); copies], 0)),
    }
}

/// Which entries of the batched activation each cell patches: copy `k` of the base batch
/// (rows `k·prompts ..`) at cell `k`'s position/head/neuron. Axes no cell selects stay size 1.
struct CellMask {
    shape: Vec<usize>,
    values: Vec<bool>,
}

impl CellMask {
    fn new(point: HookPoint, base_dims: &[usize], cells: &[Cell]) -> Self {
        let rank = base_dims.len();
        let prompts = base_dims[0];
        let pos_axis = point.pos_axis();
        let head_axis = point.head_axis();
        let mut shape = vec![1; rank];
        shape[0] = prompts * cells.len();
        if cells[0].pos.is_some() {
            shape[pos_axis] = base_dims[pos_axis];
        }
        if let (Some(axis), Some(_)) = (head_axis, cells[0].head) {
            shape[axis] = base_dims[axis];
        }
        if cells[0].neuron.is_some() {
            shape[rank - 1] = base_dims[rank - 1];
        }
        let strides: Vec<usize> = (0..rank).map(|a| shape[a + 1..].iter().product()).collect();
        let mut values = vec![false; shape.iter().product()];
        for (k, cell) in cells.iter().enumerate() {
            for row in k * prompts..(k + 1) * prompts {
                let mut index = vec![0; rank];
                index[0] = row;
                let mut free_axes: Vec<usize> = (1..rank).collect();
                let mut fix = |axis: usize, i: Option<usize>| {
                    if let Some(i) = i {
                        index[axis] = i;
                        free_axes.retain(|&a| a != axis);
                    }
                };
                fix(pos_axis, cell.pos);
                if let Some(axis) = head_axis {
                    fix(axis, cell.head);
                }
                fix(rank - 1, cell.neuron);
                // Every combination of the remaining axes (size 1 unless selected elsewhere).
                let free_sizes: Vec<usize> = free_axes.iter().map(|&a| shape[a]).collect();
                for combo in 0..free_sizes.iter().product::<usize>() {
                    let mut rest = combo;
                    for (&axis, &size) in free_axes.iter().zip(&free_sizes).rev() {
                        index[axis] = rest % size;
                        rest /= size;
                    }
                    values[index
                        .iter()
                        .zip(&strides)
                        .map(|(i, s)| i * s)
                        .sum::<usize>()] = true;
                }
            }
        }
        Self { shape, values }
    }
}

struct SweepHooks {
    point: HookPoint,
    source: Activation,
    mask: CellMask,
}

impl Hooks for SweepHooks {
    fn fwd<const D: usize>(&mut self, point: HookPoint, x: Tensor<D>) -> Tensor<D> {
        if point != self.point {
            return x;
        }
        let source: Tensor<D> = self
            .source
            .tensor()
            .expect("the source has the hook's rank");
        let mut shape = [0; D];
        shape.copy_from_slice(&self.mask.shape);
        let mask = Tensor::<D, Bool>::from_data(
            TensorData::new(self.mask.values.clone(), shape),
            &x.device(),
        )
        .expand(x.dims());
        x.mask_where(mask, source)
    }
}
