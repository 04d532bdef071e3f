//! Ablation: knock out heads, MLP layers or neurons (zero, mean or resample) one at a time,
//! or keep only a circuit of heads and mean-ablate the rest.

use super::grid::Grid;
use super::metric::{AnswerPair, Metric};
use super::patching::{cached_run, mean_metric};
use super::sweep::{Cell, Sweep};
use super::{ExperimentError, Progress};
use crate::hooks::{
    Action, Activation, ActivationCache, BlockHook, HookPoint, Intervention, InterventionHooks,
    Values,
};
use crate::model::Gpt2;
use serde::{Deserialize, Serialize};

/// What replaces the ablated activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AblationKind {
    /// Zero.
    Zero,
    /// Its mean over the batch and all positions (BOS included) of the clean run.
    Mean,
    /// Its value in the corrupted run (resample ablation).
    Resample,
}

/// What is ablated, one at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AblationTarget {
    /// Each head's `hook_z`: grid `[layer, head]`.
    Heads,
    /// Each layer's `hook_mlp_out`: grid `[layer]`.
    Mlp,
    /// Neurons of one layer's `mlp.hook_post`: grid `[neuron]` (all neurons when `neurons` is empty).
    Neurons {
        layer: usize,
        #[serde(default)]
        neurons: Vec<usize>,
    },
}

/// Ablation grid with per-prompt values and the unablated metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AblationResult {
    pub grid: Grid,
    pub per_prompt: Grid,
    /// Metric of the clean run without ablation.
    pub clean: f32,
}

impl AblationTarget {
    fn hook(&self, layer: usize) -> HookPoint {
        HookPoint::Block(
            layer,
            match self {
                Self::Heads => BlockHook::Z,
                Self::Mlp => BlockHook::MlpOut,
                Self::Neurons { .. } => BlockHook::MlpPost,
            },
        )
    }

    /// The units to ablate, the grid's shape and its axis names.
    #[allow(clippy::type_complexity)]
    fn cells(
        &self,
        model: &Gpt2,
    ) -> Result<(Vec<Cell>, Vec<usize>, Vec<&'static str>), ExperimentError> {
        let (n_layer, n_head) = (model.config.n_layer, model.config.n_head);
        let cell = |layer, head, neuron| Cell {
            layer,
            pos: None,
            head,
            neuron,
        };
        Ok(match self {
            Self::Heads => {
                let cells = (0..n_layer)
                    .flat_map(|l| (0..n_head).map(move |h| cell(l, Some(h), None)))
                    .collect();
                (cells, vec![n_layer, n_head], vec!["layer", "head"])
            }
            Self::Mlp => (
                (0..n_layer).map(|l| cell(l, None, None)).collect(),
                vec![n_layer],
                vec!["layer"],
            ),
            Self::Neurons { layer, neurons } => {
                if *layer >= n_layer {
                    return Err(ExperimentError::Parameter(format!(
                        "layer {layer} does not exist (the model has {n_layer})"
                    )));
                }
                let all: Vec<usize>;
                let neurons = if neurons.is_empty() {
                    all = (0..model.config.n_inner).collect();
                    &all
                } else {
                    neurons
                };
                if let Some(bad) = neurons.iter().find(|&&n| n >= model.config.n_inner) {
                    return Err(ExperimentError::Parameter(format!(
                        "neuron {bad} does not exist (d_mlp is {})",
                        model.config.n_inner
                    )));
                }
                (
                    neurons
                        .iter()
                        .map(|&n| cell(*layer, None, Some(n)))
                        .collect(),
                    vec![neurons.len()],
                    vec!["neuron"],
                )
            }
        })
    }
}

/// The mean of an activation over the batch and position axes, broadcast back to its shape.
fn mean_over_batch_and_pos(point: HookPoint, activation: &Activation) -> Activation {
    match activation {
        Activation::Rank3(t) => Activation::Rank3(
            t.clone()
                .mean_dim(0)
                .mean_dim(point.pos_axis())
                .expand(t.dims()),
        ),
        Activation::Rank4(t) => Activation::Rank4(
            t.clone()
                .mean_dim(0)
                .mean_dim(point.pos_axis())
                .expand(t.dims()),
        ),
    }
}

fn zeros_like(activation: &Activation) -> Activation {
    match activation {
        Activation::Rank3(t) => Activation::Rank3(t.zeros_like()),
        Activation::Rank4(t) => Activation::Rank4(t.zeros_like()),
    }
}

