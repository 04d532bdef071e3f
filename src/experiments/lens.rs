//! Logit lens on the clean run's last position: accumulated residual (raw and with both
//! LayerNorm conventions), `decompose_resid`, per-head results and direct logit attribution,
//! each projected on the logit-difference direction `W_U[:, correct] − W_U[:, incorrect]`.
//!
//! The two LayerNorm conventions, as TransformerLens has them:
//! - **recomputed** (TL 3.x `accumulated_resid(apply_ln=True)`, a true logit lens): `ln_final`
//!   applied to each component with its own mean and variance, weight and bias included;
//! - **cached** (TL's `apply_ln_to_stack`, the classic IOI demo): each component centred and
//!   divided by the real final residual's cached `ln_final.hook_scale`; no weight, no bias.
//!   `decompose_resid` and per-head results use this one.

use super::grid::Grid;
use super::kind::{About, ExperimentKind};
use super::metric::{AnswerPair, Metric, last_position};
use super::readback::read;
use super::{
    ExperimentError, GridKind, GridName, LensGrid, LensStackName, MetricName, Needs, Output,
    Progress, PromptSet,
};
use crate::hooks::{ActivationCache, BlockHook, HookPoint, NoHooks};
use crate::model::Gpt2;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// A stack of residual components `[component, prompt, d_model]` and its logit differences.
struct LensStack {
    /// `[component, prompt, d_model]`, labelled.
    pub stack: Grid,
    /// `[component, prompt]`: `<component, W_U[:, correct] − W_U[:, incorrect]>`.
    pub logit_diff_per_prompt: Grid,
    /// `[component]`: mean over prompts.
    pub logit_diff: Grid,
}

/// Every lens view of one batch.
struct LensResult {
    /// `[prompt, d_model]`.
    pub logit_diff_directions: Grid,
    pub accumulated_resid_raw: LensStack,
    pub accumulated_resid_ln_recomputed: LensStack,
    pub accumulated_resid_ln_cached: LensStack,
    pub decompose_resid: LensStack,
    /// Per-head output `z_h · W_O[h]` (no `b_O`), cached LN: components `L{l}H{h}`.
    pub head_results: LensStack,
    /// `[layer, head, prompt]` and `[layer, head]`: direct logit attribution of each head.
    pub head_dla_per_prompt: Grid,
    pub head_dla: Grid,
    /// The clean metric (logit difference).
    pub clean: f32,
}

struct Lens<'a> {
    model: &'a Gpt2,
    cache: &'a ActivationCache,
    /// `[prompt, d_model]`
    directions: Tensor<2>,
    /// Cached `ln_final.hook_scale` at the last position: `[prompt, 1]`.
    final_scale: Tensor<2>,
}

impl Lens<'_> {
    fn last(&self, point: HookPoint) -> Result<Tensor<2>, ExperimentError> {
        self.cache
            .get::<3>(point)
            .map(last_position)
            .ok_or(ExperimentError::MissingActivation(point))
    }

    fn ln_cached(&self, x: Tensor<2>) -> Tensor<2> {
        (x.clone() - x.mean_dim(1)) / self.final_scale.clone()
    }

    fn ln_recomputed(&self, x: Tensor<2>) -> Tensor<2> {
        let [rows, d] = x.dims();
        let out = self.model.ln_f.forward(
            x.reshape([rows, 1, d]),
            [HookPoint::LnFinalScale, HookPoint::LnFinalNormalized],
            &mut NoHooks,
        );
        out.reshape([rows, d])
    }

    async fn project(
        &self,
        components: Vec<Tensor<2>>,
        labels: Vec<String>,
    ) -> Result<LensStack, ExperimentError> {
        let stack: Tensor<3> = Tensor::stack(components, 0); // [component, prompt, d_model]
        let [c, b, d] = stack.dims();
        let per_prompt = (stack.clone() * self.directions.clone().unsqueeze::<3>())
            .sum_dim(2)
            .reshape([c, b]);
        let device_err = ExperimentError::Device;
        let stack_values = read(stack).await.map_err(device_err)?;
        let per_prompt = read(per_prompt).await.map_err(device_err)?;
        let per_prompt =
            Grid::new(&["component", "prompt"], vec![c, b], per_prompt).with_labels(labels.clone());
        Ok(LensStack {
            stack: Grid::new(
                &["component", "prompt", "d_model"],
                vec![c, b, d],
                stack_values,
            )
            .with_labels(labels),
            logit_diff: per_prompt.mean_last_axis(),
            logit_diff_per_prompt: per_prompt,
        })
    }
}

