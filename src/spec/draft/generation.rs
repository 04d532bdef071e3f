//! Generation's fields: the prompt continued and how each token is picked. Steering's form
//! holds one of these too: it continues a prompt the same way.

use super::{FormDraft, KindDraft, exact, unescape, words};
use crate::experiments::generation::Params;
use crate::experiments::{Gedi, GenerationConfig};
use crate::loading::ModelRef;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Exactly as typed (a leading space is part of a GPT-2 word); `\n` a line break.
    pub prompt: String,
    pub sampling: SamplingDraft,
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            // Turner et al.'s first example: a start for generation and steering alike.
            prompt: "I hate you because".into(),
            sampling: SamplingDraft::default(),
        }
    }
}

impl Draft {
    /// The fields of a prompt and its settings (`None` for a prompt given as token ids).
    pub(super) fn of(prompt: &crate::spec::PromptInput, config: &GenerationConfig) -> Option<Self> {
        Some(Self {
            prompt: exact(prompt)?,
            sampling: SamplingDraft::from(config),
        })
    }
}

impl KindDraft for Draft {
    type Params = Params;

    /// A generation with interventions or feature edits stays in the JSON editor.
    fn from_params(params: &Params, form: &mut FormDraft) -> Option<Self> {
        if !params.interventions.is_empty() || params.features.is_some() {
            return None;
        }
        form.prepend_bos = params.prepend_bos;
        Self::of(&params.prompt, &params.generation)
    }

    fn to_params(&self, form: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        if self.prompt.is_empty() && !form.prepend_bos {
            problems.push("prompt: write one, or prepend <|endoftext|>".into());
            return None;
        }
        Some(Params {
            prompt: unescape(&self.prompt),
            prepend_bos: form.prepend_bos,
            generation: self.sampling.config(problems)?,
            interventions: vec![],
            features: None,
        })
    }

    fn texts(&self) -> Vec<(&'static str, String)> {
        vec![("prompt", self.prompt.clone())]
    }
}

/// A [`GenerationConfig`] as text fields; an empty optional field is off.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingDraft {
    pub max_new_tokens: String,
    pub temperature: String,
    pub top_k: String,
    pub top_p: String,
    pub repetition_penalty: String,
    pub frequency_penalty: String,
    pub presence_penalty: String,
    /// Token ids, space- or comma-separated.
    pub banned_tokens: String,
    /// `id:bias` pairs (`50256:-100 318:2.5`).
    pub logit_bias: String,
    pub stop_at_eos: bool,
    pub kv_cache: bool,
    pub no_repeat_ngram_size: String,
    pub num_beams: String,
    pub length_penalty: String,
    pub gedi: GediDraft,
}

/// GeDi's fields; guidance is off while the model field is empty.
#[derive(Debug, Clone, PartialEq)]
pub struct GediDraft {
    pub model: String,
    pub desired: String,
    pub undesired: String,
    pub disc_weight: String,
    pub filter_p: String,
    pub target_p: String,
    pub class_bias: String,
}

impl GediDraft {
    fn from(gedi: Option<&Gedi>) -> Self {
        // The paper's sentiment setting fills an empty form.
        let unnamed = ModelRef {
            id: String::new(),
            revision: None,
        };
        let shown = gedi
            .cloned()
            .unwrap_or_else(|| Gedi::new(unnamed, "positive", "negative"));
        Self {
            model: shown.model.id,
            desired: shown.desired,
            undesired: shown.undesired,
            disc_weight: shown.disc_weight.to_string(),
            filter_p: shown.filter_p.to_string(),
            target_p: shown.target_p.to_string(),
            class_bias: shown.class_bias.to_string(),
        }
    }

    /// The settings (`None` inside when off), or `None` with the problems.
    fn gedi(&self, problems: &mut Vec<String>) -> Option<Option<Gedi>> {
        if self.model.trim().is_empty() {
            return Some(None);
        }
        let before = problems.len();
        let gedi = Gedi {
            model: ModelRef {
                id: self.model.trim().to_string(),
                revision: None,
            },
            desired: self.desired.clone(),
            undesired: self.undesired.clone(),
            disc_weight: parsed(&self.disc_weight, "GeDi weight", problems).unwrap_or_default(),
            filter_p: parsed(&self.filter_p, "GeDi filter mass", problems).unwrap_or_default(),
            target_p: parsed(&self.target_p, "GeDi target P(desired)", problems)
                .unwrap_or_default(),
            class_bias: parsed(&self.class_bias, "GeDi class bias", problems).unwrap_or_default(),
        };
        (problems.len() == before).then_some(Some(gedi))
    }
}

fn parsed<T: std::str::FromStr>(text: &str, field: &str, problems: &mut Vec<String>) -> Option<T> {
    text.trim()
        .parse()
        .map_err(|_| problems.push(format!("{field}: `{}` is not a number", text.trim())))
        .ok()
}

impl From<&GenerationConfig> for SamplingDraft {
    fn from(c: &GenerationConfig) -> Self {
        let optional = |v: Option<String>| v.unwrap_or_default();
        Self {
            max_new_tokens: c.max_new_tokens.to_string(),
            temperature: c.temperature.to_string(),
            top_k: optional(c.top_k.map(|k| k.to_string())),
            top_p: optional(c.top_p.map(|p| p.to_string())),
            repetition_penalty: optional(c.repetition_penalty.map(|p| p.to_string())),
            frequency_penalty: c.frequency_penalty.to_string(),
            presence_penalty: c.presence_penalty.to_string(),
            banned_tokens: c
                .banned_tokens
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            logit_bias: c
                .logit_bias
                .iter()
                .map(|(id, bias)| format!("{id}:{bias}"))
                .collect::<Vec<_>>()
                .join(" "),
            stop_at_eos: c.stop_at_eos,
            kv_cache: c.kv_cache,
            no_repeat_ngram_size: c.no_repeat_ngram_size.to_string(),
            num_beams: c.num_beams.to_string(),
            length_penalty: c.length_penalty.to_string(),
            gedi: GediDraft::from(c.gedi.as_ref()),
        }
    }
}

