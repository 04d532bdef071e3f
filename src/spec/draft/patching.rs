//! Activation patching's fields: which activations to patch.

use super::sae_targets::FeaturesDraft;
use super::{FormDraft, KindDraft};
use crate::experiments::PatchTarget;
use crate::experiments::patching::Params;

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub targets: Vec<PatchTarget>,
    pub features: FeaturesDraft,
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            targets: vec![PatchTarget::ResidPre],
            features: FeaturesDraft::default(),
        }
    }
}

impl Draft {
    /// Adds `target`, or removes it if chosen.
    pub fn toggle(&mut self, target: PatchTarget) {
        toggle(&mut self.targets, target);
    }
}

/// Adds `item` to `list`, or removes it if there.
pub(super) fn toggle<T: PartialEq>(list: &mut Vec<T>, item: T) {
    match list.iter().position(|t| *t == item) {
        Some(i) => {
            list.remove(i);
        }
        None => list.push(item),
    }
}

impl KindDraft for Draft {
    type Params = Params;

    fn from_params(params: &Params, form: &mut FormDraft) -> Option<Self> {
        form.kept.max_rows = params.max_rows;
        Some(Self {
            targets: params.targets.clone(),
            features: FeaturesDraft::from_params(params.features.as_ref())?,
        })
    }

    fn to_params(&self, form: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        let features = self.features.to_params(problems)?;
        if self.targets.is_empty() && features.is_none() {
            problems.push("choose at least one target, or an SAE's features".into());
            return None;
        }
        Some(Params {
            targets: self.targets.clone(),
            max_rows: form.kept.max_rows,
            features,
        })
    }
}
