//! Path patching, exactly (Wang et al. 2022, "Interpretability in the Wild"; ARENA 1.4.1):
//! how much of a sender head's effect reaches the output, or chosen receiver heads' queries,
//! keys or values, through the residual stream and the MLPs alone.
//!
//! The base run's heads are frozen (`hook_z` held at the base run's values) except the
//! sender's, which takes the source run's; the MLPs are recomputed. To the final residual
//! stream, the metric of that run is the value. To receivers, that run's `hook_{q,k,v}` of the
//! receiver heads are patched into an otherwise plain base run, whose metric is the value.
//! `noising` runs the clean prompts with a corrupted sender, `denoising` the reverse; the
//! metric is always read with the clean answers.
//!
//! Senders of one layer run together, one copy of the batch each, as the patching sweeps do.
//! To the final residual stream, frozen attention mixes no positions after the senders'
//! layer: only the last position is computed from there, through the MLPs alone (the heads'
//! output is the base run's `hook_attn_out`), which is exact and an order of magnitude less
//! work than a forward pass per sender ([`baseline_forward_per_sender`], kept to measure and
//! check it against).

use super::grid::Grid;
use super::kind::{About, ExperimentKind};
use super::metric::AnswerPair;
use super::patching::default_max_rows;
use super::sweep::{RepeatRows, cell_mask, layer_chunks, score_last};
use super::{
    Cell, ExperimentError, GridKind, GridName, Metric, MetricName, Needs, Output, ParamError,
    Progress, PromptSet,
};
use crate::hooks::{
    Activation, ActivationCache, BlockHook, CacheHooks, HookPoint, Hooks, NoHooks, SelectionMask,
};
use crate::model::Gpt2;
use burn::tensor::Tensor;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The spec's `path_patching`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub direction: Direction,
    pub receivers: Receivers,
    /// Rows per forward pass (senders × prompts).
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
}

/// Which run is measured and which one the sender's output comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Clean prompts measured, the sender's output from the corrupted ones (its effect removed).
    Noising,
    /// Corrupted prompts measured, the sender's output from the clean ones (its effect restored).
    Denoising,
}

/// Where the paths end.
#[derive(Debug, Clone, PartialEq)]
pub enum Receivers {
    /// The final residual stream (the logits): `"final_resid"`.
    FinalResid,
    /// One input of these heads: `{"heads": [[layer, head], ...], "input": "q"}`.
    Heads {
        heads: Vec<(usize, usize)>,
        input: HeadInput,
    },
}

/// The input of a receiver head that is patched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadInput {
    Q,
    K,
    V,
}

impl HeadInput {
    pub const ALL: [Self; 3] = [Self::Q, Self::K, Self::V];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Q => "q",
            Self::K => "k",
            Self::V => "v",
        }
    }

    fn hook(self, layer: usize) -> HookPoint {
        let hook = match self {
            Self::Q => BlockHook::Q,
            Self::K => BlockHook::K,
            Self::V => BlockHook::V,
        };
        HookPoint::Block(layer, hook)
    }
}

/// The receivers' JSON: `"final_resid"`, or the heads and their input.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadReceivers {
    heads: Vec<(usize, usize)>,
    input: HeadInput,
}

impl Serialize for Receivers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::FinalResid => s.serialize_str("final_resid"),
            Self::Heads { heads, input } => HeadReceivers {
                heads: heads.clone(),
                input: *input,
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Receivers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(d)?;
        match value {
            serde_json::Value::String(name) if name == "final_resid" => Ok(Self::FinalResid),
            serde_json::Value::Object(_) => serde_json::from_value::<HeadReceivers>(value)
                .map(|r| Self::Heads {
                    heads: r.heads,
                    input: r.input,
                })
                .map_err(D::Error::custom),
            other => Err(D::Error::custom(format!(
                "receivers are \"final_resid\" or {{\"heads\": [[layer, head], ...], \"input\": \"q\" | \"k\" | \"v\"}}, not {other}"
            ))),
        }
    }
}

impl ExperimentKind for Params {
    const ABOUT: About = About {
        title: "Path patching",
        what: "Measures the effect of one head along one route only: the sender's output changes, every other head is frozen, and only what reaches the receivers (a few heads' queries, keys or values, or the logits) is let through.",
        read: "Each cell is a sender head. Strong cells to the name movers' queries are the S-inhibition heads in IOI. Senders at or after the receivers' layer have no path and show the base metric.",
        paper: "Wang et al. 2022, Interpretability in the Wild; Goldowsky-Dill et al. 2023, Localizing Model Behavior with Path Patching",
        url: "https://arxiv.org/abs/2304.05969",
    };
    const NEEDS: Needs = Needs::CleanAndCorrupted;

