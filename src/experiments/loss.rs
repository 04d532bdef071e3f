//! Per-token loss: how surprised the model is by each next token of a text (the quantity
//! language-model comparisons such as LN-free GPT-2 report, as a mean).

use super::kind::{About, ExperimentKind};
use super::readback::read;
use super::{
    ExperimentError, Grid, GridKind, GridName, MetricName, Needs, Output, ParamError, Progress,
    PromptInput, PromptSet,
};
use crate::model::Gpt2;
use burn::tensor::{Int, Tensor, TensorData, activation};
use serde::{Deserialize, Serialize};

/// The loss of every next token of each text: the spec's `loss`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub texts: Vec<PromptInput>,
    /// Start each text with `<|endoftext|>`, so that its first token is predicted too.
    #[serde(default = "yes")]
    pub prepend_bos: bool,
}

fn yes() -> bool {
    true
}

impl ExperimentKind for Params {
    const ABOUT: About = About {
        title: "Per-token loss",
        what: "The model's surprise at each next token of your texts: minus the log-probability it gave the token that came.",
        read: "Compare two models on the same texts (the LN-free preset compares GPT-2 without LayerNorm against its control), or find where a text surprises the model.",
        paper: "Heimersheim 2024, You can remove GPT2's LayerNorm by fine-tuning",
        url: "https://arxiv.org/abs/2409.13710",
    };
    const NEEDS: Needs = Needs::NoPrompts;

    fn check(&self) -> Result<(), ParamError> {
        if self.texts.is_empty() {
            return Err(ParamError {
                field: "texts".into(),
                message: "give at least one text".into(),
            });
        }
        Ok(())
    }
}

/// `loss.per_token` `[text, pos]` (the loss of predicting token `pos + 1`; NaN past a shorter
/// text's end) and the metric `loss`, the mean over every predicted token.
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let mut rows = vec![];
    let mut means = vec![];
    for (i, text) in params.texts.iter().enumerate() {
        let ids = prompts.encode(
            text,
            params.prepend_bos,
            &format!("experiment.loss.texts[{i}]"),
        )?;
        if ids.len() < 2 {
            return Err(ExperimentError::Parameter(format!(
                "text {i} is one token: nothing to predict"
            )));
        }
        let losses = token_losses(model, &ids).await?;
        means.push(losses.iter().sum::<f32>() / losses.len() as f32);
        rows.push(losses);
        progress.report(i + 1, params.texts.len(), &means, 1)?;
    }
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let all: Vec<f32> = rows.iter().flatten().copied().collect();
    let mean = all.iter().map(|&v| v as f64).sum::<f64>() / all.len() as f64;
    let values = rows
        .iter()
        .flat_map(|row| {
            row.iter()
                .copied()
                .chain(std::iter::repeat_n(f32::NAN, width - row.len()))
        })
        .collect();
    let mut output = Output::default();
    output.grid(
        GridName::raw(GridKind::Loss),
        Grid::new(&["text", "pos"], vec![rows.len(), width], values),
    );
    output.metric(MetricName::Loss, mean as f32);
    Ok(output)
}

/// `−log p(ids[i + 1] | ids[..=i])` for every position but the last, computed on the device
/// (only these `pos − 1` numbers come back, not `pos × vocab` logits).
pub async fn token_losses(model: &Gpt2, ids: &[u32]) -> Result<Vec<f32>, ExperimentError> {
    let logits = model.forward(model.tokens(&[ids.to_vec()])?);
    let [_, pos, vocab] = logits.dims();
    let log_probs = activation::log_softmax(logits.reshape([pos, vocab]).slice(0..pos - 1), 1);
    let next: Vec<i32> = ids[1..].iter().map(|&id| id as i32).collect();
    let index =
        Tensor::<2, Int>::from_data(TensorData::new(next, [pos - 1, 1]), &log_probs.device());
    read(-log_probs.gather(1, index))
        .await
        .map_err(ExperimentError::Device)
}
