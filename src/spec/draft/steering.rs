//! Steering's fields: a generation's, and the steering vector — the hook, the two prompts, the
//! coefficient, and where the difference is added.

use super::{FormDraft, KindDraft, exact, generation, unescape};
use crate::experiments::steering::{Params, SteerAt};
use crate::hooks::HookPoint;

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The prompt continued and how tokens are picked.
    pub generation: generation::Draft,
    pub hook: String,
    /// Kept exactly: their leading spaces matter.
    pub positive: String,
    pub negative: String,
    pub coeff: String,
    pub at: SteerAt,
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            generation: generation::Draft::default(),
            hook: "blocks.6.hook_resid_pre".into(),
            positive: " Love".into(),
            negative: " Hate".into(),
            coeff: "5".into(),
            at: SteerAt::EveryPosition,
        }
    }
}

impl KindDraft for Draft {
    type Params = Params;

    /// A stored direction stays in the JSON editor (the form steers by two prompts).
    fn from_params(params: &Params, form: &mut FormDraft) -> Option<Self> {
        if params.direction.is_some() {
            return None;
        }
        form.prepend_bos = params.prepend_bos;
        Some(Self {
            generation: generation::Draft::of(&params.prompt, &params.generation)?,
            hook: params.hook.to_string(),
            positive: exact(params.positive.as_ref()?)?,
            negative: exact(params.negative.as_ref()?)?,
            coeff: params.coeff.to_string(),
            at: params.at,
        })
    }

    fn to_params(&self, form: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        let hook = self
            .hook
            .trim()
            .parse::<HookPoint>()
            .map_err(|e| problems.push(format!("steer at: {e}")))
            .ok();
        let coeff = self
            .coeff
            .trim()
            .parse::<f32>()
            .map_err(|_| {
                problems.push(format!(
                    "coefficient: `{}` is not a number",
                    self.coeff.trim()
                ))
            })
            .ok();
        let mut phrases_given = true;
        for (field, text) in [("toward", &self.positive), ("away from", &self.negative)] {
            if text.is_empty() {
                problems.push(format!("{field}: write a word or a phrase"));
                phrases_given = false;
            }
        }
        let generation = self.generation.sampling.config(problems);
        let (Some(hook), Some(coeff), Some(generation), true) =
            (hook, coeff, generation, phrases_given)
        else {
            return None;
        };
        Some(Params {
            hook,
            positive: Some(unescape(&self.positive)),
            negative: Some(unescape(&self.negative)),
            direction: None,
            coeff,
            prompt: unescape(&self.generation.prompt),
            prepend_bos: form.prepend_bos,
            generation,
            at: self.at,
        })
    }

    fn texts(&self) -> Vec<(&'static str, String)> {
        vec![
            ("prompt", self.generation.prompt.clone()),
            ("toward", self.positive.clone()),
            ("away from", self.negative.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::draft::Kind;

    #[test]
    fn steering_names_each_missing_part() {
        let mut draft = FormDraft {
            kind: Kind::Steering,
            ..FormDraft::default()
        };
        draft.fields.steering = Draft {
            hook: "blocks.6.hook_resid_mid_typo".into(),
            coeff: "five".into(),
            negative: String::new(),
            ..Draft::default()
        };
        let problems = draft.to_spec().unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("steer at: "), "{problems:?}");
        assert_eq!(problems[1], "coefficient: `five` is not a number");
        assert_eq!(problems[2], "away from: write a word or a phrase");
    }
}
