//! Specs written from the app's form: its text fields become a checked [`Spec`] here, so the
//! form only holds text and draws what this says; a spec opens back into the form
//! (`FormDraft::from_spec`), so the JSON editor and the form stay two views of one spec.
//!
//! What every kind shares (prompts, answers, metric, seed) is [`FormDraft`]'s; each kind's own
//! fields are one [`KindDraft`] in its module here (`draft::patching::Draft`...), held in
//! [`KindFields`] (from the registry in `spec::experiment`).

pub mod ablation;
pub mod association;
pub mod attribution;
pub mod circuit;
pub mod direction;
pub mod eap;
pub mod features;
pub mod frequency;
pub mod generation;
pub mod lens;
pub mod loss;
pub mod neurons;
pub mod patching;
pub mod path;
pub mod repetition;
pub mod sae_attribution;
pub mod sae_targets;
pub mod steering;

pub use super::experiment::{Kind, KindFields};
use super::{ModelRef, PromptInput, Prompts, SPEC_VERSION, Spec, TokenInput};
use crate::experiments::{Metric, Needs};
use std::fmt;

/// One kind's fields in the form, as text, and the parameters they stand for.
pub trait KindDraft: Default + Clone + PartialEq + fmt::Debug {
    type Params;

    /// The fields showing `params` (`None` where the form cannot hold them: prompts given as
    /// token ids, a generation with interventions). Sets what the kind keeps in the shared part
    /// of `form` (`<|endoftext|>`, rows per pass).
    fn from_params(params: &Self::Params, form: &mut FormDraft) -> Option<Self>;

    /// The parameters, or every problem of the fields pushed to `problems`.
    fn to_params(&self, form: &FormDraft, problems: &mut Vec<String>) -> Option<Self::Params>;

    /// The texts the kind reads besides the spec's prompts, by name, to show tokenised.
    fn texts(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// The experiment form as the user filled it in: one prompt per line, answers as
/// `correct | incorrect` (each word gets its leading space, as GPT-2 tokenises words), every
/// number as text; the chosen kind reads its own fields. What the form does not show (the
/// title, published values, rows per pass) is carried over from the spec it was opened from.
#[derive(Debug, Clone, PartialEq)]
pub struct FormDraft {
    /// The loaded model's name, recorded in the spec.
    pub model: String,
    pub kind: Kind,
    pub clean: String,
    pub corrupted: String,
    pub answers: String,
    /// Prepend `<|endoftext|>` to the prompts, or to the texts a kind reads.
    pub prepend_bos: bool,
    pub metric: Metric,
    /// The spec's seed: the sampler's (and resampling's, and datasets').
    pub seed: String,
    /// Carried over, not shown.
    pub kept: Kept,
    pub fields: KindFields,
}

/// What a spec carries that the form does not show.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    pub title: String,
    pub published: Option<super::published::Published>,
    pub max_rows: usize,
}

impl Default for Kept {
    fn default() -> Self {
        Self {
            title: String::new(),
            published: None,
            max_rows: crate::experiments::patching::default_max_rows(),
        }
    }
}

impl Default for FormDraft {
    fn default() -> Self {
        Self {
            model: String::new(),
            kind: Kind::ActivationPatching,
            clean: String::new(),
            corrupted: String::new(),
            answers: String::new(),
            prepend_bos: true,
            metric: Metric::LogitDiff,
            seed: "0".into(),
            kept: Kept::default(),
            fields: KindFields::default(),
        }
    }
}

impl FormDraft {
    /// The form's fields for a spec it can write (`None` for prompts given as token ids, and
    /// generation with interventions, which only the JSON editor writes).
    pub fn from_spec(spec: &Spec) -> Option<Self> {
        let mut draft = Self {
            model: spec.model.id.clone(),
            metric: spec.metric,
            kept: Kept {
                title: spec.title.clone(),
                published: spec.published.clone(),
                max_rows: crate::experiments::patching::default_max_rows(),
            },
            seed: spec.seed.to_string(),
            ..Self::default()
        };
        if let Some(prompts) = &spec.prompts {
            draft.clean = text_lines(&prompts.clean)?;
            draft.corrupted = text_lines(&prompts.corrupted)?;
            draft.answers = prompts
                .answers
                .iter()
                .map(|[a, b]| format!("{} | {}", answer_word(a), answer_word(b)))
                .collect::<Vec<_>>()
                .join("\n");
            draft.prepend_bos = prompts.prepend_bos;
        }
        draft.open_experiment(&spec.experiment)?;
        Some(draft)
    }

