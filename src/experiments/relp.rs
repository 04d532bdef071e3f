//! Relevance patching (RelP; Jafari, Eberle, Khakzar and Nanda 2025): attribution patching whose
//! backward pass follows Layer-wise Relevance Propagation rules instead of the plain gradient.
//! The forward values are unchanged; only how the metric's signal flows back through the
//! LayerNorms, the MLP's non-linearity and (optionally) the attention pattern is.
//!
//! The rules are hooks ([`RelpHooks`]) put in front of whatever else watches the run, so the
//! same attribution and edge code computes either method.

use crate::hooks::{Activation, BlockHook, HookPoint, Hooks};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// How an attribution's coefficient (`∂metric/∂activation` on the corrupted run) is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributionMethod {
    /// The plain gradient: attribution patching (Nanda 2023).
    Gradient,
    /// The gradient with the LRP rules of [`RelpRule`]: relevance patching.
    Relp,
}

impl AttributionMethod {
    pub const ALL: [Self; 2] = [Self::Gradient, Self::Relp];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gradient => "gradient",
            Self::Relp => "relp",
        }
    }

    /// The prefix of its grids: `attrib.<target>`, `relp.<target>`.
    pub fn grid_prefix(self) -> &'static str {
        match self {
            Self::Gradient => "attrib",
            Self::Relp => "relp",
        }
    }

    /// The prefix of its agreement metrics: `pearson.<target>`, `pearson_relp.<target>`.
    pub fn pearson_prefix(self) -> &'static str {
        match self {
            Self::Gradient => "pearson",
            Self::Relp => "pearson_relp",
        }
    }
}

/// One LRP propagation rule for GPT-2's backward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelpRule {
    /// LN-rule: every LayerNorm divides by its scale as by a constant.
    Ln,
    /// Identity-rule: relevance passes the MLP's non-linearity as through the identity, scaled
    /// by the local ratio `act(x) / x`.
    Identity,
    /// AH-rule: the attention pattern is a constant.
    Attention,
}

impl RelpRule {
    pub const ALL: [Self; 3] = [Self::Ln, Self::Identity, Self::Attention];

    /// The rules the paper uses for GPT-2.
    pub const DEFAULT: [Self; 2] = [Self::Ln, Self::Identity];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ln => "ln",
            Self::Identity => "identity",
            Self::Attention => "attention",
        }
    }
}

/// The rules as hooks, to run before any other hook of the pass:
/// - LN-rule: `*.hook_scale` (and `ln_final.hook_scale`) leave as `scale.detach()`, so that
///   `x_centred / scale` differentiates through the centring only;
/// - Identity-rule: `mlp.hook_post` leaves as `s(pre) · (post / s(pre)).detach()`, with
///   `s(x) = x + ((x == 0) + sign(x)) · 1e-6` (the `mlp.hook_pre` it saw just before);
/// - AH-rule: `attn.hook_pattern` leaves as `pattern.detach()`.
#[derive(Debug, Default)]
pub struct RelpHooks {
    ln: bool,
    identity: bool,
    attention: bool,
    /// The current block's `mlp.hook_pre`, until its `mlp.hook_post`.
    pre: Option<Activation>,
}

impl RelpHooks {
    pub fn new(rules: &[RelpRule]) -> Self {
        Self {
            ln: rules.contains(&RelpRule::Ln),
            identity: rules.contains(&RelpRule::Identity),
            attention: rules.contains(&RelpRule::Attention),
            pre: None,
        }
    }
}

impl RelpHooks {
    /// Whether the metric's signal cannot reach `point` under these rules: with the AH-rule,
    /// queries and keys reach the metric only through the detached pattern. Their coefficient
    /// is zero (autodiff reports no gradient at all).
    pub fn cuts_off(&self, point: HookPoint) -> bool {
        self.attention && matches!(point, HookPoint::Block(_, BlockHook::Q | BlockHook::K))
    }
}

impl Hooks for RelpHooks {
    fn fwd<const D: usize>(&mut self, point: HookPoint, x: Tensor<D>) -> Tensor<D> {
        match point {
            HookPoint::LnFinalScale
            | HookPoint::Block(_, BlockHook::Ln1Scale | BlockHook::Ln2Scale)
                if self.ln =>
            {
                x.detach()
            }
            HookPoint::Block(_, BlockHook::Pattern) if self.attention => x.detach(),
            HookPoint::Block(_, BlockHook::MlpPre) if self.identity => {
                self.pre = Some(Activation::new(x.clone()));
                x
            }
            HookPoint::Block(_, BlockHook::MlpPost) if self.identity => {
                let pre = self
                    .pre
                    .take()
                    .and_then(|pre| pre.tensor::<D>())
                    .expect("mlp.hook_pre comes just before mlp.hook_post, at the same rank");
                let stabilized = stabilize(pre);
                stabilized.clone() * (x / stabilized).detach()
            }
            _ => x,
        }
    }
}

/// `x + ((x == 0) + sign(x)) · 1e-6`: `x` moved 1e-6 away from zero (up at zero).
fn stabilize<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let away = x.clone().greater_equal_elem(0.0).float() * 2e-6 - 1e-6;
    x + away
}
