//! An SAE's features as patching targets, in activation and attribution patching's forms: the
//! id the SAE was loaded under (empty: no features), and the features by id, or the `top` whose
//! activations change most.

use super::counted;
use crate::experiments::feature_patching::FeatureTargets;
use crate::loading::ModelRef;

#[derive(Debug, Clone, PartialEq)]
pub struct FeaturesDraft {
    pub sae: String,
    /// Feature ids, separated by commas or spaces; empty: the `top`.
    pub ids: String,
    pub top: String,
}

impl Default for FeaturesDraft {
    fn default() -> Self {
        Self {
            sae: String::new(),
            ids: String::new(),
            top: crate::experiments::feature_patching::default_top().to_string(),
        }
    }
}

impl FeaturesDraft {
    /// `None` where the form cannot hold them (an SAE pinned to a revision).
    pub fn from_params(targets: Option<&FeatureTargets>) -> Option<Self> {
        let Some(targets) = targets else {
            return Some(Self::default());
        };
        if targets.sae.revision.is_some() {
            return None;
        }
        let ids: Vec<String> = targets.ids.iter().map(u32::to_string).collect();
        Some(Self {
            sae: targets.sae.id.clone(),
            ids: ids.join(", "),
            top: targets.top.to_string(),
        })
    }

    /// `Some(None)` without an SAE, `Some(targets)` with one; `None` after a problem was
    /// pushed.
    pub fn to_params(&self, problems: &mut Vec<String>) -> Option<Option<FeatureTargets>> {
        let sae = self.sae.trim();
        if sae.is_empty() {
            return Some(None);
        }
        let top = counted(&self.top, "SAE features taken", problems);
        let ids: Vec<Option<u32>> = self
            .ids
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|id| !id.is_empty())
            .map(|id| counted(id, "SAE feature ids", problems))
            .collect();
        let (Some(top), Some(ids)) = (top, ids.into_iter().collect::<Option<Vec<u32>>>()) else {
            return None;
        };
        Some(Some(FeatureTargets {
            sae: ModelRef {
                id: sae.to_string(),
                revision: None,
            },
            ids,
            top,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_go_round_the_form() {
        let targets = FeatureTargets {
            sae: ModelRef {
                id: "res-jb-8".into(),
                revision: None,
            },
            ids: vec![7, 12_000],
            top: 8,
        };
        let draft = FeaturesDraft::from_params(Some(&targets)).unwrap();
        assert_eq!(draft.ids, "7, 12000");
        let mut problems = vec![];
        assert_eq!(draft.to_params(&mut problems), Some(Some(targets)));
        let none = FeaturesDraft::default();
        assert_eq!(none.to_params(&mut problems), Some(None));
        let bad = FeaturesDraft {
            sae: "s".into(),
            ids: "3 x".into(),
            top: "8".into(),
        };
        assert_eq!(bad.to_params(&mut problems), None);
        assert_eq!(problems.len(), 1, "{problems:?}");
    }
}
