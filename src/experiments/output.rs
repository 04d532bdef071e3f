//! What every experiment returns: named grids, named scalars and generations. Grid names are a
//! type ([`GridName`]); their JSON form (`patch.resid_pre.normalised`, `ablate.zero_head_z`,
//! `lens.head_dla_logit_diff`...) is the oracle's and is written and read only here.

use super::Grid;
use super::ablation::{AblationKind, AblationTarget};
use super::generation::Generation;
use super::neurons::NeuronGrid;
use super::patching::PatchTarget;
use super::path::{HeadInput, PathGrid};
use super::relp::AttributionMethod;
use super::repetition::RepetitionGrid;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// One experiment's results.
#[derive(Debug, Default)]
pub struct Output {
    pub grids: Vec<(GridName, Grid)>,
    /// Scalars: `clean`, `corrupted`, `circuit`, `pearson.z`...
    pub metrics: Vec<(MetricName, f32)>,
    /// Continuations by name with their prompt's ids.
    pub generations: Vec<(GenerationName, Vec<u32>, Generation)>,
}

impl Output {
    pub fn grid(&mut self, name: GridName, grid: Grid) {
        self.grids.push((name, grid));
    }

    pub fn metric(&mut self, name: MetricName, value: f32) {
        self.metrics.push((name, value));
    }

    /// Appends `other`'s results (a later value of a metric replaces an earlier one when read
    /// into a map).
    pub fn extend(&mut self, other: Output) {
        self.grids.extend(other.grids);
        self.metrics.extend(other.metrics);
        self.generations.extend(other.generations);
    }
}

/// A scalar result, named as in the oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricName {
    /// The metric on the clean prompts (mean over prompts).
    Clean,
    /// The metric on the corrupted prompts.
    Corrupted,
    /// Path patching's base run: the prompts the senders are patched into.
    Base,
    /// The metric with only a circuit's heads kept.
    Circuit,
    /// The mean per-token loss of texts.
    Loss,
    /// Pearson r between an attribution method's estimate and activation patching:
    /// `pearson.<target>` (the gradient), `pearson_relp.<target>` (RelP).
    Pearson(AttributionMethod, AttributionTarget),
    /// A scalar a kind names itself, in its `ExperimentKind::METRICS`.
    Named(&'static str),
}

impl MetricName {
    /// Every name.
    pub fn all() -> impl Iterator<Item = Self> {
        [
            Self::Clean,
            Self::Corrupted,
            Self::Base,
            Self::Circuit,
            Self::Loss,
        ]
        .into_iter()
        .chain(AttributionMethod::ALL.into_iter().flat_map(|method| {
            AttributionTarget::ALL.map(move |target| Self::Pearson(method, target))
        }))
        .chain(declared_metrics().map(Self::Named))
    }
}

impl fmt::Display for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Clean => f.write_str("clean"),
            Self::Corrupted => f.write_str("corrupted"),
            Self::Base => f.write_str("base"),
            Self::Circuit => f.write_str("circuit"),
            Self::Loss => f.write_str("loss"),
            Self::Pearson(method, target) => {
                write!(f, "{}.{}", method.pearson_prefix(), target.as_str())
            }
            Self::Named(name) => f.write_str(name),
        }
    }
}

/// A continuation, named as the run writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GenerationName {
    /// A generation experiment's one continuation.
    Default,
    /// Steering's continuation without the vector, then with it.
    Unsteered,
    Steered,
}

impl GenerationName {
    pub const ALL: [Self; 3] = [Self::Default, Self::Unsteered, Self::Steered];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Unsteered => "unsteered",
            Self::Steered => "steered",
        }
    }
}

