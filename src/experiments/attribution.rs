//! Attribution patching: a first-order estimate of activation patching from one backward
//! pass. `attr = ∂metric/∂act` on the corrupted run `× (clean_act − corrupted_act)`.

use super::grid::Grid;
use super::metric::{Metric, last_position};
use super::patching::{PromptPairs, cached_run};
use super::readback::read;
use super::{ExperimentError, check_pairs};
use crate::hooks::{ActivationCache, BlockHook, HookPoint, Hooks};
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

/// Adds a zero "probe" that requires gradients at each chosen hook, so that the probe's
/// gradient is the gradient with respect to the activation; also keeps the activation.
#[derive(Default)]
struct ProbeHooks {
    probes: BTreeMap<HookPoint, (Tensor<4>, Tensor<4>)>,
}

impl Hooks for ProbeHooks {
    fn fwd<const D: usize>(&mut self, point: HookPoint, x: Tensor<D>) -> Tensor<D> {
        if !matches!(
            point,
            HookPoint::Block(_, BlockHook::Z | BlockHook::ResidPre)
        ) {
            return x;
        }
        let probe = x.zeros_like().detach().autodiff().require_grad();
        let as4 = |t: Tensor<D>| {
            let d = t.dims();
            if D == 3 {
                t.reshape([d[0], d[1], 1, d[2]])
            } else {
                t.reshape([d[0], d[1], d[2], d[D - 1]])
            }
        };
        self.probes
            .insert(point, (as4(probe.clone()), as4(x.clone().detach())));
        x + probe
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

    let mut probes = ProbeHooks::default();
    let logits = model.forward_hooked(model.tokens(prompts.corrupted)?, &mut probes);
    let value = metric
        .per_row(last_position(logits), prompts.answers)
        .mean();
    let grads = value.backward();

    let (n_layer, n_head) = (model.config.n_layer, model.config.n_head);
    let n_pos = prompts.clean[0].len();
    let mut z_by_pos = vec![];
    let mut resid_by_pos = vec![];
    for layer in 0..n_layer {
        for (point, out) in [
            (HookPoint::z(layer), &mut z_by_pos),
            (HookPoint::resid_pre(layer), &mut resid_by_pos),
        ] {
            let (probe, corrupted) = probes
                .probes
                .remove(&point)
                .ok_or(ExperimentError::MissingActivation(point))?;
            let grad = probe
                .grad(&grads)
                .ok_or_else(|| ExperimentError::Device(format!("no gradient reached {point}")))?;
            let clean_act = clean
                .activation(point)
                .ok_or(ExperimentError::MissingActivation(point))?;
            let clean_act: Tensor<4> = match clean_act.dims().len() {
                3 => {
                    let t: Tensor<3> = clean_act.tensor().expect("rank 3");
                    let [b, p, d] = t.dims();
                    t.reshape([b, p, 1, d])
                }
                _ => clean_act.tensor().expect("rank 4"),
            };
            let attribution = grad * (clean_act - corrupted); // [batch, pos, head or 1, d]
            let [_, pos, heads, _] = attribution.dims();
            out.extend(
                read(attribution.sum_dim(3).sum_dim(0).reshape([pos, heads]))
                    .await
                    .map_err(ExperimentError::Device)?,
            );
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
