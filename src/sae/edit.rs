//! Feature edits as data: clamp, scale or ablate an SAE's features while the model runs (the
//! spec's `features`), checked before a model is loaded and against the SAE once it is.

use crate::loading::ModelRef;
use serde::{Deserialize, Serialize};

/// The most edits one run carries.
pub const MAX_EDITS: usize = 256;

/// Edits to the features of one SAE, applied at every position of its hook; the SAE's
/// reconstruction error is kept, so the activation changes only by what the edits change in the
/// reconstruction (SAELens's `use_error_term=True`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureEdits {
    /// The SAE, by the id it is loaded under (the CLI: `--model-for ID=DIR`).
    pub sae: ModelRef,
    pub edits: Vec<FeatureEdit>,
}

/// One feature's edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureEdit {
    /// The feature's index, `0..d_sae`.
    pub feature: usize,
    pub action: FeatureAction,
}

/// What happens to a feature's activation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FeatureAction {
    /// Set to `value` wherever the hook is reached (steering by a feature).
    Clamp { value: f32 },
    /// Multiply by `factor`.
    Scale { factor: f32 },
    /// Set to zero.
    Ablate,
}

impl FeatureAction {
    /// The edited activation, as a tensor op on a feature's column.
    pub(super) fn apply(self, acts: burn::tensor::Tensor<2>) -> burn::tensor::Tensor<2> {
        match self {
            Self::Clamp { value } => acts.zeros_like().add_scalar(value),
            Self::Scale { factor } => acts.mul_scalar(factor),
            Self::Ablate => acts.zeros_like(),
        }
    }
}

impl FeatureEdits {
    /// Checks that need no SAE; a problem names its field relative to `features`.
    pub fn check(&self) -> Result<(), (String, String)> {
        if self.edits.is_empty() {
            return Err(("edits".into(), "give at least one feature to edit".into()));
        }
        if self.edits.len() > MAX_EDITS {
            return Err((
                "edits".into(),
                format!("at most {MAX_EDITS} edits, not {}", self.edits.len()),
            ));
        }
        for (i, edit) in self.edits.iter().enumerate() {
            let number = match edit.action {
                FeatureAction::Clamp { value } => Some(("value", value)),
                FeatureAction::Scale { factor } => Some(("factor", factor)),
                FeatureAction::Ablate => None,
            };
            if let Some((name, number)) = number
                && !number.is_finite()
            {
                return Err((
                    format!("edits[{i}].action"),
                    format!("{name} must be a number, not {number}"),
                ));
            }
            if edit.feature >= super::MAX_FEATURES {
                return Err((
                    format!("edits[{i}].feature"),
                    format!(
                        "{} is past the largest SAE Patchbay loads ({} features)",
                        edit.feature,
                        super::MAX_FEATURES
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks the features against the SAE's width.
    pub fn check_against(&self, d_sae: usize) -> Result<(), (String, String)> {
        match self.edits.iter().position(|e| e.feature >= d_sae) {
            Some(i) => Err((
                format!("edits[{i}].feature"),
                format!(
                    "the SAE `{}` has features 0 to {}, not {}",
                    self.sae.id,
                    d_sae - 1,
                    self.edits[i].feature
                ),
            )),
            None => Ok(()),
        }
    }
}