    /// Another kind: its fields as last left, and none of the old spec's title or published
    /// values (they were the old experiment's).
    pub fn choose(&mut self, kind: Kind) {
        self.kind = kind;
        self.kept = Kept::default();
    }

    /// The prompt continued and how tokens are picked: steering's when steering is chosen,
    /// else the generation's.
    pub fn continuation(&self) -> &generation::Draft {
        match self.kind {
            Kind::Steering => &self.fields.steering.generation,
            _ => &self.fields.generation,
        }
    }

    pub fn continuation_mut(&mut self) -> &mut generation::Draft {
        match self.kind {
            Kind::Steering => &mut self.fields.steering.generation,
            _ => &mut self.fields.generation,
        }
    }

    /// Steering on or off for the same continuation: the prompt and its settings carry over.
    pub fn steer(&mut self, on: bool) {
        let continuation = self.continuation().clone();
        self.kind = if on { Kind::Steering } else { Kind::Generation };
        *self.continuation_mut() = continuation;
    }

    /// The answers written as words, as the spec will hold them (each with its leading space;
    /// answers given as `#id` and lines that are not pairs left out): what the form shows
    /// tokenised, since an answer must be one token.
    pub fn answer_words(&self) -> Vec<String> {
        lines(&self.answers)
            .iter()
            .filter_map(|line| answer_pair(line).ok())
            .flatten()
            .filter_map(|answer| match answer {
                TokenInput::Text(t) => Some(t),
                TokenInput::Id(_) => None,
            })
            .collect()
    }

    /// The spec, or every problem the user can fix in the form (the spec's own checks
    /// included).
    pub fn to_spec(&self) -> Result<Spec, Vec<String>> {
        let mut problems = Vec::new();
        let prompts = match self.kind.needs() {
            Needs::NoPrompts => None,
            needs => Some(self.prompts(needs, &mut problems)),
        };
        let experiment = self.write_experiment(&mut problems);
        let seed = number(&self.seed, "seed")
            .map_err(|e| problems.push(e))
            .ok();
        let (Some(experiment), Some(seed), true) = (experiment, seed, problems.is_empty()) else {
            return Err(problems);
        };
        let spec = Spec {
            version: SPEC_VERSION,
            title: if self.kept.title.is_empty() {
                format!("{} (from the form)", self.kind.title())
            } else {
                self.kept.title.clone()
            },
            model: ModelRef {
                id: self.model.clone(),
                revision: None,
            },
            prompts,
            metric: self.metric,
            experiment,
            seed,
            published: self.kept.published.clone(),
        };
        spec.check().map_err(|e| vec![e.to_string()])?;
        Ok(spec)
    }

    fn prompts(&self, needs: Needs, problems: &mut Vec<String>) -> Prompts {
        let (clean, corrupted, answers) = (
            lines(&self.clean),
            lines(&self.corrupted),
            lines(&self.answers),
        );
        if clean.is_empty() {
            problems.push("write at least one clean prompt".to_string());
        }
        let with_corrupted = needs == Needs::CleanAndCorrupted || !corrupted.is_empty();
        if (with_corrupted && clean.len() != corrupted.len()) || clean.len() != answers.len() {
            problems.push(format!(
                "{} clean prompts, {} corrupted prompts and {} answer pairs: one of each per line",
                clean.len(),
                corrupted.len(),
                answers.len()
            ));
        }
        let answers: Vec<[TokenInput; 2]> = answers
            .iter()
            .filter_map(|a| answer_pair(a).map_err(|e| problems.push(e)).ok())
            .collect();
        Prompts {
            clean: clean.into_iter().map(PromptInput::Text).collect(),
            corrupted: corrupted.into_iter().map(PromptInput::Text).collect(),
            answers,
            prepend_bos: self.prepend_bos,
        }
    }
}

/// Text prompts as the lines of one field (`None` if one is given as token ids).
fn text_lines(inputs: &[PromptInput]) -> Option<String> {
    inputs
        .iter()
        .map(exact)
        .collect::<Option<Vec<_>>>()
        .map(|l| l.join("\n"))
}

/// An answer as the answers field writes it: the word without its leading space, or `#id`.
fn answer_word(token: &TokenInput) -> String {
    match token {
        TokenInput::Text(t) => t.trim().to_string(),
        TokenInput::Id(id) => format!("#{id}"),
    }
}

/// The non-empty lines of a text field, trimmed; `\n` in a line is a line break inside that
/// prompt (multiple-choice and Colored Objects prompts have them).
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.replace("\\n", "\n"))
        .collect()
}

