//! Edge attribution patching (Syed et al. 2023): a first-order estimate, from one clean run,
//! one corrupted run and one backward pass, of what patching each edge of the head/MLP graph
//! with its clean value would do to the metric on the corrupted prompts.
//!
//! An edge runs from a component's output (the embeddings, a head's `z · W_O[h]`, an MLP's
//! output) to a later component's input (a head's query, key or value input, an MLP's input,
//! the final residual stream). Its score is `(clean − corrupted output) · ∂metric/∂input`,
//! summed over prompts and positions, with the gradient taken on the corrupted run through
//! that one input only: for a head's query input, through `ln_1` and that head's `W_Q`.
//!
//! Summed over a head's outgoing edges the scores are attribution patching's `attrib.z` for
//! that head; summed over the edges that cross the residual stream before block `l`, its
//! `attrib.resid_pre` of layer `l` (all positions).
//!
//! Edge RelP takes the gradients with RelP's rules ([`super::relp`]) instead, and the manual
//! step through `ln_1`/`ln_2` from a reader's input back to the residual stream follows the
//! LN-rule when it is on (the scale a constant). The same sums then give `relp.z` and
//! `relp.resid_pre`: the rules change how the signal reaches an input, not that a residual
//! write's coefficient is the sum of its readers'.

use super::attribution::{
    ProbeHooks, check_methods, default_methods, default_rules, is_default_methods,
    is_default_rules, rules_of,
};
use super::grid::Grid;
use super::kind::{About, ExperimentKind};
use super::metric::last_position;
use super::readback::read;
use super::relp::{AttributionMethod, RelpHooks, RelpRule};
use super::{
    ExperimentError, GridKind, GridName, MetricName, Needs, Output, ParamError, Progress, PromptSet,
};
use crate::hooks::{ActivationCache, BlockHook, CacheHooks, HookPoint};
use crate::model::Gpt2;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The spec's `edge_attribution_patching`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// How many edges, by |score|, the figure and the table show.
    #[serde(default = "default_top")]
    pub top: usize,
    /// How the scores' gradients are taken: `gradient` (`eap.scores`), `relp`
    /// (`eap.relp_scores`).
    #[serde(
        default = "default_methods",
        skip_serializing_if = "is_default_methods"
    )]
    pub methods: Vec<AttributionMethod>,
    /// RelP's rules, as attribution patching's.
    #[serde(default = "default_rules", skip_serializing_if = "is_default_rules")]
    pub relp_rules: Vec<RelpRule>,
}

fn default_top() -> usize {
    50
}

impl Params {
    /// The `top` edges of the default rules' gradient scores.
    pub fn new(top: usize) -> Self {
        Self {
            top,
            methods: default_methods(),
            relp_rules: default_rules(),
        }
    }
}

impl ExperimentKind for Params {
    const ABOUT: About = About {
        title: "Edge attribution patching",
        what: "Scores every edge of the model's graph — from the embeddings, each head and each MLP to every later head's query, key and value input, every MLP and the logits — with one backward pass: the attribution-patching estimate of patching that single connection.",
        read: "The strongest edges, drawn as a graph, sketch a circuit in seconds. They are linear estimates: confirm the ones you build on with path patching.",
        paper: "Syed, Rager and Conmy 2023, Attribution Patching Outperforms Automated Circuit Discovery",
        url: "https://arxiv.org/abs/2310.10348",
    };
    const NEEDS: Needs = Needs::CleanAndCorrupted;

    fn check(&self) -> Result<(), ParamError> {
        if self.top == 0 {
            return Err(ParamError {
                field: "top".into(),
                message: "show at least one edge".into(),
            });
        }
        check_methods(&self.methods, &self.relp_rules)
    }
}

/// Where an edge starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// Token and position embeddings.
    Input,
    Head(usize, usize),
    Mlp(usize),
}

/// A head's input that an edge ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qkv {
    Q,
    K,
    V,
}

/// Where an edge ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Downstream {
    Head(usize, usize, Qkv),
    Mlp(usize),
    /// The final residual stream (the logits).
    Logits,
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Input => write!(f, "input"),
            Self::Head(l, h) => write!(f, "L{l}H{h}"),
            Self::Mlp(l) => write!(f, "MLP{l}"),
        }
    }
}

impl fmt::Display for Downstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Head(l, h, qkv) => {
                let input = match qkv {
                    Qkv::Q => "q",
                    Qkv::K => "k",
                    Qkv::V => "v",
                };
                write!(f, "L{l}H{h}.{input}")
            }
            Self::Mlp(l) => write!(f, "MLP{l}"),
            Self::Logits => write!(f, "logits"),
        }
    }
}

