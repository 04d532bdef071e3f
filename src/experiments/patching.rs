//! Activation patching, TransformerLens semantics: run the corrupted prompts, patch in the
//! clean activation at one index, record the metric. Every target is a preset of [`Sweep`].

use super::feature_patching::{self, FeatureRuns, FeatureTargets};
use super::grid::Grid;
use super::kind::{About, ExperimentKind};
use super::sweep::{Cell, Sweep};
use super::{
    ExperimentError, GridKind, GridName, MetricName, Needs, Output, ParamError, Progress, PromptSet,
};
use crate::hooks::{BlockHook, HookPoint};
use crate::loading::ModelRef;
use crate::model::Gpt2;
use serde::{Deserialize, Serialize};

/// What is patched, and how the grid is indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchTarget {
    /// `hook_resid_pre` by `[layer, pos]`.
    ResidPre,
    ResidMid,
    ResidPost,
    /// `hook_attn_out` by `[layer, pos]`.
    AttnOut,
    /// `hook_mlp_out` by `[layer, pos]`.
    MlpOut,
    /// Head output `hook_z`, all positions, `[layer, head]`.
    AttnHeadOutAllPos,
    /// Head output `hook_z` by `[layer, pos, head]`.
    AttnHeadOutByPos,
    AttnHeadQAllPos,
    AttnHeadQByPos,
    AttnHeadKAllPos,
    AttnHeadKByPos,
    AttnHeadVAllPos,
    AttnHeadVByPos,
    /// `hook_pattern` of a head, every query and key, `[layer, head]`.
    AttnHeadPatternAllPos,
    /// `hook_pattern` of a head at one query position, `[layer, pos, head]`.
    AttnHeadPatternByPos,
}

/// How a patching target indexes its grid: always by layer, then by position and/or head.
#[derive(Clone, Copy)]
struct Preset {
    target: PatchTarget,
    name: &'static str,
    hook: BlockHook,
    by_pos: bool,
    by_head: bool,
}

const fn preset(
    target: PatchTarget,
    name: &'static str,
    hook: BlockHook,
    by_pos: bool,
    by_head: bool,
) -> Preset {
    Preset {
        target,
        name,
        hook,
        by_pos,
        by_head,
    }
}

/// Every preset in one place, as TransformerLens's `patching.py` binds them: the grid's name,
/// the hook patched, whether cells are per position and per head.
const PRESETS: [Preset; 15] = {
    use BlockHook::*;
    use PatchTarget as T;
    [
        preset(T::ResidPre, "resid_pre", ResidPre, true, false),
        preset(T::ResidMid, "resid_mid", ResidMid, true, false),
        preset(T::ResidPost, "resid_post", ResidPost, true, false),
        preset(T::AttnOut, "attn_out", AttnOut, true, false),
        preset(T::MlpOut, "mlp_out", MlpOut, true, false),
        preset(
            T::AttnHeadOutAllPos,
            "attn_head_out_all_pos",
            Z,
            false,
            true,
        ),
        preset(T::AttnHeadOutByPos, "attn_head_out_by_pos", Z, true, true),
        preset(T::AttnHeadQAllPos, "attn_head_q_all_pos", Q, false, true),
        preset(T::AttnHeadQByPos, "attn_head_q_by_pos", Q, true, true),
        preset(T::AttnHeadKAllPos, "attn_head_k_all_pos", K, false, true),
        preset(T::AttnHeadKByPos, "attn_head_k_by_pos", K, true, true),
        preset(T::AttnHeadVAllPos, "attn_head_v_all_pos", V, false, true),
        preset(T::AttnHeadVByPos, "attn_head_v_by_pos", V, true, true),
        preset(
            T::AttnHeadPatternAllPos,
            "attn_head_pattern_all_pos",
            Pattern,
            false,
            true,
        ),
        preset(
            T::AttnHeadPatternByPos,
            "attn_head_pattern_by_pos",
            Pattern,
            true,
            true,
        ),
    ]
};

