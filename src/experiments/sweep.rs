//! The one generic patching routine behind activation patching and ablation sweeps: run a
//! base batch with one hook's activation replaced, at one index ("cell") per run, by a source.
//!
//! Cells of a layer are batched (each cell's copy of the base batch patched at its own
//! index), and every run starts at the patched layer from the base run's cached
//! `resid_pre`: the blocks before it would compute exactly what the base run did.

use super::metric::{AnswerPair, Metric, last_position};
use super::readback::read;
use super::{ExperimentError, Progress};
use crate::hooks::{
    Activation, ActivationCache, AnyRank, HookPoint, Hooks, NoHooks, SelectionMask,
};
use crate::model::Gpt2;
use burn::tensor::Tensor;

/// One index of a sweep: a layer, and where applicable a position, a head and a neuron. A
/// sweep whose hook is the same in every "layer" uses it as an index of its own (a feature).
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
    /// The metric of every prompt after patching each cell: `[cells, prompts]`, row-major. A
    /// share of a worker pool computes only its cells (`progress` says which).
    pub async fn run(
        &self,
        cells: &[Cell],
        progress: &mut Progress<'_>,
    ) -> Result<Vec<f32>, ExperimentError> {
        let prompts = self.answers.len();
        if let Some(values) = progress.sharing().given(cells.len(), prompts)? {
            progress.report(cells.len(), cells.len(), &values, prompts)?;
            return Ok(values);
        }
        let mine: Vec<Cell> = progress
            .sharing()
            .mine(cells.len())
            .into_iter()
            .map(|i| cells[i])
            .collect();
        let mut values = Vec::with_capacity(mine.len() * prompts);
        for chunk in layer_chunks(&mine, self.max_rows / prompts) {
            values.extend(self.run_chunk(chunk[0].layer, chunk).await?);
            progress.report(values.len() / prompts, mine.len(), &values, prompts)?;
        }
        Ok(progress.sharing().finish(cells.len(), prompts, values))
    }

    async fn run_chunk(&self, layer: usize, cells: &[Cell]) -> Result<Vec<f32>, ExperimentError> {
        let copies = cells.len();
        let point = (self.hook)(layer);
        // A sweep over something other than layers (an SAE's features) patches one hook.
        let start = point.layer().unwrap_or(layer);
        let resid: Tensor<3> = self.base.get(HookPoint::resid_pre(start)).ok_or(
            ExperimentError::MissingActivation(HookPoint::resid_pre(start)),
        )?;
        let source = (self.source)(layer)?;
        let dims = source.dims();
        let mut hooks = SweepHooks {
            point,
            source: source.map(&RepeatRows(copies)),
            mask: cell_mask(point, &dims, cells),
        };
        let resid = Tensor::cat(vec![resid; copies], 0);
        let out = self.model.blocks(start, resid, &mut hooks);
        score_last(self.model, out, self.answers, self.metric).await
    }
}

/// `cells` in runs of at most `per_pass`, each within one layer (a run starts at its layer).
pub(crate) fn layer_chunks(cells: &[Cell], per_pass: usize) -> impl Iterator<Item = &[Cell]> {
    let mut rest = cells;
    std::iter::from_fn(move || {
        let layer = rest.first()?.layer;
        let n = rest
            .iter()
            .take(per_pass.max(1))
            .take_while(|c| c.layer == layer)
            .count();
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

/// The metric of every row of a batch of copies (copy `k`'s prompts at rows `k·prompts..`),
/// from the residual stream leaving the last block.
pub(crate) async fn score_last(
    model: &Gpt2,
    out: Tensor<3>,
    answers: &[AnswerPair],
    metric: Metric,
) -> Result<Vec<f32>, ExperimentError> {
    let last = last_position(out).unsqueeze_dim::<3>(1);
    let logits = model.unembed(last, &mut NoHooks);
    let [rows, _, vocab] = logits.dims();
    let answers: Vec<AnswerPair> = answers.iter().copied().cycle().take(rows).collect();
    read(metric.per_row(logits.reshape([rows, vocab]), &answers))
        .await
        .map_err(ExperimentError::Device)
}

/// The batch, this many copies stacked along the rows.
pub(crate) struct RepeatRows(pub usize);

impl AnyRank for RepeatRows {
    fn apply<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        Tensor::cat(vec![x; self.0], 0)
    }
}

/// Which entries of the batched activation each cell patches: copy `k` of the base batch
/// (rows `k·prompts ..`) at cell `k`'s position/head/neuron.
pub(crate) fn cell_mask(point: HookPoint, base_dims: &[usize], cells: &[Cell]) -> SelectionMask {
    let rank = base_dims.len();
    let prompts = base_dims[0];
    let mut dims = base_dims.to_vec();
    dims[0] = prompts * cells.len();
    let (pos_axis, head_axis) = (point.pos_axis(), point.head_axis());
    let mut restricted = vec![false; rank];
    restricted[0] = true;
    restricted[pos_axis] = cells[0].pos.is_some();
    if let Some(axis) = head_axis {
        restricted[axis] = cells[0].head.is_some();
    }
    restricted[rank - 1] |= cells[0].neuron.is_some();
    let mut mask = SelectionMask::new(&dims, &restricted);
    for (k, cell) in cells.iter().enumerate() {
        let rows: Vec<usize> = (k * prompts..(k + 1) * prompts).collect();
        let (pos, head, neuron) = (
            cell.pos.map(|p| [p]),
            cell.head.map(|h| [h]),
            cell.neuron.map(|n| [n]),
        );
        let mut per_axis: Vec<Option<&[usize]>> = vec![None; rank];
        per_axis[0] = Some(&rows);
        per_axis[pos_axis] = pos.as_ref().map(|p| &p[..]);
        if let Some(axis) = head_axis {
            per_axis[axis] = head.as_ref().map(|h| &h[..]);
        }
        if neuron.is_some() {
            per_axis[rank - 1] = neuron.as_ref().map(|n| &n[..]);
        }
        mask.select(&per_axis);
    }
    mask
}

struct SweepHooks {
    point: HookPoint,
    source: Activation,
    mask: SelectionMask,
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
        let mask = self.mask.tensor(x.dims(), &x.device());
        x.mask_where(mask, source)
    }

    fn sees(&self, point: HookPoint) -> bool {
        point == self.point
    }
}