impl Upstream {
    /// The block it writes in (the embeddings before block 0).
    pub fn layer(self) -> Option<usize> {
        match self {
            Self::Input => None,
            Self::Head(l, _) | Self::Mlp(l) => Some(l),
        }
    }
}

impl Downstream {
    pub fn layer(self) -> Option<usize> {
        match self {
            Self::Head(l, _, _) | Self::Mlp(l) => Some(l),
            Self::Logits => None,
        }
    }
}

/// The graph's nodes in the order of the score grid's axes: upstream `input`, then per layer
/// its heads and its MLP; downstream per layer the heads' q, then k, then v inputs and the MLP's,
/// then `logits`.
pub fn nodes(n_layer: usize, n_head: usize) -> (Vec<Upstream>, Vec<Downstream>) {
    let mut up = vec![Upstream::Input];
    let mut down = vec![];
    for l in 0..n_layer {
        up.extend((0..n_head).map(|h| Upstream::Head(l, h)));
        up.push(Upstream::Mlp(l));
        for qkv in [Qkv::Q, Qkv::K, Qkv::V] {
            down.extend((0..n_head).map(|h| Downstream::Head(l, h, qkv)));
        }
        down.push(Downstream::Mlp(l));
    }
    down.push(Downstream::Logits);
    (up, down)
}

/// Whether the graph has this edge: the output is written before the input is read (a
/// block's MLP reads what its own heads wrote).
pub fn is_edge(up: Upstream, down: Downstream) -> bool {
    match (up.layer(), down) {
        (None, _) | (_, Downstream::Logits) => true,
        (Some(u), Downstream::Head(d, _, _)) => u < d,
        (Some(u), Downstream::Mlp(d)) => match up {
            Upstream::Head(..) => u <= d,
            _ => u < d,
        },
    }
}

/// One scored edge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    pub up: Upstream,
    pub down: Downstream,
    pub score: f32,
}

/// The `top` edges by |score| of a score grid (`eap.scores`), largest first.
pub fn top_edges(grid: &Grid, n_layer: usize, n_head: usize, top: usize) -> Vec<Edge> {
    let (up, down) = nodes(n_layer, n_head);
    let mut edges = vec![];
    for (i, &u) in up.iter().enumerate() {
        for (j, &d) in down.iter().enumerate() {
            let Some(&score) = grid.values.get(i * down.len() + j) else {
                continue;
            };
            if is_edge(u, d) && score.is_finite() {
                edges.push(Edge {
                    up: u,
                    down: d,
                    score,
                });
            }
        }
    }
    edges.sort_by(|a, b| b.score.abs().total_cmp(&a.score.abs()));
    edges.truncate(top);
    edges
}

/// The model's shape as a score grid of these dimensions implies it: `(n_layer, n_head)`.
pub fn shape_of(grid: &Grid) -> Option<(usize, usize)> {
    let [n_up, n_down] = grid.shape[..] else {
        return None;
    };
    // n_up = 1 + L(H + 1), n_down = L(3H + 1) + 1.
    let (a, b) = (n_up.checked_sub(1)?, n_down.checked_sub(1)?);
    (1..=a).find_map(|l| {
        let h = (a % l == 0).then(|| a / l)?.checked_sub(1)?;
        (h > 0 && l * (3 * h + 1) == b).then_some((l, h))
    })
}

/// Prompts per pass. Every upstream output and downstream gradient of a pass is held at once
/// (`batch · pos · d_model` per node, ~600 nodes for GPT-2 small): eight 15-token prompts are
/// ~170 MB of them, 64 at once would be 1.4 GB.
pub const PROMPTS_PER_PASS: usize = 8;

