//! The indirect-object-identification dataset of Wang et al. (2022): "When Mary and John went
//! to the store, John gave a drink to" → " Mary", not " John".
//!
//! Templates, names, places and objects are the paper's (redwoodresearch/Easy-Transformer's
//! `ioi_dataset.py`): 15 templates written BABA (the subject first), ABBA with the first
//! clause's names swapped. The corruption is the paper's "ABC" one: the three name slots filled
//! with three other names, so the prompt keeps its shape and loses the information. A batch
//! runs at one length, so a dataset draws from the templates that tokenise to the most common
//! length; a prompt whose clean and corrupted tokenisations differ in length, or whose answer
//! is not one token, is skipped.

use super::{Collector, Dataset, DatasetError, distinct, pick};
use crate::loading::Tokenizer;
use crate::rng::SplitMix64;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[A]` is the indirect object (the answer), `[B]` the subject, named twice.
pub const TEMPLATES: [&str; 15] = [
    "Then, [B] and [A] went to the [PLACE]. [B] gave a [OBJECT] to",
    "Then, [B] and [A] had a lot of fun at the [PLACE]. [B] gave a [OBJECT] to",
    "Then, [B] and [A] were working at the [PLACE]. [B] decided to give a [OBJECT] to",
    "Then, [B] and [A] were thinking about going to the [PLACE]. [B] wanted to give a [OBJECT] to",
    "Then, [B] and [A] had a long argument, and afterwards [B] said to",
    "After [B] and [A] went to the [PLACE], [B] gave a [OBJECT] to",
    "When [B] and [A] got a [OBJECT] at the [PLACE], [B] decided to give it to",
    "When [B] and [A] got a [OBJECT] at the [PLACE], [B] decided to give the [OBJECT] to",
    "While [B] and [A] were working at the [PLACE], [B] gave a [OBJECT] to",
    "While [B] and [A] were commuting to the [PLACE], [B] gave a [OBJECT] to",
    "After the lunch, [B] and [A] went to the [PLACE]. [B] gave a [OBJECT] to",
    "Afterwards, [B] and [A] went to the [PLACE]. [B] gave a [OBJECT] to",
    "Then, [B] and [A] had a long argument. Afterwards [B] said to",
    "The [PLACE] [B] and [A] went to had a [OBJECT]. [B] gave it to",
    "Friends [B] and [A] found a [OBJECT] at the [PLACE]. [B] gave it to",
];

pub const PLACES: [&str; 8] = [
    "store",
    "garden",
    "restaurant",
    "school",
    "hospital",
    "office",
    "house",
    "station",
];

pub const OBJECTS: [&str; 8] = [
    "ring",
    "kiss",
    "bone",
    "basketball",
    "computer",
    "necklace",
    "drink",
    "snack",
];

pub const NAMES: [&str; 99] = [
    "Michael",
    "Christopher",
    "Jessica",
    "Matthew",
    "Ashley",
    "Jennifer",
    "Joshua",
    "Amanda",
    "Daniel",
    "David",
    "James",
    "Robert",
    "John",
    "Joseph",
    "Andrew",
    "Ryan",
    "Brandon",
    "Jason",
    "Justin",
    "Sarah",
    "William",
    "Jonathan",
    "Stephanie",
    "Brian",
    "Nicole",
    "Nicholas",
    "Anthony",
    "Heather",
    "Eric",
    "Elizabeth",
    "Adam",
    "Megan",
    "Melissa",
    "Kevin",
    "Steven",
    "Thomas",
    "Timothy",
    "Christina",
    "Kyle",
    "Rachel",
    "Laura",
    "Lauren",
    "Amber",
    "Brittany",
    "Danielle",
    "Richard",
    "Kimberly",
    "Jeffrey",
    "Amy",
    "Crystal",
    "Michelle",
    "Tiffany",
    "Jeremy",
    "Benjamin",
    "Mark",
    "Emily",
    "Aaron",
    "Charles",
    "Rebecca",
    "Jacob",
    "Stephen",
    "Patrick",
    "Sean",
    "Erin",
    "Jamie",
    "Kelly",
    "Samantha",
    "Nathan",
    "Sara",
    "Dustin",
    "Paul",
    "Angela",
    "Tyler",
    "Scott",
    "Katherine",
    "Andrea",
    "Gregory",
    "Erica",
    "Mary",
    "Travis",
    "Lisa",
    "Kenneth",
    "Bryan",
    "Lindsey",
    "Kristen",
    "Jose",
    "Alexander",
    "Jesse",
    "Katie",
    "Lindsay",
    "Shannon",
    "Vanessa",
    "Courtney",
    "Christine",
    "Alicia",
    "Cody",
    "Allison",
    "Bradley",
    "Samuel",
];

/// The order of the names in the first clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// "When Mary and John ..., John gave": the indirect object first.
    Abba,
    /// "When John and Mary ..., John gave": the subject first.
    Baba,
    /// Half of each, alternating.
    Both,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ioi {
    /// How many prompts.
    pub n: usize,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "both")]
    pub order: Order,
    /// Start each prompt with `<|endoftext|>` (TransformerLens's default; the paper has none).
    #[serde(default = "super::yes")]
    pub prepend_bos: bool,
}

fn both() -> Order {
    Order::Both
}

fn fill(template: &str, a: &str, b: &str, s2: &str, place: &str, object: &str) -> String {
    // The subject's second mention is the `[B]` after the first clause.
    let first_b = template.find("[B]").expect("every template names [B]");
    let (head, tail) = template.split_at(first_b + 3);
    let head = head.replacen("[B]", b, 1);
    let tail = tail.replacen("[B]", s2, 1);
    format!("{head}{tail}")
        .replace("[A]", a)
        .replace("[PLACE]", place)
        .replace("[OBJECT]", object)
}

/// Swaps the first clause's `[B] and [A]` into `[A] and [B]`.
fn abba(template: &str) -> String {
    template.replacen("[B] and [A]", "[A] and [B]", 1)
}

impl Ioi {
    /// `n` prompts, tokenised with `tokenizer` to check that they align.
    pub fn generate(&self, tokenizer: &Tokenizer) -> Result<Dataset, DatasetError> {
        super::check_count(self.n)?;
        let names: Vec<&str> = NAMES
            .into_iter()
            .filter(|n| super::single_token(tokenizer, n))
            .collect();
        if names.len() < 5 {
            return Err(DatasetError::Tokenizer(
                "this tokenizer has fewer than five of the dataset's names as single tokens".into(),
            ));
        }
        let length = |text: &str| {
            tokenizer
                .encode_prompt(text, self.prepend_bos)
                .map(|ids| ids.len())
                .map_err(|e| DatasetError::Tokenizer(e.to_string()))
        };
        // Templates by the length they tokenise to (names are single tokens; places and
        // objects are filled with the first of each, most are single tokens too).
        let mut by_length: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        for template in TEMPLATES {
            let text = fill(
                template, names[0], names[1], names[1], PLACES[0], OBJECTS[0],
            );
            by_length.entry(length(&text)?).or_default().push(template);
        }
        let (&n_tokens, templates) = by_length
            .iter()
            .max_by_key(|(len, t)| (t.len(), std::cmp::Reverse(**len)))
            .expect("there are templates");
        let mut rng = SplitMix64(self.seed);
        let mut prompts = Collector::new(tokenizer, self.n, self.prepend_bos).of_length(n_tokens);
        while prompts.wants_more()? {
            let template = pick(&mut rng, templates);
            let abba_order = match self.order {
                Order::Abba => true,
                Order::Baba => false,
                Order::Both => prompts.kept().is_multiple_of(2),
            };
            let template = if abba_order {
                abba(template)
            } else {
                template.to_string()
            };
            let (place, object) = (pick(&mut rng, &PLACES), pick(&mut rng, &OBJECTS));
            let people = distinct(&mut rng, &names, 5);
            let (io, s) = (people[0], people[1]);
            prompts.offer(
                fill(&template, io, s, s, place, object),
                fill(&template, people[2], people[3], people[4], place, object),
                format!(" {io}"),
                format!(" {s}"),
            )?;
        }
        Ok(prompts.finish(format!(
            "{} IOI prompts of {n_tokens} tokens from {} of the {} templates (the others \
             tokenise to other lengths), seed {}",
            self.n,
            templates.len(),
            TEMPLATES.len(),
            self.seed
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_the_subject_twice_and_abba_swaps_the_first_clause() {
        let t = TEMPLATES[5];
        assert_eq!(
            fill(t, "Mary", "John", "John", "store", "drink"),
            "After John and Mary went to the store, John gave a drink to"
        );
        assert_eq!(
            fill(&abba(t), "Mary", "John", "John", "store", "drink"),
            "After Mary and John went to the store, John gave a drink to"
        );
        // The ABC corruption: three other names in the three slots.
        assert_eq!(
            fill(t, "Amy", "Paul", "Sara", "store", "drink"),
            "After Paul and Amy went to the store, Sara gave a drink to"
        );
    }
}
