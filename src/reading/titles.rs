//! What a grid is called for people: "Patching each head's output (all positions), share of
//! the effect restored" for `patch.attn_head_out_all_pos.normalised`.

use crate::experiments::path::HeadInput;
use crate::experiments::{
    AblationKind, AblationUnit, AttributionMethod, AttributionTarget, GridKind, GridName, LensGrid,
    LensStackName, PatchTarget, Variant, neurons::NeuronGrid, path::PathGrid,
    repetition::RepetitionGrid,
};

/// The grid's title: what was done, then which view of it (`GridName`'s variant).
pub fn title(name: &GridName) -> String {
    let what = subject(name.kind);
    match (name.kind, name.variant) {
        (GridKind::Patch(_) | GridKind::Path(_), Variant::Raw) => {
            format!("{what}, metric after patching")
        }
        (_, Variant::Raw) => what,
        (_, Variant::Normalised) => format!("{what}, share of the effect restored"),
        (_, Variant::PerPrompt) => format!("{what}, each prompt"),
    }
}

/// Where a patch or an attribution acts, as a phrase: "each head's output (all positions)".
pub fn patch_site(target: PatchTarget) -> &'static str {
    use PatchTarget as T;
    match target {
        T::ResidPre => "the residual stream entering each layer",
        T::ResidMid => "the residual stream between each layer's attention and MLP",
        T::ResidPost => "the residual stream leaving each layer",
        T::AttnOut => "each layer's attention output",
        T::MlpOut => "each layer's MLP output",
        T::AttnHeadOutAllPos => "each head's output (all positions)",
        T::AttnHeadOutByPos => "each head's output (position by position)",
        T::AttnHeadQAllPos => "each head's queries (all positions)",
        T::AttnHeadQByPos => "each head's queries (position by position)",
        T::AttnHeadKAllPos => "each head's keys (all positions)",
        T::AttnHeadKByPos => "each head's keys (position by position)",
        T::AttnHeadVAllPos => "each head's values (all positions)",
        T::AttnHeadVByPos => "each head's values (position by position)",
        T::AttnHeadPatternAllPos => "each head's attention pattern (all positions)",
        T::AttnHeadPatternByPos => "each head's attention pattern (position by position)",
    }
}

fn attribution_site(target: AttributionTarget) -> &'static str {
    patch_site(target.patch_target())
}

fn method(method: AttributionMethod) -> &'static str {
    match method {
        AttributionMethod::Gradient => "Attribution patching",
        AttributionMethod::Relp => "RelP",
    }
}

fn ablation(kind: AblationKind) -> &'static str {
    match kind {
        AblationKind::Zero => "Zero-ablating",
        AblationKind::Mean => "Mean-ablating",
        AblationKind::Resample => "Resample-ablating",
    }
}

fn subject(kind: GridKind) -> String {
    match kind {
        GridKind::Patch(target) => format!("Patching {}", patch_site(target)),
        GridKind::Ablate(kind, unit) => format!(
            "{} {}",
            ablation(kind),
            match unit {
                AblationUnit::HeadZ => "each head".to_string(),
                AblationUnit::MlpOut => "each layer's MLP".to_string(),
                AblationUnit::MlpPost(layer) => format!("each neuron of layer {layer}'s MLP"),
            }
        ),
        GridKind::Circuit => "The circuit's metric".into(),
        GridKind::Lens(grid) => lens(grid).into(),
        GridKind::Attribution(m, target) => {
            format!("{}'s estimate for {}", method(m), attribution_site(target))
        }
        GridKind::SteeringVector => "The steering vector".into(),
        GridKind::Path(PathGrid::FinalResid) => {
            "Path patching: each head's direct path to the logits".into()
        }
        GridKind::Path(PathGrid::Receivers(input)) => format!(
            "Path patching: each head's path to the receivers' {}",
            match input {
                HeadInput::Q => "queries",
                HeadInput::K => "keys",
                HeadInput::V => "values",
            }
        ),
        GridKind::EdgeScores(m) => format!("Edge scores ({})", method(m)),
        GridKind::Loss => "Loss of each token".into(),
        GridKind::Repetition(grid) => match grid {
            RepetitionGrid::TokenProb => "Probability of each token of the repeated text",
            RepetitionGrid::Tp => "Probability of the next token, copy by copy",
            RepetitionGrid::Ip => "Probability of the induced token, copy by copy",
        }
        .into(),
        GridKind::Neurons(grid) => match grid {
            NeuronGrid::Dla => "Direct logit attribution of each MLP neuron",
            NeuronGrid::Top => "The neurons that write the answer most",
        }
        .into(),
        GridKind::Named(name) => named(name).into(),
    }
}

