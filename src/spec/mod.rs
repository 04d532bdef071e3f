//! Experiment specs (versioned JSON) and running them: the format shared by the CLI, the
//! browser's history, exports and share links.

pub mod budget;
pub mod draft;
pub mod examples;
mod experiment;
mod format;
mod next;
pub mod published;
mod run;

pub use budget::{Estimate, Limits};
pub use draft::generation::SamplingDraft;
pub use draft::{FormDraft, Kept, KindDraft, heads, lines};
pub use experiment::{Experiment, Kind, KindFields};
pub use format::{ModelRef, PromptInput, Prompts, SPEC_VERSION, Spec, SpecError, TokenInput};
pub use next::NextStep;
pub use run::{
    GeneratedText, Provenance, RunContext, RunError, RunResult, TokenChoice, run, sha256_hex,
};
