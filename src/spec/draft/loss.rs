//! Per-token loss's fields: the texts.

use super::{FormDraft, KindDraft, exact_lines, text_lines};
use crate::experiments::loss::Params;
use crate::spec::PromptInput;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Draft {
    /// One text per line, as typed (leading spaces kept).
    pub texts: String,
}

impl KindDraft for Draft {
    type Params = Params;

    fn from_params(params: &Params, form: &mut FormDraft) -> Option<Self> {
        form.prepend_bos = params.prepend_bos;
        Some(Self {
            texts: text_lines(&params.texts)?,
        })
    }

    fn to_params(&self, form: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        let texts = exact_lines(&self.texts);
        if texts.is_empty() {
            problems.push("texts: write at least one".into());
            return None;
        }
        Some(Params {
            texts: texts.into_iter().map(PromptInput::Text).collect(),
            prepend_bos: form.prepend_bos,
        })
    }
}
