//! Attribution patching: a first-order estimate of activation patching from one backward
//! pass. `attr = ∂metric/∂act` on the corrupted run `× (clean_act − corrupted_act)`.

use super::grid::Grid;
use super::metric::{Metric, last_position};
use super::patching::{PromptPairs, cached_run};
use super::readback::read;
use super::{ExperimentError, check_pairs};
use crate::hooks::{Activation, ActivationCache, BlockHook, HookPoint, Hooks};
use crate::model::Gpt2;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Attribution grids, named as in the oracle (`attrib.pair.z`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributionResult {
    /// Head outputs summed over batch, positions and `d_head`: `[layer, head]`.
    pub z: Grid,
    /// Head outputs by position: `[layer, pos, head]`.
    pub z_by_pos: Grid,
    /// Residual stream entering each block: `[layer, pos]`.
    pub resid_pre: Grid,
}

/// Adds a zero "probe" leaf that requires gradients at chosen hooks, so that the probe's
/// gradient is the gradient with respect to the activation; records the activation too.
struct ProbeHooks {
    /// Leaves, by hook point (rank 3 or 4, as the hook).
    probes: BTreeMap<HookPoint, Activation>,
    /// The activations seen (the corrupted run's).
    seen: ActivationCache,
}

impl ProbeHooks {
    fn new(
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
    fn grad(&self, point: HookPoint, grads: &burn::tensor::Gradients) -> Option<Tensor<4>> {
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
pub async fn attribution_patching(
    model: &Gpt2,
    prompts: PromptPairs<'_>,
    metric: Metric,
) -> Result<AttributionResult, ExperimentError> {
    check_pairs(prompts)?;
    let wanted =
        |p: HookPoint| matches!(p, HookPoint::Block(_, BlockHook::Z | BlockHook::ResidPre));
    let (_, _, clean): (f32, Vec<f32>, ActivationCache) =
        cached_run(model, prompts.clean, prompts.answers, metric, wanted).await?;

    let (n_layer, n_head) = (model.config.n_layer, model.config.n_head);
    let n_pos = prompts.clean[0].len();
    let batch = prompts.corrupted.len();
    let points: Vec<HookPoint> = (0..n_layer)
        .flat_map(|l| [HookPoint::z(l), HookPoint::resid_pre(l)])
        .collect();
    let mut probes = ProbeHooks::new(
        points
            .iter()
            .map(|&p| (p, model.config.hook_shape(p, batch, n_pos))),
        &model.device(),
    );
    let logits = model.forward_hooked(model.tokens(prompts.corrupted)?, &mut probes);
    let value = metric
        .per_row(last_position(logits), prompts.answers)
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
