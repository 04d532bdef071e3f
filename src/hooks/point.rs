//! Hook points, named exactly as TransformerLens names them for GPT-2.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A hook inside one transformer block (`blocks.{l}.<suffix>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlockHook {
    ResidPre,
    Ln1Scale,
    Ln1Normalized,
    Q,
    K,
    V,
    AttnScores,
    Pattern,
    Z,
    AttnOut,
    ResidMid,
    Ln2Scale,
    Ln2Normalized,
    MlpPre,
    MlpPost,
    MlpOut,
    ResidPost,
}

impl BlockHook {
    /// Every block hook, in the order the forward pass reaches them.
    pub const ALL: [BlockHook; 17] = [
        Self::ResidPre,
        Self::Ln1Scale,
        Self::Ln1Normalized,
        Self::Q,
        Self::K,
        Self::V,
        Self::AttnScores,
        Self::Pattern,
        Self::Z,
        Self::AttnOut,
        Self::ResidMid,
        Self::Ln2Scale,
        Self::Ln2Normalized,
        Self::MlpPre,
        Self::MlpPost,
        Self::MlpOut,
        Self::ResidPost,
    ];

    /// The name after `blocks.{l}.`.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::ResidPre => "hook_resid_pre",
            Self::Ln1Scale => "ln1.hook_scale",
            Self::Ln1Normalized => "ln1.hook_normalized",
            Self::Q => "attn.hook_q",
            Self::K => "attn.hook_k",
            Self::V => "attn.hook_v",
            Self::AttnScores => "attn.hook_attn_scores",
            Self::Pattern => "attn.hook_pattern",
            Self::Z => "attn.hook_z",
            Self::AttnOut => "hook_attn_out",
            Self::ResidMid => "hook_resid_mid",
            Self::Ln2Scale => "ln2.hook_scale",
            Self::Ln2Normalized => "ln2.hook_normalized",
            Self::MlpPre => "mlp.hook_pre",
            Self::MlpPost => "mlp.hook_post",
            Self::MlpOut => "hook_mlp_out",
            Self::ResidPost => "hook_resid_post",
        }
    }
}

/// A named activation of GPT-2, as in TransformerLens (`blocks.3.attn.hook_z`, ...).
///
/// # Shapes (TransformerLens's, batch axis first)
/// - residual-stream hooks, `*.hook_normalized`, `hook_embed`, `hook_pos_embed`,
///   `unembed.hook_in`: `[batch, pos, d_model]`
/// - `*.hook_scale`: `[batch, pos, 1]`
/// - `attn.hook_q|k|v|z`: `[batch, pos, head, d_head]`
/// - `attn.hook_attn_scores|hook_pattern`: `[batch, head, q_pos, k_pos]`
/// - `mlp.hook_pre|hook_post`: `[batch, pos, d_mlp]`
/// - `unembed.hook_out`: `[batch, pos, vocab]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookPoint {
    Embed,
    PosEmbed,
    Block(usize, BlockHook),
    LnFinalScale,
    LnFinalNormalized,
    UnembedIn,
    UnembedOut,
}

impl HookPoint {
    /// Every hook of an `n_layer` GPT-2, in forward order (TransformerLens's `hook_dict` order).
    pub fn all(n_layer: usize) -> Vec<HookPoint> {
        let mut points = vec![Self::Embed, Self::PosEmbed];
        for layer in 0..n_layer {
            points.extend(BlockHook::ALL.iter().map(|&h| Self::Block(layer, h)));
        }
        points.extend([
            Self::LnFinalScale,
            Self::LnFinalNormalized,
            Self::UnembedIn,
            Self::UnembedOut,
        ]);
        points
    }

    /// The block this hook belongs to, if any.
    pub fn layer(self) -> Option<usize> {
        match self {
            Self::Block(layer, _) => Some(layer),
            _ => None,
        }
    }

    /// The axis that indexes heads, for per-head hooks.
    pub fn head_axis(self) -> Option<usize> {
        match self {
            Self::Block(_, BlockHook::Q | BlockHook::K | BlockHook::V | BlockHook::Z) => Some(2),
            Self::Block(_, BlockHook::AttnScores | BlockHook::Pattern) => Some(1),
            _ => None,
        }
    }