/// Logit lens, `decompose_resid` and per-head direct logit attribution: the spec's
/// `logit_lens`, which has no parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Params;

impl ExperimentKind for Params {
    const ABOUT: About = About {
        title: "Logit lens and direct logit attribution",
        what: "Reads the residual stream after each layer through the final LayerNorm and the unembedding, as if the model stopped there; and splits the final stream into what each layer and each head wrote (direct logit attribution).",
        read: "The accumulated residual's logit difference by layer shows where the answer appears (in IOI, a jump at 9_mid). Per-head attribution names the heads that write it directly: large positive for the name movers, negative for the negative name movers.",
        paper: "nostalgebraist 2020, interpreting GPT: the logit lens; Elhage et al. 2021, A Mathematical Framework for Transformer Circuits",
        url: "https://www.lesswrong.com/posts/AcKRB8wDpdaN6v6ru/interpreting-gpt-the-logit-lens",
    };
    const NEEDS: Needs = Needs::Clean;

    fn without_parameters() -> Option<Self> {
        Some(Params)
    }
}

/// `lens.logit_diff_directions`; per stack `lens.<stack>` and, but for `head_results`,
/// `lens.<stack>_logit_diff` and `_per_prompt`; `lens.head_dla_logit_diff` and `_per_prompt`;
/// the metric `clean` (always the logit difference, whatever the spec's metric).
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    _params: &Params,
    _progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let lens = logit_lens(model, prompts).await?;
    let mut output = Output::default();
    let name = |grid| GridKind::Lens(grid);
    output.metric(MetricName::Clean, lens.clean);
    output.grid(
        GridName::raw(name(LensGrid::Directions)),
        lens.logit_diff_directions,
    );
    for (stack, result) in [
        (
            LensStackName::AccumulatedResidRaw,
            lens.accumulated_resid_raw,
        ),
        (
            LensStackName::AccumulatedResidLnRecomputed,
            lens.accumulated_resid_ln_recomputed,
        ),
        (
            LensStackName::AccumulatedResidLnCached,
            lens.accumulated_resid_ln_cached,
        ),
        (LensStackName::DecomposeResid, lens.decompose_resid),
        (LensStackName::HeadResults, lens.head_results),
    ] {
        output.grid(GridName::raw(name(LensGrid::Stack(stack))), result.stack);
        if stack != LensStackName::HeadResults {
            let projected = name(LensGrid::StackLogitDiff(stack));
            output.grid(
                GridName::per_prompt(projected),
                result.logit_diff_per_prompt,
            );
            output.grid(GridName::raw(projected), result.logit_diff);
        }
    }
    output.grid(
        GridName::per_prompt(name(LensGrid::HeadDla)),
        lens.head_dla_per_prompt,
    );
    output.grid(GridName::raw(name(LensGrid::HeadDla)), lens.head_dla);
    Ok(output)
}

