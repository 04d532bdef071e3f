//! The experiment spec: one versioned JSON document that the CLI runs, the browser stores,
//! exports contain and share links encode.

use super::Experiment;
use super::published::Published;
pub use crate::experiments::PromptInput;
use crate::experiments::{Metric, Needs};
pub use crate::loading::ModelRef;
use serde::{Deserialize, Serialize};

/// The spec version this build writes and reads.
pub const SPEC_VERSION: u32 = 1;

/// A complete experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Format version ([`SPEC_VERSION`]).
    pub version: u32,
    /// A title for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    pub model: ModelRef,
    /// Prompts (text or token ids) with their answers; absent for pure generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<Prompts>,
    #[serde(default)]
    pub metric: Metric,
    pub experiment: Experiment,
    /// Seed of anything random (sampling).
    #[serde(default)]
    pub seed: u64,
    /// Published values to draw beside the computed ones (presets carry a paper's numbers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Published>,
}

/// A single token as text (`" Mary"`) or id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TokenInput {
    Id(u32),
    Text(String),
}

/// Clean prompts, optional corrupted counterparts, and one `[correct, incorrect]` answer pair
/// per prompt (corrupted runs are scored with the clean answers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompts {
    pub clean: Vec<PromptInput>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrupted: Vec<PromptInput>,
    pub answers: Vec<[TokenInput; 2]>,
    /// Start text prompts with `<|endoftext|>` (TransformerLens's default).
    #[serde(default = "yes")]
    pub prepend_bos: bool,
}

fn yes() -> bool {
    true
}

/// A spec that cannot be read, with the JSON path of the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid experiment spec{}: {message}", at_path(path))]
pub struct SpecError {
    pub path: String,
    pub message: String,
}

/// ` at `path`` for a path inside the spec, nothing for the whole.
fn at_path(path: &str) -> String {
    if path.is_empty() || path == "." {
        String::new()
    } else {
        format!(" at `{path}`")
    }
}

impl Spec {
    /// Parses a spec, reporting the JSON path of the first problem.
    pub fn from_json(text: &str) -> Result<Self, SpecError> {
        let version: Option<u64> = serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| SpecError {
                path: String::new(),
                message: format!("not JSON: {e}"),
            })?
            .get("version")
            .and_then(serde_json::Value::as_u64);
        match version {
            None => {
                return Err(SpecError {
                    path: "version".into(),
                    message: "missing: this format needs `\"version\": 1`".into(),
                });
            }
            Some(v) if v > SPEC_VERSION as u64 => {
                return Err(SpecError {
                    path: "version".into(),
                    message: format!(
                        "version {v} was written by a newer Patchbay; this one reads version {SPEC_VERSION}"
                    ),
                });
            }
            Some(0) => {
                return Err(SpecError {
                    path: "version".into(),
                    message: format!(
                        "version 0 does not exist; this Patchbay reads version {SPEC_VERSION}"
                    ),
                });
            }
            _ => {}
        }
        let deserializer = &mut serde_json::Deserializer::from_str(text);
        let spec: Spec = serde_path_to_error::deserialize(deserializer).map_err(|e| SpecError {
            path: e.path().to_string(),
            message: e.into_inner().to_string(),
        })?;
        spec.check()?;
        Ok(spec)
    }

    /// The spec as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a spec serialises")
    }

    pub(crate) fn check(&self) -> Result<(), SpecError> {
        let err = |path: &str, message: String| {
            Err(SpecError {
                path: path.into(),
                message,
            })
        };
        let needs = self.experiment.needs();
        let needs_prompts = needs != Needs::NoPrompts;
        match &self.prompts {
            None if needs_prompts => {
                return err(
                    "prompts",
                    "this experiment needs prompts and answers".into(),
                );
            }
            Some(p) => {
                if p.clean.is_empty() {
                    return err("prompts.clean", "give at least one prompt".into());
                }
                if p.answers.len() != p.clean.len() {
                    return err(
                        "prompts.answers",
                        format!(
                            "{} answer pairs for {} prompts: give one pair per prompt",
                            p.answers.len(),
                            p.clean.len()
                        ),
                    );
                }
                if !p.corrupted.is_empty() && p.corrupted.len() != p.clean.len() {
                    return err(
                        "prompts.corrupted",
                        format!(
                            "{} corrupted prompts for {} clean ones",
                            p.corrupted.len(),
                            p.clean.len()
                        ),
                    );
                }
                let needs_corrupted = needs == Needs::CleanAndCorrupted;
                if needs_corrupted && p.corrupted.is_empty() {
                    return err(
                        "prompts.corrupted",
                        "this experiment needs corrupted prompts".into(),
                    );
                }
            }
            None => {}
        }
        // The one place a parameter's path gets its kind's name.
        self.experiment.check_params().map_err(|e| SpecError {
            path: format!("experiment.{}.{}", self.experiment.name(), e.field),
            message: e.message,
        })?;
        if let Some(published) = &self.published {
            published
                .check()
                .map_err(|(path, message)| SpecError { path, message })?;
        }
        Ok(())
    }
}
