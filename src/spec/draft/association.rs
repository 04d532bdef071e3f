//! The word-association test's fields: the template, the four word sets (one word per line, a
//! leading space kept: GPT-2's words begin with one), and the hook.

use super::{FormDraft, KindDraft, exact_lines};
use crate::experiments::association::Params;
use crate::hooks::HookPoint;

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub template: String,
    /// X, Y, A, B: one word per line.
    pub targets: [String; 2],
    pub attributes: [String; 2],
    pub hook: String,
}

impl Default for Draft {
    /// Caliskan et al.'s career and family test, with four names and words a set.
    fn default() -> Self {
        let lines = |words: &[&str]| words.join("\n");
        Self {
            template: "This is {}.".into(),
            targets: [
                lines(&[" John", " Paul", " Mike", " Kevin"]),
                lines(&[" Amy", " Joan", " Lisa", " Sarah"]),
            ],
            attributes: [
                lines(&[" career", " salary", " office", " business"]),
                lines(&[" home", " family", " children", " marriage"]),
            ],
            hook: "hook_embed".into(),
        }
    }
}

impl KindDraft for Draft {
    type Params = Params;

    fn from_params(params: &Params, form: &mut FormDraft) -> Option<Self> {
        form.prepend_bos = params.prepend_bos;
        let lines = |words: &[String]| words.join("\n");
        Some(Self {
            template: params.template.clone(),
            targets: [lines(&params.targets[0]), lines(&params.targets[1])],
            attributes: [lines(&params.attributes[0]), lines(&params.attributes[1])],
            hook: params.hook.to_string(),
        })
    }

    fn to_params(&self, form: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        let before = problems.len();
        let mut set = |text: &str, name: &str| {
            let words = exact_lines(text);
            if words.is_empty() {
                problems.push(format!("{name}: write at least one word, one per line"));
            }
            words
        };
        let targets = [
            set(&self.targets[0], "first targets"),
            set(&self.targets[1], "second targets"),
        ];
        let attributes = [
            set(&self.attributes[0], "first attributes"),
            set(&self.attributes[1], "second attributes"),
        ];
        if self.template.matches("{}").count() != 1 {
            problems.push("template: write {} once, where each word goes".into());
        }
        let hook = self
            .hook
            .trim()
            .parse::<HookPoint>()
            .map_err(|e| problems.push(format!("hook: {e}")))
            .ok();
        let hook = hook?;
        (problems.len() == before).then(|| Params {
            template: self.template.clone(),
            targets,
            attributes,
            hook,
            prepend_bos: form.prepend_bos,
        })
    }

    fn texts(&self) -> Vec<(&'static str, String)> {
        vec![("template", self.template.clone())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Experiment, Kind};

    #[test]
    fn an_association_test_goes_round_the_form() {
        let mut draft = FormDraft {
            kind: Kind::AssociationTest,
            prepend_bos: false,
            ..FormDraft::default()
        };
        draft.fields.association_test = Draft {
            hook: "blocks.1.hook_resid_post".into(),
            ..Draft::default()
        };
        let spec = draft.to_spec().unwrap();
        let Experiment::AssociationTest(params) = &spec.experiment else {
            panic!("{spec:?}")
        };
        assert_eq!(params.targets[0][0], " John", "the leading space is kept");
        assert_eq!(params.attributes[1].len(), 4);
        assert_eq!(
            FormDraft::from_spec(&spec).unwrap().to_spec().unwrap(),
            spec
        );
        draft.fields.association_test.template = "no slot".into();
        draft.fields.association_test.targets[1] = "\n".into();
        assert_eq!(
            draft.to_spec().unwrap_err(),
            vec![
                "second targets: write at least one word, one per line",
                "template: write {} once, where each word goes",
            ]
        );
    }
}