    fn check(&self) -> Result<(), ParamError> {
        if self.max_rows == 0 {
            return Err(ParamError {
                field: "max_rows".into(),
                message: "must be at least 1".into(),
            });
        }
        if let Receivers::Heads { heads, .. } = &self.receivers
            && heads.is_empty()
        {
            return Err(ParamError {
                field: "receivers.heads".into(),
                message: "give at least one receiver head".into(),
            });
        }
        Ok(())
    }
}

/// Which grid path patching writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathGrid {
    /// `path.head_to_final_resid`.
    FinalResid,
    /// `path.head_to_receivers.<input>`.
    Receivers(HeadInput),
}

impl Receivers {
    fn grid(&self) -> PathGrid {
        match self {
            Self::FinalResid => PathGrid::FinalResid,
            Self::Heads { input, .. } => PathGrid::Receivers(*input),
        }
    }
}

/// `path.<grid>` by `[layer, head]` of the sender (mean metric), `.normalised`
/// (`(value − corrupted) / (clean − corrupted)`) and `.per_prompt`; the metrics `clean`,
/// `corrupted` and `base` (the measured run's).
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    path_patching(model, prompts, params, false, progress).await
}

/// The same results the straightforward way: for each sender a pass through every block from
/// its layer, all positions, attention recomputed with hooks that hold each later head's
/// `hook_z` at the base run's (one sender per pass when `max_rows` is the prompt count). What
/// `ci/bench` measures the batched run against, and the tests check it with.
pub async fn baseline_forward_per_sender(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    path_patching(model, prompts, params, true, progress).await
}

async fn path_patching(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    hooked: bool,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let (n_layer, n_head) = (model.config.n_layer, model.config.n_head);
    if let Receivers::Heads { heads, .. } = &params.receivers
        && let Some((l, h)) = heads.iter().find(|(l, h)| *l >= n_layer || *h >= n_head)
    {
        return Err(ExperimentError::Parameter(format!(
            "receiver head L{l}H{h} does not exist ({n_layer} layers × {n_head} heads)"
        )));
    }
    let keep = |p: HookPoint| {
        matches!(
            p,
            HookPoint::Block(_, BlockHook::Z | BlockHook::ResidPre | BlockHook::AttnOut)
        )
    };
    let clean = prompts.clean_run(model, keep).await?;
    let corrupted = prompts.corrupted_run(model, keep).await?;
    let (base, source) = match params.direction {
        Direction::Noising => (&clean, &corrupted),
        Direction::Denoising => (&corrupted, &clean),
    };
    let paths = Paths {
        model,
        base: &base.cache,
        source: &source.cache,
        base_per_prompt: &base.per_prompt,
        receivers: &params.receivers,
        answers: prompts.answers(),
        metric: prompts.metric,
        max_rows: params.max_rows,
        hooked,
    };
    let senders: Vec<Cell> = (0..n_layer)
        .flat_map(|layer| {
            (0..n_head).map(move |head| Cell {
                layer,
                pos: None,
                head: Some(head),
                neuron: None,
            })
        })
        .collect();
    let kind = GridKind::Path(params.receivers.grid());
    progress.filling(GridName::raw(kind), &["layer", "head"], &[n_layer, n_head]);
    let values = paths.run(&senders, progress).await?;
    let per_prompt = Grid::new(
        &["layer", "head", "prompt"],
        vec![n_layer, n_head, prompts.answers().len()],
        values,
    );
    let raw = per_prompt.mean_last_axis();
    let mut output = Output::default();
    output.grid(
        GridName::normalised(kind),
        raw.normalised(clean.metric, corrupted.metric),
    );
    output.grid(GridName::per_prompt(kind), per_prompt);
    output.grid(GridName::raw(kind), raw);
    output.metric(MetricName::Clean, clean.metric);
    output.metric(MetricName::Corrupted, corrupted.metric);
    output.metric(MetricName::Base, base.metric);
    Ok(output)
}

/// The runs behind every sender.
struct Paths<'a> {
    model: &'a Gpt2,
    /// The measured run's cache (`resid_pre` and `hook_z` of every layer).
    base: &'a ActivationCache,
    /// The run the sender's `hook_z` comes from.
    source: &'a ActivationCache,
    base_per_prompt: &'a [f32],
    receivers: &'a Receivers,
    answers: &'a [AnswerPair],
    metric: Metric,
    max_rows: usize,
    /// Run every sender through the blocks with hooks that freeze the heads (the baseline).
    hooked: bool,
}

