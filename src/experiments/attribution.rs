//! Attribution patching: a first-order estimate of activation patching from one backward
//! pass. `attr = ∂metric/∂act` on the corrupted run `× (clean_act − corrupted_act)`.

use super::grid::Grid;
use super::metric::last_position;
use super::patching::{default_max_rows, patch_targets};
use super::readback::read;
use super::{
    AttributionTarget, Checked, ExperimentError, GridKind, GridName, Needs, Output, Progress,
    PromptSet,
};
use crate::hooks::{Activation, ActivationCache, BlockHook, HookPoint, Hooks};
use crate::model::Gpt2;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Attribution patching, with the activation patching it estimates when `compare`: the spec's
/// `attribution_patching`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default)]
    pub compare: bool,
    /// Rows per forward pass of the comparison's sweeps (cells × prompts).
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
}

impl Checked for Params {
    fn needs(&self) -> Needs {
        Needs::CleanAndCorrupted
    }
}

/// `attrib.z`, `attrib.z_by_pos`, `attrib.resid_pre`; with `compare`, the activation patching
/// of each (`patch.*`) and the metrics `pearson.<target>` between estimate and effect.
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let attr = attribution_patching(model, prompts).await?;
    let mut output = Output::default();
    let estimates = [
        (AttributionTarget::Z, attr.z),
        (AttributionTarget::ZByPos, attr.z_by_pos),
        (AttributionTarget::ResidPre, attr.resid_pre),
    ];
    if params.compare {
        let targets = estimates.each_ref().map(|(t, _)| t.patch_target());
        let results = patch_targets(model, prompts, &targets, params.max_rows, progress).await?;
        for ((target, estimate), actual) in estimates.iter().zip(results) {
            // Attribution estimates the change from the corrupted run.
            let effect: Vec<f32> = actual
                .raw
                .values
                .iter()
                .map(|v| v - actual.corrupted)
                .collect();
            output.metric(
                format!("pearson.{}", target.as_str()),
                pearson(&estimate.values, &effect),
            );
            output.extend(actual.into_output(target.patch_target()));
        }
    }
    for (target, estimate) in estimates {
        output.grid(GridName::raw(GridKind::Attribution(target)), estimate);
    }
    Ok(output)
}

