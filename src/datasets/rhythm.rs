//! Sentences of a fixed rhythm for frequency tagging (HFTP; Ding et al. 2016's four-word
//! sentences): `[adjective noun] [verb noun]`, every word one token, so that a stream of them
//! has a word every token, a phrase every two and a sentence every four. Words are drawn from
//! lists by part of speech, each kept only where the model's tokenizer reads it as one token.

use super::DatasetError;
use crate::experiments::ExperimentKind;
use crate::experiments::ParamError;
use crate::experiments::frequency;
use crate::loading::Tokenizer;
use crate::rng::SplitMix64;
use serde::{Deserialize, Serialize};

pub const ADJECTIVES: [&str; 24] = [
    "big", "old", "red", "new", "hot", "cold", "small", "good", "bad", "young", "long", "happy",
    "sad", "dark", "little", "great", "nice", "poor", "rich", "strong", "black", "white", "tall",
    "wild",
];

/// Plural, so that the present-tense verb agrees with every subject.
pub const NOUNS: [&str; 24] = [
    "dogs", "cats", "kids", "men", "birds", "cars", "girls", "boys", "women", "people", "friends",
    "students", "workers", "doctors", "teachers", "players", "horses", "trees", "books", "songs",
    "ships", "games", "parents", "children",
];

pub const VERBS: [&str; 24] = [
    "see", "like", "eat", "find", "hold", "take", "want", "make", "love", "hate", "help", "need",
    "know", "watch", "call", "meet", "keep", "feed", "play", "read", "buy", "sell", "build",
    "follow",
];

/// The sentence pattern: two phrases of two words.
const PATTERN: [Part; 4] = [Part::Adjective, Part::Noun, Part::Verb, Part::Noun];
pub const WORDS_PER_SENTENCE: usize = PATTERN.len();
pub const WORDS_PER_PHRASE: usize = 2;
/// Every GPT-2's context: the longest stream.
const GPT2_CONTEXT: usize = 1024;

#[derive(Debug, Clone, Copy)]
enum Part {
    Adjective,
    Noun,
    Verb,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rhythm {
    /// Sentences in the stream.
    pub n: usize,
    #[serde(default)]
    pub seed: u64,
}

/// Sentences for a `frequency_tagging` spec and how they were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stream {
    pub sentences: Vec<String>,
    pub words_per_sentence: usize,
    pub words_per_phrase: usize,
    pub note: String,
}

impl Rhythm {
    pub fn generate(&self, tokenizer: &Tokenizer) -> Result<Stream, DatasetError> {
        super::check_count(self.n)?;
        if self.n * WORDS_PER_SENTENCE > GPT2_CONTEXT {
            return Err(DatasetError::Parameter(format!(
                "n: {} sentences are {} tokens; GPT-2 reads at most {GPT2_CONTEXT} ({} sentences)",
                self.n,
                self.n * WORDS_PER_SENTENCE,
                GPT2_CONTEXT / WORDS_PER_SENTENCE
            )));
        }
        let one_token = |list: &[&'static str]| -> Vec<&'static str> {
            list.iter()
                .copied()
                .filter(|w| super::single_token(tokenizer, w))
                .collect()
        };
        let lists = [
            ("adjectives", one_token(&ADJECTIVES)),
            ("nouns", one_token(&NOUNS)),
            ("verbs", one_token(&VERBS)),
        ];
        if let Some((part, _)) = lists.iter().find(|(_, words)| words.len() < 2) {
            return Err(DatasetError::Tokenizer(format!(
                "fewer than two of the {part} are one token for this tokenizer: no rhythm to vary"
            )));
        }
        let mut rng = SplitMix64(self.seed);
        let sentences: Vec<String> = (0..self.n)
            .map(|_| {
                PATTERN
                    .iter()
                    .map(|part| {
                        let words = match part {
                            Part::Adjective => &lists[0].1,
                            Part::Noun => &lists[1].1,
                            Part::Verb => &lists[2].1,
                        };
                        format!(" {}", super::pick(&mut rng, words))
                    })
                    .collect()
            })
            .collect();
        let stream = Stream {
            note: format!(
                "{} sentences [adjective noun] [verb noun] ({} tokens), words drawn from {} adjectives, {} nouns and {} verbs that are one token",
                self.n,
                self.n * WORDS_PER_SENTENCE,
                lists[0].1.len(),
                lists[1].1.len(),
                lists[2].1.len()
            ),
            sentences,
            words_per_sentence: WORDS_PER_SENTENCE,
            words_per_phrase: WORDS_PER_PHRASE,
        };
        stream
            .params()
            .check()
            .map_err(|ParamError { message, .. }| {
                DatasetError::Parameter(format!("n: {message}"))
            })?;
        Ok(stream)
    }
}

impl Stream {
    /// The stream as frequency tagging's parameters (threshold and control as by default).
    pub fn params(&self) -> frequency::Params {
        serde_json::from_value(serde_json::json!({
            "sentences": self.sentences,
            "words_per_sentence": self.words_per_sentence,
            "words_per_phrase": self.words_per_phrase,
        }))
        .expect("a stream's fields are frequency tagging's")
    }

