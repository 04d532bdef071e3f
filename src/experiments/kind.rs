//! What an experiment kind declares about itself, once, beside its code: its title and help for
//! people, the prompts it reads, its grids and scalars, the checks its parameters pass before a
//! model is loaded. It runs through its module's `run(model, prompts, &params, progress)`. The
//! registry (`for_each_kind!`) lists the kinds, one line each, and derives the spec's
//! `experiment` field, the form's kind list and every dispatch from these.

use super::{Needs, ParamError};
use crate::loading::ModelRef;

/// A method explained for the help panel: what it measures, how to read the result, and the
/// paper that introduced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct About {
    /// For people ("Activation patching").
    pub title: &'static str,
    pub what: &'static str,
    pub read: &'static str,
    pub paper: &'static str,
    pub url: &'static str,
}

/// An experiment kind: implemented by its parameters (`patching::Params`), the value the spec
/// holds under the kind's name.
pub trait ExperimentKind: Sized {
    const ABOUT: About;

    /// The prompts the kind reads with its usual parameters: what the form asks for.
    const NEEDS: Needs;

    /// The grids it writes under names of its own (`attn.pattern`; each also with
    /// `.normalised` and `.per_prompt`), as `GridKind::Named`. Kinds whose grids have
    /// structured names (`patch.<target>`) have their own `GridKind` variant instead.
    const GRIDS: &'static [&'static str] = &[];

    /// The scalars it writes under names of its own (`direction.explained`), as
    /// `MetricName::Named`.
    const METRICS: &'static [&'static str] = &[];

    /// Whether its run sweeps cells with [`super::Sweep`], which a worker pool can share
    /// (`super::shares`).
    const SWEEPS_CELLS: bool = false;

    /// The prompts these parameters read (resampling ablation reads corrupted prompts too).
    fn needs(&self) -> Needs {
        Self::NEEDS
    }

    /// Checks that need no model; a problem names its field relative to the parameters.
    fn check(&self) -> Result<(), ParamError> {
        Ok(())
    }

    /// Models the parameters name besides the spec's own (GeDi's discriminator).
    fn models(&self) -> Vec<&ModelRef> {
        vec![]
    }

    /// SAEs the parameters name (by the id each is loaded under).
    fn saes(&self) -> Vec<&ModelRef> {
        vec![]
    }

    /// [`Self::check`] again, for callers of the kind's `run` (a spec checked it already),
    /// as the error a run reports.
    fn checked(&self) -> Result<(), super::ExperimentError> {
        self.check()
            .map_err(|e| super::ExperimentError::Parameter(format!("{}: {}", e.field, e.message)))
    }

    /// A kind without parameters returns its one value here and is written as its name alone
    /// (`"logit_lens"`), not as `{"logit_lens": ...}`.
    fn without_parameters() -> Option<Self> {
        None
    }
}
