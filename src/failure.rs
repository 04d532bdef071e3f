//! Why a request failed, kept typed from where it happened to whoever tells the user: the
//! model's worker sends it to the page (`session::Event::Failed`), the page decides by its
//! kind (a cancelled run is no error; a spec problem points into the spec), and the CLI turns
//! it into its exit status.

use crate::experiments::ExperimentError;
use crate::loading::LoadError;
use crate::spec::{RunError, SpecError};
use serde::{Deserialize, Serialize};

/// A failed request, by whose move it is to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "failure", rename_all = "snake_case")]
pub enum Failure {
    /// What the user handed in (a spec, history file, share link) is wrong; `path` is the JSON
    /// path of the problem in the spec, empty when it has none.
    #[error("{}", SpecError { path: path.clone(), message: message.clone() })]
    Spec { path: String, message: String },
    /// Other input of the user's is wrong: a command-line argument, a file that cannot be
    /// read, a history file or link that holds no spec to run.
    #[error("{message}")]
    Input { message: String },
    /// The spec is well formed but cannot run on this model (prompt lengths or counts, a
    /// layer, head or neuron the model does not have).
    #[error("{message}")]
    Experiment { message: String },
    /// The model's files cannot be reached or used.
    #[error("{message}")]
    Load { message: String },
    /// The model needs more memory than this browser (or GPU binding) offers.
    #[error("{message}")]
    TooLarge { message: String },
    /// The compute device failed (a lost GPU, no adapter, out of device memory).
    #[error("{message}")]
    Device { message: String },
    #[error("no model is loaded: load one first")]
    NoModel,
    /// The user cancelled it.
    #[error("cancelled")]
    Cancelled,
    /// Anything else: the worker crashed or went away, a result could not be written.
    #[error("{message}")]
    Internal { message: String },
}

impl Failure {
    pub fn load(message: impl Into<String>) -> Self {
        Self::Load {
            message: message.into(),
        }
    }

    pub fn input(message: impl Into<String>) -> Self {
        Self::Input {
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal {
            message: message.into(),
        }
    }

    /// The CLI's exit status: 2 for the user's input (as for a bad command line), 3 for an
    /// experiment the model cannot run, 4 for the model's files, 5 for the device, 130 for a
    /// cancel (as for Ctrl-C), 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Spec { .. } | Self::Input { .. } => 2,
            Self::Experiment { .. } => 3,
            Self::Load { .. } | Self::TooLarge { .. } | Self::NoModel => 4,
            Self::Device { .. } => 5,
            Self::Cancelled => 130,
            Self::Internal { .. } => 1,
        }
    }

    /// For people: what happened, and what to do next, in a sentence each (the message itself
    /// is the detail beneath).
    pub fn advice(&self) -> (&'static str, &'static str) {
        match self {
            Self::Spec { .. } => (
                "The experiment spec has a problem.",
                "Fix the field named below in the JSON editor, or build the experiment in the form.",
            ),
            Self::Input { .. } => (
                "Patchbay cannot use what it was given.",
                "Check the file, link or address named below and try again.",
            ),
            Self::Experiment { .. } => (
                "This model cannot run the experiment as written.",
                "Ask only for layers, heads and neurons the loaded model has, and give clean and corrupted prompts of equal token lengths (the form shows them aligned).",
            ),
            Self::Load { .. } => (
                "The model could not be loaded.",
                "Check the address (a hub id such as openai-community/gpt2, or a folder with config.json, model.safetensors and tokenizer.json) and the connection, then press Load again; nothing of the failed attempt was kept.",
            ),
            Self::TooLarge { .. } => (
                "This model is too large for this browser.",
                "Choose a smaller GPT-2 (gpt2 or gpt2-medium), use a browser with WebGPU, or run it with the patchbay command-line tool on a bigger machine.",
            ),
            Self::Device { .. } => (
                "The compute device failed.",
                "Reload the page: Patchbay then runs on the CPU if the GPU is gone, and the model comes back from the browser's cache.",
            ),
            Self::NoModel => ("No model is loaded.", "Load one in the Model panel first."),
            Self::Cancelled => ("Cancelled.", "Start it again when you are ready."),
            Self::Internal { .. } => (
                "Something went wrong inside Patchbay.",
                "Reload the page; your history is kept. If it happens again, the details below say where.",
            ),
        }
    }

    /// Where in the spec the problem is, for a spec problem.
    pub fn spec_path(&self) -> Option<&str> {
        match self {
            Self::Spec { path, .. } => Some(path),
            _ => None,
        }
    }
}

