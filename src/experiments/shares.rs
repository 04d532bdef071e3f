//! A run's sweeps shared among workers, each with its own copy of the model (the browser's
//! worker pool: wasm has no threads there). Every worker runs the spec with a [`Share`]: the
//! base runs in full, and of each sweep only its own cells; the page merges the shares'
//! values ([`merge`]) and one worker runs the spec once more with them given, which computes
//! no cell and writes the result exactly as a run on one worker would.
//!
//! Cells are dealt out in turn (cell `i` to share `i % of`), not in blocks: a cell's run starts
//! at its layer, so the first layers' cells cost the most, and every share gets some of each.

use super::ExperimentError;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The most workers a sweep is shared among.
pub const MAX_WORKERS: usize = 16;

/// Share `index` of `of` (`index < of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub index: usize,
    pub of: usize,
}

impl Share {
    pub fn new(index: usize, of: usize) -> Result<Self, ExperimentError> {
        if of == 0 || of > MAX_WORKERS || index >= of {
            return Err(ExperimentError::Parameter(format!(
                "share {index} of {of}: a sweep is shared among 1 to {MAX_WORKERS} workers, numbered from 0"
            )));
        }
        Ok(Self { index, of })
    }

    /// The indices of the cells of `cells` this share computes, in order.
    pub fn cells(self, cells: usize) -> impl Iterator<Item = usize> + Clone {
        (self.index..cells).step_by(self.of)
    }
}

/// One sweep's values computed by one share: `values` holds its cells' metrics, `[cells of the
/// share, prompts]` row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweptShare {
    /// The sweep's cells in all shares.
    pub cells: usize,
    pub prompts: usize,
    pub values: Vec<f32>,
}

/// How a run's sweeps get their values.
#[derive(Debug, Default)]
pub(crate) enum Sharing {
    /// Every cell computed here.
    #[default]
    Whole,
    /// This share's cells computed, the sweeps' values kept in `swept`; the others read as 0
    /// (the run's own result is not used).
    Part {
        share: Share,
        swept: Vec<SweptShare>,
    },
    /// Every sweep's values given, `[cells, prompts]` each, in the order the run sweeps.
    Given(VecDeque<Vec<f32>>),
}

/// The shares' values merged into each sweep's `[cells, prompts]`. `shares[k]` is share `k`'s
/// sweeps (of `shares.len()`), in the order the run swept them.
pub fn merge(shares: &[Vec<SweptShare>]) -> Result<Vec<Vec<f32>>, ExperimentError> {
    let of = shares.len();
    let mismatch = |what: &str| {
        ExperimentError::Parameter(format!(
            "the workers' shares of the sweep do not fit together ({what})"
        ))
    };
    let Some(first) = shares.first() else {
        return Err(mismatch("no share"));
    };
    if shares.iter().any(|s| s.len() != first.len()) {
        return Err(mismatch("a different number of sweeps"));
    }
    (0..first.len())
        .map(|sweep| {
            let SweptShare { cells, prompts, .. } = shares[0][sweep];
            let mut merged = vec![0.0; cells * prompts];
            for (index, share) in shares.iter().enumerate() {
                let part = &share[sweep];
                let mine = Share { index, of }.cells(cells);
                if part.cells != cells
                    || part.prompts != prompts
                    || part.values.len() != mine.clone().count() * prompts
                {
                    return Err(mismatch("different cells"));
                }
                for (cell, row) in mine.zip(part.values.chunks(prompts.max(1))) {
                    merged[cell * prompts..(cell + 1) * prompts].copy_from_slice(row);
                }
            }
            Ok(merged)
        })
        .collect()
}

/// Per-cell values of a sweep from its shares' progress so far: `parts[k]` is share `k`'s
/// first cells (of `of`); cells not yet computed are `NaN`.
pub fn merge_partial(parts: &[Vec<f32>], cells: usize) -> Vec<f32> {
    let of = parts.len();
    let mut merged = vec![f32::NAN; cells];
    for (index, part) in parts.iter().enumerate() {
        for (cell, value) in (Share { index, of }).cells(cells).zip(part) {
            merged[cell] = *value;
        }
    }
    merged
}

