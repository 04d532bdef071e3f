//! Neuron attribution's fields: how many neurons to list.

use super::{FormDraft, KindDraft, counted};
use crate::experiments::neurons::Params;

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub top: String,
}

impl Default for Draft {
    fn default() -> Self {
        Self { top: "20".into() }
    }
}

impl KindDraft for Draft {
    type Params = Params;

    fn from_params(params: &Params, _: &mut FormDraft) -> Option<Self> {
        Some(Self {
            top: params.top.to_string(),
        })
    }

    fn to_params(&self, _: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        Some(Params {
            top: counted(&self.top, "neurons listed", problems)?,
        })
    }
}
