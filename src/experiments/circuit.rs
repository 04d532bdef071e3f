//! A circuit: keep only some heads and mean-ablate every other head's output.

use super::kind::{About, ExperimentKind};
use super::readback::read;
use super::{
    ExperimentError, Grid, GridKind, GridName, MetricName, Needs, Output, Progress, PromptSet,
};
use crate::hooks::{Action, BlockHook, HookPoint, Intervention, InterventionHooks, Values};
use crate::model::Gpt2;
use serde::{Deserialize, Serialize};

/// Keep these heads (`[layer, head]`), mean-ablate every other head: the spec's `circuit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub keep: Vec<[usize; 2]>,
}

impl ExperimentKind for Params {
    const ABOUT: About = About {
        title: "Circuit (keep only some heads)",
        what: "Keeps only the heads you name and replaces every other head's output by its mean over the clean prompts: how much of the task does the circuit alone perform?",
        read: "Compare the circuit's metric with the full model's (clean). Wang et al.'s IOI circuit keeps most of GPT-2 small's logit difference; a circuit missing a key class of heads (the name movers, say) loses most of it.",
        paper: "Wang et al. 2022, Interpretability in the Wild",
        url: "https://arxiv.org/abs/2211.00593",
    };
    const NEEDS: Needs = Needs::Clean;
}

/// The metric `circuit` (mean over prompts) and the grid `circuit.per_prompt`.
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    _progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let keep: Vec<(usize, usize)> = params.keep.iter().map(|[l, h]| (*l, *h)).collect();
    let (value, per_prompt) = circuit(model, prompts, &keep).await?;
    let mut output = Output::default();
    let n = per_prompt.len();
    output.grid(
        GridName::per_prompt(GridKind::Circuit),
        Grid::new(&["prompt"], vec![n], per_prompt),
    );
    output.metric(MetricName::Circuit, value);
    Ok(output)
}

/// Keeps only the heads in `keep` (`(layer, head)`) and mean-ablates every other head's
/// `hook_z` (means over the clean batch and positions). Returns the mean and per-prompt metric.
async fn circuit(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    keep: &[(usize, usize)],
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
    let cache = prompts
        .clean_run(model, |p| matches!(p, HookPoint::Block(_, BlockHook::Z)))
        .await?
        .cache;
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
        let mean = read(z.mean_dim(0).mean_dim(1))
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
    let tokens = model.tokens(prompts.clean())?;
    let logits = model.forward_hooked(tokens, &mut InterventionHooks::new(interventions));
    prompts.score(logits).await
}
