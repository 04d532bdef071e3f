//! Prompt sets to run experiments on, written into a spec as explicit prompts (so that a spec
//! stays self-contained): generated ([`ioi`]) or read from the user's table ([`pairs`]).
//! Both check with the model's tokenizer that clean and corrupted prompts align and that
//! answers are single tokens, and say which prompt or row is wrong.

pub mod colored_objects;
pub mod ioi;
pub mod mcq;
pub mod pairs;
pub mod rhythm;

use crate::loading::Tokenizer;
use crate::rng::SplitMix64;
use crate::spec::{PromptInput, Prompts, TokenInput};
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

/// The most prompts a generated dataset may have.
pub const MAX_PROMPTS: usize = 4096;

fn check_count(n: usize) -> Result<(), DatasetError> {
    if n == 0 || n > MAX_PROMPTS {
        return Err(DatasetError::Parameter(format!(
            "n must be between 1 and {MAX_PROMPTS}, not {n}"
        )));
    }
    Ok(())
}

fn yes() -> bool {
    true
}

/// Whether ` word` is one token (an answer must be).
fn single_token(tokenizer: &Tokenizer, word: &str) -> bool {
    tokenizer
        .encode(&format!(" {word}"))
        .is_ok_and(|ids| ids.len() == 1)
}

/// Gathers a generator's prompt pairs, all of one token length, until it has enough.
struct Collector<'a> {
    tokenizer: &'a Tokenizer,
    prepend_bos: bool,
    wanted: usize,
    /// The batch's length: given, or the first kept pair's.
    length: Option<usize>,
    dataset: Dataset,
    tried: usize,
    skipped: usize,
}

impl<'a> Collector<'a> {
    fn new(tokenizer: &'a Tokenizer, wanted: usize, prepend_bos: bool) -> Self {
        let mut dataset = Dataset::default();
        dataset.prompts.prepend_bos = prepend_bos;
        Self {
            tokenizer,
            prepend_bos,
            wanted,
            length: None,
            dataset,
            tried: 0,
            skipped: 0,
        }
    }

    /// Only pairs of this many tokens are kept.
    fn of_length(mut self, length: usize) -> Self {
        self.length = Some(length);
        self
    }

    fn kept(&self) -> usize {
        self.dataset.prompts.clean.len()
    }

    /// Whether more pairs are wanted; an error once too many were tried for them.
    fn wants_more(&mut self) -> Result<bool, DatasetError> {
        if self.kept() >= self.wanted {
            return Ok(false);
        }
        self.tried += 1;
        if self.tried > self.wanted * 20 + 1000 {
            return Err(DatasetError::Tokenizer(format!(
                "only {} of {} prompts tokenise alike after {} tries",
                self.kept(),
                self.wanted,
                self.tried
            )));
        }
        Ok(true)
    }

    /// Keeps the pair when clean and corrupted prompts tokenise to the batch's length.
    fn offer(
        &mut self,
        clean: String,
        corrupted: String,
        correct: String,
        incorrect: String,
    ) -> Result<(), DatasetError> {
        let length = |text: &str| {
            self.tokenizer
                .encode_prompt(text, self.prepend_bos)
                .map(|ids| ids.len())
                .map_err(|e| DatasetError::Tokenizer(e.to_string()))
        };
        let n = length(&clean)?;
        if length(&corrupted)? != n || *self.length.get_or_insert(n) != n {
            self.skipped += 1;
            return Ok(());
        }
        let prompts = &mut self.dataset.prompts;
        prompts.clean.push(PromptInput::Text(clean));
        prompts.corrupted.push(PromptInput::Text(corrupted));
        prompts
            .answers
            .push([TokenInput::Text(correct), TokenInput::Text(incorrect)]);
        Ok(())
    }

    /// The dataset, with `note` and what was skipped.
    fn finish(self, note: String) -> Dataset {
        let skipped = match self.skipped {
            0 => String::new(),
            n => format!("; {n} candidates skipped (another length)"),
        };
        Dataset {
            note: format!("{note}{skipped}"),
            ..self.dataset
        }
    }
}

fn pick<'a>(rng: &mut SplitMix64, from: &[&'a str]) -> &'a str {
    from[(rng.next_u64() % from.len() as u64) as usize]
}

/// `count` different items of `from` (which has at least that many).
fn distinct<'a>(rng: &mut SplitMix64, from: &[&'a str], count: usize) -> Vec<&'a str> {
    let mut chosen: Vec<&str> = Vec::with_capacity(count);
    while chosen.len() < count {
        let item = pick(rng, from);
        if !chosen.contains(&item) {
            chosen.push(item);
        }
    }
    chosen
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
    /// Rows that cannot be used: the first hundred, and how many there are.
    #[error("{}", rows_message(listed, *total))]
    Rows { listed: Vec<RowError>, total: usize },
}

