//! An SAE's features as targets of activation and attribution patching: the `features` of
//! `activation_patching` and `attribution_patching`. The activation at the SAE's hook splits into
//! its features and the reconstruction error, on the clean and on the corrupted prompts; the
//! error is a node of its own, so the nodes add up to the hook.
//!
//! With `s` the SAE's input scale (1 without normalisation), `err = x − decode(acts)`, `c` the
//! clean and `k` the corrupted run and `g` the metric's gradient at the hook on the corrupted
//! run, at position `p`:
//!
//! ```text
//! patching f at p:      the corrupted run with x_k[p] + (acts_c[p, f] − acts_k[p, f]) · W_dec[f] / s_k[p]
//! patching the error:   the corrupted run with x_k[p] + (err_c[p] − err_k[p])
//! attribution of f:     (acts_c[p, f] / s_c[p] − acts_k[p, f] / s_k[p]) · (W_dec[f] · g[p])
//! attribution of error: (x_c − x_k)[p] · g[p] − Σ_f attribution of f
//! ```
//!
//! Patching scores the mean over prompts, as activation patching does; attributions are summed
//! over prompts, as attribution patching's are.

use super::attribution::{CorruptedGradients, corrupted_gradients, first_repeat};
use super::features::check_size;
use super::grid::Grid;
use super::readback::read;
use super::sweep::{Cell, Sweep};
use super::top::largest;
use super::{
    AttributionMethod, ExperimentError, GridKind, GridName, Output, ParamError, Progress,
    PromptSet, RelpRule,
};
use crate::hooks::{Activation, ActivationCache, HookPoint};
use crate::loading::ModelRef;
use crate::model::Gpt2;
use crate::sae::{Encoded, MAX_FEATURES, Sae};
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// The spec's `features`: which SAE, and which of its features are targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureTargets {
    /// The SAE, by the id it is loaded under (the CLI: `--model-for ID=DIR`).
    pub sae: ModelRef,
    /// The features, by index; when empty, the `top` whose activations change most between the
    /// clean and the corrupted prompts (summed over prompts and positions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<u32>,
    #[serde(default = "default_top")]
    pub top: usize,
}

pub fn default_top() -> usize {
    8
}

/// The most features one run takes as targets (activation patching runs each at every position).
pub const MAX_TARGETS: usize = 64;

/// The feature ids, `[feature]`, in the grids' order.
pub const IDS: &str = "sae_patch.ids";
/// Activation patching of each feature at each position, `[feature, pos]`.
pub const PATCH: &str = "sae_patch.features";
/// Activation patching of the error term at each position, `[pos]`.
pub const PATCH_ERROR: &str = "sae_patch.error";
/// The activation patching grids, declared by `activation_patching`.
pub const PATCH_GRIDS: &[&str] = &[IDS, PATCH, PATCH_ERROR];
/// The attribution grids, declared by `attribution_patching`: `[feature, pos]` and `[pos]` per
/// method.
pub const ATTRIBUTION_GRIDS: &[&str] = &[
    "sae_patch.attrib",
    "sae_patch.attrib_error",
    "sae_patch.relp",
    "sae_patch.relp_error",
];
/// Pearson's r between each method's estimate and the patching it estimates.
pub const PEARSON: &[&str] = &["sae_patch.pearson", "sae_patch.pearson_relp"];

fn attribution_grids(method: AttributionMethod) -> (&'static str, &'static str, &'static str) {
    match method {
        AttributionMethod::Gradient => (ATTRIBUTION_GRIDS[0], ATTRIBUTION_GRIDS[1], PEARSON[0]),
        AttributionMethod::Relp => (ATTRIBUTION_GRIDS[2], ATTRIBUTION_GRIDS[3], PEARSON[1]),
    }
}

