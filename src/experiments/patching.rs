//! Activation patching, TransformerLens semantics: run the corrupted prompts, patch in the
//! clean activation at one index, record the metric. Every target is a preset of [`Sweep`].

use super::grid::Grid;
use super::metric::{AnswerPair, Metric, last_position};
use super::readback::read;
use super::sweep::{Cell, Sweep};
use super::{ExperimentError, Progress, check_pairs};
use crate::hooks::{ActivationCache, BlockHook, HookPoint};
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

impl PatchTarget {
    pub const ALL: [PatchTarget; 15] = [
        Self::ResidPre,
        Self::ResidMid,
        Self::ResidPost,
        Self::AttnOut,
        Self::MlpOut,
        Self::AttnHeadOutAllPos,
        Self::AttnHeadOutByPos,
        Self::AttnHeadQAllPos,
        Self::AttnHeadQByPos,
        Self::AttnHeadKAllPos,
        Self::AttnHeadKByPos,
        Self::AttnHeadVAllPos,
        Self::AttnHeadVByPos,
        Self::AttnHeadPatternAllPos,
        Self::AttnHeadPatternByPos,
    ];

    /// The grid's name, as in the oracle (`patch.pair.<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Self::ResidPre => "resid_pre",
            Self::ResidMid => "resid_mid",
            Self::ResidPost => "resid_post",
            Self::AttnOut => "attn_out",
            Self::MlpOut => "mlp_out",
            Self::AttnHeadOutAllPos => "attn_head_out_all_pos",
            Self::AttnHeadOutByPos => "attn_head_out_by_pos",
            Self::AttnHeadQAllPos => "attn_head_q_all_pos",
            Self::AttnHeadQByPos => "attn_head_q_by_pos",
            Self::AttnHeadKAllPos => "attn_head_k_all_pos",
            Self::AttnHeadKByPos => "attn_head_k_by_pos",
            Self::AttnHeadVAllPos => "attn_head_v_all_pos",
            Self::AttnHeadVByPos => "attn_head_v_by_pos",
            Self::AttnHeadPatternAllPos => "attn_head_pattern_all_pos",
            Self::AttnHeadPatternByPos => "attn_head_pattern_by_pos",
        }
    }

    /// The hook patched in `layer`.
    pub fn hook(self, layer: usize) -> HookPoint {
        let hook = match self {
            Self::ResidPre => BlockHook::ResidPre,
            Self::ResidMid => BlockHook::ResidMid,
            Self::ResidPost => BlockHook::ResidPost,
            Self::AttnOut => BlockHook::AttnOut,
            Self::MlpOut => BlockHook::MlpOut,
            Self::AttnHeadOutAllPos | Self::AttnHeadOutByPos => BlockHook::Z,
            Self::AttnHeadQAllPos | Self::AttnHeadQByPos => BlockHook::Q,
            Self::AttnHeadKAllPos | Self::AttnHeadKByPos => BlockHook::K,
            Self::AttnHeadVAllPos | Self::AttnHeadVByPos => BlockHook::V,
            Self::AttnHeadPatternAllPos | Self::AttnHeadPatternByPos => BlockHook::Pattern,
        };
        HookPoint::Block(layer, hook)
    }

    fn per_head(self) -> bool {
        !matches!(
            self,
            Self::ResidPre | Self::ResidMid | Self::ResidPost | Self::AttnOut | Self::MlpOut
        )
    }

    fn per_pos(self) -> bool {
        !matches!(
            self,
            Self::AttnHeadOutAllPos
                | Self::AttnHeadQAllPos
                | Self::AttnHeadKAllPos
                | Self::AttnHeadVAllPos
                | Self::AttnHeadPatternAllPos
        )
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

/// A patching grid and the metrics it is read against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchingResult {
    /// Mean metric over prompts after patching each cell.
    pub raw: Grid,
    /// The same, one value per prompt (trailing `prompt` axis).
    pub per_prompt: Grid,
    /// Metric of the clean and the corrupted run (mean over prompts).
    pub clean: f32,
    pub corrupted: f32,
}