/// The non-empty lines of a text field as typed: leading spaces kept (a text that starts with
/// a space tokenises differently), trailing ones and `\r` dropped; `\n` a line break.
pub fn exact_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.replace("\\n", "\n"))
        .collect()
}

/// A one-line field's prompt exactly as typed (leading spaces kept), `\n` a line break.
fn unescape(text: &str) -> PromptInput {
    PromptInput::Text(text.replace("\\n", "\n"))
}

/// A text prompt as one line of a field, its line breaks written `\n` (`None` for token ids).
fn exact(prompt: &PromptInput) -> Option<String> {
    match prompt {
        PromptInput::Text(t) => Some(t.replace('\n', "\\n")),
        PromptInput::Ids(_) => None,
    }
}

/// `" Mary | John"` → the two answers, each with its leading space.
fn answer_pair(line: &str) -> Result<[TokenInput; 2], String> {
    let (a, b) = line
        .split_once('|')
        .ok_or_else(|| format!("answers: `{line}` is not `correct | incorrect`"))?;
    let word = |w: &str| match w.trim().strip_prefix('#').map(str::parse::<u32>) {
        Some(Ok(id)) => TokenInput::Id(id),
        _ => TokenInput::Text(format!(" {}", w.trim())),
    };
    Ok([word(a), word(b)])
}

/// The words of a list field: split at white space and commas.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
}

/// `9.9 10.7` (or `9.9, 10.7`) → `[(9, 9), (10, 7)]`.
pub fn heads(text: &str, field: &str) -> Result<Vec<(usize, usize)>, String> {
    words(text)
        .map(|w| {
            let problem = || format!("{field}: `{w}` is not a head (write layer.head, as 9.9)");
            let (l, h) = w.split_once('.').ok_or_else(problem)?;
            match (l.parse(), h.parse()) {
                (Ok(l), Ok(h)) => Ok((l, h)),
                _ => Err(problem()),
            }
        })
        .collect()
}

fn write_heads(heads: &[(usize, usize)]) -> String {
    heads
        .iter()
        .map(|(l, h)| format!("{l}.{h}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn number<T: std::str::FromStr>(text: &str, field: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{field}: `{}` is not a whole number", text.trim()))
}

