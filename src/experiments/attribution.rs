//! Attribution patching: a first-order estimate of activation patching from one backward
//! pass. `attr = coeff × (clean_act − corrupted_act)`, where `coeff` is `∂metric/∂act` on the
//! corrupted run: the plain gradient, or RelP's (the gradient under LRP rules, [`super::relp`]).

use super::feature_patching::{self, FeatureRuns, FeatureTargets};
use super::grid::Grid;
use super::kind::{About, ExperimentKind};
use super::metric::last_position;
use super::patching::{default_max_rows, patch_targets};
use super::readback::read;
use super::relp::{AttributionMethod, RelpHooks, RelpRule};
use super::{
    AttributionTarget, CachedRun, ExperimentError, GridKind, GridName, MetricName, Needs, Output,
    ParamError, Progress, PromptSet,
};
use crate::hooks::{Activation, ActivationCache, BlockHook, HookPoint, Hooks};
use crate::loading::ModelRef;
use crate::model::Gpt2;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Attribution patching, with the activation patching it estimates when `compare`: the spec's
/// `attribution_patching`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default)]
    pub compare: bool,
    /// What to estimate (`z`, `z_by_pos`, `resid_pre`, `attn_out`, `mlp_out`, `q`, `k`, `v`,
    /// `pattern`); the first three when absent.
    #[serde(default = "default_targets")]
    pub targets: Vec<AttributionTarget>,
    /// Rows per forward pass of the comparison's sweeps (cells × prompts).
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
    /// How each estimate's coefficient is taken: `gradient` (`attrib.*`), `relp` (`relp.*`).
    #[serde(
        default = "default_methods",
        skip_serializing_if = "is_default_methods"
    )]
    pub methods: Vec<AttributionMethod>,
    /// RelP's propagation rules: `ln` and `identity` unless said otherwise; `attention` adds
    /// the AH-rule.
    #[serde(default = "default_rules", skip_serializing_if = "is_default_rules")]
    pub relp_rules: Vec<RelpRule>,
    /// An SAE's features (and its error term) as targets too; `targets: []` for them alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<FeatureTargets>,
}

fn default_targets() -> Vec<AttributionTarget> {
    AttributionTarget::DEFAULT.to_vec()
}

pub(super) fn default_methods() -> Vec<AttributionMethod> {
    vec![AttributionMethod::Gradient]
}

pub(super) fn is_default_methods(methods: &Vec<AttributionMethod>) -> bool {
    *methods == default_methods()
}

pub(super) fn default_rules() -> Vec<RelpRule> {
    RelpRule::DEFAULT.to_vec()
}

pub(super) fn is_default_rules(rules: &Vec<RelpRule>) -> bool {
    *rules == default_rules()
}

/// The methods' checks, shared with edge attribution patching: at least one method, none
/// named twice, no rule named twice.
pub(super) fn check_methods(
    methods: &[AttributionMethod],
    rules: &[RelpRule],
) -> Result<(), ParamError> {
    if methods.is_empty() {
        return Err(ParamError {
            field: "methods".into(),
            message: "name at least one method (`gradient`, `relp`)".into(),
        });
    }
    if let Some(twice) = first_repeat(methods) {
        return Err(ParamError {
            field: "methods".into(),
            message: format!("`{}` is named twice", twice.as_str()),
        });
    }
    if let Some(twice) = first_repeat(rules) {
        return Err(ParamError {
            field: "relp_rules".into(),
            message: format!("`{}` is named twice", twice.as_str()),
        });
    }
    Ok(())
}

pub(super) fn first_repeat<T: Ord + Copy>(items: &[T]) -> Option<T> {
    let mut seen = BTreeSet::new();
    items.iter().copied().find(|item| !seen.insert(*item))
}

/// The rules a method's backward pass follows: none for the plain gradient.
pub(super) fn rules_of(method: AttributionMethod, relp_rules: &[RelpRule]) -> &[RelpRule] {
    match method {
        AttributionMethod::Gradient => &[],
        AttributionMethod::Relp => relp_rules,
    }
}

impl ExperimentKind for Params {
    const ABOUT: About = About {
        title: "Attribution patching",
        what: "Estimates every activation patch at once from one forward and one backward pass: the metric's gradient on the corrupted run times the difference between the clean and corrupted activations.",
        read: "With the comparison on, each estimate is plotted against the real patch with its Pearson r. Attention outputs and head values usually agree well; MLP outputs and the residual stream less, where the metric is far from linear in the activation.",
        paper: "Nanda 2023, Attribution Patching: Activation Patching At Industrial Scale",
        url: "https://www.neelnanda.io/mechanistic-interpretability/attribution-patching",
    };
    const NEEDS: Needs = Needs::CleanAndCorrupted;
    const GRIDS: &'static [&'static str] = feature_patching::ATTRIBUTION_GRIDS;
    const METRICS: &'static [&'static str] = feature_patching::PEARSON;

    fn check(&self) -> Result<(), ParamError> {
        let field = "targets".to_string();
        if self.targets.is_empty() && self.features.is_none() {
            return Err(ParamError {
                field,
                message: "name at least one target (or an SAE's features)".into(),
            });
        }
        if let Some(features) = &self.features {
            features.check()?;
        }
        if let Some(twice) = first_repeat(&self.targets) {
            return Err(ParamError {
                field,
                message: format!("`{}` is named twice", twice.as_str()),
            });
        }
        check_methods(&self.methods, &self.relp_rules)
    }

    fn saes(&self) -> Vec<&ModelRef> {
        self.features.iter().map(|f| &f.sae).collect()
    }
}

