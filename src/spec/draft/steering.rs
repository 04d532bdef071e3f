//! Steering's fields: a generation's, and the steering vector — the hook, the two prompts, the
//! coefficient, and where the difference is added.

use super::{FormDraft, KindDraft, exact, generation, unescape};
use crate::experiments::steering::{Params, SteerAt, StoredDirection};
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
    /// A stored direction steers instead of the two prompts (shown, not edited).
    pub direction: Option<StoredDirection>,
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
            direction: None,
        }
    }
}

impl KindDraft for Draft {
    type Params = Params;

    fn from_params(params: &Params, form: &mut FormDraft) -> Option<Self> {
        form.prepend_bos = params.prepend_bos;
        let phrase = |p: Option<&crate::spec::PromptInput>| match (&params.direction, p) {
            (Some(_), None) => Some(String::new()),
            (_, p) => exact(p?),
        };
        Some(Self {
            generation: generation::Draft::of(&params.prompt, &params.generation)?,
            hook: params.hook.to_string(),
            positive: phrase(params.positive.as_ref())?,
            negative: phrase(params.negative.as_ref())?,
            coeff: params.coeff.to_string(),
            at: params.at,
            direction: params.direction.clone(),
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
        let phrases = [("toward", &self.positive), ("away from", &self.negative)];
        for (field, text) in phrases.into_iter().filter(|_| self.direction.is_none()) {
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
        let by_prompts = self.direction.is_none();
        Some(Params {
            hook,
            positive: by_prompts.then(|| unescape(&self.positive)),
            negative: by_prompts.then(|| unescape(&self.negative)),
            direction: self.direction.clone(),
            coeff,
            prompt: unescape(&self.generation.prompt),
            prepend_bos: form.prepend_bos,
            generation,
            at: self.at,
        })
    }

    fn texts(&self) -> Vec<(&'static str, String)> {
        let mut texts = vec![("prompt", self.generation.prompt.clone())];
        if self.direction.is_none() {
            texts.push(("toward", self.positive.clone()));
            texts.push(("away from", self.negative.clone()));
        }
        texts
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