/// `number`, with the problem pushed to `problems`.
fn counted<T: std::str::FromStr>(text: &str, field: &str, problems: &mut Vec<String>) -> Option<T> {
    number(text, field).map_err(|e| problems.push(e)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Experiment;
    use crate::spec::examples::EXAMPLES;

    #[test]
    fn every_example_goes_round_the_form_unchanged() {
        for example in EXAMPLES {
            let spec = Spec::from_json(example.json).unwrap();
            let draft = FormDraft::from_spec(&spec)
                .unwrap_or_else(|| panic!("{}: the form cannot hold it", example.stem));
            assert_eq!(draft.kind, spec.experiment.kind(), "{}", example.stem);
            assert_eq!(draft.to_spec().unwrap(), spec, "{}", example.stem);
        }
    }

    #[test]
    fn every_kind_writes_a_spec_from_its_default_fields_or_names_what_is_missing() {
        let ioi = FormDraft::from_spec(&Spec::from_json(EXAMPLES[0].json).unwrap()).unwrap();
        for &kind in Kind::ALL {
            let mut draft = ioi.clone();
            draft.choose(kind);
            match draft.to_spec() {
                Ok(spec) => {
                    assert_eq!(spec.experiment.kind(), kind);
                    assert_eq!(
                        FormDraft::from_spec(&spec).unwrap().to_spec().unwrap(),
                        spec
                    );
                }
                Err(problems) => {
                    assert!(!problems.is_empty(), "{kind:?}");
                    assert!(
                        problems
                            .iter()
                            .all(|p| p.contains(':') || p.starts_with("choose")),
                        "{kind:?}: each problem names its field: {problems:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn steering_toggled_keeps_the_prompt_and_its_settings() {
        let mut draft = FormDraft {
            kind: Kind::Generation,
            ..FormDraft::default()
        };
        draft.continuation_mut().prompt = "The quick brown fox".into();
        draft.continuation_mut().sampling.temperature = "0.5".into();
        draft.steer(true);
        assert_eq!(draft.kind, Kind::Steering);
        assert_eq!(
            draft.fields.steering.generation.prompt,
            "The quick brown fox"
        );
        assert_eq!(draft.continuation().sampling.temperature, "0.5");
        draft.continuation_mut().prompt = "I love".into();
        draft.steer(false);
        assert_eq!(draft.fields.generation.prompt, "I love");
    }

    #[test]
    fn heads_are_written_as_transformer_lens_writes_them() {
        assert_eq!(
            heads("9.9, 10.7  11.10", "x"),
            Ok(vec![(9, 9), (10, 7), (11, 10)])
        );
        assert_eq!(
            heads("9.9 L10H7", "heads kept").unwrap_err(),
            "heads kept: `L10H7` is not a head (write layer.head, as 9.9)"
        );
        assert_eq!(write_heads(&[(9, 9), (10, 7)]), "9.9 10.7");
    }

    #[test]
    fn a_kind_built_from_scratch_lists_its_problems_by_field() {
        let mut draft = FormDraft {
            kind: Kind::Ablation,
            clean: "a".into(),
            answers: "b | c".into(),
            ..FormDraft::default()
        };
        draft.fields.ablation.unit = ablation::Unit::Neurons;
        draft.fields.ablation.neurons = "1 x".into();
        assert_eq!(
            draft.to_spec().unwrap_err(),
            vec!["neurons: `x` is not a whole number"]
        );
        let mut loss = FormDraft {
            kind: Kind::Loss,
            ..FormDraft::default()
        };
        loss.fields.loss.texts = "one\n\ntwo".into();
        let spec = loss.to_spec().unwrap();
        assert!(spec.prompts.is_none());
        let mut spaced = loss.clone();
        spaced.fields.loss.texts = " leading space\r\n\n  \ntrailing  ".into();
        let Experiment::Loss(p) = spaced.to_spec().unwrap().experiment else {
            panic!()
        };
        assert_eq!(
            p.texts,
            vec![
                PromptInput::Text(" leading space".into()),
                PromptInput::Text("trailing".into())
            ]
        );
        assert_eq!(spec.title, "Per-token loss (from the form)");
    }

    fn ioi() -> FormDraft {
        FormDraft::from_spec(&Spec::from_json(EXAMPLES[0].json).unwrap()).unwrap()
    }

    #[test]
    fn the_example_goes_round_the_form() {
        let example = Spec::from_json(EXAMPLES[0].json).unwrap();
        let spec = ioi().to_spec().unwrap();
        assert_eq!(spec.prompts, example.prompts);
        assert_eq!(spec.experiment, example.experiment);
        assert_eq!(Spec::from_json(&spec.to_json()).unwrap(), spec);
    }

    #[test]
    fn answers_are_tokenised_as_the_spec_holds_them() {
        let draft = FormDraft {
            answers: "Mary | John\n#5335 |  Johnathan \nnot a pair".into(),
            ..FormDraft::default()
        };
        assert_eq!(draft.answer_words(), vec![" Mary", " John", " Johnathan"]);
    }

    #[test]
    fn every_problem_is_listed() {
        let mut draft = FormDraft {
            corrupted: String::new(),
            answers: "Mary John\n | ".into(),
            ..ioi()
        };
        draft.fields.activation_patching.targets.clear();
        let problems = draft.to_spec().unwrap_err();
        assert!(
            problems[0].contains("corrupted prompts and 2 answer pairs"),
            "{problems:?}"
        );
        assert!(problems[1].contains("`Mary John` is not `correct | incorrect`"));
        assert_eq!(
            problems[2],
            "choose at least one target, or an SAE's features"
        );
    }

    #[test]
    fn a_seed_that_is_not_a_number_is_a_problem_of_its_field() {
        let draft = FormDraft {
            seed: "x".into(),
            ..ioi()
        };
        assert_eq!(
            draft.to_spec().unwrap_err(),
            vec!["seed: `x` is not a whole number"]
        );
    }
}