/// `eap.scores` (the gradient) and `eap.relp_scores` (RelP), as the methods say,
/// `[upstream, downstream]` (NaN where the graph has no edge); the metrics `clean` and
/// `corrupted`. Prompts run [`PROMPTS_PER_PASS`] at a time; the scores add up.
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let (n_layer, n_head) = (model.config.n_layer, model.config.n_head);
    let (up, down) = nodes(n_layer, n_head);
    let corrupted = prompts.corrupted()?;
    let n = prompts.answers().len();
    let passes = n.div_ceil(PROMPTS_PER_PASS) * params.methods.len();
    let mut output = Output::default();
    let (mut clean_sum, mut corrupted_sum) = (0.0f32, 0.0f32);
    for (m, &method) in params.methods.iter().enumerate() {
        let rules = rules_of(method, &params.relp_rules);
        let mut scores = vec![0.0f32; up.len() * down.len()];
        (clean_sum, corrupted_sum) = (0.0, 0.0);
        let mut start = 0;
        while start < n {
            let end = (start + PROMPTS_PER_PASS).min(n);
            let part = PromptSet::new(
                prompts.clean()[start..end].to_vec(),
                corrupted[start..end].to_vec(),
                prompts.answers()[start..end].to_vec(),
                prompts.metric,
            )?;
            let pass = edge_scores(model, &part, n as f32, rules).await?;
            for (total, value) in scores.iter_mut().zip(pass.scores) {
                *total += value;
            }
            clean_sum += pass.clean_sum;
            corrupted_sum += pass.corrupted_sum;
            start = end;
            let done = m * n.div_ceil(PROMPTS_PER_PASS) + start.div_ceil(PROMPTS_PER_PASS);
            progress.report(done, passes, &[], 1)?;
        }
        for (u, &from) in up.iter().enumerate() {
            for (d, &to) in down.iter().enumerate() {
                if !is_edge(from, to) {
                    scores[u * down.len() + d] = f32::NAN;
                }
            }
        }
        output.grid(
            GridName::raw(GridKind::EdgeScores(method)),
            Grid::new(
                &["upstream", "downstream"],
                vec![up.len(), down.len()],
                scores,
            ),
        );
    }
    output.metric(MetricName::Clean, clean_sum / n as f32);
    output.metric(MetricName::Corrupted, corrupted_sum / n as f32);
    Ok(output)
}

/// One pass's share: its edges' scores (0 where there is no edge) for the metric averaged
/// over `all` prompts, and the sums of its prompts' clean and corrupted metrics.
struct Pass {
    scores: Vec<f32>,
    clean_sum: f32,
    corrupted_sum: f32,
}

async fn edge_scores(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    all: f32,
    rules: &[RelpRule],
) -> Result<Pass, ExperimentError> {
    let (n_layer, n_head) = (model.config.n_layer, model.config.n_head);
    let outputs = |p: HookPoint| {
        matches!(
            p,
            HookPoint::Embed
                | HookPoint::PosEmbed
                | HookPoint::Block(_, BlockHook::Z | BlockHook::MlpOut)
        )
    };
    let clean = prompts.clean_run(model, outputs).await?;
    let corrupted_tokens = prompts.corrupted()?;
    let (batch, n_pos) = (corrupted_tokens.len(), prompts.n_pos());
    let inputs: Vec<HookPoint> = (0..n_layer)
        .flat_map(|l| {
            [
                BlockHook::Q,
                BlockHook::K,
                BlockHook::V,
                BlockHook::Ln2Normalized,
            ]
            .map(|h| HookPoint::Block(l, h))
        })
        .chain([HookPoint::resid_post(n_layer - 1)])
        .collect();
    let mut probes = ProbeHooks::new(
        inputs
            .iter()
            .map(|&p| (p, model.config.hook_shape(p, batch, n_pos))),
        &model.device(),
    );
    let mut seen = CacheHooks::new(|p: HookPoint| {
        outputs(p)
            || matches!(
                p,
                HookPoint::Block(
                    _,
                    BlockHook::Ln1Scale
                        | BlockHook::Ln1Normalized
                        | BlockHook::Ln2Scale
                        | BlockHook::Ln2Normalized
                )
            )
    });
    let mut relp = RelpHooks::new(rules);
    let logits = model.forward_hooked(
        model.tokens(corrupted_tokens)?,
        &mut (&mut relp, (&mut probes, &mut seen)),
    );
    let per_prompt = prompts
        .metric
        .per_row(last_position(logits), prompts.answers());
    let corrupted_metric = read(per_prompt.clone().detach())
        .await
        .map_err(ExperimentError::Device)?;
    let grads = (per_prompt.sum() / all).backward();
    let corrupted = seen.cache;
    let grad = |point: HookPoint| probes.grad_under(point, &grads, &relp);
    let graph = Graph {
        model,
        clean: &clean.cache,
        corrupted: &corrupted,
        ln_rule: rules.contains(&RelpRule::Ln),
    };
    // Differences of every upstream output, one row per node: `[nodes, batch·pos·d_model]`.
    let mut deltas = vec![graph.input_delta()?];
    for l in 0..n_layer {
        deltas.push(graph.output_deltas(l)?);
    }
    // Gradients at every downstream input, one row per node, layer by layer.
    let mut gradients = vec![];
    for l in 0..n_layer {
        gradients.push(graph.input_gradients(l, &grad)?);
    }
    let final_resid: Tensor<4> = grad(HookPoint::resid_post(n_layer - 1))?;
    gradients.push(final_resid.reshape([1, -1]));
    let (up, down) = nodes(n_layer, n_head);
    let mut scores = vec![0.0; up.len() * down.len()];
    let (mut row, mut col) = (0, 0);
    let rows: Vec<usize> = deltas.iter().map(|d| d.dims()[0]).collect();
    let cols: Vec<usize> = gradients.iter().map(|g| g.dims()[0]).collect();
    for (i, delta) in deltas.iter().enumerate() {
        for (j, gradient) in gradients.iter().enumerate() {
            // Upstream group i writes before block i (the input: group 0); downstream group j
            // reads in block j (the logits: group n_layer). Pairs with no edge stay 0.
            if j + 1 >= i {
                let block = delta.clone().matmul(gradient.clone().transpose());
                let values = read(block).await.map_err(ExperimentError::Device)?;
                for r in 0..rows[i] {
                    for c in 0..cols[j] {
                        let (u, d) = (row + r, col + c);
                        if is_edge(up[u], down[d]) {
                            scores[u * down.len() + d] = values[r * cols[j] + c];
                        }
                    }
                }
            }
            col += cols[j];
        }
        col = 0;
        row += rows[i];
    }
    Ok(Pass {
        scores,
        clean_sum: clean.per_prompt.iter().sum(),
        corrupted_sum: corrupted_metric.iter().sum(),
    })
}

