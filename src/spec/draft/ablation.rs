//! Ablation's fields: replaced by what, each of which components, and where.

use super::{FormDraft, KindDraft, counted, number, words};
use crate::experiments::ablation::{AblationKind, AblationTarget, Params};

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub ablation: AblationKind,
    pub unit: Unit,
    /// The neurons' layer and list (empty: all), when the unit is neurons.
    pub neuron_layer: String,
    pub neurons: String,
    /// The position (empty: all).
    pub position: String,
}

/// What is knocked out, one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Heads,
    Mlp,
    Neurons,
}

impl Unit {
    pub const ALL: [Self; 3] = [Self::Heads, Self::Mlp, Self::Neurons];

    /// Its value in the form's choice.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Heads => "heads",
            Self::Mlp => "mlp",
            Self::Neurons => "neurons",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.as_str() == name)
    }
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            ablation: AblationKind::Zero,
            unit: Unit::Heads,
            neuron_layer: "0".into(),
            neurons: String::new(),
            position: String::new(),
        }
    }
}

impl KindDraft for Draft {
    type Params = Params;

    fn from_params(params: &Params, form: &mut FormDraft) -> Option<Self> {
        form.kept.max_rows = params.max_rows;
        let mut draft = Self {
            ablation: params.ablation,
            position: params.position.map(|p| p.to_string()).unwrap_or_default(),
            ..Self::default()
        };
        match &params.target {
            AblationTarget::Heads => draft.unit = Unit::Heads,
            AblationTarget::Mlp => draft.unit = Unit::Mlp,
            AblationTarget::Neurons { layer, neurons } => {
                draft.unit = Unit::Neurons;
                draft.neuron_layer = layer.to_string();
                draft.neurons = neurons
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(" ");
            }
        }
        Some(draft)
    }

    fn to_params(&self, form: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        let target = match self.unit {
            Unit::Heads => AblationTarget::Heads,
            Unit::Mlp => AblationTarget::Mlp,
            Unit::Neurons => {
                let layer = counted(&self.neuron_layer, "neuron layer", problems)?;
                let neurons = words(&self.neurons)
                    .map(|w| number(w, "neurons"))
                    .collect::<Result<Vec<usize>, String>>()
                    .map_err(|e| problems.push(e))
                    .ok()?;
                AblationTarget::Neurons { layer, neurons }
            }
        };
        let position = match self.position.trim() {
            "" => None,
            p => Some(counted(p, "position", problems)?),
        };
        Some(Params {
            ablation: self.ablation,
            target,
            position,
            max_rows: form.kept.max_rows,
        })
    }
}
