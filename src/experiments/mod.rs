//! Experiments as pure functions over the model: patching, ablation, lenses, attribution,
//! steering, generation. No UI, storage or loading code: the CLI and the browser share them.
//! They are `async` because reading results back from WebGPU is.

mod ablation;
mod attribution;
mod generation;
mod grid;
mod lens;
mod metric;
mod patching;
mod readback;
mod steering;
mod sweep;

pub use ablation::{AblationKind, AblationResult, AblationTarget, ablation, circuit};
pub use attribution::{AttributionResult, attribution_patching};
pub use generation::{Generation, GenerationConfig, Step, generate};
pub use grid::Grid;
pub use grid::nullable as grid_nullable;
pub use lens::{LensResult, LensStack, logit_lens};
pub use metric::{AnswerPair, Metric, last_position};
pub use patching::{
    PatchTarget, PatchingResult, PromptPairs, activation_patching, activation_patching_targets,
};
pub use readback::{read, yield_to_browser};
pub use steering::{SteeringVector, steering_vector};
pub use sweep::{Cell, Sweep};

use crate::hooks::HookPoint;
use crate::model::InputError;
use std::fmt;

/// Why an experiment stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum ExperimentError {
    /// The prompts cannot be run.
    Input(InputError),
    /// Clean and corrupted prompt `index` tokenise to different lengths.
    UnequalLengths {
        index: usize,
        clean: Vec<u32>,
        corrupted: Vec<u32>,
    },
    /// Prompt, answer and corrupted-prompt counts differ.
    Counts(String),
    /// An activation the experiment needs was not cached (a bug, or a bad parameter).
    MissingActivation(HookPoint),
    /// A parameter outside the model (layer, head, neuron...).
    Parameter(String),
    /// Reading results from the device failed (e.g. the GPU device was lost).
    Device(String),
    /// The caller cancelled.
    Cancelled,
}

impl fmt::Display for ExperimentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Input(e) => e.fmt(f),
            Self::UnequalLengths {
                index,
                clean,
                corrupted,
            } => write!(
                f,
                "clean and corrupted prompt {index} must have the same number of tokens: clean has {} {clean:?}, corrupted has {} {corrupted:?}",
                clean.len(),
                corrupted.len()
            ),
            Self::Counts(m) | Self::Parameter(m) => f.write_str(m),
            Self::MissingActivation(p) => write!(f, "activation {p} was not cached"),
            Self::Device(m) => f.write_str(m),
            Self::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for ExperimentError {}

impl From<InputError> for ExperimentError {
    fn from(e: InputError) -> Self {
        Self::Input(e)
    }
}

/// How far a long experiment has come, with the per-cell results so far (mean over prompts).
pub struct ProgressUpdate<'a> {
    pub done: usize,
    pub total: usize,
    pub values: &'a [f32],
}

type ProgressCallback<'a> = Box<dyn FnMut(&ProgressUpdate<'_>) -> bool + 'a>;

/// Progress reporting and cancellation: the callback returns `false` to cancel.
#[derive(Default)]
pub struct Progress<'a> {
    callback: Option<ProgressCallback<'a>>,
}

impl<'a> Progress<'a> {
    /// No reporting, never cancelled.
    pub fn none() -> Self {
        Self { callback: None }
    }

    /// Calls `callback` after every step; it returns `false` to cancel.
    pub fn new(callback: impl FnMut(&ProgressUpdate<'_>) -> bool + 'a) -> Self {
        Self {
            callback: Some(Box::new(callback)),
        }
    }

    /// Reports `done` of `total` with `per_prompt` values (`prompts` per cell).
    pub(crate) fn report(
        &mut self,
        done: usize,
        total: usize,
        per_prompt: &[f32],
        prompts: usize,
    ) -> Result<(), ExperimentError> {
        let Some(callback) = self.callback.as_mut() else {
            return Ok(());
        };
        let values: Vec<f32> = per_prompt
            .chunks(prompts)
            .map(|c| c.iter().sum::<f32>() / prompts as f32)
            .collect();
        if callback(&ProgressUpdate {
            done,
            total,
            values: &values,
        }) {
            Ok(())
        } else {
            Err(ExperimentError::Cancelled)
        }
    }
}

/// Clean and corrupted batches must pair up token for token.
pub(crate) fn check_pairs(prompts: PromptPairs<'_>) -> Result<(), ExperimentError> {
    if prompts.clean.len() != prompts.corrupted.len()
        || prompts.clean.len() != prompts.answers.len()
    {
        return Err(ExperimentError::Counts(format!(
            "{} clean prompts, {} corrupted prompts and {} answer pairs: they must be equal in number",
            prompts.clean.len(),
            prompts.corrupted.len(),
            prompts.answers.len()
        )));
    }
    for (index, (clean, corrupted)) in prompts.clean.iter().zip(prompts.corrupted).enumerate() {
        if clean.len() != corrupted.len() {
            return Err(ExperimentError::UnequalLengths {
                index,
                clean: clean.clone(),
                corrupted: corrupted.clone(),
            });
        }
    }
    Ok(())
}