    /// `spec_json` with these sentences and their rhythm in its `frequency_tagging` experiment
    /// (its other fields kept), or, when the spec is of another kind, with a frequency tagging
    /// experiment instead of its own (said by `Ok((_, true))`).
    pub fn put_into(&self, spec_json: &str) -> Result<(String, bool), String> {
        let mut spec: serde_json::Value = serde_json::from_str(spec_json)
            .map_err(|e| format!("the spec is not JSON ({e}): fix it first"))?;
        let object = spec
            .as_object_mut()
            .ok_or("the spec is not a JSON object: fix it first")?;
        let fields = [
            ("sentences", serde_json::json!(self.sentences)),
            ("words_per_sentence", self.words_per_sentence.into()),
            ("words_per_phrase", self.words_per_phrase.into()),
        ];
        let existing = object
            .get_mut("experiment")
            .and_then(|e| e.get_mut("frequency_tagging"))
            .and_then(serde_json::Value::as_object_mut);
        let replaced = existing.is_none();
        match existing {
            Some(params) => params.extend(fields.map(|(k, v)| (k.to_string(), v))),
            None => {
                object.insert(
                    "experiment".into(),
                    serde_json::json!({ "frequency_tagging": serde_json::Map::from_iter(fields.map(|(k, v)| (k.to_string(), v))) }),
                );
                object.remove("prompts");
            }
        }
        Ok((
            serde_json::to_string_pretty(&spec).expect("a value serialises"),
            replaced,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_replace_a_frequency_specs_own_and_replace_another_kind() {
        let stream = Stream {
            sentences: vec![" big dogs see cats".into(); 4],
            words_per_sentence: 4,
            words_per_phrase: 2,
            note: String::new(),
        };
        let spec = r#"{"version": 1, "experiment": {"frequency_tagging": {"sentences": ["x"], "words_per_sentence": 2, "words_per_phrase": 1, "threshold": 5.0}}}"#;
        let (written, replaced) = stream.put_into(spec).unwrap();
        let written: serde_json::Value = serde_json::from_str(&written).unwrap();
        let params = &written["experiment"]["frequency_tagging"];
        assert!(!replaced);
        assert_eq!(params["threshold"], 5.0, "other fields are kept");
        assert_eq!(params["sentences"].as_array().unwrap().len(), 4);
        assert_eq!(params["words_per_sentence"], 4);
        let lens = r#"{"version": 1, "prompts": {"clean": ["a"]}, "experiment": "logit_lens"}"#;
        let (written, replaced) = stream.put_into(lens).unwrap();
        let written: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert!(replaced);
        assert!(written.get("prompts").is_none());
        assert_eq!(
            written["experiment"]["frequency_tagging"]["words_per_phrase"],
            2
        );
        assert!(stream.put_into("[1]").is_err());
    }
}