/// All lens views of the clean prompts, with their logit-difference projections.
async fn logit_lens(model: &Gpt2, prompts: &PromptSet<'_>) -> Result<LensResult, ExperimentError> {
    let answers = prompts.answers();
    let (n_layer, n_head, d_head) = (
        model.config.n_layer,
        model.config.n_head,
        model.config.d_head(),
    );
    let run = prompts
        .clean_run_scored(model, Metric::LogitDiff, |p| {
            matches!(
                p,
                HookPoint::Embed
                    | HookPoint::PosEmbed
                    | HookPoint::LnFinalScale
                    | HookPoint::Block(
                        _,
                        BlockHook::ResidPre
                            | BlockHook::ResidMid
                            | BlockHook::ResidPost
                            | BlockHook::AttnOut
                            | BlockHook::MlpOut
                            | BlockHook::Z
                    )
            )
        })
        .await?;
    let (clean, cache) = (run.metric, run.cache);
    let device = model.device();
    let rows = answers.len();
    let columns = |pick: fn(&AnswerPair) -> u32| {
        let ids: Vec<i32> = answers.iter().map(|a| pick(a) as i32).collect();
        model
            .w_u()
            .select(
                1,
                Tensor::<1, Int>::from_data(TensorData::new(ids, [rows]), &device),
            )
            .transpose() // [prompt, d_model]
    };
    let directions = columns(|a| a.correct) - columns(|a| a.incorrect);
    let final_scale = cache
        .get::<3>(HookPoint::LnFinalScale)
        .map(last_position)
        .ok_or(ExperimentError::MissingActivation(HookPoint::LnFinalScale))?;
    let lens = Lens {
        model,
        cache: &cache,
        directions: directions.clone(),
        final_scale,
    };

    let mut accumulated = vec![];
    let mut labels = vec![];
    for layer in 0..n_layer {
        accumulated.push(lens.last(HookPoint::resid_pre(layer))?);
        accumulated.push(lens.last(HookPoint::resid_mid(layer))?);
        labels.extend([format!("{layer}_pre"), format!("{layer}_mid")]);
    }
    accumulated.push(lens.last(HookPoint::resid_post(n_layer - 1))?);
    labels.push("final_post".into());

    let mut parts = vec![
        lens.last(HookPoint::Embed)?,
        lens.last(HookPoint::PosEmbed)?,
    ];
    let mut part_labels = vec!["embed".to_string(), "pos_embed".to_string()];
    for layer in 0..n_layer {
        parts.push(lens.last(HookPoint::attn_out(layer))?);
        parts.push(lens.last(HookPoint::mlp_out(layer))?);
        part_labels.extend([format!("{layer}_attn_out"), format!("{layer}_mlp_out")]);
    }

    let mut heads = vec![];
    let mut head_labels = vec![];
    for layer in 0..n_layer {
        let z: Tensor<4> = cache
            .get(HookPoint::z(layer))
            .ok_or(ExperimentError::MissingActivation(HookPoint::z(layer)))?;
        let [b, pos, _, _] = z.dims();
        let z_last = z
            .narrow(1, pos - 1, 1)
            .reshape([b, n_head, d_head])
            .swap_dims(0, 1); // [head, prompt, d_head]
        let w_o = model.h[layer].attn.w_o(); // [head, d_head, d_model]
        let per_head = z_last.matmul(w_o); // [head, prompt, d_model]
        for head in 0..n_head {
            heads.push(
                per_head
                    .clone()
                    .narrow(0, head, 1)
                    .reshape([b, model.config.n_embd]),
            );
            head_labels.push(format!("L{layer}H{head}"));
        }
    }

    let raw = lens.project(accumulated.clone(), labels.clone()).await?;
    let recomputed = lens
        .project(
            accumulated
                .iter()
                .cloned()
                .map(|x| lens.ln_recomputed(x))
                .collect(),
            labels.clone(),
        )
        .await?;
    let cached = lens
        .project(
            accumulated.into_iter().map(|x| lens.ln_cached(x)).collect(),
            labels,
        )
        .await?;
    let decompose = lens
        .project(
            parts.into_iter().map(|x| lens.ln_cached(x)).collect(),
            part_labels,
        )
        .await?;
    let head_results = lens
        .project(
            heads.into_iter().map(|x| lens.ln_cached(x)).collect(),
            head_labels,
        )
        .await?;
    let head_dla_per_prompt = Grid::new(
        &["layer", "head", "prompt"],
        vec![n_layer, n_head, rows],
        head_results.logit_diff_per_prompt.values.clone(),
    );
    let directions = read(directions).await.map_err(ExperimentError::Device)?;
    Ok(LensResult {
        logit_diff_directions: Grid::new(
            &["prompt", "d_model"],
            vec![rows, model.config.n_embd],
            directions,
        ),
        accumulated_resid_raw: raw,
        accumulated_resid_ln_recomputed: recomputed,
        accumulated_resid_ln_cached: cached,
        decompose_resid: decompose,
        head_results,
        head_dla: head_dla_per_prompt.mean_last_axis(),
        head_dla_per_prompt,
        clean,
    })
}
