//! Attribution and activation patching over an SAE's features: the clean and corrupted
//! activations at the SAE's hook split into features and the error term (its own node), each
//! feature's attribution (the corrupted run's gradient, or RelP's, through the feature's decoder
//! row, times its clean − corrupted change), and the strongest features checked by patching each
//! from the clean run into the corrupted one, the error term kept.
//!
//! With `s` the SAE's input scale (1 without normalisation) and `g` the metric's gradient at the
//! hook on the corrupted run, at each position:
//!
//! ```text
//! feature f:  (acts_c[f]/s_c − acts_k[f]/s_k) · (W_dec[f] · g)
//! error:      (x_c − x_k) · g − Σ_f feature f         (so the nodes sum to the hook's attribution)
//! patching f: the corrupted run with x_k + (acts_c[f] − acts_k[f]) · W_dec[f] / s_k at the hook
//! patching the error: the corrupted run with x_k + (err_c − err_k)
//! ```

use super::attribution::{CorruptedGradients, corrupted_gradients};
use super::feature_patching::{attribution_by_feature, feature_patch};
use super::kind::{About, ExperimentKind};
use super::readback::read;
use super::top::largest;
use super::{
    AttributionMethod, ExperimentError, Grid, GridKind, GridName, MetricName, Needs, Output,
    ParamError, Progress, PromptSet, RelpRule,
};
use crate::hooks::{HookPoint, Hooks};
use crate::loading::ModelRef;
use crate::model::Gpt2;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// The spec's `sae_attribution`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The SAE, by the id it is loaded under (the CLI: `--model-for ID=DIR`).
    pub sae: ModelRef,
    /// The features listed, by |attribution| summed over positions.
    #[serde(default = "default_top")]
    pub top: usize,
    /// How many of the listed features are checked by activation patching (a forward pass each).
    #[serde(default = "default_patched")]
    pub patched: usize,
    /// The gradient, or RelP's (`relp_rules` in its backward pass).
    #[serde(default = "default_method")]
    pub method: AttributionMethod,
    #[serde(default = "super::attribution::default_rules")]
    pub relp_rules: Vec<RelpRule>,
}

fn default_top() -> usize {
    20
}

fn default_patched() -> usize {
    8
}

fn default_method() -> AttributionMethod {
    AttributionMethod::Gradient
}

/// The most features listed.
pub const MAX_TOP: usize = 256;

const TOP_FEATURES: &str = "sae_attrib.top_features";
const TOP_VALUES: &str = "sae_attrib.top_values";
const BY_POS: &str = "sae_attrib.by_pos";
const ERROR: &str = "sae_attrib.error";
const PATCHED: &str = "sae_attrib.patched";
const TOTAL: &str = "sae_attrib.total";
const ERROR_PATCHED: &str = "sae_attrib.error_patched";

impl ExperimentKind for Params {
    const ABOUT: About = About {
        title: "SAE feature attribution",
        what: "Splits the activation at the sparse autoencoder's hook into its features and the reconstruction error, on the clean and the corrupted prompts, and estimates how much each feature's change moves the metric (attribution patching through the feature's decoder direction; the error term is its own node, so everything sums to the hook's attribution). The strongest features are then patched one at a time from the clean run into the corrupted one.",
        read: "A feature with a large attribution whose patch also restores much of the clean metric carries the task's information at this hook; a large error node says the SAE misses part of it. Patching shares are 1 where a single feature restores the clean metric.",
        paper: "Marks et al. 2024, Sparse Feature Circuits; Syed et al. 2023, Attribution Patching Outperforms Automated Circuit Discovery",
        url: "https://arxiv.org/abs/2403.19647",
    };
    const NEEDS: Needs = Needs::CleanAndCorrupted;
    const GRIDS: &'static [&'static str] = &[TOP_FEATURES, TOP_VALUES, BY_POS, ERROR, PATCHED];
    const METRICS: &'static [&'static str] = &[TOTAL, ERROR_PATCHED];

    fn check(&self) -> Result<(), ParamError> {
        let bad = |field: &str, message: String| {
            Err(ParamError {
                field: field.into(),
                message,
            })
        };
        if !(1..=MAX_TOP).contains(&self.top) {
            return bad(
                "top",
                format!("list 1 to {MAX_TOP} features, not {}", self.top),
            );
        }
        if self.patched > self.top {
            return bad(
                "patched",
                format!(
                    "patch at most the {} features listed, not {}",
                    self.top, self.patched
                ),
            );
        }
        Ok(())
    }

    fn saes(&self) -> Vec<&ModelRef> {
        vec![&self.sae]
    }
}

/// Adds a tensor to the activation at one hook (a patch of the corrupted run).
struct AddAt {
    point: HookPoint,
    delta: Tensor<3>,
}

impl Hooks for AddAt {
    fn fwd<const D: usize>(&mut self, point: HookPoint, x: Tensor<D>) -> Tensor<D> {
        if point != self.point {
            return x;
        }
        let dims = x.dims();
        x + self.delta.clone().reshape(dims)
    }

    fn sees(&self, point: HookPoint) -> bool {
        point == self.point
    }
}