impl FeatureTargets {
    /// Checks that need no SAE; a problem's field is relative to the kind's parameters.
    pub(super) fn check(&self) -> Result<(), ParamError> {
        let bad = |field: &str, message: String| {
            Err(ParamError {
                field: format!("features.{field}"),
                message,
            })
        };
        if !(1..=MAX_TARGETS).contains(&self.top) {
            return bad(
                "top",
                format!("take 1 to {MAX_TARGETS} features, not {}", self.top),
            );
        }
        if self.ids.len() > MAX_TARGETS {
            return bad(
                "ids",
                format!(
                    "name at most {MAX_TARGETS} features, not {}",
                    self.ids.len()
                ),
            );
        }
        if let Some(&f) = self.ids.iter().find(|&&f| f as usize >= MAX_FEATURES) {
            return bad(
                "ids",
                format!("feature {f} is past the widest SAE Patchbay reads ({MAX_FEATURES})"),
            );
        }
        if let Some(twice) = first_repeat(&self.ids) {
            return bad("ids", format!("feature {twice} is named twice"));
        }
        Ok(())
    }
}

/// The clean and the corrupted run at the SAE's hook, split into features, and the features
/// that are targets.
///
/// # Shapes
/// `x_*`: `[batch · pos, d_in]`; `acts`, `scale` as [`Encoded`].
pub(super) struct FeatureRuns<'a> {
    sae: &'a Sae,
    pub clean: f32,
    pub corrupted: f32,
    /// The corrupted run's `resid_pre` of the hook's block: where patched runs start.
    corrupted_cache: ActivationCache,
    x_c: Tensor<2>,
    x_k: Tensor<2>,
    c: Encoded,
    k: Encoded,
    pub features: Vec<u32>,
    batch: usize,
    n_pos: usize,
}

impl<'a> FeatureRuns<'a> {
    /// Runs both prompt sets; `path` is the targets' place in the spec.
    pub(super) async fn new(
        model: &Gpt2,
        prompts: &PromptSet<'a>,
        targets: &FeatureTargets,
        path: &str,
    ) -> Result<Self, ExperimentError> {
        let sae = prompts.sae(&targets.sae, model, &format!("{path}.sae"))?;
        let (hook, d_in, d_sae) = (sae.config.hook, sae.config.d_in, sae.config.d_sae);
        let (batch, n_pos) = (prompts.corrupted()?.len(), prompts.n_pos());
        let rows = batch * n_pos;
        // Both runs' features, their change and the gradient along every decoder row.
        check_size(rows * 4, d_sae, "prompts.clean")?;
        if let Some(&f) = targets.ids.iter().find(|&&f| f as usize >= d_sae) {
            return Err(ExperimentError::Prompt {
                path: format!("{path}.ids"),
                message: format!("feature {f} is past the SAE's {d_sae}"),
            });
        }
        // Patched runs start from the corrupted run's residual stream entering the hook's block.
        let start = HookPoint::resid_pre(hook.layer().unwrap_or(0));
        let clean = prompts.clean_run(model, |p| p == hook).await?;
        let corrupted = prompts
            .corrupted_run(model, |p| p == hook || p == start)
            .await?;
        let at = |cache: &ActivationCache| -> Result<Tensor<2>, ExperimentError> {
            let x: Tensor<3> = cache
                .get(hook)
                .ok_or(ExperimentError::MissingActivation(hook))?;
            Ok(x.reshape([rows, d_in]))
        };
        let (x_c, x_k) = (at(&clean.cache)?, at(&corrupted.cache)?);
        let (c, k) = (sae.encode(x_c.clone()), sae.encode(x_k.clone()));
        let features = if targets.ids.is_empty() {
            let change = (c.acts.clone() - k.acts.clone())
                .abs()
                .sum_dim(0)
                .reshape([d_sae]);
            let change = read(change).await.map_err(ExperimentError::Device)?;
            largest(&change, targets.top.min(d_sae))
        } else {
            targets.ids.clone()
        };
        Ok(Self {
            sae,
            clean: clean.metric,
            corrupted: corrupted.metric,
            corrupted_cache: corrupted.cache,
            x_c,
            x_k,
            c,
            k,
            features,
            batch,
            n_pos,
        })
    }

    /// `sae_patch.ids`: the targets, in the grids' order.
    pub(super) fn ids(&self) -> Output {
        let mut output = Output::default();
        output.grid(
            GridName::raw(GridKind::Named(IDS)),
            Grid::new(
                &["feature"],
                vec![self.features.len()],
                self.features.iter().map(|&f| f as f32).collect(),
            )
            .with_labels(self.labels()),
        );
        output
    }

