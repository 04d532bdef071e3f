//! Frequency tagging's fields: the sentences (one per line, one token a word), the rhythm, the
//! threshold and the shuffled control.

use super::{FormDraft, KindDraft, exact_lines, text_lines};
use crate::experiments::frequency::Params;
use crate::spec::PromptInput;

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// One sentence per line, exactly as typed.
    pub sentences: String,
    pub words_per_sentence: String,
    pub words_per_phrase: String,
    pub threshold: String,
    pub shuffled_control: bool,
}

impl Default for Draft {
    /// Sentences of two two-word phrases ([adjective noun] [verb noun]), as An et al. build
    /// theirs, from words GPT-2 reads as one token each.
    fn default() -> Self {
        Self {
            sentences: [
                " big dogs see cats",
                " old men like cars",
                " red birds eat seeds",
                " new kids find toys",
                " hot days make fun",
                " cold girls hold cups",
                " small boys want books",
                " good cats take food",
            ]
            .join("\n"),
            words_per_sentence: "4".into(),
            words_per_phrase: "2".into(),
            threshold: "3".into(),
            shuffled_control: true,
        }
    }
}

impl KindDraft for Draft {
    type Params = Params;

    fn from_params(params: &Params, form: &mut FormDraft) -> Option<Self> {
        form.prepend_bos = params.prepend_bos;
        Some(Self {
            sentences: text_lines(&params.sentences)?,
            words_per_sentence: params.words_per_sentence.to_string(),
            words_per_phrase: params.words_per_phrase.to_string(),
            threshold: params.threshold.to_string(),
            shuffled_control: params.shuffled_control,
        })
    }

    fn to_params(&self, form: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        let before = problems.len();
        let mut number = |text: &str, field: &str| -> Option<f64> {
            text.trim()
                .parse()
                .map_err(|_| problems.push(format!("{field}: `{}` is not a number", text.trim())))
                .ok()
        };
        let words_per_sentence = number(&self.words_per_sentence, "words per sentence");
        let words_per_phrase = number(&self.words_per_phrase, "words per phrase");
        let threshold = number(&self.threshold, "threshold");
        let sentences = exact_lines(&self.sentences);
        if sentences.len() < 4 {
            problems.push("sentences: write at least four, one per line".into());
        }
        let (Some(w), Some(p), Some(threshold)) = (words_per_sentence, words_per_phrase, threshold)
        else {
            return None;
        };
        (problems.len() == before).then(|| Params {
            sentences: sentences.into_iter().map(PromptInput::Text).collect(),
            words_per_sentence: w as usize,
            words_per_phrase: p as usize,
            prepend_bos: form.prepend_bos,
            threshold: threshold as f32,
            shuffled_control: self.shuffled_control,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Experiment, Kind};

    #[test]
    fn frequency_tagging_goes_round_the_form() {
        let mut draft = FormDraft {
            kind: Kind::FrequencyTagging,
            prepend_bos: false,
            ..FormDraft::default()
        };
        draft.fields.frequency_tagging = Draft::default();
        let spec = draft.to_spec().unwrap();
        let Experiment::FrequencyTagging(params) = &spec.experiment else {
            panic!("{spec:?}")
        };
        assert_eq!(params.sentences.len(), 8);
        assert_eq!(
            params.sentences[0],
            PromptInput::Text(" big dogs see cats".into())
        );
        assert_eq!(
            FormDraft::from_spec(&spec).unwrap().to_spec().unwrap(),
            spec
        );
        draft.fields.frequency_tagging.words_per_phrase = "3".into();
        let problems = draft.to_spec().unwrap_err();
        assert!(
            problems[0].contains("two or more phrases of 3 words"),
            "{problems:?}"
        );
    }
}