impl Default for SamplingDraft {
    fn default() -> Self {
        Self::from(&GenerationConfig::default())
    }
}

impl SamplingDraft {
    /// The settings (the seed is the spec's), or the first problem of each field.
    pub fn config(&self, problems: &mut Vec<String>) -> Option<GenerationConfig> {
        fn optional<T: std::str::FromStr>(
            text: &str,
            field: &str,
            problems: &mut Vec<String>,
        ) -> Option<Option<T>> {
            if text.trim().is_empty() {
                Some(None)
            } else {
                parsed(text, field, problems).map(Some)
            }
        }
        let before = problems.len();
        let banned_tokens: Vec<u32> = words(&self.banned_tokens)
            .filter_map(|w| parsed(w, "banned tokens", problems))
            .collect();
        let mut logit_bias = BTreeMap::new();
        for pair in words(&self.logit_bias) {
            match pair.split_once(':') {
                Some((id, bias)) => {
                    if let (Some(id), Some(bias)) = (
                        parsed(id, "logit bias (token id)", problems),
                        parsed(bias, "logit bias", problems),
                    ) {
                        logit_bias.insert(id, bias);
                    }
                }
                None => problems.push(format!(
                    "logit bias: `{pair}` is not `token id:bias` (as 50256:-100)"
                )),
            }
        }
        let config = GenerationConfig {
            max_new_tokens: parsed(&self.max_new_tokens, "max new tokens", problems)
                .unwrap_or_default(),
            temperature: parsed(&self.temperature, "temperature", problems).unwrap_or_default(),
            top_k: optional(&self.top_k, "top-k", problems).flatten(),
            top_p: optional(&self.top_p, "top-p", problems).flatten(),
            repetition_penalty: optional(&self.repetition_penalty, "repetition penalty", problems)
                .flatten(),
            frequency_penalty: parsed(&self.frequency_penalty, "frequency penalty", problems)
                .unwrap_or_default(),
            presence_penalty: parsed(&self.presence_penalty, "presence penalty", problems)
                .unwrap_or_default(),
            logit_bias,
            banned_tokens,
            seed: 0,
            stop_at_eos: self.stop_at_eos,
            kv_cache: self.kv_cache,
            no_repeat_ngram_size: parsed(
                &self.no_repeat_ngram_size,
                "no-repeat n-gram size",
                problems,
            )
            .unwrap_or_default(),
            num_beams: parsed(&self.num_beams, "beams", problems).unwrap_or(1),
            length_penalty: parsed(&self.length_penalty, "length penalty", problems).unwrap_or(1.0),
            gedi: self.gedi.gedi(problems).flatten(),
        };
        if problems.len() == before
            && let Err((field, message)) = config.check()
        {
            problems.push(format!("{field}: {message}"));
        }
        (problems.len() == before).then_some(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::draft::Kind;
    use crate::spec::{Experiment, PromptInput, Spec};

    #[test]
    fn generation_with_interventions_stays_in_the_json_editor() {
        let spec = Spec::from_json(include_str!(
            "../../../tests/specs/generation-interventions-tiny.json"
        ))
        .unwrap();
        assert!(FormDraft::from_spec(&spec).is_none());
    }

    #[test]
    fn sampling_fields_are_checked_one_by_one() {
        let mut draft = FormDraft {
            kind: Kind::Generation,
            ..FormDraft::default()
        };
        draft.fields.generation = Draft {
            prompt: " The".into(),
            sampling: SamplingDraft {
                temperature: "warm".into(),
                top_k: "".into(),
                banned_tokens: "50256, x".into(),
                logit_bias: "318:2.5 50256".into(),
                ..SamplingDraft::default()
            },
        };
        assert_eq!(
            draft.to_spec().unwrap_err(),
            vec![
                "banned tokens: `x` is not a number",
                "logit bias: `50256` is not `token id:bias` (as 50256:-100)",
                "temperature: `warm` is not a number",
            ]
        );
        let mut fixed = FormDraft {
            seed: "7".into(),
            ..draft.clone()
        };
        fixed.fields.generation.sampling = SamplingDraft {
            temperature: "0.7".into(),
            banned_tokens: "50256, 13".into(),
            logit_bias: "318:2.5 50256:-100".into(),
            ..draft.fields.generation.sampling.clone()
        };
        let spec = fixed.to_spec().unwrap();
        let Experiment::Generation(p) = &spec.experiment else {
            panic!("{spec:?}")
        };
        assert_eq!(
            p.prompt,
            PromptInput::Text(" The".into()),
            "leading space kept"
        );
        assert_eq!(p.generation.banned_tokens, vec![50256, 13]);
        assert_eq!(
            p.generation.logit_bias,
            BTreeMap::from([(318, 2.5), (50256, -100.0)])
        );
        assert_eq!(spec.seed, 7);
        assert_eq!(
            FormDraft::from_spec(&spec).unwrap().to_spec().unwrap(),
            spec
        );
    }
}