    /// The axis that indexes (query) positions.
    pub fn pos_axis(self) -> usize {
        match self {
            Self::Block(_, BlockHook::AttnScores | BlockHook::Pattern) => 2,
            _ => 1,
        }
    }

    /// Whether it is `[batch, pos, d_model]`: the residual stream or a block's write to it (not
    /// the logits): where a steering vector or a direction lives.
    pub fn is_d_model(self) -> bool {
        self.rank() == 3 && !matches!(self, Self::UnembedOut)
    }

    /// The rank of the activation tensor (batch axis included).
    pub fn rank(self) -> usize {
        match self {
            Self::Block(_, BlockHook::Q | BlockHook::K | BlockHook::V | BlockHook::Z)
            | Self::Block(_, BlockHook::AttnScores | BlockHook::Pattern) => 4,
            _ => 3,
        }
    }

    /// Shortcuts with TransformerLens's `utils.get_act_name` vocabulary.
    pub fn resid_pre(layer: usize) -> Self {
        Self::Block(layer, BlockHook::ResidPre)
    }
    pub fn resid_mid(layer: usize) -> Self {
        Self::Block(layer, BlockHook::ResidMid)
    }
    pub fn resid_post(layer: usize) -> Self {
        Self::Block(layer, BlockHook::ResidPost)
    }
    pub fn attn_out(layer: usize) -> Self {
        Self::Block(layer, BlockHook::AttnOut)
    }
    pub fn mlp_out(layer: usize) -> Self {
        Self::Block(layer, BlockHook::MlpOut)
    }
    pub fn z(layer: usize) -> Self {
        Self::Block(layer, BlockHook::Z)
    }
    pub fn pattern(layer: usize) -> Self {
        Self::Block(layer, BlockHook::Pattern)
    }
}

impl fmt::Display for HookPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Embed => f.write_str("hook_embed"),
            Self::PosEmbed => f.write_str("hook_pos_embed"),
            Self::Block(layer, hook) => write!(f, "blocks.{layer}.{}", hook.suffix()),
            Self::LnFinalScale => f.write_str("ln_final.hook_scale"),
            Self::LnFinalNormalized => f.write_str("ln_final.hook_normalized"),
            Self::UnembedIn => f.write_str("unembed.hook_in"),
            Self::UnembedOut => f.write_str("unembed.hook_out"),
        }
    }
}

/// A string that is not a GPT-2 hook name of TransformerLens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a GPT-2 hook name (expected TransformerLens names such as `blocks.0.attn.hook_z` or `hook_embed`)"
)]
pub struct UnknownHook(pub String);

impl FromStr for HookPoint {
    type Err = UnknownHook;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownHook(s.to_string());
        let point = match s {
            "hook_embed" => Self::Embed,
            "hook_pos_embed" => Self::PosEmbed,
            "ln_final.hook_scale" => Self::LnFinalScale,
            "ln_final.hook_normalized" => Self::LnFinalNormalized,
            "unembed.hook_in" => Self::UnembedIn,
            "unembed.hook_out" => Self::UnembedOut,
            _ => {
                let rest = s.strip_prefix("blocks.").ok_or_else(unknown)?;
                let (layer, suffix) = rest.split_once('.').ok_or_else(unknown)?;
                // Reject "+1", "01" and the like: the name must round-trip.
                if layer.is_empty()
                    || !layer.bytes().all(|b| b.is_ascii_digit())
                    || (layer.len() > 1 && layer.starts_with('0'))
                {
                    return Err(unknown());
                }
                let layer: usize = layer.parse().map_err(|_| unknown())?;
                let hook = BlockHook::ALL
                    .into_iter()
                    .find(|h| h.suffix() == suffix)
                    .ok_or_else(unknown)?;
                Self::Block(layer, hook)
            }
        };
        Ok(point)
    }
}

impl Serialize for HookPoint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HookPoint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}
