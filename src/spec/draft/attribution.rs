//! Attribution patching's fields: what to estimate, how (the gradient, RelP), and whether to
//! compare with activation patching.

use super::patching::toggle;
use super::sae_targets::FeaturesDraft;
use super::{FormDraft, KindDraft};
use crate::experiments::attribution::Params;
use crate::experiments::{AttributionMethod, AttributionTarget, RelpRule};

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub compare: bool,
    pub targets: Vec<AttributionTarget>,
    pub methods: Methods,
    pub features: FeaturesDraft,
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            compare: true,
            targets: AttributionTarget::DEFAULT.to_vec(),
            methods: Methods::default(),
            features: FeaturesDraft::default(),
        }
    }
}

/// The attribution methods and RelP's rules: attribution and edge attribution patching's.
#[derive(Debug, Clone, PartialEq)]
pub struct Methods {
    pub methods: Vec<AttributionMethod>,
    pub rules: Vec<RelpRule>,
}

impl Default for Methods {
    /// Both methods side by side, RelP with the paper's rules for GPT-2.
    fn default() -> Self {
        Self {
            methods: AttributionMethod::ALL.to_vec(),
            rules: RelpRule::DEFAULT.to_vec(),
        }
    }
}

impl Methods {
    pub fn new(methods: &[AttributionMethod], rules: &[RelpRule]) -> Self {
        Self {
            methods: methods.to_vec(),
            rules: rules.to_vec(),
        }
    }

    pub fn toggle_method(&mut self, method: AttributionMethod) {
        toggle(&mut self.methods, method);
    }

    pub fn toggle_rule(&mut self, rule: RelpRule) {
        toggle(&mut self.rules, rule);
    }

    /// In the order the methods and rules are listed, whatever order they were chosen in.
    pub fn chosen(
        &self,
        problems: &mut Vec<String>,
    ) -> Option<(Vec<AttributionMethod>, Vec<RelpRule>)> {
        let methods: Vec<_> = AttributionMethod::ALL
            .into_iter()
            .filter(|m| self.methods.contains(m))
            .collect();
        if methods.is_empty() {
            problems.push("choose at least one method (gradient or RelP)".into());
            return None;
        }
        let rules = RelpRule::ALL
            .into_iter()
            .filter(|r| self.rules.contains(r))
            .collect();
        Some((methods, rules))
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
            methods: Methods::new(&params.methods, &params.relp_rules),
            features: FeaturesDraft::from_params(params.features.as_ref())?,
        })
    }

    fn to_params(&self, form: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        let features = self.features.to_params(problems)?;
        if self.targets.is_empty() && features.is_none() {
            problems.push("choose at least one target, or an SAE's features".into());
            return None;
        }
        let (methods, relp_rules) = self.methods.chosen(problems)?;
        Some(Params {
            compare: self.compare,
            targets: self.targets.clone(),
            max_rows: form.kept.max_rows,
            methods,
            relp_rules,
            features,
        })
    }
}
