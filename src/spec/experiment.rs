//! The registry of experiment kinds: the spec's `experiment` field. Adding a kind is a variant
//! here and an arm in [`Experiment::params`] and [`Experiment::run`]; its parameters and code
//! live in its own module of `experiments`.

use crate::experiments::{
    Checked, ExperimentError, Output, Progress, PromptSet, ablation, attribution, circuit, eap,
    generation, lens, loss, neurons, patching, path, repetition, steering,
};
use crate::model::Gpt2;
use serde::{Deserialize, Serialize};

/// The experiment and its parameters: one variant per kind, each holding the parameters its
/// module in `experiments` defines (written `{"activation_patching": {...}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Experiment {
    ActivationPatching(patching::Params),
    Ablation(ablation::Params),
    Circuit(circuit::Params),
    /// No parameters (written `"logit_lens"`).
    LogitLens,
    AttributionPatching(attribution::Params),
    PathPatching(path::Params),
    EdgeAttributionPatching(eap::Params),
    Generation(generation::Params),
    Steering(steering::Params),
    Loss(loss::Params),
    Repetition(repetition::Params),
    NeuronDla(neurons::Params),
}

impl Experiment {
    /// Its name in a spec (`"activation_patching"`): the key its parameters sit under.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ActivationPatching(_) => "activation_patching",
            Self::Ablation(_) => "ablation",
            Self::Circuit(_) => "circuit",
            Self::LogitLens => "logit_lens",
            Self::AttributionPatching(_) => "attribution_patching",
            Self::PathPatching(_) => "path_patching",
            Self::EdgeAttributionPatching(_) => "edge_attribution_patching",
            Self::Generation(_) => "generation",
            Self::Steering(_) => "steering",
            Self::Loss(_) => "loss",
            Self::Repetition(_) => "repetition",
            Self::NeuronDla(_) => "neuron_dla",
        }
    }

    /// The parameters' checks and needs.
    pub fn params(&self) -> &dyn Checked {
        match self {
            Self::ActivationPatching(p) => p,
            Self::Ablation(p) => p,
            Self::Circuit(p) => p,
            Self::LogitLens => &lens::Params,
            Self::AttributionPatching(p) => p,
            Self::PathPatching(p) => p,
            Self::EdgeAttributionPatching(p) => p,
            Self::Generation(p) => p,
            Self::Steering(p) => p,
            Self::Loss(p) => p,
            Self::Repetition(p) => p,
            Self::NeuronDla(p) => p,
        }
    }

    /// Runs the experiment on `prompts`.
    pub async fn run(
        &self,
        model: &Gpt2,
        prompts: &PromptSet<'_>,
        progress: &mut Progress<'_>,
    ) -> Result<Output, ExperimentError> {
        match self {
            Self::ActivationPatching(p) => patching::run(model, prompts, p, progress).await,
            Self::Ablation(p) => ablation::run(model, prompts, p, progress).await,
            Self::Circuit(p) => circuit::run(model, prompts, p, progress).await,
            Self::LogitLens => lens::run(model, prompts, &lens::Params, progress).await,
            Self::AttributionPatching(p) => attribution::run(model, prompts, p, progress).await,
            Self::PathPatching(p) => path::run(model, prompts, p, progress).await,
            Self::EdgeAttributionPatching(p) => eap::run(model, prompts, p, progress).await,
            Self::Generation(p) => generation::run(model, prompts, p, progress).await,
            Self::Steering(p) => steering::run(model, prompts, p, progress).await,
            Self::Loss(p) => loss::run(model, prompts, p, progress).await,
            Self::Repetition(p) => repetition::run(model, prompts, p, progress).await,
            Self::NeuronDla(p) => neurons::run(model, prompts, p, progress).await,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_name_is_the_key_its_parameters_are_written_under() {
        for example in crate::spec::examples::EXAMPLES {
            let spec = crate::spec::Spec::from_json(example.json).unwrap();
            let written = serde_json::to_value(&spec.experiment).unwrap();
            let key = match &written {
                serde_json::Value::String(name) => name.clone(),
                serde_json::Value::Object(map) => map.keys().next().unwrap().clone(),
                other => panic!("{other}"),
            };
            assert_eq!(spec.experiment.name(), key, "{}", example.stem);
        }
    }
}
