//! Progress reporting and cancellation, for sweeps (cells done, partial grid) and generation
//! (each new token).

use super::ExperimentError;
use super::generation::Step;

/// How far a sweep has come, with the per-cell results so far (mean over prompts).
pub struct ProgressUpdate<'a> {
    pub done: usize,
    pub total: usize,
    pub values: &'a [f32],
}

type CellsCallback<'a> = Box<dyn FnMut(&ProgressUpdate<'_>) -> bool + 'a>;
type TokenCallback<'a> = Box<dyn FnMut(&Step) -> bool + 'a>;

/// Where an experiment reports. A sweep's callback returns `false` to cancel (the experiment
/// fails with [`ExperimentError::Cancelled`]); a generation's returns `false` to stop (the
/// tokens so far are the result).
#[derive(Default)]
pub struct Progress<'a> {
    cells: Option<CellsCallback<'a>>,
    tokens: Option<TokenCallback<'a>>,
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
            tokens: None,
        }
    }

    /// Calls `callback` with every generated token; it returns `false` to stop.
    pub fn tokens(callback: impl FnMut(&Step) -> bool + 'a) -> Self {
        Self {
            cells: None,
            tokens: Some(Box::new(callback)),
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
        }) {
            Ok(())
        } else {
            Err(ExperimentError::Cancelled)
        }
    }

    /// Reports a new token; `false`: stop generating.
    pub(crate) fn token(&mut self, step: &Step) -> bool {
        self.tokens.as_mut().is_none_or(|callback| callback(step))
    }
}