/// Grids `sae_attrib.top_features` and `sae_attrib.top_values` `[rank]` (ids; attributions summed
/// over positions and prompts), `sae_attrib.by_pos` `[rank, pos]`, `sae_attrib.error` `[pos]`,
/// `sae_attrib.patched` `[rank]` (the first `patched` features' activation patching, normalised);
/// metrics `clean`, `corrupted`, `sae_attrib.total` (every node summed) and
/// `sae_attrib.error_patched` (the error term patched, normalised).
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let sae = prompts.sae(&params.sae, model, "experiment.sae_attribution.sae")?;
    let hook = sae.config.hook;
    let corrupted_tokens = prompts.corrupted()?;
    let (batch, n_pos) = (corrupted_tokens.len(), prompts.n_pos());
    let d_in = sae.config.d_in;
    let rows = batch * n_pos;
    // Both runs' features, their change and the gradient along every decoder row.
    super::features::check_size(rows * 4, sae.config.d_sae, "prompts.clean")?;

    let clean = prompts.clean_run(model, |p| p == hook).await?;
    let x_clean: Tensor<3> = clean
        .cache
        .get(hook)
        .ok_or(ExperimentError::MissingActivation(hook))?;
    let x_clean = x_clean.reshape([rows, d_in]);

    let rules = match params.method {
        AttributionMethod::Gradient => &[][..],
        AttributionMethod::Relp => &params.relp_rules[..],
    };
    let CorruptedGradients {
        metric: corrupted,
        probes,
        relp,
        grads,
    } = corrupted_gradients(model, prompts, &[hook], rules).await?;
    let grad = probes
        .grad_under(hook, &grads, &relp)?
        .reshape([rows, d_in]);
    let x_corrupted: Tensor<2> = probes
        .seen::<3>(hook)
        .ok_or(ExperimentError::MissingActivation(hook))?
        .reshape([rows, d_in]);

    let c = sae.encode(x_clean.clone());
    let k = sae.encode(x_corrupted.clone());
    let (by_feature, error) =
        attribution_by_feature(sae, [&c, &k], [&x_clean, &x_corrupted], grad, batch);

    let d_sae = sae.config.d_sae;
    let per_pos = read(by_feature).await.map_err(ExperimentError::Device)?;
    let error = read(error).await.map_err(ExperimentError::Device)?;
    let summed: Vec<f32> = (0..d_sae)
        .map(|f| (0..n_pos).map(|p| per_pos[p * d_sae + f]).sum())
        .collect();
    let magnitude: Vec<f32> = summed.iter().map(|v| v.abs()).collect();
    let top = largest(&magnitude, params.top.min(d_sae));
    let total = summed.iter().sum::<f32>() + error.iter().sum::<f32>();

    // Activation patching of the strongest features, then of the error term.
    let clean_metric = clean.metric;
    let normalise = |m: f32| (m - corrupted) / (clean_metric - corrupted);
    let steps = params.patched.min(top.len()) + 1;
    let mut patched = vec![];
    for (i, &feature) in top.iter().take(params.patched).enumerate() {
        let delta = feature_patch(sae, &c.acts, &k.acts, &k.scale, feature as usize);
        patched.push(normalise(
            patched_metric(model, prompts, hook, delta, [batch, n_pos, d_in]).await?,
        ));
        progress.report(i + 1, steps, &patched, 1)?;
    }
    let error_delta = (x_clean.clone() - sae.decode(c.acts, c.scale))
        - (x_corrupted.clone() - sae.decode(k.acts, k.scale));
    let error_patched =
        normalise(patched_metric(model, prompts, hook, error_delta, [batch, n_pos, d_in]).await?);
    progress.report(steps, steps, &patched, 1)?;

    let tokens: Vec<String> = match prompts.tokenizer() {
        Some(tokenizer) => tokenizer.token_texts(&prompts.clean()[0]),
        None => (0..n_pos).map(|p| p.to_string()).collect(),
    };
    let labels: Vec<String> = top.iter().map(|f| format!("#{f}")).collect();
    let named = |name| GridName::raw(GridKind::Named(name));
    let mut output = Output::default();
    output.grid(
        named(TOP_FEATURES),
        Grid::new(
            &["rank"],
            vec![top.len()],
            top.iter().map(|&f| f as f32).collect(),
        )
        .with_labels(labels.clone()),
    );
    output.grid(
        named(TOP_VALUES),
        Grid::new(
            &["feature"],
            vec![top.len()],
            top.iter().map(|&f| summed[f as usize]).collect(),
        )
        .with_labels(labels.clone()),
    );
    output.grid(
        named(BY_POS),
        Grid::new(
            &["feature", "pos"],
            vec![top.len(), n_pos],
            top.iter()
                .flat_map(|&f| (0..n_pos).map(move |p| (p, f as usize)))
                .map(|(p, f)| per_pos[p * d_sae + f])
                .collect(),
        )
        .with_axis_labels(vec![labels.clone(), tokens.clone()]),
    );
    output.grid(
        named(ERROR),
        Grid::new(&["pos"], vec![n_pos], error).with_labels(tokens),
    );
    let n_patched = patched.len();
    output.grid(
        named(PATCHED),
        Grid::new(&["feature"], vec![n_patched], patched).with_labels(labels[..n_patched].to_vec()),
    );
    output.metric(MetricName::Clean, clean_metric);
    output.metric(MetricName::Corrupted, corrupted);
    output.metric(MetricName::Named(TOTAL), total);
    output.metric(MetricName::Named(ERROR_PATCHED), error_patched);
    Ok(output)
}

/// The corrupted run's metric with `delta` added at `hook`.
async fn patched_metric(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    hook: HookPoint,
    delta: Tensor<2>,
    shape: [usize; 3],
) -> Result<f32, ExperimentError> {
    let mut hooks = AddAt {
        point: hook,
        delta: delta.reshape(shape),
    };
    let logits = model.forward_hooked(model.tokens(prompts.corrupted()?)?, &mut hooks);
    Ok(prompts.score(logits).await?.0)
}
