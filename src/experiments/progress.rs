//! Progress reporting and cancellation, for sweeps (cells done, partial grid) and generation
//! (each new token).

use super::generation::Step;
use super::shares::{Share, Sharing, SweptShare};
use super::{ExperimentError, GenerationName, GridName};
use serde::{Deserialize, Serialize};

/// How far a sweep has come, with the per-cell results so far (mean over prompts).
pub struct ProgressUpdate<'a> {
    pub done: usize,
    pub total: usize,
    pub values: &'a [f32],
    /// The grid the values fill, where the experiment said.
    pub grid: Option<&'a Filling>,
}

/// The grid a sweep fills, cell by cell in row-major order: a partial picture can be drawn
/// with its real axes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filling {
    pub name: GridName,
    pub axes: Vec<String>,
    pub shape: Vec<usize>,
}

/// A new token of the continuation `generation`.
pub struct TokenUpdate<'a> {
    pub generation: GenerationName,
    pub step: &'a Step,
}

type CellsCallback<'a> = Box<dyn FnMut(&ProgressUpdate<'_>) -> bool + 'a>;
type TokenCallback<'a> = Box<dyn FnMut(&TokenUpdate<'_>) -> bool + 'a>;

/// Where an experiment reports. A sweep's callback returns `false` to cancel (the experiment
/// fails with [`ExperimentError::Cancelled`]); a generation's returns `false` to stop (the
/// tokens so far are the result, and no further continuation starts). It also carries which of
/// a sweep's cells the run computes (`super::shares`): all of them unless a worker pool shares
/// them.
pub struct Progress<'a> {
    cells: Option<CellsCallback<'a>>,
    tokens: Option<TokenCallback<'a>>,
    generation: GenerationName,
    filling: Option<Filling>,
    stopped: bool,
    sharing: Sharing,
}

impl Default for Progress<'_> {
    fn default() -> Self {
        Self {
            cells: None,
            tokens: None,
            generation: GenerationName::Default,
            filling: None,
            stopped: false,
            sharing: Sharing::Whole,
        }
    }
}

impl<'a> Progress<'a> {
    /// No reporting, never cancelled.
    pub fn none() -> Self {
        Self::default()
    }

    /// Calls `callback` after every step of a sweep; it returns `false` to cancel.
    pub fn new(callback: impl FnMut(&ProgressUpdate<'_>) -> bool + 'a) -> Self {
        Self {
            cells: Some(Box::new(callback)),
            ..Self::default()
        }
    }

    /// Calls `callback` with every generated token; it returns `false` to stop.
    pub fn tokens(callback: impl FnMut(&TokenUpdate<'_>) -> bool + 'a) -> Self {
        Self::default().with_tokens(callback)
    }

    /// Also reports generated tokens to `callback`.
    pub fn with_tokens(mut self, callback: impl FnMut(&TokenUpdate<'_>) -> bool + 'a) -> Self {
        self.tokens = Some(Box::new(callback));
        self
    }

    /// Computes only `share`'s cells of each sweep; [`Self::take_swept`] has their values.
    pub fn with_share(mut self, share: Share) -> Self {
        self.sharing = Sharing::Part {
            share,
            swept: vec![],
        };
        self
    }

    /// Computes no cell: each sweep's values (`[cells, prompts]`, in the order the run sweeps)
    /// are `swept`, merged from the shares (`super::shares::merge`).
    pub fn with_swept(mut self, swept: Vec<Vec<f32>>) -> Self {
        self.sharing = Sharing::Given(swept.into());
        self
    }

    /// What a share's run computed, sweep by sweep.
    pub fn take_swept(&mut self) -> Vec<SweptShare> {
        match &mut self.sharing {
            Sharing::Part { swept, .. } => std::mem::take(swept),
            _ => vec![],
        }
    }

    /// Whether every sweep's given values were read: more values than sweeps means they were
    /// merged for another spec.
    pub fn check_swept_read(&self) -> Result<(), ExperimentError> {
        match self.sharing.unread() {
            0 => Ok(()),
            n => Err(ExperimentError::Parameter(format!(
                "{n} more sweep{} given than the run has: the values do not fit its cells",
                if n == 1 { " was" } else { "s were" }
            ))),
        }
    }

    pub(crate) fn sharing(&mut self) -> &mut Sharing {
        &mut self.sharing
    }

    /// Reports `done` of `total` with `per_prompt` values (`prompts` per cell).
    pub(crate) fn report(
        &mut self,
        done: usize,
        total: usize,
        per_prompt: &[f32],
        prompts: usize,
    ) -> Result<(), ExperimentError> {
        let Some(callback) = self.cells.as_mut() else {
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
            grid: self.filling.as_ref(),
        }) {
            Ok(())
        } else {
            Err(ExperimentError::Cancelled)
        }
    }

    /// Names the continuation whose tokens follow.
    pub(crate) fn start_generation(&mut self, name: GenerationName) {
        self.generation = name;
    }

    /// Names the grid the next reports fill: `axes` and `shape` of its mean over prompts.
    pub(crate) fn filling(&mut self, name: GridName, axes: &[&str], shape: &[usize]) {
        self.filling = Some(Filling {
            name,
            axes: axes.iter().map(|a| a.to_string()).collect(),
            shape: shape.to_vec(),
        });
    }

    /// Reports a new token; `false`: stop generating.
    pub(crate) fn token(&mut self, step: &Step) -> bool {
        let go_on = self.tokens.as_mut().is_none_or(|callback| {
            callback(&TokenUpdate {
                generation: self.generation,
                step,
            })
        });
        self.stopped |= !go_on;
        go_on
    }

    /// Whether a generation was stopped: later continuations are not started.
    pub fn stopped(&self) -> bool {
        self.stopped
    }
}
