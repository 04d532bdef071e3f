//! The natural next experiment from a cell of a run's figure, on the run's own prompts and
//! metric: about a head, what it reads (each head's queries, keys and values patched) or which
//! earlier heads reach it (path patching into one of its inputs); about a layer and position,
//! which heads write there (each head's output patched position by position) and which reach
//! the logits directly (path patching to the final residual stream).

use super::{Experiment, Spec};
use crate::experiments::path::{self, Direction, HeadInput, Receivers};
use crate::experiments::{PatchTarget, patching};

/// A next experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Activation patching of every head's queries, keys and values (all positions), about
    /// head `L{layer}H{head}`.
    PatchInputs { layer: usize, head: usize },
    /// Path patching from every earlier head into head `L{layer}H{head}`'s `input`.
    PathInto {
        layer: usize,
        head: usize,
        input: HeadInput,
    },
    /// Activation patching of every head's output, position by position (which heads write
    /// where a residual-stream cell restores the answer).
    HeadsByPosition,
    /// Path patching of every head's direct path to the logits.
    PathToLogits,
}

impl NextStep {
    /// The button's words.
    pub fn label(self) -> String {
        match self {
            Self::PatchInputs { layer, head } => {
                format!("Patch what L{layer}H{head} reads (queries, keys, values)")
            }
            Self::PathInto { layer, head, input } => {
                format!(
                    "Path-patch the earlier heads into L{layer}H{head}'s {}",
                    input_name(input)
                )
            }
            Self::HeadsByPosition => "Patch each head's output, position by position".into(),
            Self::PathToLogits => "Path-patch each head's direct path to the logits".into(),
        }
    }

    /// The steps about a head.
    pub fn about_head(layer: usize, head: usize) -> [Self; 4] {
        [
            Self::PatchInputs { layer, head },
            Self::PathInto {
                layer,
                head,
                input: HeadInput::Q,
            },
            Self::PathInto {
                layer,
                head,
                input: HeadInput::K,
            },
            Self::PathInto {
                layer,
                head,
                input: HeadInput::V,
            },
        ]
    }

    /// The steps about a layer and position.
    pub const ABOUT_POSITION: [Self; 2] = [Self::HeadsByPosition, Self::PathToLogits];

    /// The id of its button on the page.
    pub fn id(self) -> String {
        match self {
            Self::PatchInputs { .. } => "next-patch-inputs".into(),
            Self::PathInto { input, .. } => format!("next-path-{}", input.as_str()),
            Self::HeadsByPosition => "next-heads-by-position".into(),
            Self::PathToLogits => "next-path-logits".into(),
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

fn activation_patching(targets: Vec<PatchTarget>) -> Experiment {
    Experiment::ActivationPatching(patching::Params {
        targets,
        max_rows: patching::default_max_rows(),
        features: None,
    })
}

fn path_patching(receivers: Receivers) -> Experiment {
    Experiment::PathPatching(path::Params {
        direction: Direction::Noising,
        receivers,
        max_rows: patching::default_max_rows(),
    })
}

impl Spec {
    /// `step` on this spec's prompts, model and metric; `None` where there are no corrupted
    /// prompts to patch from or, for paths into a head, no earlier layer to start from.
    pub fn next(&self, step: NextStep) -> Option<Spec> {
        if self.prompts.as_ref()?.corrupted.is_empty() {
            return None;
        }
        let (title, experiment) = match step {
            NextStep::PatchInputs { layer, head } => (
                format!("What L{layer}H{head} reads: each head's queries, keys and values patched"),
                activation_patching(vec![
                    PatchTarget::AttnHeadQAllPos,
                    PatchTarget::AttnHeadKAllPos,
                    PatchTarget::AttnHeadVAllPos,
                ]),
            ),
            NextStep::PathInto { layer: 0, .. } => return None,
            NextStep::PathInto { layer, head, input } => (
                format!(
                    "Which heads reach L{layer}H{head}'s {}: path patching",
                    input_name(input)
                ),
                path_patching(Receivers::Heads {
                    heads: vec![(layer, head)],
                    input,
                }),
            ),
            NextStep::HeadsByPosition => (
                "Which heads write where: each head's output patched, position by position".into(),
                activation_patching(vec![PatchTarget::AttnHeadOutByPos]),
            ),
            NextStep::PathToLogits => (
                "Which heads reach the logits directly: path patching".into(),
                path_patching(Receivers::FinalResid),
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
            .next(NextStep::PathInto {
                layer: 9,
                head: 9,
                input: HeadInput::K,
            })
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
        let inputs = spec
            .next(NextStep::PatchInputs { layer: 3, head: 0 })
            .unwrap();
        let Experiment::ActivationPatching(params) = &inputs.experiment else {
            panic!("{inputs:?}");
        };
        assert_eq!(params.targets.len(), 3);
        let logits = spec.next(NextStep::PathToLogits).unwrap();
        assert!(
            matches!(&logits.experiment, Experiment::PathPatching(p) if p.receivers == Receivers::FinalResid)
        );
        let heads = spec.next(NextStep::HeadsByPosition).unwrap();
        assert!(
            matches!(&heads.experiment, Experiment::ActivationPatching(p) if p.targets == [PatchTarget::AttnHeadOutByPos])
        );
    }

    #[test]
    fn no_next_experiment_without_prompts_to_patch_or_an_earlier_layer() {
        let into_layer_0 = NextStep::PathInto {
            layer: 0,
            head: 2,
            input: HeadInput::Q,
        };
        assert_eq!(ioi().next(into_layer_0), None);
        let lens =
            Spec::from_json(examples::find("quick-brown-fox-sampling").unwrap().json).unwrap();
        for step in NextStep::ABOUT_POSITION {
            assert_eq!(lens.next(step), None);
        }
    }
}
