//! The circuit's fields: the heads kept.

use super::{FormDraft, KindDraft, heads, write_heads};
use crate::experiments::circuit::Params;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Draft {
    /// As TransformerLens writes heads: `9.9 10.7`.
    pub keep: String,
}

impl KindDraft for Draft {
    type Params = Params;

    fn from_params(params: &Params, _: &mut FormDraft) -> Option<Self> {
        let keep: Vec<(usize, usize)> = params.keep.iter().map(|[l, h]| (*l, *h)).collect();
        Some(Self {
            keep: write_heads(&keep),
        })
    }

    fn to_params(&self, _: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        match heads(&self.keep, "heads kept") {
            Ok(keep) if keep.is_empty() => {
                problems.push("heads kept: name at least one".into());
                None
            }
            Ok(keep) => Some(Params {
                keep: keep.into_iter().map(|(l, h)| [l, h]).collect(),
            }),
            Err(e) => {
                problems.push(e);
                None
            }
        }
    }
}