/// `attrib.<target>` (the gradient) and `relp.<target>` (RelP) for each target and method;
/// with `compare`, the activation patching of each (`patch.*`) and the metrics
/// `pearson.<target>`, `pearson_relp.<target>` between each estimate and the effect. With
/// `features`, the same for an SAE's features (`sae_patch.*`, [`feature_patching`]).
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let mut output = match params.targets.is_empty() {
        true => Output::default(),
        false => attribute_targets(model, prompts, params, progress).await?,
    };
    if let Some(features) = &params.features {
        output.extend(attribute_features(model, prompts, params, features, progress).await?);
    }
    Ok(output)
}

/// The SAE features' grids ([`feature_patching`]); the metrics `clean` and `corrupted` when no
/// other target wrote them.
async fn attribute_features(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    features: &FeatureTargets,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let path = "experiment.attribution_patching.features";
    let runs = FeatureRuns::new(model, prompts, features, path).await?;
    let mut output = runs.ids();
    let mut estimates = vec![];
    for &method in &params.methods {
        let rules = rules_of(method, &params.relp_rules);
        let (grids, values) = runs.attribute(model, prompts, method, rules).await?;
        output.extend(grids);
        estimates.push((method, values));
    }
    if params.targets.is_empty() {
        output.metric(MetricName::Clean, runs.clean);
        output.metric(MetricName::Corrupted, runs.corrupted);
    }
    if params.compare {
        let (grids, patched) = runs
            .patch(model, prompts, params.max_rows, progress)
            .await?;
        output.extend(grids);
        let effect: Vec<f32> = patched.iter().map(|v| v - runs.corrupted).collect();
        for (method, estimate) in estimates {
            output.metric(
                MetricName::Named(feature_patching::pearson_name(method)),
                pearson(&estimate, &effect),
            );
        }
    }
    Ok(output)
}

