//! The repetition experiment's fields: the sentence and how many copies.

use super::{FormDraft, KindDraft, counted, exact, unescape};
use crate::experiments::repetition::Params;

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Kept as typed: its leading space matters.
    pub sentence: String,
    pub repeats: String,
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            sentence: String::new(),
            repeats: "10".into(),
        }
    }
}

impl KindDraft for Draft {
    type Params = Params;

    fn from_params(params: &Params, form: &mut FormDraft) -> Option<Self> {
        form.prepend_bos = params.prepend_bos;
        Some(Self {
            sentence: exact(&params.sentence)?,
            repeats: params.repeats.to_string(),
        })
    }

    fn to_params(&self, form: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        if self.sentence.trim().is_empty() {
            problems.push("sentence: write one".into());
        }
        let repeats = counted(&self.repeats, "repeats", problems)?;
        if self.sentence.trim().is_empty() {
            return None;
        }
        Some(Params {
            sentence: unescape(&self.sentence),
            repeats,
            prepend_bos: form.prepend_bos,
        })
    }

    fn texts(&self) -> Vec<(&'static str, String)> {
        vec![("sentence", self.sentence.clone())]
    }
}