    fn shape(&self) -> [usize; 3] {
        [self.batch, self.n_pos, self.sae.config.d_in]
    }

    fn labels(&self) -> Vec<String> {
        self.features.iter().map(|f| format!("#{f}")).collect()
    }

    /// `sae_patch.features` and `sae_patch.error`, each also `.normalised` and
    /// `.per_prompt` (a trailing `prompt` axis); and the targets' metric after patching,
    /// `[feature, pos]`.
    pub(super) async fn patch(
        &self,
        model: &Gpt2,
        prompts: &PromptSet<'_>,
        max_rows: usize,
        progress: &mut Progress<'_>,
    ) -> Result<(Output, Vec<f32>), ExperimentError> {
        let (n_pos, shape) = (self.n_pos, self.shape());
        let hook = |_| self.sae.config.hook;
        let features = |i: usize| {
            let change = self.feature_change(self.features[i] as usize);
            Ok(Activation::Rank3(
                (self.x_k.clone() + change).reshape(shape),
            ))
        };
        // The same for every position: computed once, not once a pass.
        let error_change = self.error(&self.x_c, &self.c) - self.error(&self.x_k, &self.k);
        let error_patched = Activation::Rank3((self.x_k.clone() + error_change).reshape(shape));
        let error = |_| Ok(error_patched.clone());
        let sweep = |source| Sweep {
            model,
            base: &self.corrupted_cache,
            hook: &hook,
            source,
            answers: prompts.answers(),
            metric: prompts.metric,
            max_rows,
        };
        let at = |index: usize, pos: usize| Cell {
            layer: index,
            pos: Some(pos),
            head: None,
            neuron: None,
        };
        let n = self.features.len();
        let cells: Vec<Cell> = (0..n)
            .flat_map(|i| (0..n_pos).map(move |p| at(i, p)))
            .collect();
        let feature_grid = GridName::raw(GridKind::Named(PATCH));
        progress.filling(feature_grid, &["feature", "pos"], &[n, n_pos]);
        let by_feature = sweep(&features as &dyn Fn(_) -> _)
            .run(&cells, progress)
            .await?;
        let cells: Vec<Cell> = (0..n_pos).map(|p| at(0, p)).collect();
        progress.filling(
            GridName::raw(GridKind::Named(PATCH_ERROR)),
            &["pos"],
            &[n_pos],
        );
        let by_error = sweep(&error as &dyn Fn(_) -> _)
            .run(&cells, progress)
            .await?;

        let tokens = prompts.token_texts(&prompts.clean()[0]);
        let prompt_count = prompts.answers().len();
        let mut output = Output::default();
        let grids = [
            (
                PATCH,
                vec!["feature", "pos"],
                vec![n, n_pos],
                by_feature,
                vec![self.labels(), tokens.clone()],
            ),
            (
                PATCH_ERROR,
                vec!["pos"],
                vec![n_pos],
                by_error,
                vec![tokens],
            ),
        ];
        let mut patched = vec![];
        for (name, mut axes, mut shape, values, labels) in grids {
            let kind = GridKind::Named(name);
            axes.push("prompt");
            shape.push(prompt_count);
            let per_prompt = Grid::new(&axes, shape, values).with_axis_labels(labels);
            let raw = per_prompt.mean_last_axis();
            if name == PATCH {
                patched = raw.values.clone();
            }
            output.grid(
                GridName::normalised(kind),
                raw.normalised(self.clean, self.corrupted),
            );
            output.grid(GridName::per_prompt(kind), per_prompt);
            output.grid(GridName::raw(kind), raw);
        }
        Ok((output, patched))
    }