impl PatchTarget {
    pub const ALL: [PatchTarget; 15] = {
        let mut all = [PatchTarget::ResidPre; 15];
        let mut i = 0;
        while i < PRESETS.len() {
            all[i] = PRESETS[i].target;
            i += 1;
        }
        all
    };

    fn preset(self) -> Preset {
        PRESETS[self as usize]
    }

    /// The grid's name, as in the oracle (`patch.pair.<name>`).
    pub fn name(self) -> &'static str {
        self.preset().name
    }

    /// The hook patched in `layer`.
    pub fn hook(self, layer: usize) -> HookPoint {
        HookPoint::Block(layer, self.preset().hook)
    }

    pub(crate) fn per_head(self) -> bool {
        self.preset().by_head
    }

    pub(crate) fn per_pos(self) -> bool {
        self.preset().by_pos
    }

    /// Axis names of the grid.
    pub fn axes(self) -> Vec<&'static str> {
        let mut axes = vec!["layer"];
        if self.per_pos() {
            axes.push("pos");
        }
        if self.per_head() {
            axes.push("head");
        }
        axes
    }

    /// Every cell, in the grid's row-major order, and the grid's shape.
    pub fn cells(self, n_layer: usize, n_pos: usize, n_head: usize) -> (Vec<Cell>, Vec<usize>) {
        let positions: Vec<Option<usize>> = if self.per_pos() {
            (0..n_pos).map(Some).collect()
        } else {
            vec![None]
        };
        let heads: Vec<Option<usize>> = if self.per_head() {
            (0..n_head).map(Some).collect()
        } else {
            vec![None]
        };
        let mut cells = vec![];
        for layer in 0..n_layer {
            for &pos in &positions {
                for &head in &heads {
                    cells.push(Cell {
                        layer,
                        pos,
                        head,
                        neuron: None,
                    });
                }
            }
        }
        let mut shape = vec![n_layer];
        if self.per_pos() {
            shape.push(n_pos);
        }
        if self.per_head() {
            shape.push(n_head);
        }
        (cells, shape)
    }
}

/// Activation patching of each target (corrupted run, clean activation patched in): the
/// spec's `activation_patching`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<PatchTarget>,
    /// Rows per forward pass (cells × prompts).
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
    /// An SAE's features, each patched at each position, and its error term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<FeatureTargets>,
}

/// Rows per forward pass when a spec does not say: bounds memory on GPT-2 small.
pub fn default_max_rows() -> usize {
    64
}

impl ExperimentKind for Params {
    const SWEEPS_CELLS: bool = true;
    const ABOUT: About = About {
        title: "Activation patching",
        what: "Runs the corrupted prompts and puts back one activation from the clean run at a time (a layer's residual stream at one position, a head's output, ...). Where putting one piece back restores the clean answer, that piece carries the information the corruption removed.",
        read: "Read the normalised grids: 1 means the patch restores the clean metric fully, 0 means it does nothing. In IOI, the residual stream at the second name (S2) matters early and at the last position late: the information moves between layers 7 and 9.",
        paper: "Meng et al. 2022, Locating and Editing Factual Associations in GPT (causal tracing); Heimersheim and Nanda, How to use and interpret activation patching",
        url: "https://arxiv.org/abs/2404.15255",
    };
    const NEEDS: Needs = Needs::CleanAndCorrupted;

    const GRIDS: &'static [&'static str] = feature_patching::PATCH_GRIDS;

    fn check(&self) -> Result<(), ParamError> {
        if (self.targets.is_empty() && self.features.is_none()) || self.max_rows == 0 {
            return Err(ParamError {
                field: "targets".into(),
                message: "give at least one target (or an SAE's features) and a positive max_rows"
                    .into(),
            });
        }
        self.features.as_ref().map_or(Ok(()), FeatureTargets::check)
    }

    fn saes(&self) -> Vec<&ModelRef> {
        self.features.iter().map(|f| &f.sae).collect()
    }
}

