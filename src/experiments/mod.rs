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
//! implements [`ExperimentKind`]: its title and help, the prompts it reads, its grids and its
//! checks; `Output` names its grids with [`GridName`]. The shared pieces:
//! [`PromptSet`] (prompts, answers, metric, the cached clean and corrupted runs), [`Sweep`]
//! (the one patching routine), [`Progress`].

pub mod ablation;
pub mod association;
pub mod attribution;
mod beam;
pub mod circuit;
pub mod direction;
pub mod eap;
pub mod feature_patching;
pub mod features;
pub mod frequency;
pub mod gedi;
pub mod generation;
mod grid;
mod kind;
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
pub mod relp;
pub mod repetition;
pub mod sae_attribution;
pub mod shares;
pub mod steering;
mod sweep;
mod top;

/// The registry: every experiment kind, in the order the form lists them, as
/// `name_in_a_spec => Variant(module)`. Calls `$then!` with the list, so that each layer derives
/// its own dispatch from this one place (`spec::experiment`, the grid names in `output`, the
/// browser's form). A new kind is its module (above) and one line here.
macro_rules! for_each_kind {
    ($then:ident) => {
        $then! {
            activation_patching => ActivationPatching(patching),
            ablation => Ablation(ablation),
            circuit => Circuit(circuit),
            logit_lens => LogitLens(lens),
            attribution_patching => AttributionPatching(attribution),
            path_patching => PathPatching(path),
            edge_attribution_patching => EdgeAttributionPatching(eap),
            neuron_dla => NeuronDla(neurons),
            loss => Loss(loss),
            repetition => Repetition(repetition),
            generation => Generation(generation),
            steering => Steering(steering),
            direction => Direction(direction),
            association_test => AssociationTest(association),
            frequency_tagging => FrequencyTagging(frequency),
            sae_features => SaeFeatures(features),
            sae_attribution => SaeAttribution(sae_attribution),
        }
    };
}
pub(crate) use for_each_kind;

pub use ablation::{AblationKind, AblationTarget};
pub use gedi::{Discriminator, Gedi};
pub use generation::{Beam, Generation, GenerationConfig, MAX_BEAMS, Step, generate};
pub use grid::Grid;
pub use grid::nullable as grid_nullable;
pub use kind::{About, ExperimentKind};
pub use metric::{AnswerPair, Metric, last_position};
pub use output::{
    AblationUnit, AttributionTarget, GenerationName, GridKind, GridName, LensGrid, LensStackName,
    MetricName, Output, UnknownGridName, UnknownName, Variant,
};
pub use patching::PatchTarget;
pub use progress::{Filling, Progress, ProgressUpdate, TokenUpdate};
pub use prompts::{CachedRun, PromptInput, PromptSet};
pub use readback::{read, yield_to_browser};
pub use relp::{AttributionMethod, RelpRule};
pub use shares::{Share, SweptShare};
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
    #[error(transparent)]
    UnequalLengths(#[from] UnequalLengths),
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

/// Clean and corrupted prompt `index` tokenise to different lengths: patching needs them
/// position by position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "clean and corrupted prompt {index} must have the same number of tokens, position by position:\n  clean ({} tokens):     {}\n  corrupted ({} tokens): {}",
    clean.len(),
    show(clean, texts, 0),
    corrupted.len(),
    show(corrupted, texts, 1)
)]
pub struct UnequalLengths {
    pub index: usize,
    pub clean: Vec<u32>,
    pub corrupted: Vec<u32>,
    /// Each token's text (clean, corrupted), once a tokenizer has named them.
    pub texts: Option<[Vec<String>; 2]>,
}

impl UnequalLengths {
    /// The same, each token named by `texts` (`tokenizer.token_texts`).
    pub fn named(self, texts: impl Fn(&[u32]) -> Vec<String>) -> Self {
        let named = [texts(&self.clean), texts(&self.corrupted)];
        Self {
            texts: Some(named),
            ..self
        }
    }
}

/// The tokens of one side (0 clean, 1 corrupted): their texts quoted, or their ids.
fn show(ids: &[u32], texts: &Option<[Vec<String>; 2]>, side: usize) -> String {
    match texts {
        Some(texts) => texts[side]
            .iter()
            .map(|t| format!("{t:?}"))
            .collect::<Vec<_>>()
            .join(" "),
        None => ids.iter().map(u32::to_string).collect::<Vec<_>>().join(" "),
    }
}

/// That `hook` is in a layer `model` has.
fn hook_exists(model: &crate::model::Gpt2, hook: HookPoint) -> Result<(), ExperimentError> {
    match hook.layer() {
        Some(layer) if layer >= model.config.n_layer => Err(ExperimentError::Parameter(format!(
            "{hook} does not exist: the model has {} layers",
            model.config.n_layer
        ))),
        _ => Ok(()),
    }
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
