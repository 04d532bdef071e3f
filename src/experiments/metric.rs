//! Metrics of a run, from its last-position logits.

use burn::tensor::{Int, Tensor, TensorData, activation};
use serde::{Deserialize, Serialize};

/// The correct and incorrect answer token of one prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerPair {
    pub correct: u32,
    pub incorrect: u32,
}

/// What an experiment measures, per prompt, at the last position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// `logit(correct) − logit(incorrect)` (TransformerLens's IOI metric).
    #[default]
    LogitDiff,
    /// Softmax probability of the correct answer.
    AnswerProb,
    /// `−log p(correct)`.
    AnswerLoss,
}

impl Metric {
    /// The metric of each row.
    ///
    /// # Shapes
    /// - last_logits: `[rows, vocab]`; `answers` has one pair per row
    /// - output: `[rows]`
    pub fn per_row(self, last_logits: Tensor<2>, answers: &[AnswerPair]) -> Tensor<1> {
        let rows = answers.len();
        let device = last_logits.device();
        let index = |pick: fn(&AnswerPair) -> u32| {
            let ids: Vec<i32> = answers.iter().map(|a| pick(a) as i32).collect();
            Tensor::<2, Int>::from_data(TensorData::new(ids, [rows, 1]), &device)
        };
        let correct = index(|a| a.correct);
        match self {
            Self::LogitDiff => {
                let diff = last_logits.clone().gather(1, correct)
                    - last_logits.gather(1, index(|a| a.incorrect));
                diff.reshape([rows])
            }
            Self::AnswerProb => activation::softmax(last_logits, 1)
                .gather(1, correct)
                .reshape([rows]),
            Self::AnswerLoss => -activation::log_softmax(last_logits, 1)
                .gather(1, correct)
                .reshape([rows]),
        }
    }
}

/// The last position of each sequence.
///
/// # Shapes
/// - x: `[rows, pos, d]`
/// - output: `[rows, d]`
pub fn last_position(x: Tensor<3>) -> Tensor<2> {
    let [rows, pos, d] = x.dims();
    x.narrow(1, pos - 1, 1).reshape([rows, d])
}