/// Per target: `patch.<target>` (mean metric), `.normalised` and `.per_prompt`; with `features`,
/// `sae_patch.*` ([`feature_patching`]); the metrics `clean` and `corrupted`.
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let results = patch_targets(model, prompts, &params.targets, params.max_rows, progress).await?;
    let mut output = Output::default();
    for (&target, result) in params.targets.iter().zip(results) {
        output.extend(result.into_output(target));
    }
    if let Some(targets) = &params.features {
        let path = "experiment.activation_patching.features";
        let runs = FeatureRuns::new(model, prompts, targets, path).await?;
        output.extend(runs.ids());
        output.extend(
            runs.patch(model, prompts, params.max_rows, progress)
                .await?
                .0,
        );
        if params.targets.is_empty() {
            output.metric(MetricName::Clean, runs.clean);
            output.metric(MetricName::Corrupted, runs.corrupted);
        }
    }
    Ok(output)
}

/// A patching grid and the metrics it is read against.
pub(crate) struct PatchingResult {
    /// Mean metric over prompts after patching each cell.
    pub raw: Grid,
    /// The same, one value per prompt (trailing `prompt` axis).
    pub per_prompt: Grid,
    /// Metric of the clean and the corrupted run (mean over prompts).
    pub clean: f32,
    pub corrupted: f32,
}

impl PatchingResult {
    pub(crate) fn into_output(self, target: PatchTarget) -> Output {
        let kind = GridKind::Patch(target);
        let mut output = Output::default();
        output.grid(
            GridName::normalised(kind),
            self.raw.normalised(self.clean, self.corrupted),
        );
        output.grid(GridName::per_prompt(kind), self.per_prompt);
        output.grid(GridName::raw(kind), self.raw);
        output.metric(MetricName::Clean, self.clean);
        output.metric(MetricName::Corrupted, self.corrupted);
        output
    }
}

/// Activation patching of several targets, sharing one clean and one corrupted run.
pub(crate) async fn patch_targets(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    targets: &[PatchTarget],
    max_rows: usize,
    progress: &mut Progress<'_>,
) -> Result<Vec<PatchingResult>, ExperimentError> {
    let clean = prompts
        .clean_run(model, |p| {
            p.layer()
                .is_some_and(|l| targets.iter().any(|t| p == t.hook(l)))
        })
        .await?;
    let corrupted = prompts
        .corrupted_run(model, |p| {
            matches!(p, HookPoint::Block(_, BlockHook::ResidPre))
        })
        .await?;
    let n_pos = prompts.n_pos();
    let mut results = Vec::with_capacity(targets.len());
    for &target in targets {
        let hook = |layer| target.hook(layer);
        let source = |layer| {
            clean
                .cache
                .activation(target.hook(layer))
                .cloned()
                .ok_or(ExperimentError::MissingActivation(target.hook(layer)))
        };
        let sweep = Sweep {
            model,
            base: &corrupted.cache,
            hook: &hook,
            source: &source,
            answers: prompts.answers(),
            metric: prompts.metric,
            max_rows,
        };
        let (cells, shape) = target.cells(model.config.n_layer, n_pos, model.config.n_head);
        let mut axes = target.axes();
        progress.filling(GridName::raw(GridKind::Patch(target)), &axes, &shape);
        let values = sweep.run(&cells, progress).await?;
        axes.push("prompt");
        let mut per_prompt_shape = shape;
        per_prompt_shape.push(prompts.answers().len());
        let per_prompt = Grid::new(&axes, per_prompt_shape, values);
        results.push(PatchingResult {
            raw: per_prompt.mean_last_axis(),
            per_prompt,
            clean: clean.metric,
            corrupted: corrupted.metric,
        });
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_the_enums_order() {
        for (i, preset) in PRESETS.iter().enumerate() {
            assert_eq!(preset.target as usize, i, "{}", preset.name);
            let json = serde_json::to_string(&preset.target).unwrap();
            assert_eq!(json, format!("\"{}\"", preset.name));
        }
    }
}