impl From<SpecError> for Failure {
    fn from(e: SpecError) -> Self {
        Self::Spec {
            path: e.path,
            message: e.message,
        }
    }
}

impl From<ExperimentError> for Failure {
    fn from(e: ExperimentError) -> Self {
        match e {
            ExperimentError::Cancelled => Self::Cancelled,
            ExperimentError::Device(message) => Self::Device { message },
            ExperimentError::Prompt { path, message } => Self::Spec { path, message },
            other => Self::Experiment {
                message: other.to_string(),
            },
        }
    }
}

impl From<RunError> for Failure {
    fn from(e: RunError) -> Self {
        match e {
            RunError::Spec(e) => e.into(),
            RunError::Experiment(e) => e.into(),
        }
    }
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Device(_) => Self::Device {
                message: e.to_string(),
            },
            LoadError::TooLarge(_) => Self::TooLarge {
                message: e.to_string(),
            },
            e => Self::load(e.to_string()),
        }
    }
}

impl From<crate::sae::SaeError> for Failure {
    fn from(e: crate::sae::SaeError) -> Self {
        use crate::sae::SaeError;
        match e {
            SaeError::Weights(LoadError::Device(_)) => Self::Device {
                message: e.to_string(),
            },
            SaeError::TooLarge(_) => Self::TooLarge {
                message: e.to_string(),
            },
            SaeError::Mismatch(_) => Self::input(e.to_string()),
            e => Self::load(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_says_what_happened_and_what_to_do() {
        let too_large = Failure::from(LoadError::TooLarge("needs 7 GB".into()));
        assert_eq!(
            too_large.advice().0,
            "This model is too large for this browser."
        );
        assert_eq!(too_large.exit_code(), 4);
        for failure in [
            Failure::input("x"),
            Failure::load("x"),
            Failure::internal("x"),
            Failure::NoModel,
            Failure::Cancelled,
            Failure::from(ExperimentError::Parameter("x".into())),
            Failure::from(ExperimentError::Device("x".into())),
            too_large,
        ] {
            let (what, next) = failure.advice();
            assert!(what.ends_with('.') && next.ends_with('.'), "{failure:?}");
        }
    }

    #[test]
    fn crosses_the_worker_boundary_as_json_and_reads_as_before() {
        let failures = [
            Failure::from(SpecError {
                path: ".experiment.logit_lens.layer".into(),
                message: "layer 7 is outside the model".into(),
            }),
            Failure::from(ExperimentError::Cancelled),
            Failure::from(ExperimentError::Device("lost".into())),
            Failure::from(LoadError::Tokenizer("bad".into())),
            Failure::NoModel,
            Failure::input("--ids: `x` is not a token id"),
        ];
        for failure in &failures {
            let json = serde_json::to_string(failure).unwrap();
            assert_eq!(&serde_json::from_str::<Failure>(&json).unwrap(), failure);
        }
        assert_eq!(
            failures[0].to_string(),
            "invalid experiment spec at `.experiment.logit_lens.layer`: layer 7 is outside the model"
        );
        assert_eq!(
            failures[0].spec_path(),
            Some(".experiment.logit_lens.layer")
        );
        assert_eq!(failures[1], Failure::Cancelled);
        assert_eq!(
            failures[3].to_string(),
            "tokenizer.json could not be used: bad"
        );
        let codes: Vec<u8> = failures.iter().map(Failure::exit_code).collect();
        assert_eq!(codes, [2, 130, 5, 4, 4, 2]);
    }

    #[test]
    fn a_parameter_prompt_is_reported_at_its_place_in_the_spec() {
        let failure = Failure::from(RunError::from(ExperimentError::Prompt {
            path: ".experiment.steering.positive".into(),
            message: "empty".into(),
        }));
        assert_eq!(failure.spec_path(), Some(".experiment.steering.positive"));
        assert_eq!(failure.exit_code(), 2);
    }
}