    /// The attribution grids of `method` (the targets' `[feature, pos]` and the error's
    /// `[pos]`), and the targets' values, `[feature, pos]`.
    pub(super) async fn attribute(
        &self,
        model: &Gpt2,
        prompts: &PromptSet<'_>,
        method: AttributionMethod,
        rules: &[RelpRule],
    ) -> Result<(Output, Vec<f32>), ExperimentError> {
        let hook = self.sae.config.hook;
        let CorruptedGradients {
            probes,
            relp,
            grads,
            ..
        } = corrupted_gradients(model, prompts, &[hook], rules).await?;
        let grad = probes.grad_under(hook, &grads, &relp)?;
        let (by_feature, error) = attribution_by_feature(
            self.sae,
            [&self.c, &self.k],
            [&self.x_c, &self.x_k],
            grad.reshape([self.batch * self.n_pos, self.sae.config.d_in]),
            self.batch,
        );
        let d_sae = self.sae.config.d_sae;
        let n_pos = self.n_pos;
        let per_pos = read(by_feature).await.map_err(ExperimentError::Device)?;
        let error = read(error).await.map_err(ExperimentError::Device)?;
        let values: Vec<f32> = self
            .features
            .iter()
            .flat_map(|&f| (0..n_pos).map(move |p| p * d_sae + f as usize))
            .map(|i| per_pos[i])
            .collect();
        let tokens = prompts.token_texts(&prompts.clean()[0]);
        let (features_name, error_name, _) = attribution_grids(method);
        let mut output = Output::default();
        output.grid(
            GridName::raw(GridKind::Named(features_name)),
            Grid::new(
                &["feature", "pos"],
                vec![self.features.len(), n_pos],
                values.clone(),
            )
            .with_axis_labels(vec![self.labels(), tokens.clone()]),
        );
        output.grid(
            GridName::raw(GridKind::Named(error_name)),
            Grid::new(&["pos"], vec![n_pos], error).with_labels(tokens),
        );
        Ok((output, values))
    }

    /// What patching `feature` from the clean run adds to the corrupted activation.
    ///
    /// # Shapes
    /// `[batch · pos, d_in]`.
    fn feature_change(&self, feature: usize) -> Tensor<2> {
        feature_patch(self.sae, &self.c.acts, &self.k.acts, &self.k.scale, feature)
    }

    fn error(&self, x: &Tensor<2>, encoded: &Encoded) -> Tensor<2> {
        x.clone() - self.sae.decode(encoded.acts.clone(), encoded.scale.clone())
    }
}

/// The metric comparing `method`'s estimate with the patching it estimates.
pub(super) fn pearson_name(method: AttributionMethod) -> &'static str {
    attribution_grids(method).2
}

/// Each feature's attribution at each position, `[pos, d_sae]`, and the error node's, `[pos]`,
/// summed over prompts (the module's formulas): `runs` and `x` are the clean and the corrupted
/// run's features and activations, `grad` the metric's gradient at the hook, each
/// `[batch · pos, ·]`.
pub(super) fn attribution_by_feature(
    sae: &Sae,
    [c, k]: [&Encoded; 2],
    [x_c, x_k]: [&Tensor<2>; 2],
    grad: Tensor<2>,
    batch: usize,
) -> (Tensor<2>, Tensor<1>) {
    let [rows, _] = grad.dims();
    let (n_pos, d_sae) = (rows / batch, sae.config.d_sae);
    let change = c.acts.clone() / c.scale.clone() - k.acts.clone() / k.scale.clone();
    let along = grad.clone().matmul(sae.w_dec.clone().transpose());
    let by_feature = (change * along)
        .reshape([batch, n_pos, d_sae])
        .sum_dim(0)
        .reshape([n_pos, d_sae]);
    let hook_total = ((x_c.clone() - x_k.clone()) * grad)
        .sum_dim(1)
        .reshape([batch, n_pos])
        .sum_dim(0)
        .reshape([n_pos]);
    let error = hook_total - by_feature.clone().sum_dim(1).reshape([n_pos]);
    (by_feature, error)
}

/// What patching `feature` from the clean run adds to the corrupted activation, `[rows, d_in]`.
pub(super) fn feature_patch(
    sae: &Sae,
    clean: &Tensor<2>,
    corrupted: &Tensor<2>,
    corrupted_scale: &Tensor<2>,
    feature: usize,
) -> Tensor<2> {
    let index =
        Tensor::<1, Int>::from_data(TensorData::new(vec![feature as i32], [1]), &clean.device());
    let change =
        clean.clone().select(1, index.clone()) - corrupted.clone().select(1, index.clone());
    change.matmul(sae.w_dec.clone().select(0, index)) / corrupted_scale.clone()
}