impl Sharing {
    /// The values of a sweep of `cells` cells given to this run, if they are.
    pub(crate) fn given(
        &mut self,
        cells: usize,
        prompts: usize,
    ) -> Result<Option<Vec<f32>>, ExperimentError> {
        let Sharing::Given(sweeps) = self else {
            return Ok(None);
        };
        match sweeps.pop_front() {
            Some(values) if values.len() == cells * prompts => Ok(Some(values)),
            _ => Err(ExperimentError::Parameter(
                "the values given for the sweep do not fit its cells".into(),
            )),
        }
    }

    /// How many of the given sweeps' values the run did not read (0 unless given).
    pub(crate) fn unread(&self) -> usize {
        match self {
            Sharing::Given(sweeps) => sweeps.len(),
            _ => 0,
        }
    }

    /// The indices of the cells this run computes, of `cells`.
    pub(crate) fn mine(&self, cells: usize) -> Vec<usize> {
        match self {
            Sharing::Part { share, .. } => share.cells(cells).collect(),
            _ => (0..cells).collect(),
        }
    }

    /// The sweep's values for the run to go on with, from the cells it computed (`computed`,
    /// `[mine, prompts]`); a share keeps them and goes on with zeros.
    pub(crate) fn finish(&mut self, cells: usize, prompts: usize, computed: Vec<f32>) -> Vec<f32> {
        match self {
            Sharing::Part { swept, .. } => {
                swept.push(SweptShare {
                    cells,
                    prompts,
                    values: computed,
                });
                vec![0.0; cells * prompts]
            }
            _ => computed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share_of(index: usize, of: usize, full: &[f32], cells: usize, prompts: usize) -> SweptShare {
        let values = Share { index, of }
            .cells(cells)
            .flat_map(|c| full[c * prompts..(c + 1) * prompts].to_vec())
            .collect();
        SweptShare {
            cells,
            prompts,
            values,
        }
    }

    #[test]
    fn shares_merge_into_the_whole_sweep() {
        let (cells, prompts) = (7, 3);
        let full: Vec<f32> = (0..cells * prompts).map(|v| v as f32).collect();
        for of in 1..=4 {
            let shares: Vec<Vec<SweptShare>> = (0..of)
                .map(|k| vec![share_of(k, of, &full, cells, prompts)])
                .collect();
            assert_eq!(merge(&shares).unwrap(), vec![full.clone()], "{of} shares");
        }
    }

    #[test]
    fn every_cell_is_in_exactly_one_share() {
        for of in 1..=5 {
            let mut seen: Vec<usize> = (0..of)
                .flat_map(|k| Share::new(k, of).unwrap().cells(11))
                .collect();
            seen.sort();
            assert_eq!(seen, (0..11).collect::<Vec<_>>());
        }
    }

    #[test]
    fn shares_that_do_not_fit_are_refused() {
        let full = vec![1.0; 8];
        let good = share_of(0, 2, &full, 4, 2);
        let mut short = share_of(1, 2, &full, 4, 2);
        short.values.pop();
        assert!(merge(&[vec![good.clone()], vec![short]]).is_err());
        assert!(merge(&[vec![good.clone()], vec![]]).is_err());
        assert!(merge(&[]).is_err());
        assert!(Share::new(2, 2).is_err());
        assert!(Share::new(0, 0).is_err());
        assert!(Share::new(0, MAX_WORKERS + 1).is_err());
    }

    #[test]
    fn partial_progress_fills_each_shares_cells() {
        let merged = merge_partial(&[vec![0.0, 2.0], vec![1.0]], 5);
        assert_eq!(merged[..3], [0.0, 1.0, 2.0]);
        assert!(merged[3].is_nan() && merged[4].is_nan());
    }

    #[test]
    fn given_values_must_fit_the_sweep() {
        let mut given = Sharing::Given(VecDeque::from([vec![1.0; 6]]));
        assert!(given.given(3, 3).is_err());
        let mut given = Sharing::Given(VecDeque::from([vec![1.0; 6]]));
        assert_eq!(given.given(3, 2).unwrap(), Some(vec![1.0; 6]));
        assert!(given.given(3, 2).is_err(), "no second sweep was given");
        assert_eq!(Sharing::Whole.given(3, 2).unwrap(), None);
    }
}
