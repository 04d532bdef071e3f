//! SAE features' fields: the SAE's id, the prompt, how many features a token lists, and a
//! feature to follow.

use super::{FormDraft, KindDraft, counted, exact};
use crate::experiments::features::Params;
use crate::loading::ModelRef;
use crate::spec::PromptInput;

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The id the SAE was loaded under.
    pub sae: String,
    /// As typed (leading spaces kept).
    pub prompt: String,
    pub top: String,
    /// Empty: none followed.
    pub feature: String,
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            sae: String::new(),
            prompt: String::new(),
            top: "8".into(),
            feature: String::new(),
        }
    }
}

impl KindDraft for Draft {
    type Params = Params;

    fn from_params(params: &Params, form: &mut FormDraft) -> Option<Self> {
        if params.sae.revision.is_some() {
            return None;
        }
        form.prepend_bos = params.prepend_bos;
        Some(Self {
            sae: params.sae.id.clone(),
            prompt: exact(&params.prompt)?,
            top: params.top.to_string(),
            feature: params.feature.map(|f| f.to_string()).unwrap_or_default(),
        })
    }

    fn to_params(&self, form: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        let sae = self.sae.trim();
        if sae.is_empty() {
            problems.push("SAE: load one, or write the id it was loaded under".into());
        }
        if self.prompt.is_empty() {
            problems.push("prompt: write one".into());
        }
        let top = counted(&self.top, "features per token", problems);
        let feature = match self.feature.trim() {
            "" => Some(None),
            text => counted(text, "feature", problems).map(Some),
        };
        let (top, feature) = (top?, feature?);
        (!sae.is_empty() && !self.prompt.is_empty()).then(|| Params {
            sae: ModelRef {
                id: sae.to_string(),
                revision: None,
            },
            prompt: PromptInput::Text(self.prompt.clone()),
            prepend_bos: form.prepend_bos,
            top,
            feature,
        })
    }

    fn texts(&self) -> Vec<(&'static str, String)> {
        vec![("prompt", self.prompt.clone())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Experiment, Kind, Spec};

    #[test]
    fn sae_features_go_round_the_form() {
        let json = r#"{"version":1,"model":{"id":"gpt2"},"experiment":{"sae_features":{"sae":{"id":"gpt2-small-res-jb/blocks.8.hook_resid_pre"},"prompt":" The cat sat","prepend_bos":true,"top":12,"feature":24575}}}"#;
        let spec = Spec::from_json(json).unwrap();
        let draft = FormDraft::from_spec(&spec).unwrap();
        assert_eq!(draft.kind, Kind::SaeFeatures);
        assert_eq!(draft.fields.sae_features.prompt, " The cat sat");
        let back = draft.to_spec().unwrap();
        assert_eq!(back.experiment, spec.experiment);

        let mut draft = draft;
        draft.fields.sae_features.feature = "x".into();
        draft.fields.sae_features.sae = " ".into();
        let problems = draft.to_spec().unwrap_err();
        assert!(
            problems.iter().any(|p| p.starts_with("SAE:")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("feature:")),
            "{problems:?}"
        );
        assert!(matches!(spec.experiment, Experiment::SaeFeatures(_)));
    }
}