fn lens(grid: LensGrid) -> &'static str {
    use LensStackName as S;
    match grid {
        LensGrid::Directions => "The answer's logit-difference directions",
        LensGrid::Stack(S::AccumulatedResidRaw) => "The residual stream after each layer",
        LensGrid::Stack(S::AccumulatedResidLnRecomputed | S::AccumulatedResidLnCached) => {
            "The residual stream after each layer, through the final LayerNorm"
        }
        LensGrid::Stack(S::DecomposeResid) => "Each component's output",
        LensGrid::Stack(S::HeadResults) => "Each head's output",
        LensGrid::StackLogitDiff(S::AccumulatedResidRaw) => {
            "Logit lens: the logit difference the residual stream reads after each layer (no final LayerNorm)"
        }
        LensGrid::StackLogitDiff(S::AccumulatedResidLnRecomputed) => {
            "Logit lens: the logit difference after each layer (LayerNorm recomputed)"
        }
        LensGrid::StackLogitDiff(S::AccumulatedResidLnCached) => {
            "Logit lens: the logit difference after each layer"
        }
        LensGrid::StackLogitDiff(S::DecomposeResid) => "Direct logit attribution of each component",
        LensGrid::StackLogitDiff(S::HeadResults) | LensGrid::HeadDla => {
            "Direct logit attribution of each head"
        }
    }
}

/// The kinds' own grids (`ExperimentKind::GRIDS`); a name added without a title keeps its name.
fn named(name: &'static str) -> &'static str {
    match name {
        "weat.s" => "Each word's association: mean cosine with A minus with B",
        "hftp.snr_sentence" => "Each neuron's signal-to-noise ratio at the sentence rate",
        "hftp.snr_phrase" => "Each neuron's signal-to-noise ratio at the phrase rate",
        "hftp.tagged" => "Share of neurons tagged at each rate, layer by layer",
        "hftp.tagged_shuffled" => "Share of neurons tagged, words shuffled (the control)",
        "hftp.spectrum" => "Each layer's mean amplitude spectrum",
        "hftp.traces" => "The highest-SNR neurons over the stream",
        "direction.projection" => "Each text on the direction",
        "direction.vector" => "The direction",
        "sae.top_features" => "Each token's most active SAE features",
        "sae.top_activations" => "Each token's most active SAE features, their activations",
        "sae.error_norm" => "The SAE's reconstruction error, token by token",
        "sae.active" => "Active SAE features, token by token",
        "sae.feature" => "The followed feature across the prompt",
        "sae.feature_logits" => {
            "The tokens the followed feature's decoder direction promotes and suppresses"
        }
        "sae_attrib.top_features" => "The SAE features with the largest attribution",
        "sae_attrib.top_values" => "Each listed SAE feature's attribution, summed over positions",
        "sae_attrib.by_pos" => "Each listed SAE feature's attribution, position by position",
        "sae_attrib.error" => "The SAE error term's attribution, position by position",
        "sae_attrib.patched" => {
            "Each listed SAE feature patched from the clean run, share of the effect restored"
        }
        "sae_patch.ids" => "The SAE features patched, in the grids' order",
        "sae_patch.features" => "Patching each SAE feature at each position",
        "sae_patch.error" => "Patching the SAE's error term at each position",
        "sae_patch.attrib" => "Attribution patching of each SAE feature at each position",
        "sae_patch.attrib_error" => "Attribution patching of the SAE's error term at each position",
        "sae_patch.relp" => "RelP of each SAE feature at each position",
        "sae_patch.relp_error" => "RelP of the SAE's error term at each position",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patching_grids_say_what_was_patched_and_which_view() {
        let name = GridName::normalised(GridKind::Patch(PatchTarget::AttnHeadOutAllPos));
        assert_eq!(
            title(&name),
            "Patching each head's output (all positions), share of the effect restored"
        );
        assert_eq!(
            title(&GridName::raw(GridKind::Patch(PatchTarget::ResidPre))),
            "Patching the residual stream entering each layer, metric after patching"
        );
        assert_eq!(
            title(&GridName::per_prompt(GridKind::Ablate(
                AblationKind::Mean,
                AblationUnit::MlpPost(3)
            ))),
            "Mean-ablating each neuron of layer 3's MLP, each prompt"
        );
    }

    macro_rules! declared_grids {
        ($($name:ident => $kind:ident($module:ident),)+) => {
            fn declared_grids() -> Vec<&'static str> {
                [$(<crate::experiments::$module::Params as crate::experiments::ExperimentKind>::GRIDS,)+]
                    .into_iter()
                    .flatten()
                    .copied()
                    .collect()
            }
        };
    }
    crate::experiments::for_each_kind!(declared_grids);

    #[test]
    fn every_grid_a_kind_declares_has_a_title() {
        let grids = declared_grids();
        assert!(grids.contains(&"hftp.traces"));
        for grid in grids {
            assert_ne!(named(grid), grid, "{grid} has no title");
        }
    }
}