/// The targets' grids and comparisons (the doc of [`run`]).
async fn attribute_targets(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let clean = clean_activations(model, prompts, &params.targets).await?;
    let mut estimates = vec![];
    let mut output = Output::default();
    output.metric(MetricName::Clean, clean.metric);
    let mut corrupted_metric = None;
    for &method in &params.methods {
        let rules = rules_of(method, &params.relp_rules);
        let (corrupted, grids) =
            attribution_patching(model, prompts, &clean.cache, &params.targets, rules).await?;
        // The rules change no forward value: every method's corrupted run scores the same.
        corrupted_metric.get_or_insert(corrupted);
        for (target, grid) in grids {
            estimates.push((method, target, grid));
        }
    }
    if let Some(corrupted) = corrupted_metric {
        output.metric(MetricName::Corrupted, corrupted);
    }
    if params.compare {
        let targets: Vec<_> = params.targets.iter().map(|t| t.patch_target()).collect();
        let results = patch_targets(model, prompts, &targets, params.max_rows, progress).await?;
        for (&target, actual) in params.targets.iter().zip(results) {
            // Attribution estimates the change from the corrupted run.
            let effect: Vec<f32> = actual
                .raw
                .values
                .iter()
                .map(|v| v - actual.corrupted)
                .collect();
            for (method, _, estimate) in estimates.iter().filter(|(_, t, _)| *t == target) {
                output.metric(
                    MetricName::Pearson(*method, target),
                    pearson(&estimate.values, &effect),
                );
            }
            output.extend(actual.into_output(target.patch_target()));
        }
    }
    for (method, target, estimate) in estimates {
        output.grid(
            GridName::raw(GridKind::Attribution(method, target)),
            estimate,
        );
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

    /// The activation seen at `point` (the corrupted run's), detached.
    pub(super) fn seen<const D: usize>(&self, point: HookPoint) -> Option<Tensor<D>> {
        self.seen.get::<D>(point)
    }

    /// The gradient at `point`, zero where `rules` cut it off from the metric; an error where
    /// it should have arrived and did not.
    pub(super) fn grad_under(
        &self,
        point: HookPoint,
        grads: &burn::tensor::Gradients,
        rules: &RelpHooks,
    ) -> Result<Tensor<4>, ExperimentError> {
        if let Some(grad) = self.grad(point, grads) {
            return Ok(grad);
        }
        match self.probes.get(&point) {
            Some(probe) if rules.cuts_off(point) => Ok(activation_rank4(probe).zeros_like()),
            _ => Err(ExperimentError::Device(format!(
                "no gradient reached {point}"
            ))),
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

/// The block hooks the targets read.
fn target_hooks(targets: &[AttributionTarget]) -> BTreeSet<BlockHook> {
    targets
        .iter()
        .map(|t| match t.patch_target().hook(0) {
            HookPoint::Block(_, hook) => hook,
            other => unreachable!("patching targets are block hooks, not {other}"),
        })
        .collect()
}

/// The clean run, with its activations at the targets' hooks.
async fn clean_activations(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    targets: &[AttributionTarget],
) -> Result<CachedRun, ExperimentError> {
    let hooks = target_hooks(targets);
    let wanted = |p: HookPoint| matches!(p, HookPoint::Block(_, h) if hooks.contains(&h));
    prompts.clean_run(model, wanted).await
}

/// The corrupted run's metric (mean over prompts) and its gradients at `points` under RelP's
/// `rules` (none: the plain gradient), with the activations seen there.
pub(super) struct CorruptedGradients {
    pub metric: f32,
    pub probes: ProbeHooks,
    pub relp: RelpHooks,
    pub grads: burn::tensor::Gradients,
}

pub(super) async fn corrupted_gradients(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    points: &[HookPoint],
    rules: &[RelpRule],
) -> Result<CorruptedGradients, ExperimentError> {
    let corrupted_tokens = prompts.corrupted()?;
    let (batch, n_pos) = (corrupted_tokens.len(), prompts.n_pos());
    let mut probes = ProbeHooks::new(
        points
            .iter()
            .map(|&p| (p, model.config.hook_shape(p, batch, n_pos))),
        &model.device(),
    );
    let mut relp = RelpHooks::new(rules);
    let logits = model.forward_hooked(
        model.tokens(corrupted_tokens)?,
        &mut (&mut relp, &mut probes),
    );
    let value = prompts
        .metric
        .per_row(last_position(logits), prompts.answers())
        .mean();
    let metric = read(value.clone().detach())
        .await
        .map_err(ExperimentError::Device)?[0];
    let grads = value.backward();
    Ok(CorruptedGradients {
        metric,
        probes,
        relp,
        grads,
    })
}

/// Attribution patching of each target: the elementwise `coeff × (clean − corrupted)` at its
/// hook, summed over the batch and every axis the target's grid does not keep. `coeff` is the
/// gradient of the corrupted run with RelP's `rules` in its backward pass (none: the gradient).
/// Also the corrupted run's metric (mean over prompts).
async fn attribution_patching(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    clean: &ActivationCache,
    targets: &[AttributionTarget],
    rules: &[RelpRule],
) -> Result<(f32, Vec<(AttributionTarget, Grid)>), ExperimentError> {
    let hooks = target_hooks(targets);
    let (n_layer, n_head) = (model.config.n_layer, model.config.n_head);
    let n_pos = prompts.n_pos();
    let points: Vec<HookPoint> = (0..n_layer)
        .flat_map(|l| hooks.iter().map(move |&h| HookPoint::Block(l, h)))
        .collect();
    let CorruptedGradients {
        metric: corrupted_metric,
        probes,
        relp,
        grads,
    } = corrupted_gradients(model, prompts, &points, rules).await?;

    // Per hook point: the attribution summed to `[pos, head]` (head 1 for residual hooks).
    let mut by_point = BTreeMap::new();
    for point in points {
        let missing = ExperimentError::MissingActivation(point);
        let grad = probes.grad_under(point, &grads, &relp)?;
        let corrupted = activation_rank4(probes.seen.activation(point).ok_or(missing.clone())?);
        let clean_act = activation_rank4(clean.activation(point).ok_or(missing)?);
        let mut attribution = grad * (clean_act - corrupted);
        if point.head_axis() == Some(1) {
            // `[batch, head, query, key]` → `[batch, query, head, key]`.
            attribution = attribution.swap_dims(1, 2);
        }
        let [_, pos, heads, _] = attribution.dims();
        let summed = read(attribution.sum_dim(3).sum_dim(0).reshape([pos, heads]))
            .await
            .map_err(ExperimentError::Device)?;
        by_point.insert(point, summed);
    }
    let grids = targets
        .iter()
        .map(|&target| {
            let patch = target.patch_target();
            let heads = if patch.per_head() { n_head } else { 1 };
            let mut values = vec![];
            for layer in 0..n_layer {
                let summed = &by_point[&patch.hook(layer)];
                if patch.per_pos() {
                    values.extend(summed);
                } else {
                    values.extend(
                        (0..heads).map(|h| (0..n_pos).map(|p| summed[p * heads + h]).sum::<f32>()),
                    );
                }
            }
            let mut shape = vec![n_layer];
            if patch.per_pos() {
                shape.push(n_pos);
            }
            if patch.per_head() {
                shape.push(n_head);
            }
            (target, Grid::new(&patch.axes(), shape, values))
        })
        .collect();
    Ok((corrupted_metric, grids))
}
