//! Anchored multiple choice: "Question: What is the capital of France?\nA. Rome\nB. Paris\n
//! C. Madrid\nD. Berlin\nAnswer:" → " B". GPT-2 favours the letter "A" whatever the answer
//! (the anchored-bias study of the seed digest); this set measures that and what carries it.
//!
//! The clean prompt puts the right answer under one letter, the corrupted prompt the same
//! options with the right answer swapped to another letter; the answers are the two letters
//! (correct: where the clean prompt has it). With `anchor`, every corrupted prompt has the
//! right answer under "A".

use super::{Collector, Dataset, DatasetError, distinct};
use crate::loading::Tokenizer;
use crate::rng::SplitMix64;
use serde::{Deserialize, Serialize};

/// `(country, capital)`.
pub const CAPITALS: [(&str, &str); 16] = [
    ("France", "Paris"),
    ("Italy", "Rome"),
    ("Spain", "Madrid"),
    ("Germany", "Berlin"),
    ("Japan", "Tokyo"),
    ("Russia", "Moscow"),
    ("Egypt", "Cairo"),
    ("England", "London"),
    ("Greece", "Athens"),
    ("Ireland", "Dublin"),
    ("Austria", "Vienna"),
    ("Portugal", "Lisbon"),
    ("Poland", "Warsaw"),
    ("Norway", "Oslo"),
    ("Kenya", "Nairobi"),
    ("Peru", "Lima"),
];

pub const LETTERS: [&str; 4] = ["A", "B", "C", "D"];

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mcq {
    pub n: usize,
    #[serde(default)]
    pub seed: u64,
    /// The corrupted prompts put the right answer under "A".
    #[serde(default)]
    pub anchor: bool,
    #[serde(default = "super::yes")]
    pub prepend_bos: bool,
}

fn prompt(country: &str, options: &[&str]) -> String {
    let lines: Vec<String> = options
        .iter()
        .zip(LETTERS)
        .map(|(option, letter)| format!("{letter}. {option}"))
        .collect();
    format!(
        "Question: What is the capital of {country}?\n{}\nAnswer:",
        lines.join("\n")
    )
}

impl Mcq {
    pub fn generate(&self, tokenizer: &Tokenizer) -> Result<Dataset, DatasetError> {
        super::check_count(self.n)?;
        let capitals: Vec<(&str, &str)> = CAPITALS
            .into_iter()
            .filter(|(_, city)| super::single_token(tokenizer, city))
            .collect();
        if capitals.len() < 4 {
            return Err(DatasetError::Tokenizer(
                "this tokenizer has fewer than four of the dataset's capitals as single tokens"
                    .into(),
            ));
        }
        let cities: Vec<&str> = capitals.iter().map(|(_, c)| *c).collect();
        let mut rng = SplitMix64(self.seed);
        let mut prompts = Collector::new(tokenizer, self.n, self.prepend_bos);
        while prompts.wants_more()? {
            let (country, capital) = capitals[(rng.next_u64() % capitals.len() as u64) as usize];
            let others: Vec<&str> = cities.iter().copied().filter(|c| *c != capital).collect();
            let mut options = distinct(&mut rng, &others, 3);
            // The right answer under each letter in turn; in the corrupted prompt, under
            // another one (A with `anchor`, unless the clean prompt has it there).
            let at = prompts.kept() % 4;
            options.insert(at, capital);
            let moved = match self.anchor {
                true if at != 0 => 0,
                _ => (at + 1 + (rng.next_u64() % 3) as usize) % 4,
            };
            let mut swapped = options.clone();
            swapped.swap(at, moved);
            prompts.offer(
                prompt(country, &options),
                prompt(country, &swapped),
                format!(" {}", LETTERS[at]),
                format!(" {}", LETTERS[moved]),
            )?;
        }
        let length = prompts.length.unwrap_or(0);
        Ok(prompts.finish(format!(
            "{} multiple-choice prompts of {length} tokens (capitals; the right answer under \
             each letter in turn, corrupted: moved to {}), seed {}",
            self.n,
            if self.anchor { "A" } else { "another letter" },
            self.seed
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_lettered_in_order() {
        assert_eq!(
            prompt("Peru", &["Lima", "Oslo", "Rome", "Cairo"]),
            "Question: What is the capital of Peru?\nA. Lima\nB. Oslo\nC. Rome\nD. Cairo\nAnswer:"
        );
    }
}
