//! Prompt sets to run experiments on, written into a spec as explicit prompts (so that a spec
//! stays self-contained): generated ([`ioi`]) or read from the user's table ([`pairs`]).
//! Both check with the model's tokenizer that clean and corrupted prompts align and that
//! answers are single tokens, and say which prompt or row is wrong.

pub mod ioi;
pub mod pairs;

use crate::spec::Prompts;
use serde::{Deserialize, Serialize};

/// A prompt set and what the user should know of how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub prompts: Prompts,
    pub note: String,
}

impl Default for Dataset {
    fn default() -> Self {
        Self {
            prompts: Prompts {
                clean: vec![],
                corrupted: vec![],
                answers: vec![],
                prepend_bos: true,
            },
            note: String::new(),
        }
    }
}

/// A row of the user's table that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based, as an editor shows it (the header is row 1 of a CSV file).
    pub row: usize,
    pub message: String,
}

/// Why no dataset was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatasetError {
    #[error("{0}")]
    Parameter(String),
    #[error("{0}")]
    Tokenizer(String),
    /// The table's header or format is wrong.
    #[error("{0}")]
    Format(String),
    /// Rows that cannot be used (all of them are listed, up to a hundred).
    #[error("{}", rows_message(.0))]
    Rows(Vec<RowError>),
}

fn rows_message(rows: &[RowError]) -> String {
    let shown: Vec<String> = rows
        .iter()
        .take(10)
        .map(|r| format!("row {}: {}", r.row, r.message))
        .collect();
    let more = rows.len().saturating_sub(10);
    let tail = if more > 0 {
        format!("\n… and {more} more rows")
    } else {
        String::new()
    };
    format!(
        "{} row{} cannot be used:\n{}{tail}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        shown.join("\n")
    )
}
