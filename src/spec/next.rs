//! The natural next experiment about one head of a run: what it reads (each head's queries,
//! keys and values patched) or which earlier heads reach it (path patching into one of its
//! inputs), on the run's own prompts and metric.

use super::{Experiment, Spec};
use crate::experiments::path::{self, Direction, HeadInput, Receivers};
use crate::experiments::{PatchTarget, patching};

/// A next experiment about a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Activation patching of every head's queries, keys and values (all positions).
    PatchInputs,
    /// Path patching from every earlier head into this head's `input`.
    PathInto(HeadInput),
}

impl NextStep {
    /// The button's words for head `L{layer}H{head}`.
    pub fn label(self, layer: usize, head: usize) -> String {
        match self {
            Self::PatchInputs => {
                format!("Patch what L{layer}H{head} reads (queries, keys, values)")
            }
            Self::PathInto(input) => {
                format!(
                    "Path-patch the earlier heads into L{layer}H{head}'s {}",
                    input_name(input)
                )
            }
        }
    }
}

fn input_name(input: HeadInput) -> &'static str {
    match input {
        HeadInput::Q => "queries",
        HeadInput::K => "keys",
        HeadInput::V => "values",
    }
}

impl Spec {
    /// `step` about head `(layer, head)` on this spec's prompts, model and metric; `None`
    /// where there are no prompts to patch or, for paths, no earlier layer to start from.
    pub fn next_about_head(&self, layer: usize, head: usize, step: NextStep) -> Option<Spec> {
        let prompts = self.prompts.as_ref()?;
        if prompts.corrupted.is_empty() {
            return None;
        }
        let (title, experiment) = match step {
            NextStep::PatchInputs => (
                format!("What L{layer}H{head} reads: each head's queries, keys and values patched"),
                Experiment::ActivationPatching(patching::Params {
                    targets: vec![
                        PatchTarget::AttnHeadQAllPos,
                        PatchTarget::AttnHeadKAllPos,
                        PatchTarget::AttnHeadVAllPos,
                    ],
                    max_rows: patching::default_max_rows(),
                }),
            ),
            NextStep::PathInto(_) if layer == 0 => return None,
            NextStep::PathInto(input) => (
                format!(
                    "Which heads reach L{layer}H{head}'s {}: path patching",
                    input_name(input)
                ),
                Experiment::PathPatching(path::Params {
                    direction: Direction::Noising,
                    receivers: Receivers::Heads {
                        heads: vec![(layer, head)],
                        input,
                    },
                    max_rows: patching::default_max_rows(),
                }),
            ),
        };
        Some(Spec {
            title,
            experiment,
            published: None,
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::examples;

    fn ioi() -> Spec {
        Spec::from_json(examples::find("ioi-activation-patching").unwrap().json).unwrap()
    }

    #[test]
    fn the_next_experiment_keeps_the_prompts_and_metric_and_reads_back() {
        let spec = ioi();
        let next = spec
            .next_about_head(9, 9, NextStep::PathInto(HeadInput::K))
            .unwrap();
        assert_eq!(next.prompts, spec.prompts);
        assert_eq!(next.metric, spec.metric);
        assert_eq!(next.published, None);
        assert_eq!(next.title, "Which heads reach L9H9's keys: path patching");
        // What the form receives is a spec like any other.
        assert_eq!(Spec::from_json(&next.to_json()).unwrap(), next);
        let Experiment::PathPatching(params) = &next.experiment else {
            panic!("{next:?}");
        };
        assert_eq!(
            params.receivers,
            Receivers::Heads {
                heads: vec![(9, 9)],
                input: HeadInput::K
            }
        );
        let inputs = spec.next_about_head(3, 0, NextStep::PatchInputs).unwrap();
        let Experiment::ActivationPatching(params) = &inputs.experiment else {
            panic!("{inputs:?}");
        };
        assert_eq!(params.targets.len(), 3);
    }

    #[test]
    fn no_next_experiment_without_prompts_to_patch_or_an_earlier_layer() {
        assert_eq!(
            ioi().next_about_head(0, 2, NextStep::PathInto(HeadInput::Q)),
            None
        );
        let lens =
            Spec::from_json(examples::find("quick-brown-fox-sampling").unwrap().json).unwrap();
        assert_eq!(lens.next_about_head(1, 1, NextStep::PatchInputs), None);
    }
}