impl fmt::Display for GenerationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A result name this build does not write: `kind` (`metric`, `continuation`) and the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{1}` is not a {0} name of this Patchbay")]
pub struct UnknownName(pub &'static str, pub String);

impl FromStr for MetricName {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::all()
            .find(|name| name.to_string() == text)
            .ok_or_else(|| UnknownName("metric", text.to_string()))
    }
}

impl FromStr for GenerationName {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|name| name.as_str() == text)
            .ok_or_else(|| UnknownName("continuation", text.to_string()))
    }
}

/// Written as their text, ordered as their text (as the maps keyed by them always listed).
macro_rules! named_as_text {
    ($($name:ty),+) => {$(
        impl Ord for $name {
            fn cmp(&self, other: &Self) -> Ordering {
                self.to_string().cmp(&other.to_string())
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )+};
}
named_as_text!(GridName, MetricName, GenerationName);

/// Which view of a result a grid is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// The metric (mean over prompts), or the quantity itself.
    Raw,
    /// `(patched − corrupted) / (clean − corrupted)`.
    Normalised,
    /// One value per prompt: a trailing `prompt` axis.
    PerPrompt,
}

/// The unit an ablation knocks out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AblationUnit {
    /// Each head's `hook_z`.
    HeadZ,
    /// Each layer's `hook_mlp_out`.
    MlpOut,
    /// Neurons of this layer's `mlp.hook_post`.
    MlpPost(usize),
}

impl From<&AblationTarget> for AblationUnit {
    fn from(target: &AblationTarget) -> Self {
        match target {
            AblationTarget::Heads => Self::HeadZ,
            AblationTarget::Mlp => Self::MlpOut,
            AblationTarget::Neurons { layer, .. } => Self::MlpPost(*layer),
        }
    }
}

/// The residual stacks of the logit lens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LensStackName {
    AccumulatedResidRaw,
    AccumulatedResidLnRecomputed,
    AccumulatedResidLnCached,
    DecomposeResid,
    HeadResults,
}

impl LensStackName {
    pub const ALL: [Self; 5] = [
        Self::AccumulatedResidRaw,
        Self::AccumulatedResidLnRecomputed,
        Self::AccumulatedResidLnCached,
        Self::DecomposeResid,
        Self::HeadResults,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::AccumulatedResidRaw => "accumulated_resid_raw",
            Self::AccumulatedResidLnRecomputed => "accumulated_resid_ln_recomputed",
            Self::AccumulatedResidLnCached => "accumulated_resid_ln_cached",
            Self::DecomposeResid => "decompose_resid",
            Self::HeadResults => "head_results",
        }
    }
}

/// A grid of the logit lens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LensGrid {
    /// `W_U[:, correct] − W_U[:, incorrect]` per prompt.
    Directions,
    /// A stack of residual components `[component, prompt, d_model]`.
    Stack(LensStackName),
    /// The stack's components projected on the directions.
    StackLogitDiff(LensStackName),
    /// Direct logit attribution of each head.
    HeadDla,
}

/// What attribution patching estimates, each against an activation-patching target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributionTarget {
    /// Head outputs, all positions: `[layer, head]`.
    Z,
    /// Head outputs by position: `[layer, pos, head]`.
    ZByPos,
    /// The residual stream entering each block: `[layer, pos]`.
    ResidPre,
    /// Attention and MLP outputs: `[layer, pos]`.
    AttnOut,
    MlpOut,
    /// Each head's queries, keys, values and pattern, all positions: `[layer, head]`.
    Q,
    K,
    V,
    Pattern,
}

impl AttributionTarget {
    pub const ALL: [Self; 9] = [
        Self::Z,
        Self::ZByPos,
        Self::ResidPre,
        Self::AttnOut,
        Self::MlpOut,
        Self::Q,
        Self::K,
        Self::V,
        Self::Pattern,
    ];

    /// What an attribution run estimates unless its spec says otherwise (the oracle's three).
    pub const DEFAULT: [Self; 3] = [Self::Z, Self::ZByPos, Self::ResidPre];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Z => "z",
            Self::ZByPos => "z_by_pos",
            Self::ResidPre => "resid_pre",
            Self::AttnOut => "attn_out",
            Self::MlpOut => "mlp_out",
            Self::Q => "q",
            Self::K => "k",
            Self::V => "v",
            Self::Pattern => "pattern",
        }
    }

    /// The activation patching this estimates.
    pub fn patch_target(self) -> PatchTarget {
        match self {
            Self::Z => PatchTarget::AttnHeadOutAllPos,
            Self::ZByPos => PatchTarget::AttnHeadOutByPos,
            Self::ResidPre => PatchTarget::ResidPre,
            Self::AttnOut => PatchTarget::AttnOut,
            Self::MlpOut => PatchTarget::MlpOut,
            Self::Q => PatchTarget::AttnHeadQAllPos,
            Self::K => PatchTarget::AttnHeadKAllPos,
            Self::V => PatchTarget::AttnHeadVAllPos,
            Self::Pattern => PatchTarget::AttnHeadPatternAllPos,
        }
    }
}

/// Which experiment a grid comes from, and of what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GridKind {
    /// Activation patching of a target: `patch.<target>`.
    Patch(PatchTarget),
    /// Ablation: `ablate.<kind>_<unit>`.
    Ablate(AblationKind, AblationUnit),
    /// A circuit's metric: `circuit`.
    Circuit,
    /// `lens.<grid>`.
    Lens(LensGrid),
    /// An attribution method's estimate: `attrib.<target>` (the gradient), `relp.<target>`.
    Attribution(AttributionMethod, AttributionTarget),
    /// The steering direction: `steer.vector`.
    SteeringVector,
    /// Path patching from each sender head: `path.head_to_final_resid`,
    /// `path.head_to_receivers.<q|k|v>`.
    Path(PathGrid),
    /// Edge attribution patching's scores `[upstream, downstream]`: `eap.scores` (the
    /// gradient), `eap.relp_scores` (RelP).
    EdgeScores(AttributionMethod),
    /// Per-token loss of texts: `loss.per_token`.
    Loss,
    /// A repeated sentence's token probabilities: `repeat.<grid>`.
    Repetition(RepetitionGrid),
    /// Direct logit attribution of MLP neurons: `neurons.<grid>`.
    Neurons(NeuronGrid),
    /// A grid a kind names itself, in its `ExperimentKind::GRIDS` (`attn.pattern`).
    Named(&'static str),
}

/// A grid's name: `kind` and `variant`, written as in the oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GridName {
    pub kind: GridKind,
    pub variant: Variant,
}

impl GridName {
    pub fn raw(kind: GridKind) -> Self {
        Self {
            kind,
            variant: Variant::Raw,
        }
    }

    pub fn per_prompt(kind: GridKind) -> Self {
        Self {
            kind,
            variant: Variant::PerPrompt,
        }
    }

    pub fn normalised(kind: GridKind) -> Self {
        Self {
            kind,
            variant: Variant::Normalised,
        }
    }
}

fn ablation_kind(kind: AblationKind) -> &'static str {
    match kind {
        AblationKind::Zero => "zero",
        AblationKind::Mean => "mean",
        AblationKind::Resample => "resample",
    }
}

impl fmt::Display for GridName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Patching's variants are dotted; ablation's and the lens's are `_per_prompt`.
        let (dotted, underscored) = match self.variant {
            Variant::Raw => ("", ""),
            Variant::Normalised => (".normalised", "_normalised"),
            Variant::PerPrompt => (".per_prompt", "_per_prompt"),
        };
        match self.kind {
            GridKind::Patch(target) => write!(f, "patch.{}{dotted}", target.name()),
            GridKind::Ablate(kind, unit) => {
                let unit = match unit {
                    AblationUnit::HeadZ => "head_z".to_string(),
                    AblationUnit::MlpOut => "mlp_out".to_string(),
                    AblationUnit::MlpPost(layer) => format!("mlp_post_{layer}"),
                };
                write!(f, "ablate.{}_{unit}{underscored}", ablation_kind(kind))
            }
            GridKind::Circuit => write!(f, "circuit{dotted}"),
            GridKind::Lens(grid) => {
                let name = match grid {
                    LensGrid::Directions => "logit_diff_directions".to_string(),
                    LensGrid::Stack(stack) => stack.as_str().to_string(),
                    LensGrid::StackLogitDiff(stack) => format!("{}_logit_diff", stack.as_str()),
                    LensGrid::HeadDla => "head_dla_logit_diff".to_string(),
                };
                write!(f, "lens.{name}{underscored}")
            }
            GridKind::Attribution(method, target) => {
                write!(f, "{}.{}{dotted}", method.grid_prefix(), target.as_str())
            }
            GridKind::SteeringVector => write!(f, "steer.vector{dotted}"),
            GridKind::EdgeScores(AttributionMethod::Gradient) => write!(f, "eap.scores{dotted}"),
            GridKind::EdgeScores(AttributionMethod::Relp) => write!(f, "eap.relp_scores{dotted}"),
            GridKind::Loss => write!(f, "loss.per_token{dotted}"),
            GridKind::Repetition(grid) => write!(f, "repeat.{}{dotted}", grid.as_str()),
            GridKind::Neurons(grid) => write!(f, "neurons.{}{dotted}", grid.as_str()),
            GridKind::Named(name) => write!(f, "{name}{dotted}"),
            GridKind::Path(PathGrid::FinalResid) => write!(f, "path.head_to_final_resid{dotted}"),
            GridKind::Path(PathGrid::Receivers(input)) => {
                write!(f, "path.head_to_receivers.{}{dotted}", input.as_str())
            }
        }
    }
}

macro_rules! declared_names {
    ($($name:ident => $kind:ident($module:ident),)+) => {
        /// Every grid name the kinds declare themselves.
        fn declared_grids() -> impl Iterator<Item = &'static str> {
            [$(<super::$module::Params as super::ExperimentKind>::GRIDS,)+]
                .into_iter()
                .flatten()
                .copied()
        }

        /// Every scalar name the kinds declare themselves.
        fn declared_metrics() -> impl Iterator<Item = &'static str> {
            [$(<super::$module::Params as super::ExperimentKind>::METRICS,)+]
                .into_iter()
                .flatten()
                .copied()
        }
    };
}
crate::experiments::for_each_kind!(declared_names);

/// A name this build does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a result name (no grid of this Patchbay is called so)")]
pub struct UnknownGridName(pub String);

impl FromStr for GridName {
    type Err = UnknownGridName;

    /// The inverse of `Display`: every name it writes, nothing else.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let neurons = || {
            let (kind, rest) = text.strip_prefix("ablate.")?.split_once("_mlp_post_")?;
            let kind = [
                AblationKind::Zero,
                AblationKind::Mean,
                AblationKind::Resample,
            ]
            .into_iter()
            .find(|k| ablation_kind(*k) == kind)?;
            let (layer, variant) = match rest.strip_suffix("_per_prompt") {
                Some(layer) => (layer, Variant::PerPrompt),
                None => (rest, Variant::Raw),
            };
            let layer = layer.parse().ok()?;
            let kind = GridKind::Ablate(kind, AblationUnit::MlpPost(layer));
            Some(GridName { kind, variant })
        };
        Self::fixed()
            .find(|name| name.to_string() == text)
            .or_else(neurons)
            // `mlp_post_01` reads as layer 1 but is not how layer 1 is written.
            .filter(|name| name.to_string() == text)
            .ok_or_else(|| UnknownGridName(text.to_string()))
    }
}

impl GridName {
    /// Every name but those of neuron ablations (one per layer).
    fn fixed() -> impl Iterator<Item = GridName> {
        let variants = [Variant::Raw, Variant::Normalised, Variant::PerPrompt];
        let mut kinds: Vec<GridKind> = PatchTarget::ALL.map(GridKind::Patch).to_vec();
        for kind in [
            AblationKind::Zero,
            AblationKind::Mean,
            AblationKind::Resample,
        ] {
            kinds.push(GridKind::Ablate(kind, AblationUnit::HeadZ));
            kinds.push(GridKind::Ablate(kind, AblationUnit::MlpOut));
        }
        kinds.push(GridKind::Circuit);
        kinds.push(GridKind::Lens(LensGrid::Directions));
        kinds.push(GridKind::Lens(LensGrid::HeadDla));
        for stack in LensStackName::ALL {
            kinds.push(GridKind::Lens(LensGrid::Stack(stack)));
            kinds.push(GridKind::Lens(LensGrid::StackLogitDiff(stack)));
        }
        for method in AttributionMethod::ALL {
            kinds
                .extend(AttributionTarget::ALL.map(|target| GridKind::Attribution(method, target)));
        }
        kinds.push(GridKind::SteeringVector);
        kinds.push(GridKind::Path(PathGrid::FinalResid));
        kinds.extend(AttributionMethod::ALL.map(GridKind::EdgeScores));
        kinds.push(GridKind::Loss);
        kinds.extend(RepetitionGrid::ALL.map(GridKind::Repetition));
        kinds.extend(NeuronGrid::ALL.map(GridKind::Neurons));
        kinds.extend(HeadInput::ALL.map(|i| GridKind::Path(PathGrid::Receivers(i))));
        kinds.extend(declared_grids().map(GridKind::Named));
        kinds.into_iter().flat_map(move |kind| {
            variants
                .into_iter()
                .map(move |variant| GridName { kind, variant })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_back_as_itself() {
        let neurons = [0, 11, 47].into_iter().flat_map(|layer| {
            [Variant::Raw, Variant::PerPrompt].map(|variant| GridName {
                kind: GridKind::Ablate(AblationKind::Resample, AblationUnit::MlpPost(layer)),
                variant,
            })
        });
        let names: Vec<GridName> = GridName::fixed().chain(neurons).collect();
        for name in &names {
            assert_eq!(name.to_string().parse::<GridName>().as_ref(), Ok(name));
        }
        let texts: std::collections::BTreeSet<String> =
            names.iter().map(|n| n.to_string()).collect();
        assert_eq!(texts.len(), names.len(), "two names write the same text");
    }

    #[test]
    fn metric_and_continuation_names_read_back_as_themselves() {
        for name in MetricName::all() {
            assert_eq!(name.to_string().parse::<MetricName>(), Ok(name));
        }
        assert_eq!(
            MetricName::Pearson(AttributionMethod::Gradient, AttributionTarget::ZByPos).to_string(),
            "pearson.z_by_pos"
        );
        assert_eq!(
            MetricName::Pearson(AttributionMethod::Relp, AttributionTarget::MlpOut).to_string(),
            "pearson_relp.mlp_out"
        );
        assert!("pearson.nothing".parse::<MetricName>().is_err());
        for name in GenerationName::ALL {
            assert_eq!(name.as_str().parse::<GenerationName>(), Ok(name));
        }
        let json = serde_json::to_string(&GenerationName::Steered).unwrap();
        assert_eq!(json, r#""steered""#);
    }

    #[test]
    fn names_are_the_oracles() {
        let cases = [
            (
                GridName::normalised(GridKind::Patch(PatchTarget::ResidPre)),
                "patch.resid_pre.normalised",
            ),
            (
                GridName::per_prompt(GridKind::Ablate(AblationKind::Zero, AblationUnit::HeadZ)),
                "ablate.zero_head_z_per_prompt",
            ),
            (
                GridName::raw(GridKind::Ablate(
                    AblationKind::Mean,
                    AblationUnit::MlpPost(3),
                )),
                "ablate.mean_mlp_post_3",
            ),
            (
                GridName::per_prompt(GridKind::Circuit),
                "circuit.per_prompt",
            ),
            (
                GridName::per_prompt(GridKind::Lens(LensGrid::StackLogitDiff(
                    LensStackName::DecomposeResid,
                ))),
                "lens.decompose_resid_logit_diff_per_prompt",
            ),
            (
                GridName::raw(GridKind::Attribution(
                    AttributionMethod::Gradient,
                    AttributionTarget::ZByPos,
                )),
                "attrib.z_by_pos",
            ),
            (
                GridName::raw(GridKind::Attribution(
                    AttributionMethod::Relp,
                    AttributionTarget::MlpOut,
                )),
                "relp.mlp_out",
            ),
            (GridName::raw(GridKind::SteeringVector), "steer.vector"),
            (
                GridName::normalised(GridKind::Path(PathGrid::Receivers(HeadInput::K))),
                "path.head_to_receivers.k.normalised",
            ),
        ];
        for (name, text) in cases {
            assert_eq!(name.to_string(), text);
            assert_eq!(text.parse::<GridName>(), Ok(name));
        }
        assert!("patch.nowhere".parse::<GridName>().is_err());
        assert!("ablate.zero_head_z.per_prompt".parse::<GridName>().is_err());
        assert!("ablate.zero_mlp_post_01".parse::<GridName>().is_err());
        assert!("ablate.zero_mlp_post_x".parse::<GridName>().is_err());
    }
}
