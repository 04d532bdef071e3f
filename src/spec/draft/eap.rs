//! Edge attribution patching's fields: how many edges to show, and how the scores are taken.

use super::attribution::Methods;
use super::{FormDraft, KindDraft, counted};
use crate::experiments::AttributionMethod;
use crate::experiments::eap::Params;

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub top: String,
    pub methods: Methods,
}

impl Default for Draft {
    /// The gradient's scores: a second method is a second backward pass per prompt batch.
    fn default() -> Self {
        Self {
            top: "20".into(),
            methods: Methods {
                methods: vec![AttributionMethod::Gradient],
                ..Methods::default()
            },
        }
    }
}

impl KindDraft for Draft {
    type Params = Params;

    fn from_params(params: &Params, _: &mut FormDraft) -> Option<Self> {
        Some(Self {
            top: params.top.to_string(),
            methods: Methods::new(&params.methods, &params.relp_rules),
        })
    }

    fn to_params(&self, _: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        let top = counted(&self.top, "edges shown", problems);
        let (methods, relp_rules) = self.methods.chosen(problems)?;
        Some(Params {
            top: top?,
            methods,
            relp_rules,
        })
    }
}
