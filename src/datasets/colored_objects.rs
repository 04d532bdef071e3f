//! Colored Objects (from BIG-bench, as Merullo et al. 2024 use it to compare circuits with
//! IOI's): a one-shot prompt about coloured things on a surface, then the question
//! "What color is the pencil?" → " Blue".
//!
//! The corruption asks about another object of the same scene, so the answer changes to that
//! object's colour and nothing else does: the clean answer is the queried object's colour,
//! the incorrect one the other object's. Colours and objects are kept to those that are one
//! token after a space (colours capitalised too, as the answer is), so every prompt has one
//! length.

use super::{Collector, Dataset, DatasetError, distinct, pick};
use crate::loading::Tokenizer;
use crate::rng::SplitMix64;
use serde::{Deserialize, Serialize};

pub const COLOURS: [&str; 12] = [
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white",
    "grey", "gold",
];

pub const OBJECTS: [&str; 16] = [
    "textbook", "puzzle", "cup", "pencil", "mug", "notebook", "ball", "hat", "pen", "phone", "key",
    "book", "plate", "bag", "lamp", "box",
];

pub const SURFACES: [&str; 5] = ["table", "floor", "desk", "bed", "shelf"];

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColoredObjects {
    pub n: usize,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "super::yes")]
    pub prepend_bos: bool,
}

fn article(colour: &str) -> &'static str {
    if colour.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `Q: On the table, I see a red cup, an orange pen, and a blue hat. What color is the pen?\nA:`
fn question(surface: &str, things: &[(&str, &str)], asked: &str) -> String {
    let listed: Vec<String> = things
        .iter()
        .map(|(colour, object)| format!("{} {colour} {object}", article(colour)))
        .collect();
    format!(
        "Q: On the {surface}, I see {}, {}, and {}. What color is the {asked}?\nA:",
        listed[0], listed[1], listed[2]
    )
}

impl ColoredObjects {
    pub fn generate(&self, tokenizer: &Tokenizer) -> Result<Dataset, DatasetError> {
        super::check_count(self.n)?;
        let single = |word: &str| super::single_token(tokenizer, word);
        let colours: Vec<&str> = COLOURS
            .into_iter()
            .filter(|c| single(c) && single(&capitalised(c)))
            .collect();
        let objects: Vec<&str> = OBJECTS.into_iter().filter(|o| single(o)).collect();
        if colours.len() < 4 || objects.len() < 6 {
            return Err(DatasetError::Tokenizer(
                "this tokenizer has too few of the dataset's colours and objects as single tokens"
                    .into(),
            ));
        }
        let mut rng = SplitMix64(self.seed);
        let mut prompts = Collector::new(tokenizer, self.n, self.prepend_bos);
        while prompts.wants_more()? {
            // One solved example, then the question.
            let shot_colours = distinct(&mut rng, &colours, 3);
            let shot_objects = distinct(&mut rng, &objects, 3);
            let shot: Vec<(&str, &str)> = shot_colours.into_iter().zip(shot_objects).collect();
            let answered = shot[(rng.next_u64() % 3) as usize];
            let example = format!(
                "{} {}\n",
                question(pick(&mut rng, &SURFACES), &shot, answered.1),
                capitalised(answered.0)
            );
            let scene: Vec<(&str, &str)> = distinct(&mut rng, &colours, 3)
                .into_iter()
                .zip(distinct(&mut rng, &objects, 3))
                .collect();
            let surface = pick(&mut rng, &SURFACES);
            let (asked, other) = (scene[0], scene[1 + (rng.next_u64() % 2) as usize]);
            prompts.offer(
                format!("{example}{}", question(surface, &scene, asked.1)),
                format!("{example}{}", question(surface, &scene, other.1)),
                format!(" {}", capitalised(asked.0)),
                format!(" {}", capitalised(other.0)),
            )?;
        }
        let length = prompts.length.unwrap_or(0);
        Ok(prompts.finish(format!(
            "{} Colored Objects prompts of {length} tokens (one solved example, then the \
             question; corrupted: the question asks about another object), seed {}",
            self.n, self.seed
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_list_three_things_with_their_articles() {
        assert_eq!(
            question(
                "desk",
                &[("orange", "pen"), ("red", "cup"), ("blue", "hat")],
                "cup"
            ),
            "Q: On the desk, I see an orange pen, a red cup, and a blue hat. What color is the cup?\nA:"
        );
        assert_eq!(capitalised("grey"), "Grey");
    }
}
