//! An experiment spec as a Python script for an existing engine, so that an experiment carries
//! on where a browser stops: TransformerLens on a notebook's GPU, nnsight on NDIF's hosted
//! models. The scripts write their results in the layout of `patchbay run`'s JSON
//! (`grids.NAME.values`, `metrics.NAME`, `generations.NAME.generation.new_ids`), so that the
//! two can be compared number for number (`ci/interop` does, on the tiny model).

mod nnsight;
mod python;
mod transformer_lens;

use crate::spec::Spec;
use std::fmt;

/// The library a script is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Library {
    /// `transformer_lens.HookedTransformer`, its patching functions and hooks.
    TransformerLens,
    /// `nnsight.LanguageModel` traces, locally or on NDIF (`--remote`).
    Nnsight,
}

impl Library {
    /// Its name on the command line (`--to`).
    pub fn name(self) -> &'static str {
        match self {
            Self::TransformerLens => "transformer-lens",
            Self::Nnsight => "nnsight",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::TransformerLens, Self::Nnsight]
            .into_iter()
            .find(|l| l.name() == name)
    }
}

/// Why a spec cannot be exported.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportError(pub String);

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot export: {}", self.0)
    }
}

impl std::error::Error for ExportError {}

/// The spec as a self-contained Python script for `library`: `python SCRIPT MODEL OUT.json`.
pub fn to_python(spec: &Spec, library: Library) -> Result<String, ExportError> {
    spec.check().map_err(|e| {
        ExportError(format!(
            "the spec is invalid at `{}`: {}",
            e.path, e.message
        ))
    })?;
    match library {
        Library::TransformerLens => transformer_lens::script(spec),
        Library::Nnsight => nnsight::script(spec),
    }
}