/// The model's weights and the two runs' activations, as the edges need them.
struct Graph<'a> {
    model: &'a Gpt2,
    clean: &'a ActivationCache,
    corrupted: &'a ActivationCache,
    /// RelP's LN-rule: the LayerNorms' scale is a constant of the backward pass.
    ln_rule: bool,
}

impl Graph<'_> {
    fn get<const D: usize>(
        cache: &ActivationCache,
        point: HookPoint,
    ) -> Result<Tensor<D>, ExperimentError> {
        cache
            .get::<D>(point)
            .map(Tensor::detach)
            .ok_or(ExperimentError::MissingActivation(point))
    }

    fn delta<const D: usize>(&self, point: HookPoint) -> Result<Tensor<D>, ExperimentError> {
        Ok(Self::get::<D>(self.clean, point)? - Self::get::<D>(self.corrupted, point)?)
    }

    /// The embeddings' difference: `[1, batch·pos·d_model]`.
    fn input_delta(&self) -> Result<Tensor<2>, ExperimentError> {
        let embed: Tensor<3> = self.delta(HookPoint::Embed)?;
        let pos: Tensor<3> = self.delta(HookPoint::PosEmbed)?;
        Ok((embed + pos).reshape([1, -1]))
    }

    /// Block `l`'s heads' (`z · W_O[h]`) and MLP's output differences: `[head + 1, batch·pos·d_model]`.
    ///
    /// # Shapes
    /// - `hook_z`: `[batch, pos, head, d_head]`; `W_O`: `[head, d_head, d_model]`
    fn output_deltas(&self, l: usize) -> Result<Tensor<2>, ExperimentError> {
        let attn = &self.model.h[l].attn;
        let z: Tensor<4> = self.delta(HookPoint::z(l))?;
        let [batch, pos, n_head, d_head] = z.dims();
        let d_model = n_head * d_head;
        let w_o = attn.w_o().reshape([1, n_head, d_head, d_model]);
        // [head, batch·pos, d_head] × [head, d_head, d_model]
        let z = z
            .permute([2, 0, 1, 3])
            .reshape([1, n_head, batch * pos, d_head]);
        let heads = z.matmul(w_o).reshape([n_head, batch * pos * d_model]);
        let mlp: Tensor<3> = self.delta(HookPoint::mlp_out(l))?;
        Ok(Tensor::cat(vec![heads, mlp.reshape([1, -1])], 0))
    }

    /// The gradients at block `l`'s inputs, through one reader each: every head's q, k and v
    /// input (through `ln_1` and that head's slice of `W_Q`/`W_K`/`W_V`), then the MLP's
    /// (through `ln_2`): `[3·head + 1, batch·pos·d_model]`.
    fn input_gradients(
        &self,
        l: usize,
        grad: &dyn Fn(HookPoint) -> Result<Tensor<4>, ExperimentError>,
    ) -> Result<Tensor<2>, ExperimentError> {
        let block = &self.model.h[l];
        let hook = |h| HookPoint::Block(l, h);
        let scale1: Tensor<3> = Self::get(self.corrupted, hook(BlockHook::Ln1Scale))?;
        let normalized1: Tensor<3> = Self::get(self.corrupted, hook(BlockHook::Ln1Normalized))?;
        let [batch, pos, d_model] = normalized1.dims();
        let gamma1 = block.ln_1.w().reshape([1, 1, 1, d_model]);
        let attn = &block.attn;
        let n_head = attn.n_head;
        let d_head = d_model / n_head;
        let mut rows = vec![];
        for (input, w) in [
            (BlockHook::Q, attn.w_q()),
            (BlockHook::K, attn.w_k()),
            (BlockHook::V, attn.w_v()),
        ] {
            let g: Tensor<4> = grad(hook(input))?; // [batch, pos, head, d_head]
            // W_h transposed, [head, d_head, d_model], so that g_h · W_hᵀ is a matmul.
            let w = w.swap_dims(1, 2).reshape([1, n_head, d_head, d_model]);
            let g = g.permute([0, 2, 1, 3]); // [batch, head, pos, d_head]
            let g_normalized = g.matmul(w) * gamma1.clone(); // [batch, head, pos, d_model]
            let g_x = layer_norm_backward(
                g_normalized,
                normalized1.clone().unsqueeze_dim(1),
                scale1.clone().unsqueeze_dim(1),
                self.ln_rule,
            );
            rows.push(
                g_x.permute([1, 0, 2, 3])
                    .reshape([n_head, batch * pos * d_model]),
            );
        }
        let scale2: Tensor<3> = Self::get(self.corrupted, hook(BlockHook::Ln2Scale))?;
        let g2: Tensor<4> = grad(hook(BlockHook::Ln2Normalized))?; // [batch, pos, 1, d_model]
        let normalized2: Tensor<3> = Self::get(self.corrupted, hook(BlockHook::Ln2Normalized))?;
        let g_mlp = layer_norm_backward(
            g2.reshape([batch, 1, pos, d_model]),
            normalized2.unsqueeze_dim(1),
            scale2.unsqueeze_dim(1),
            self.ln_rule,
        );
        rows.push(g_mlp.reshape([1, -1]));
        Ok(Tensor::cat(rows, 0))
    }
}

