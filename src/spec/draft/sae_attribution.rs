//! SAE feature attribution's fields: the SAE's id, how many features are listed and patched,
//! and the method.

use super::{FormDraft, KindDraft, counted};
use crate::experiments::AttributionMethod;
use crate::experiments::sae_attribution::Params;
use crate::loading::ModelRef;

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The id the SAE was loaded under.
    pub sae: String,
    pub top: String,
    pub patched: String,
    pub method: AttributionMethod,
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            sae: String::new(),
            top: "20".into(),
            patched: "8".into(),
            method: AttributionMethod::Gradient,
        }
    }
}

impl KindDraft for Draft {
    type Params = Params;

    /// RelP with other rules than the default pair stays in the JSON editor.
    fn from_params(params: &Params, _form: &mut FormDraft) -> Option<Self> {
        let default_rules = crate::experiments::RelpRule::DEFAULT.to_vec();
        if params.sae.revision.is_some() || params.relp_rules != default_rules {
            return None;
        }
        Some(Self {
            sae: params.sae.id.clone(),
            top: params.top.to_string(),
            patched: params.patched.to_string(),
            method: params.method,
        })
    }

    fn to_params(&self, _form: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        let sae = self.sae.trim();
        if sae.is_empty() {
            problems.push("SAE: load one, or write the id it was loaded under".into());
        }
        let top = counted(&self.top, "features listed", problems);
        let patched = counted(&self.patched, "features patched", problems);
        let (top, patched) = (top?, patched?);
        (!sae.is_empty()).then(|| Params {
            sae: ModelRef {
                id: sae.to_string(),
                revision: None,
            },
            top,
            patched,
            method: self.method,
            relp_rules: crate::experiments::RelpRule::DEFAULT.to_vec(),
        })
    }
}
