//! Experiments as pure functions over the model: patching, ablation, lenses, attribution,
//! path patching, steering, generation. No UI, storage or loading code: the CLI and the browser share them.
//! They are `async` because reading results back from WebGPU is.
//!
//! Every experiment is one module with the same entry point:
//!
//! ```text
//! pub async fn run(model: &Gpt2, prompts: &PromptSet<'_>, params: &Params, progress: &mut Progress<'_>)
//!     -> Result<Output, ExperimentError>
//! ```
//!
//! `Params` is the experiment's part of the spec (`spec::Experiment` holds one per kind) and
//! implements [`Checked`]; `Output` names its grids with [`GridName`]. The shared pieces:
//! [`PromptSet`] (prompts, answers, metric, the cached clean and corrupted runs), [`Sweep`]
//! (the one patching routine), [`Progress`].

pub mod ablation;
pub mod attribution;
pub mod circuit;
pub mod eap;
pub mod generation;
mod grid;
pub mod lens;
pub mod loss;
mod metric;
pub mod neurons;
mod output;
pub mod patching;
pub mod path;
mod progress;
mod prompts;
mod readback;
pub mod repetition;
pub mod steering;
mod sweep;
mod top;

pub use ablation::{AblationKind, AblationTarget};
pub use generation::{Generation, GenerationConfig, Step, generate};
pub use grid::Grid;
pub use grid::nullable as grid_nullable;
pub use metric::{AnswerPair, Metric, last_position};
pub use output::{
    AblationUnit, AttributionTarget, GridKind, GridName, LensGrid, LensStackName, Output,
    UnknownGridName, Variant,
};
pub use patching::PatchTarget;
pub use progress::{Progress, ProgressUpdate, TokenUpdate};
pub use prompts::{CachedRun, PromptInput, PromptSet};
pub use readback::{read, yield_to_browser};
pub use steering::{SteeringVector, steering_vector};
pub use sweep::{Cell, Sweep};
pub use top::largest;

use crate::hooks::HookPoint;
use crate::model::InputError;

/// Why an experiment stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExperimentError {
    /// The prompts cannot be run.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Clean and corrupted prompt `index` tokenise to different lengths.
    #[error(
        "clean and corrupted prompt {index} must have the same number of tokens: clean has {} {clean:?}, corrupted has {} {corrupted:?}",
        clean.len(),
        corrupted.len()
    )]
    UnequalLengths {
        index: usize,
        clean: Vec<u32>,
        corrupted: Vec<u32>,
    },
    /// Prompt, answer and corrupted-prompt counts differ.
    #[error("{0}")]
    Counts(String),
    /// A prompt in the parameters (at `path` of the spec) cannot be tokenised.
    #[error("{message}")]
    Prompt { path: String, message: String },
    /// An activation the experiment needs was not cached (a bug, or a bad parameter).
    #[error("activation {0} was not cached")]
    MissingActivation(HookPoint),
    /// A parameter outside the model (layer, head, neuron...).
    #[error("{0}")]
    Parameter(String),
    /// Reading results from the device failed (e.g. the GPU device was lost).
    #[error("{0}")]
    Device(String),
    /// The caller cancelled.
    #[error("cancelled")]
    Cancelled,
}

/// Which prompts an experiment needs from the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Brings its own (generation, steering).
    NoPrompts,
    /// Clean prompts and answers.
    Clean,
    /// Clean and corrupted prompts and answers.
    CleanAndCorrupted,
}

/// A parameter problem found before any model is loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamError {
    /// The field, relative to the experiment's parameters (`targets`).
    pub field: String,
    pub message: String,
}

/// What every experiment's parameters say before it runs.
pub trait Checked {
    fn needs(&self) -> Needs;

    /// Checks that need no model.
    fn check(&self) -> Result<(), ParamError> {
        Ok(())
    }
}