impl Paths<'_> {
    /// To the final residual stream: the senders' layer at the last position only, its
    /// attention output the base run's plus the sender's change (`Δz_s · W_O[s]`), then each
    /// later block's MLP after the base run's attention output; the metric.
    ///
    /// # Shapes
    /// - `hook_z`: `[batch, pos, head, d_head]`; `W_O[s]`: `[d_head, d_model]`
    /// - the stream: `[senders · batch, 1, d_model]`
    async fn final_resid_chunk(&self, senders: &[Cell]) -> Result<Vec<f32>, ExperimentError> {
        let layer = senders[0].layer;
        let copies = senders.len();
        let last_of =
            |cache: &ActivationCache, point: HookPoint| -> Result<Tensor<3>, ExperimentError> {
                let x: Tensor<3> = cache
                    .get(point)
                    .ok_or(ExperimentError::MissingActivation(point))?;
                let [_, pos, _] = x.dims();
                Ok(x.narrow(1, pos - 1, 1))
            };
        let z_last = |cache: &ActivationCache| -> Result<Tensor<4>, ExperimentError> {
            let z: Tensor<4> = cache
                .get(HookPoint::z(layer))
                .ok_or(ExperimentError::MissingActivation(HookPoint::z(layer)))?;
            let [_, pos, _, _] = z.dims();
            Ok(z.narrow(1, pos - 1, 1))
        };
        let change = z_last(self.source)? - z_last(self.base)?; // [batch, 1, head, d_head]
        let [batch, _, _, d_head] = change.dims();
        let w_o = self.model.h[layer].attn.w_o(); // [head, d_head, d_model]
        let [_, _, d_model] = w_o.dims();
        let deltas: Vec<Tensor<3>> = senders
            .iter()
            .map(|cell| {
                let head = cell.head.expect("senders are heads");
                let z = change.clone().narrow(2, head, 1).reshape([batch, d_head]);
                let w = w_o.clone().narrow(0, head, 1).reshape([d_head, d_model]);
                z.matmul(w).unsqueeze_dim(1) // [batch, 1, d_model]
            })
            .collect();
        let repeat = |x: Tensor<3>| Tensor::cat(vec![x; copies], 0);
        let attn_out = |l| last_of(self.base, HookPoint::attn_out(l));
        let mut resid = repeat(last_of(self.base, HookPoint::resid_pre(layer))?)
            + repeat(attn_out(layer)?)
            + Tensor::cat(deltas, 0);
        resid = self.model.h[layer].mlp_half(resid, &mut NoHooks);
        for l in layer + 1..self.model.config.n_layer {
            resid = self.model.h[l].mlp_half(resid + repeat(attn_out(l)?), &mut NoHooks);
        }
        score_last(self.model, resid, self.answers, self.metric).await
    }

    /// The metric of every prompt for each sender: `[senders, prompts]`, row-major.
    async fn run(
        &self,
        senders: &[Cell],
        progress: &mut Progress<'_>,
    ) -> Result<Vec<f32>, ExperimentError> {
        let prompts = self.answers.len();
        let mut values = Vec::with_capacity(senders.len() * prompts);
        for chunk in layer_chunks(senders, self.max_rows / prompts) {
            values.extend(self.run_chunk(chunk).await?);
            progress.report(values.len() / prompts, senders.len(), &values, prompts)?;
        }
        Ok(values)
    }

    fn base<const D: usize>(&self, point: HookPoint) -> Result<Tensor<D>, ExperimentError> {
        self.base
            .get(point)
            .ok_or(ExperimentError::MissingActivation(point))
    }

    async fn run_chunk(&self, senders: &[Cell]) -> Result<Vec<f32>, ExperimentError> {
        let layer = senders[0].layer;
        let copies = senders.len();
        let z = HookPoint::Block(layer, BlockHook::Z);
        let source = self
            .source
            .activation(z)
            .ok_or(ExperimentError::MissingActivation(z))?;
        let mut frozen = FrozenHeads {
            layer,
            sender: source.map(&RepeatRows(copies)),
            mask: cell_mask(z, &source.dims(), senders),
            base: self.base,
            copies,
        };
        let resid = Tensor::cat(vec![self.base(HookPoint::resid_pre(layer))?; copies], 0);
        let out = match self.receivers {
            Receivers::FinalResid if !self.hooked => return self.final_resid_chunk(senders).await,
            Receivers::FinalResid => self.model.blocks(layer, resid, &mut frozen),
            Receivers::Heads { heads, input } => {
                let (first, last) = receiver_layers(heads);
                if layer > last {
                    // No path reaches a receiver: the base run, unchanged.
                    return Ok(self.base_per_prompt.repeat(copies));
                }
                let receiver = |p: HookPoint| heads.iter().any(|&(l, _)| p == input.hook(l));
                let mut received = CacheHooks::new(receiver);
                self.model.blocks_between(
                    layer,
                    last + 1,
                    resid,
                    &mut (&mut frozen, &mut received),
                );
                let resid = Tensor::cat(vec![self.base(HookPoint::resid_pre(first))?; copies], 0);
                let mut patched = ReceiverInputs {
                    heads,
                    received: received.cache,
                };
                self.model.blocks(first, resid, &mut patched)
            }
        };
        score_last(self.model, out, self.answers, self.metric).await
    }
}

