//! How a run reads to people: each grid's title and the run's answer in a few sentences.

mod summary;
mod titles;

pub use summary::{Finding, summarise};
pub use titles::{patch_site, title};