/// Pearson correlation of two equally long series (NaN when either is constant).
pub fn pearson(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len() as f64;
    let (ma, mb) = (
        a.iter().map(|&x| x as f64).sum::<f64>() / n,
        b.iter().map(|&x| x as f64).sum::<f64>() / n,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x as f64 - ma, y as f64 - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    (sab / (saa * sbb).sqrt()) as f32
}

/// Attribution grids, named as in the oracle (`attrib.pair.z`, ...).
struct AttributionResult {
    /// Head outputs summed over batch, positions and `d_head`: `[layer, head]`.
    pub z: Grid,
    /// Head outputs by position: `[layer, pos, head]`.
    pub z_by_pos: Grid,
    /// Residual stream entering each block: `[layer, pos]`.
    pub resid_pre: Grid,
}

/// Adds a zero "probe" leaf that requires gradients at chosen hooks, so that the probe's
/// gradient is the gradient with respect to the activation; records the activation too.
pub(super) struct ProbeHooks {
    /// Leaves, by hook point (rank 3 or 4, as the hook).
    probes: BTreeMap<HookPoint, Activation>,
    /// The activations seen (the corrupted run's).
    seen: ActivationCache,
}

impl ProbeHooks {
    pub(super) fn new(
        points: impl Iterator<Item = (HookPoint, Vec<usize>)>,
        device: &burn::tensor::Device,
    ) -> Self {
        let probes = points
            .map(|(point, shape)| {
                let leaf = |shape: &[usize]| {
                    Tensor::<4>::zeros(
                        [shape[0], shape[1], shape[2], *shape.get(3).unwrap_or(&1)],
                        device,
                    )
                };
                let probe = match shape.len() {
                    3 => Activation::Rank3(
                        Tensor::<3>::zeros([shape[0], shape[1], shape[2]], device)
                            .autodiff()
                            .require_grad(),
                    ),
                    _ => Activation::Rank4(leaf(&shape).autodiff().require_grad()),
                };
                (point, probe)
            })
            .collect();
        Self {
            probes,
            seen: ActivationCache::default(),
        }
    }

    /// `∂value/∂activation` at `point`, as `[batch, pos, head or 1, d]`.
    pub(super) fn grad(
        &self,
        point: HookPoint,
        grads: &burn::tensor::Gradients,
    ) -> Option<Tensor<4>> {
        match self.probes.get(&point)? {
            Activation::Rank3(leaf) => leaf.grad(grads).map(as_rank4),
            Activation::Rank4(leaf) => leaf.grad(grads),
        }
    }
}

impl Hooks for ProbeHooks {
    fn fwd<const D: usize>(&mut self, point: HookPoint, x: Tensor<D>) -> Tensor<D> {
        let Some(probe) = self.probes.get(&point) else {
            return x;
        };
        self.seen.insert(point, x.clone().detach());
        x + probe.tensor::<D>().expect("probe has the hook's rank")
    }
}

/// `[batch, pos, d]` as `[batch, pos, 1, d]`; rank-4 activations unchanged.
fn as_rank4(t: Tensor<3>) -> Tensor<4> {
    let [b, p, d] = t.dims();
    t.reshape([b, p, 1, d])
}

fn activation_rank4(a: &Activation) -> Tensor<4> {
    match a {
        Activation::Rank3(t) => as_rank4(t.clone()),
        Activation::Rank4(t) => t.clone(),
    }
}

/// Attribution patching for `hook_z` (per head, and per head and position) and `resid_pre`.
async fn attribution_patching(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
) -> Result<AttributionResult, ExperimentError> {
    let corrupted_tokens = prompts.corrupted()?;
    let wanted =
        |p: HookPoint| matches!(p, HookPoint::Block(_, BlockHook::Z | BlockHook::ResidPre));
    let clean = prompts.clean_run(model, wanted).await?.cache;

    let (n_layer, n_head) = (model.config.n_layer, model.config.n_head);
    let n_pos = prompts.n_pos();
    let batch = corrupted_tokens.len();
    let points: Vec<HookPoint> = (0..n_layer)
        .flat_map(|l| [HookPoint::z(l), HookPoint::resid_pre(l)])
        .collect();
    let mut probes = ProbeHooks::new(
        points
            .iter()
            .map(|&p| (p, model.config.hook_shape(p, batch, n_pos))),
        &model.device(),
    );
    let logits = model.forward_hooked(model.tokens(corrupted_tokens)?, &mut probes);
    let value = prompts
        .metric
        .per_row(last_position(logits), prompts.answers())
        .mean();
    let grads = value.backward();

    let mut z_by_pos = vec![];
    let mut resid_by_pos = vec![];
    for point in points {
        let missing = ExperimentError::MissingActivation(point);
        let grad = probes
            .grad(point, &grads)
            .ok_or_else(|| ExperimentError::Device(format!("no gradient reached {point}")))?;
        let corrupted = activation_rank4(probes.seen.activation(point).ok_or(missing.clone())?);
        let clean_act = activation_rank4(clean.activation(point).ok_or(missing)?);
        let attribution = grad * (clean_act - corrupted); // [batch, pos, head or 1, d]
        let [_, pos, heads, _] = attribution.dims();
        let summed = read(attribution.sum_dim(3).sum_dim(0).reshape([pos, heads]))
            .await
            .map_err(ExperimentError::Device)?;
        if heads == 1 {
            resid_by_pos.extend(summed)
        } else {
            z_by_pos.extend(summed)
        }
    }
    let z_by_pos = Grid::new(
        &["layer", "pos", "head"],
        vec![n_layer, n_pos, n_head],
        z_by_pos,
    );
    let z: Vec<f32> = (0..n_layer)
        .flat_map(|l| {
            let grid = &z_by_pos.values;
            (0..n_head).map(move |h| (0..n_pos).map(|p| grid[(l * n_pos + p) * n_head + h]).sum())
        })
        .collect();
    Ok(AttributionResult {
        z: Grid::new(&["layer", "head"], vec![n_layer, n_head], z),
        z_by_pos,
        resid_pre: Grid::new(&["layer", "pos"], vec![n_layer, n_pos], resid_by_pos),
    })
}