/// The first and last layer of the receiver heads.
fn receiver_layers(heads: &[(usize, usize)]) -> (usize, usize) {
    let layers = heads.iter().map(|&(l, _)| l);
    (layers.clone().min().unwrap_or(0), layers.max().unwrap_or(0))
}

/// Every head's output held at the base run's, except the senders' (one per copy of the
/// batch), which take the source run's.
struct FrozenHeads<'a> {
    layer: usize,
    sender: Activation,
    mask: SelectionMask,
    base: &'a ActivationCache,
    copies: usize,
}

impl Hooks for FrozenHeads<'_> {
    fn fwd<const D: usize>(&mut self, point: HookPoint, x: Tensor<D>) -> Tensor<D> {
        let HookPoint::Block(layer, BlockHook::Z) = point else {
            return x;
        };
        if layer == self.layer {
            // The other heads of the senders' layer see the base run's input: they are frozen
            // already.
            let sender: Tensor<D> = self.sender.tensor().expect("hook_z has its rank");
            let mask = self.mask.tensor(x.dims(), &x.device());
            x.mask_where(mask, sender)
        } else if layer > self.layer {
            let base: Tensor<D> = self.base.get(point).expect("the base run cached hook_z");
            Tensor::cat(vec![base; self.copies], 0)
        } else {
            x
        }
    }
}

/// The receivers' input replaced by what the frozen run gave them; everything else as computed.
struct ReceiverInputs<'a> {
    heads: &'a [(usize, usize)],
    received: ActivationCache,
}

impl Hooks for ReceiverInputs<'_> {
    fn fwd<const D: usize>(&mut self, point: HookPoint, x: Tensor<D>) -> Tensor<D> {
        let Some(received) = self.received.get::<D>(point) else {
            return x;
        };
        let layer = point.layer().expect("receivers are in blocks");
        let dims = x.dims();
        let head_axis = point.head_axis().expect("q, k and v have a head axis");
        let mut restricted = vec![false; D];
        restricted[head_axis] = true;
        let mut mask = SelectionMask::new(&dims, &restricted);
        let heads: Vec<usize> = self
            .heads
            .iter()
            .filter(|&&(l, _)| l == layer)
            .map(|&(_, h)| h)
            .collect();
        let mut per_axis: Vec<Option<&[usize]>> = vec![None; D];
        per_axis[head_axis] = Some(&heads);
        mask.select(&per_axis);
        let mask = mask.tensor(dims, &x.device());
        x.mask_where(mask, received)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivers_read_and_write_as_the_spec_says() {
        let heads: Receivers =
            serde_json::from_str(r#"{"heads": [[9, 9], [10, 0]], "input": "q"}"#).unwrap();
        assert_eq!(
            heads,
            Receivers::Heads {
                heads: vec![(9, 9), (10, 0)],
                input: HeadInput::Q
            }
        );
        let final_resid: Receivers = serde_json::from_str(r#""final_resid""#).unwrap();
        assert_eq!(final_resid, Receivers::FinalResid);
        for receivers in [heads, final_resid] {
            let json = serde_json::to_string(&receivers).unwrap();
            assert_eq!(serde_json::from_str::<Receivers>(&json).unwrap(), receivers);
        }
        for bad in [
            r#""logits""#,
            r#"{"heads": [[1, 0]], "input": "o"}"#,
            r#"{"heads": [[1, 0]], "input": "q", "extra": 1}"#,
            "3",
        ] {
            assert!(serde_json::from_str::<Receivers>(bad).is_err(), "{bad}");
        }
    }
}