impl DatasetError {
    /// The rows that cannot be used, the first hundred kept.
    fn rows(mut errors: Vec<RowError>) -> Self {
        let total = errors.len();
        errors.truncate(100);
        Self::Rows {
            listed: errors,
            total,
        }
    }
}

fn rows_message(rows: &[RowError], total: usize) -> String {
    let shown: Vec<String> = rows
        .iter()
        .take(10)
        .map(|r| format!("row {}: {}", r.row, r.message))
        .collect();
    let more = total.saturating_sub(shown.len());
    let tail = if more > 0 {
        format!("\n… and {more} more rows")
    } else {
        String::new()
    };
    format!(
        "{total} row{} cannot be used:\n{}{tail}",
        if total == 1 { "" } else { "s" },
        shown.join("\n")
    )
}

/// Where a dataset comes from, as the page asks the model's worker for one (the worker holds
/// the tokenizer that checks it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetSource {
    Ioi(ioi::Ioi),
    ColoredObjects(colored_objects::ColoredObjects),
    Mcq(mcq::Mcq),
    /// A CSV or JSON Lines table's text.
    Pairs {
        text: String,
        prepend_bos: bool,
    },
    /// Sentences for frequency tagging.
    Rhythm(rhythm::Rhythm),
}

impl DatasetSource {
    pub fn make(&self, tokenizer: &crate::loading::Tokenizer) -> Result<Made, DatasetError> {
        let prompts = match self {
            Self::Ioi(config) => config.generate(tokenizer),
            Self::ColoredObjects(config) => config.generate(tokenizer),
            Self::Mcq(config) => config.generate(tokenizer),
            Self::Pairs { text, prepend_bos } => pairs::parse(text, tokenizer, *prepend_bos),
            Self::Rhythm(config) => return config.generate(tokenizer).map(Made::Stream),
        };
        prompts.map(Made::Prompts)
    }
}

/// What a source makes: prompt pairs for the spec's `prompts`, or a stream of sentences for a
/// frequency-tagging experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Made {
    Prompts(Dataset),
    Stream(rhythm::Stream),
}

impl Made {
    /// How it was made.
    pub fn note(&self) -> &str {
        match self {
            Self::Prompts(dataset) => &dataset.note,
            Self::Stream(stream) => &stream.note,
        }
    }

    /// `spec_json` with this in its place, and what the user should know of where it went.
    pub fn put_into(&self, spec_json: &str) -> Result<(String, &'static str), String> {
        match self {
            Self::Prompts(dataset) => {
                put_into(spec_json, &dataset.prompts).map(|s| (s, "written into the spec's prompts"))
            }
            Self::Stream(stream) => stream.put_into(spec_json).map(|(s, replaced)| {
                (
                    s,
                    if replaced {
                        "written into the spec as a frequency-tagging experiment (the spec's own experiment replaced)"
                    } else {
                        "written into the spec's frequency-tagging sentences"
                    },
                )
            }),
        }
    }

    /// As the CLI prints it without a spec: the prompts, or the sentences with their rhythm.
    pub fn to_json(&self) -> String {
        match self {
            Self::Prompts(dataset) => serde_json::to_string_pretty(&dataset.prompts),
            Self::Stream(stream) => serde_json::to_string_pretty(&stream.params()),
        }
        .expect("datasets serialise")
    }
}

/// `spec_json` with its `prompts` replaced by `prompts`, pretty-printed; the rest of the spec
/// is kept as written (it is checked when it runs).
pub fn put_into(spec_json: &str, prompts: &Prompts) -> Result<String, String> {
    let mut spec: serde_json::Value = serde_json::from_str(spec_json)
        .map_err(|e| format!("the spec is not JSON ({e}): fix it first"))?;
    let object = spec
        .as_object_mut()
        .ok_or("the spec is not a JSON object: fix it first")?;
    object.insert(
        "prompts".into(),
        serde_json::to_value(prompts).expect("prompts serialise"),
    );
    Ok(serde_json::to_string_pretty(&spec).expect("a value serialises"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{PromptInput, TokenInput};

    #[test]
    fn prompts_replace_a_specs_own_and_keep_the_rest() {
        let prompts = Prompts {
            clean: vec![PromptInput::Text("a".into())],
            corrupted: vec![PromptInput::Text("b".into())],
            answers: vec![[TokenInput::Text(" x".into()), TokenInput::Text(" y".into())]],
            prepend_bos: false,
        };
        let spec = r#"{"version": 1, "title": "t", "prompts": {"clean": ["old"]}, "experiment": "logit_lens"}"#;
        let written: serde_json::Value =
            serde_json::from_str(&put_into(spec, &prompts).unwrap()).unwrap();
        assert_eq!(written["title"], "t");
        assert_eq!(written["prompts"]["clean"][0], "a");
        assert_eq!(written["prompts"]["prepend_bos"], false);
        assert!(put_into("[1]", &prompts).is_err());
        assert!(put_into("{", &prompts).is_err());
    }
}
