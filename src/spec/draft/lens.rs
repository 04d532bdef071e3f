//! The logit lens has no fields.

use super::{FormDraft, KindDraft};
use crate::experiments::lens::Params;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Draft;

impl KindDraft for Draft {
    type Params = Params;

    fn from_params(_: &Params, _: &mut FormDraft) -> Option<Self> {
        Some(Self)
    }

    fn to_params(&self, _: &FormDraft, _: &mut Vec<String>) -> Option<Params> {
        Some(Params)
    }
}
