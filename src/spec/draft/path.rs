//! Path patching's fields: the direction, and the receivers with their input.

use super::{FormDraft, KindDraft, heads, write_heads};
use crate::experiments::path::{Direction, HeadInput, Params, Receivers};

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub direction: Direction,
    /// Heads as `9.9 10.7`; empty: the final residual stream.
    pub receivers: String,
    pub receiver_input: HeadInput,
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            direction: Direction::Noising,
            receivers: String::new(),
            receiver_input: HeadInput::Q,
        }
    }
}

impl KindDraft for Draft {
    type Params = Params;

    fn from_params(params: &Params, form: &mut FormDraft) -> Option<Self> {
        form.kept.max_rows = params.max_rows;
        let mut draft = Self {
            direction: params.direction,
            ..Self::default()
        };
        if let Receivers::Heads { heads, input } = &params.receivers {
            draft.receivers = write_heads(heads);
            draft.receiver_input = *input;
        }
        Some(draft)
    }

    fn to_params(&self, form: &FormDraft, problems: &mut Vec<String>) -> Option<Params> {
        let receivers = match heads(&self.receivers, "receivers") {
            Ok(h) if h.is_empty() => Receivers::FinalResid,
            Ok(heads) => Receivers::Heads {
                heads,
                input: self.receiver_input,
            },
            Err(e) => {
                problems.push(e);
                return None;
            }
        };
        Some(Params {
            direction: self.direction,
            receivers,
            max_rows: form.kept.max_rows,
        })
    }
}
