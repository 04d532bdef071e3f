//! Ablation: knock out heads, MLP layers or neurons (zero, mean or resample) one at a time.

use super::grid::Grid;
use super::kind::{About, ExperimentKind};
use super::patching::default_max_rows;
use super::sweep::{Cell, Sweep};
use super::{ExperimentError, GridKind, GridName, MetricName, Needs, Output, Progress, PromptSet};
use crate::hooks::{AnyRank, BlockHook, HookPoint};
use crate::model::Gpt2;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// What replaces the ablated activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// Ablate each unit of `target` in turn on the clean prompts: the spec's `ablation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub ablation: AblationKind,
    pub target: AblationTarget,
    /// Ablate at this position only (TransformerLens's IOI demo knocks heads out at END, the
    /// last position); every position when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    /// Rows per forward pass (cells × prompts).
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
}

impl ExperimentKind for Params {
    const SWEEPS_CELLS: bool = true;
    const ABOUT: About = About {
        title: "Ablation (knock components out)",
        what: "Knocks out one component at a time on the clean prompts — sets its output to zero, to its mean over the batch, or to its value on a corrupted prompt (resample) — and measures the metric. Optionally only at one position, as the IOI demo knocks out a name mover at the last token.",
        read: "Values far from the clean metric mark components the model needs. Zero ablation can push activations off their usual range; mean and resample ablation are gentler. Backup heads can hide a component's importance: the IOI name mover 9.9 alone costs little.",
        paper: "Wang et al. 2022, Interpretability in the Wild (knock-outs); Chan et al. 2022, Causal Scrubbing (resampling)",
        url: "https://arxiv.org/abs/2211.00593",
    };
    const NEEDS: Needs = Needs::Clean;

    fn needs(&self) -> Needs {
        match self.ablation {
            AblationKind::Resample => Needs::CleanAndCorrupted,
            AblationKind::Zero | AblationKind::Mean => Needs::Clean,
        }
    }
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
        pos: Option<usize>,
    ) -> Result<(Vec<Cell>, Vec<usize>, Vec<&'static str>), ExperimentError> {
        let (n_layer, n_head) = (model.config.n_layer, model.config.n_head);
        let cell = |layer, head, neuron| Cell {
            layer,
            pos,
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
struct MeanOverBatchAndPos {
    pos_axis: usize,
}

impl AnyRank for MeanOverBatchAndPos {
    fn apply<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let dims = x.dims();
        x.mean_dim(0).mean_dim(self.pos_axis).expand(dims)
    }
}

struct Zeros;

impl AnyRank for Zeros {
    fn apply<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        x.zeros_like()
    }
}

/// `ablate.<kind>_<unit>` (mean metric) and `_per_prompt`; the metric `clean` (unablated).
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let Params {
        ablation: kind,
        target,
        position,
        max_rows,
    } = params;
    let (kind, max_rows) = (*kind, *max_rows);
    if let Some(p) = position.filter(|&p| p >= prompts.n_pos()) {
        return Err(ExperimentError::Parameter(format!(
            "position {p} is beyond the prompts ({} tokens)",
            prompts.n_pos()
        )));
    }
    let (cells, shape, axes) = target.cells(model, *position)?;
    let keep = |p: HookPoint| {
        matches!(p, HookPoint::Block(_, BlockHook::ResidPre))
            || p.layer().is_some_and(|l| p == target.hook(l))
    };
    let clean = prompts.clean_run(model, keep).await?;
    let resample = match kind {
        AblationKind::Resample if !prompts.has_corrupted() => {
            return Err(ExperimentError::Parameter(
                "resample ablation needs corrupted prompts to resample from".into(),
            ));
        }
        AblationKind::Resample => Some(
            prompts
                .corrupted_run(model, |p| p.layer().is_some_and(|l| p == target.hook(l)))
                .await?
                .cache,
        ),
        AblationKind::Zero | AblationKind::Mean => None,
    };
    let hook = |layer| target.hook(layer);
    let source = |layer: usize| {
        let point = target.hook(layer);
        let missing = ExperimentError::MissingActivation(point);
        let base = clean.cache.activation(point).ok_or(missing.clone())?;
        Ok(match kind {
            AblationKind::Zero => base.map(&Zeros),
            AblationKind::Mean => base.map(&MeanOverBatchAndPos {
                pos_axis: point.pos_axis(),
            }),
            AblationKind::Resample => resample
                .as_ref()
                .and_then(|c| c.activation(point))
                .cloned()
                .ok_or(missing)?,
        })
    };
    let sweep = Sweep {
        model,
        base: &clean.cache,
        hook: &hook,
        source: &source,
        answers: prompts.answers(),
        metric: prompts.metric,
        max_rows,
    };
    let name = GridKind::Ablate(kind, target.into());
    progress.filling(GridName::raw(name), &axes, &shape);
    let values = sweep.run(&cells, progress).await?;
    let mut per_prompt_axes = axes.clone();
    per_prompt_axes.push("prompt");
    let mut per_prompt_shape = shape;
    per_prompt_shape.push(prompts.answers().len());
    let per_prompt = Grid::new(&per_prompt_axes, per_prompt_shape, values);
    let mut output = Output::default();
    output.grid(GridName::raw(name), per_prompt.mean_last_axis());
    output.grid(GridName::per_prompt(name), per_prompt);
    output.metric(MetricName::Clean, clean.metric);
    Ok(output)
}
