//! Attribution patching's fields: what to estimate, and whether to compare with activation
//! patching.

use super::patching::toggle;
use super::{FormDraft, KindDraft};
use crate::experiments::AttributionTarget;
use crate::experiments::attribution::Params;

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub compare: bool,
    pub targets: Vec<AttributionTarget>,
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            compare: true,
            targets: AttributionTarget::DEFAULT.to_vec(),
        }
    }
}

impl Draft {
    /// Adds `target`, or removes it if chosen.
    pub fn toggle(&mut self, target: AttributionTarget) {
        toggle(&mut self.targets, target);
    }
}

impl KindDraft for Draft {
    type Params = Params;

    fn from_params(params: &Params, form: &mut FormDraft) -> Option<Self> {
        form.kept.max_rows = params.max_rows;
        Some(Self {
            compare: params.compare,
            targets: params.targets.clone(),
        })
    }

    fn to_params(&self, form: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        if self.targets.is_empty() {
            problems.push("choose at least one target".into());
            return None;
        }
        Some(Params {
            compare: self.compare,
            targets: self.targets.clone(),
            max_rows: form.kept.max_rows,
        })
    }
}