/// Ablates each unit of `target` in turn on the clean prompts.
/// `corrupted` is needed for [`AblationKind::Resample`] only.
#[allow(clippy::too_many_arguments)]
pub async fn ablation(
    model: &Gpt2,
    clean: &[Vec<u32>],
    corrupted: Option<&[Vec<u32>]>,
    answers: &[AnswerPair],
    kind: AblationKind,
    target: &AblationTarget,
    metric: Metric,
    max_rows: usize,
    progress: &mut Progress<'_>,
) -> Result<AblationResult, ExperimentError> {
    let (cells, shape, axes) = target.cells(model)?;
    let keep = |p: HookPoint| {
        matches!(p, HookPoint::Block(_, BlockHook::ResidPre))
            || p.layer().is_some_and(|l| p == target.hook(l))
    };
    let (clean_metric, _, clean_cache) = cached_run(model, clean, answers, metric, keep).await?;
    let resample_cache: Option<ActivationCache> = match (kind, corrupted) {
        (AblationKind::Resample, Some(corrupted)) => {
            super::check_pairs(super::PromptPairs {
                clean,
                corrupted,
                answers,
            })?;
            Some(
                cached_run(model, corrupted, answers, metric, |p| {
                    p.layer().is_some_and(|l| p == target.hook(l))
                })
                .await?
                .2,
            )
        }
        (AblationKind::Resample, None) => {
            return Err(ExperimentError::Parameter(
                "resample ablation needs corrupted prompts to resample from".into(),
            ));
        }
        _ => None,
    };
    let hook = |layer| target.hook(layer);
    let source = |layer: usize| {
        let point = target.hook(layer);
        let missing = ExperimentError::MissingActivation(point);
        let base = clean_cache.activation(point).ok_or(missing.clone())?;
        Ok(match kind {
            AblationKind::Zero => zeros_like(base),
            AblationKind::Mean => mean_over_batch_and_pos(point, base),
            AblationKind::Resample => resample_cache
                .as_ref()
                .and_then(|c| c.activation(point))
                .cloned()
                .ok_or(missing)?,
        })
    };
    let sweep = Sweep {
        model,
        base: &clean_cache,
        hook: &hook,
        source: &source,
        answers,
        metric,
        max_rows,
    };
    let values = sweep.run(&cells, progress).await?;
    let mut per_prompt_axes = axes.clone();
    per_prompt_axes.push("prompt");
    let mut per_prompt_shape = shape;
    per_prompt_shape.push(answers.len());
    let per_prompt = Grid::new(&per_prompt_axes, per_prompt_shape, values);
    Ok(AblationResult {
        grid: per_prompt.mean_last_axis(),
        per_prompt,
        clean: clean_metric,
    })
}

/// Keeps only the heads in `keep` (`(layer, head)`) and mean-ablates every other head's
/// `hook_z` (means over the clean batch and positions). Returns the mean and per-prompt metric.
pub async fn circuit(
    model: &Gpt2,
    clean: &[Vec<u32>],
    answers: &[AnswerPair],
    keep: &[(usize, usize)],
    metric: Metric,
) -> Result<(f32, Vec<f32>), ExperimentError> {
    let (n_layer, n_head, d_head) = (
        model.config.n_layer,
        model.config.n_head,
        model.config.d_head(),
    );
    if let Some((l, h)) = keep.iter().find(|(l, h)| *l >= n_layer || *h >= n_head) {
        return Err(ExperimentError::Parameter(format!(
            "head L{l}H{h} does not exist ({n_layer} layers × {n_head} heads)"
        )));
    }
    let (_, _, cache) = cached_run(model, clean, answers, metric, |p| {
        matches!(p, HookPoint::Block(_, BlockHook::Z))
    })
    .await?;
    let mut interventions = vec![];
    for layer in 0..n_layer {
        let ablated: Vec<usize> = (0..n_head)
            .filter(|h| !keep.contains(&(layer, *h)))
            .collect();
        if ablated.is_empty() {
            continue;
        }
        let z: burn::tensor::Tensor<4> = cache
            .get(HookPoint::z(layer))
            .ok_or(ExperimentError::MissingActivation(HookPoint::z(layer)))?;
        let mean = super::read(z.mean_dim(0).mean_dim(1))
            .await
            .map_err(ExperimentError::Device)?;
        let values = Values {
            shape: vec![n_head, d_head],
            data: mean,
        };
        interventions.push(
            Intervention::new(HookPoint::z(layer), Action::Replace { values }).at_heads(ablated),
        );
    }
    let tokens = model.tokens(clean)?;
    let logits = model.forward_hooked(tokens, &mut InterventionHooks::new(interventions));
    mean_metric(metric, logits, answers).await
}
