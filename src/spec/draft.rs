//! Specs written from the app's forms: the patching form's text fields become a checked
//! [`Spec`] here, so the form only holds text and draws what this says.

use super::{Experiment, ModelRef, PromptInput, Prompts, SPEC_VERSION, Spec, TokenInput};
use crate::experiments::{Metric, PatchTarget, patching};

/// The patching form as the user filled it in: one prompt per line, answers as
/// `correct | incorrect` (each word gets its leading space, as GPT-2 tokenises words).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchingDraft {
    /// The loaded model's name, recorded in the spec.
    pub model: String,
    pub clean: String,
    pub corrupted: String,
    pub answers: String,
    pub prepend_bos: bool,
    pub metric: Metric,
    pub targets: Vec<PatchTarget>,
}

/// The non-empty lines of a text field, trimmed.
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// `" Mary | John"` → the two answers, each with its leading space.
fn answer_pair(line: &str) -> Result<[TokenInput; 2], String> {
    let (a, b) = line
        .split_once('|')
        .ok_or_else(|| format!("answers: `{line}` is not `correct | incorrect`"))?;
    let word = |w: &str| TokenInput::Text(format!(" {}", w.trim()));
    Ok([word(a), word(b)])
}

impl PatchingDraft {
    /// The form's fields for a patching spec with text prompts (`None` for any other spec).
    pub fn from_spec(spec: &Spec) -> Option<Self> {
        let Experiment::ActivationPatching(params) = &spec.experiment else {
            return None;
        };
        let prompts = spec.prompts.as_ref()?;
        let text = |inputs: &[PromptInput]| {
            inputs
                .iter()
                .map(|p| match p {
                    PromptInput::Text(t) => Some(t.clone()),
                    PromptInput::Ids(_) => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(|l| l.join("\n"))
        };
        let token = |t: &TokenInput| match t {
            TokenInput::Text(t) => t.trim().to_string(),
            TokenInput::Id(id) => format!("#{id}"),
        };
        let answers = prompts
            .answers
            .iter()
            .map(|[a, b]| format!("{} | {}", token(a), token(b)))
            .collect::<Vec<_>>()
            .join("\n");
        Some(Self {
            model: spec.model.id.clone(),
            clean: text(&prompts.clean)?,
            corrupted: text(&prompts.corrupted)?,
            answers,
            prepend_bos: prompts.prepend_bos,
            metric: spec.metric,
            targets: params.targets.clone(),
        })
    }

    /// The spec, or every problem the user can fix in the form (the spec's own checks
    /// included).
    pub fn to_spec(&self) -> Result<Spec, Vec<String>> {
        let (clean, corrupted, answers) = (
            lines(&self.clean),
            lines(&self.corrupted),
            lines(&self.answers),
        );
        let mut problems = Vec::new();
        if clean.is_empty() {
            problems.push("write at least one clean prompt".to_string());
        }
        if clean.len() != corrupted.len() || clean.len() != answers.len() {
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
        if self.targets.is_empty() {
            problems.push("choose at least one target".into());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let spec = Spec {
            version: SPEC_VERSION,
            title: "Activation patching (from the form)".into(),
            model: ModelRef {
                id: self.model.clone(),
                revision: None,
            },
            prompts: Some(Prompts {
                clean: clean.into_iter().map(PromptInput::Text).collect(),
                corrupted: corrupted.into_iter().map(PromptInput::Text).collect(),
                answers,
                prepend_bos: self.prepend_bos,
            }),
            metric: self.metric,
            experiment: Experiment::ActivationPatching(patching::Params {
                targets: self.targets.clone(),
                max_rows: patching::default_max_rows(),
            }),
            seed: 0,
            published: None,
        };
        spec.check().map_err(|e| vec![e.to_string()])?;
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::examples::EXAMPLES;

    fn ioi() -> PatchingDraft {
        PatchingDraft::from_spec(&Spec::from_json(EXAMPLES[0].json).unwrap()).unwrap()
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
    fn every_problem_is_listed() {
        let draft = PatchingDraft {
            corrupted: String::new(),
            answers: "Mary John\n | ".into(),
            targets: vec![],
            ..ioi()
        };
        let problems = draft.to_spec().unwrap_err();
        assert!(
            problems[0].contains("corrupted prompts and 2 answer pairs"),
            "{problems:?}"
        );
        assert!(problems[1].contains("`Mary John` is not `correct | incorrect`"));
        assert_eq!(problems[2], "choose at least one target");
    }
}
