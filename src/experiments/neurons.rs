//! Direct logit attribution of MLP neurons, and the neurons that write most: the logit lens of
//! each neuron's value vector (its row of `W_out`) scaled by how strongly it fires. The
//! anchored-bias study of GPT-2's multiple-choice answers (which neurons push towards "A")
//! reads these.

use super::kind::{About, ExperimentKind};
use super::metric::last_position;
use super::readback::read;
use super::top::largest;
use super::{
    AnswerPair, ExperimentError, Grid, GridKind, GridName, Metric, MetricName, Needs, Output,
    ParamError, Progress, PromptSet,
};
use crate::hooks::{BlockHook, HookPoint};
use crate::model::Gpt2;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Neuron attribution of the clean prompts at their last position: the spec's `neuron_dla`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// How many neurons to list, strongest writers first.
    #[serde(default = "twenty")]
    pub top: usize,
}

fn twenty() -> usize {
    20
}

impl ExperimentKind for Params {
    const ABOUT: About = About {
        title: "Neuron attribution",
        what: "Reads every MLP neuron's output (its activation times its row of W_out) through the final LayerNorm and the unembedding, onto the difference between the two answers: each neuron's direct contribution to the logit difference.",
        read: "The table lists the neurons that write most (largest |activation| times the size of their output vector) with their direct effect. In the multiple-choice preset, late-layer neurons with a large positive effect are those pulling the answer towards \"A\".",
        paper: "Geva et al. 2022, Transformer Feed-Forward Layers Build Predictions by Promoting Concepts in the Vocabulary Space; Li and Gao 2024, Anchored Answers",
        url: "https://arxiv.org/abs/2203.14680",
    };
    const NEEDS: Needs = Needs::Clean;

    fn check(&self) -> Result<(), ParamError> {
        if self.top == 0 {
            return Err(ParamError {
                field: "top".into(),
                message: "list at least one neuron".into(),
            });
        }
        Ok(())
    }
}

/// The columns of `neurons.top`.
pub const TOP_COLUMNS: [&str; 4] = ["score", "dla", "activation", "w_out_norm"];

/// `neurons.dla` `[layer, neuron]` (mean over prompts of each neuron's direct effect on the
/// logit difference: `post · (W_out[n] centred) · (W_U[:, correct] − W_U[:, incorrect]) /
/// ln_final.hook_scale`, TransformerLens's `stack_neuron_results` + `apply_ln_to_stack`),
/// `neurons.top` `[rank, quantity]`: the `top` neurons by score `mean |post| · ‖W_out[n]‖` with
/// their DLA, mean activation and `‖W_out[n]‖`; the metric `clean` (logit difference).
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    _progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let (n_layer, d_mlp) = (model.config.n_layer, model.config.n_inner);
    let run = prompts
        .clean_run_scored(model, Metric::LogitDiff, |p| {
            matches!(
                p,
                HookPoint::LnFinalScale | HookPoint::Block(_, BlockHook::MlpPost)
            )
        })
        .await?;
    let cache = &run.cache;
    let directions = directions(model, prompts.answers()); // [prompt, d_model]
    let scale: Tensor<2> = cache
        .get::<3>(HookPoint::LnFinalScale)
        .map(last_position)
        .ok_or(ExperimentError::MissingActivation(HookPoint::LnFinalScale))?; // [prompt, 1]
    let (mut dla, mut activation, mut norms) = (vec![], vec![], vec![]);
    for layer in 0..n_layer {
        let point = HookPoint::Block(layer, BlockHook::MlpPost);
        let post = cache
            .get::<3>(point)
            .map(last_position)
            .ok_or(ExperimentError::MissingActivation(point))?; // [prompt, d_mlp]
        let w_out = model.h[layer].mlp.w_out(); // [d_mlp, d_model]
        let centred = w_out.clone() - w_out.clone().mean_dim(1);
        // Each neuron's value vector read by each prompt's direction: [prompt, d_mlp].
        let read_out = directions.clone().matmul(centred.transpose());
        let per_prompt = post.clone() * read_out / scale.clone();
        dla.extend(
            read(per_prompt.mean_dim(0))
                .await
                .map_err(ExperimentError::Device)?,
        );
        activation.extend(
            read(post.abs().mean_dim(0))
                .await
                .map_err(ExperimentError::Device)?,
        );
        norms.extend(
            read((w_out.clone() * w_out).sum_dim(1).sqrt())
                .await
                .map_err(ExperimentError::Device)?,
        );
    }
    let score: Vec<f32> = activation.iter().zip(&norms).map(|(a, n)| a * n).collect();
    let order: Vec<usize> = largest(&score, params.top.min(score.len()))
        .into_iter()
        .map(|i| i as usize)
        .collect();
    let top_values = order
        .iter()
        .flat_map(|&i| [score[i], dla[i], activation[i], norms[i]])
        .collect();
    let mut top = Grid::new(
        &["rank", "quantity"],
        vec![order.len(), TOP_COLUMNS.len()],
        top_values,
    );
    top.labels = vec![
        order
            .iter()
            .map(|&i| format!("L{}N{}", i / d_mlp, i % d_mlp))
            .collect(),
        TOP_COLUMNS.map(String::from).to_vec(),
    ];
    let mut output = Output::default();
    output.grid(
        GridName::raw(GridKind::Neurons(NeuronGrid::Dla)),
        Grid::new(&["layer", "neuron"], vec![n_layer, d_mlp], dla),
    );
    output.grid(GridName::raw(GridKind::Neurons(NeuronGrid::Top)), top);
    output.metric(MetricName::Clean, run.metric);
    Ok(output)
}

/// `W_U[:, correct] − W_U[:, incorrect]` per prompt: `[prompt, d_model]`.
fn directions(model: &Gpt2, answers: &[AnswerPair]) -> Tensor<2> {
    let device = model.device();
    let columns = |pick: fn(&AnswerPair) -> u32| {
        let ids: Vec<i32> = answers.iter().map(|a| pick(a) as i32).collect();
        let index = Tensor::<1, Int>::from_data(TensorData::new(ids, [answers.len()]), &device);
        model.w_u().select(1, index).transpose()
    };
    columns(|a| a.correct) - columns(|a| a.incorrect)
}

/// The grids of a neuron attribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NeuronGrid {
    Dla,
    Top,
}

impl NeuronGrid {
    pub const ALL: [Self; 2] = [Self::Dla, Self::Top];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dla => "dla",
            Self::Top => "top",
        }
    }
}