/// The gradient at a LayerNorm's input from the gradient at its normalized output
/// `x̂ = (x − mean) / scale`: `(g − mean(g) − x̂ · mean(g ⊙ x̂)) / scale`, means over `d_model`;
/// with the LN-rule (`scale` a constant) `(g − mean(g)) / scale`.
///
/// # Shapes
/// - g, normalized: `[batch, n, pos, d_model]`; scale: `[batch, 1, pos, 1]`
fn layer_norm_backward(
    g: Tensor<4>,
    normalized: Tensor<4>,
    scale: Tensor<4>,
    ln_rule: bool,
) -> Tensor<4> {
    let centred = g.clone() - g.clone().mean_dim(3);
    if ln_rule {
        return centred / scale;
    }
    let mean_gx = (g * normalized.clone()).mean_dim(3);
    (centred - normalized * mean_gx) / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_graph_has_an_edge_from_each_output_to_each_later_input() {
        let (up, down) = nodes(2, 3);
        assert_eq!(up.len(), 1 + 2 * 4);
        assert_eq!(down.len(), 2 * 10 + 1);
        assert!(is_edge(Upstream::Head(0, 1), Downstream::Mlp(0)));
        assert!(!is_edge(
            Upstream::Head(0, 1),
            Downstream::Head(0, 2, Qkv::Q)
        ));
        assert!(!is_edge(Upstream::Mlp(0), Downstream::Mlp(0)));
        assert!(is_edge(Upstream::Mlp(0), Downstream::Head(1, 0, Qkv::V)));
        assert!(is_edge(Upstream::Input, Downstream::Head(0, 0, Qkv::K)));
        assert!(is_edge(Upstream::Mlp(1), Downstream::Logits));
        let grid = Grid::new(
            &["upstream", "downstream"],
            vec![up.len(), down.len()],
            vec![0.0; up.len() * down.len()],
        );
        assert_eq!(shape_of(&grid), Some((2, 3)));
        for (l, h) in [(12, 12), (24, 16), (1, 1), (4, 4)] {
            let (up, down) = nodes(l, h);
            let grid = Grid::new(
                &["u", "d"],
                vec![up.len(), down.len()],
                vec![0.0; up.len() * down.len()],
            );
            assert_eq!(shape_of(&grid), Some((l, h)));
        }
        assert_eq!(Downstream::Head(3, 5, Qkv::K).to_string(), "L3H5.k");
        assert_eq!(Upstream::Mlp(2).to_string(), "MLP2");
    }
}