impl PatchingResult {
    /// `(patched − corrupted) / (clean − corrupted)`.
    pub fn normalised(&self) -> Grid {
        self.raw.normalised(self.clean, self.corrupted)
    }
}

/// The clean and corrupted batches with their answers (corrupted runs are scored with the
/// clean answers).
#[derive(Debug, Clone, Copy)]
pub struct PromptPairs<'a> {
    pub clean: &'a [Vec<u32>],
    pub corrupted: &'a [Vec<u32>],
    pub answers: &'a [AnswerPair],
}

/// Mean of the metric over rows of a full-sequence logits tensor.
pub(crate) async fn mean_metric(
    metric: Metric,
    logits: burn::tensor::Tensor<3>,
    answers: &[AnswerPair],
) -> Result<(f32, Vec<f32>), ExperimentError> {
    let per_prompt = read(metric.per_row(last_position(logits), answers))
        .await
        .map_err(ExperimentError::Device)?;
    Ok((
        per_prompt.iter().sum::<f32>() / per_prompt.len() as f32,
        per_prompt,
    ))
}

/// Runs `tokens` and caches the hooks `keep` accepts, returning the metric too.
pub(crate) async fn cached_run(
    model: &Gpt2,
    tokens: &[Vec<u32>],
    answers: &[AnswerPair],
    metric: Metric,
    keep: impl Fn(HookPoint) -> bool,
) -> Result<(f32, Vec<f32>, ActivationCache), ExperimentError> {
    let (logits, cache) = model.run_with_cache(model.tokens(tokens)?, keep);
    let (mean, per_prompt) = mean_metric(metric, logits, answers).await?;
    Ok((mean, per_prompt, cache))
}

/// Activation patching of one target over every layer (and position / head).
pub async fn activation_patching(
    model: &Gpt2,
    prompts: PromptPairs<'_>,
    target: PatchTarget,
    metric: Metric,
    max_rows: usize,
    progress: &mut Progress<'_>,
) -> Result<PatchingResult, ExperimentError> {
    let mut results =
        activation_patching_targets(model, prompts, &[target], metric, max_rows, progress).await?;
    Ok(results.remove(0))
}

/// Activation patching of several targets, sharing one clean and one corrupted run.
pub async fn activation_patching_targets(
    model: &Gpt2,
    prompts: PromptPairs<'_>,
    targets: &[PatchTarget],
    metric: Metric,
    max_rows: usize,
    progress: &mut Progress<'_>,
) -> Result<Vec<PatchingResult>, ExperimentError> {
    check_pairs(prompts)?;
    let (clean, _, clean_cache) = cached_run(model, prompts.clean, prompts.answers, metric, |p| {
        p.layer()
            .is_some_and(|l| targets.iter().any(|t| p == t.hook(l)))
    })
    .await?;
    let (corrupted, _, corrupted_cache) =
        cached_run(model, prompts.corrupted, prompts.answers, metric, |p| {
            matches!(p, HookPoint::Block(_, BlockHook::ResidPre))
        })
        .await?;
    let n_pos = prompts.clean[0].len();
    let mut results = Vec::with_capacity(targets.len());
    for &target in targets {
        let hook = |layer| target.hook(layer);
        let source = |layer| {
            clean_cache
                .activation(target.hook(layer))
                .cloned()
                .ok_or(ExperimentError::MissingActivation(target.hook(layer)))
        };
        let sweep = Sweep {
            model,
            base: &corrupted_cache,
            hook: &hook,
            source: &source,
            answers: prompts.answers,
            metric,
            max_rows,
        };
        let (cells, shape) = target.cells(model.config.n_layer, n_pos, model.config.n_head);
        let values = sweep.run(&cells, progress).await?;
        let mut axes = target.axes();
        axes.push("prompt");
        let mut per_prompt_shape = shape;
        per_prompt_shape.push(prompts.answers.len());
        let per_prompt = Grid::new(&axes, per_prompt_shape, values);
        results.push(PatchingResult {
            raw: per_prompt.mean_last_axis(),
            per_prompt,
            clean,
            corrupted,
        });
    }
    Ok(results)
}
