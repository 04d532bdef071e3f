//! The direction's fields: the texts, the hook, and how the direction is found.

use super::{FormDraft, KindDraft, exact_lines, text_lines};
use crate::experiments::direction::{Method, Params};
use crate::hooks::HookPoint;
use crate::spec::PromptInput;

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// One text per line, as typed.
    pub texts: String,
    pub hook: String,
    pub method: Method,
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            texts: String::new(),
            hook: "blocks.6.hook_resid_post".into(),
            method: Method::Pca,
        }
    }
}

impl KindDraft for Draft {
    type Params = Params;

    fn from_params(params: &Params, form: &mut FormDraft) -> Option<Self> {
        form.prepend_bos = params.prepend_bos;
        Some(Self {
            texts: text_lines(&params.texts)?,
            hook: params.hook.to_string(),
            method: params.method,
        })
    }

    fn to_params(&self, form: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        let texts = exact_lines(&self.texts);
        if texts.len() < 2 {
            problems.push("texts: write at least two, one per line".into());
        }
        let hook = self
            .hook
            .trim()
            .parse::<HookPoint>()
            .map_err(|e| problems.push(format!("hook: {e}")))
            .ok()?;
        (texts.len() >= 2).then(|| Params {
            texts: texts.into_iter().map(PromptInput::Text).collect(),
            hook,
            method: self.method,
            prepend_bos: form.prepend_bos,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::direction::Method;
    use crate::spec::{Experiment, Kind, Spec};

    #[test]
    fn a_direction_goes_round_the_form() {
        let mut draft = FormDraft {
            kind: Kind::Direction,
            prepend_bos: false,
            ..FormDraft::default()
        };
        draft.fields.direction = Draft {
            texts: "help people\n kill people \n\n".into(),
            hook: "blocks.1.hook_resid_post".into(),
            method: Method::MeanDifference,
        };
        let spec = draft.to_spec().unwrap();
        let Experiment::Direction(params) = &spec.experiment else {
            panic!("{spec:?}")
        };
        assert_eq!(
            params.texts,
            vec![
                PromptInput::Text("help people".into()),
                PromptInput::Text(" kill people".into())
            ],
            "leading spaces kept, empty lines dropped"
        );
        assert_eq!(
            FormDraft::from_spec(&spec).unwrap().to_spec().unwrap(),
            spec
        );
        assert_eq!(Spec::from_json(&spec.to_json()).unwrap(), spec);

        draft.fields.direction.hook = "blocks.1.attn.hook_pattern".into();
        let problems = draft.to_spec().unwrap_err();
        assert!(
            problems[0].contains("experiment.direction.hook"),
            "{problems:?}"
        );
        draft.fields.direction.texts = "one".into();
        draft.fields.direction.hook = "nowhere".into();
        let problems = draft.to_spec().unwrap_err();
        assert_eq!(problems[0], "texts: write at least two, one per line");
        assert!(problems[1].starts_with("hook: "), "{problems:?}");
    }
}
