//! Model families: how a checkpoint lays its model out, and what it calls each parameter. A
//! family is one row of [`Family`]: its [`Layout`] (what the forward pass does) and its
//! [`ParameterNames`] (what the weights file calls each tensor). The builder
//! (`model::build`) asks the table for every name, and the loader reads keys through it, so a
//! checkpoint that differs only in naming is a different table, not a different code path.
//! Patchbay runs GPT-2's layout; docs/ARCHITECTURE.md says what a new family would touch.

use serde::{Deserialize, Serialize};

/// How positions enter the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Positions {
    /// A learned embedding added to the tokens' (`hook_pos_embed`): GPT-2.
    Learned,
    /// Rotary embeddings applied to queries and keys: GPT-NeoX, Llama.
    Rotary,
}

/// The normalisation before attention, the MLP and the unembedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Norm {
    /// Centred and scaled, with a bias: GPT-2.
    LayerNorm,
    /// Scaled by the root mean square, no bias: Llama.
    Rms,
}

/// How a block combines attention and the MLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockOrder {
    /// `x + attn(ln_1(x))`, then `+ mlp(ln_2(·))`: GPT-2.
    Sequential,
    /// `x + attn(ln_1(x)) + mlp(ln_2(x))`: GPT-J, GPT-NeoX.
    Parallel,
}

/// What the forward pass does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub positions: Positions,
    pub norm: Norm,
    pub blocks: BlockOrder,
}

/// Where each parameter is in a weights file. Block names are relative to
/// `{block}{layer}.`; a LayerNorm or linear layer is a prefix to which `.weight` and `.bias`
/// are added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParameterNames {
    /// Put before every name but the unembedding's by some exports (`transformer.`, written by
    /// `GPT2LMHeadModel.save_pretrained`): dropped when a key is read.
    pub optional_prefix: &'static str,
    pub token_embedding: &'static str,
    pub position_embedding: &'static str,
    /// The blocks, by layer: `h.` (`h.0.ln_1.weight`).
    pub block: &'static str,
    pub ln_1: &'static str,
    /// Queries, keys and values side by side.
    pub qkv: &'static str,
    pub attn_out: &'static str,
    pub ln_2: &'static str,
    pub mlp_in: &'static str,
    pub mlp_out: &'static str,
    pub final_norm: &'static str,
    /// The unembedding, when it is not the token embedding (untied).
    pub unembedding: &'static str,
    /// GeDi's class head ([`super::ClassHead`]): the scale and the per-class bias of a
    /// class-conditional checkpoint; a plain checkpoint has neither.
    pub class_logit_scale: &'static str,
    pub class_bias: &'static str,
    /// Buffers a block may carry that are not parameters (causal masks): ignored.
    pub block_buffers: &'static [&'static str],
}

impl ParameterNames {
    /// A block's parameter (`h.3.attn.c_attn`).
    pub fn in_block(&self, layer: usize, name: &str) -> String {
        format!("{}{layer}.{name}", self.block)
    }

    /// The parameter a key of a weights file holds (the optional prefix dropped), or `None`
    /// for a block's buffer.
    pub fn parameter<'k>(&self, key: &'k str) -> Option<&'k str> {
        let name = key.strip_prefix(self.optional_prefix).unwrap_or(key);
        let is_buffer = name
            .strip_prefix(self.block)
            .and_then(|rest| rest.split_once('.'))
            .is_some_and(|(layer, suffix)| {
                layer.parse::<usize>().is_ok() && self.block_buffers.contains(&suffix)
            });
        (!is_buffer).then_some(name)
    }
}

/// The families Patchbay knows, named as Hugging Face's `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    #[default]
    Gpt2,
}

impl Family {
    /// The family of a `config.json`'s `model_type`.
    pub fn from_model_type(model_type: &str) -> Option<Self> {
        match model_type {
            "gpt2" => Some(Self::Gpt2),
            _ => None,
        }
    }

    pub fn layout(self) -> Layout {
        match self {
            Self::Gpt2 => Layout {
                positions: Positions::Learned,
                norm: Norm::LayerNorm,
                blocks: BlockOrder::Sequential,
            },
        }
    }

    pub fn names(self) -> &'static ParameterNames {
        match self {
            Self::Gpt2 => &GPT2_NAMES,
        }
    }
}

/// GPT-2's names as the hub's checkpoints write them (Conv1D weights stored `[in, out]`).
const GPT2_NAMES: ParameterNames = ParameterNames {
    optional_prefix: "transformer.",
    token_embedding: "wte.weight",
    position_embedding: "wpe.weight",
    block: "h.",
    ln_1: "ln_1",
    qkv: "attn.c_attn",
    attn_out: "attn.c_proj",
    ln_2: "ln_2",
    mlp_in: "mlp.c_fc",
    mlp_out: "mlp.c_proj",
    final_norm: "ln_f",
    unembedding: "lm_head.weight",
    class_logit_scale: "logit_scale",
    class_bias: "bias",
    block_buffers: &["attn.bias", "attn.masked_bias"],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_keys_are_read_through_the_table() {
        let names = Family::Gpt2.names();
        assert_eq!(
            names.parameter("h.0.attn.c_attn.bias"),
            Some("h.0.attn.c_attn.bias")
        );
        assert_eq!(
            names.parameter("transformer.h.11.mlp.c_proj.weight"),
            Some("h.11.mlp.c_proj.weight")
        );
        assert_eq!(names.parameter("h.3.attn.bias"), None, "a causal mask");
        assert_eq!(names.parameter("transformer.h.3.attn.masked_bias"), None);
        assert_eq!(names.parameter("lm_head.weight"), Some("lm_head.weight"));
        assert_eq!(names.in_block(2, names.qkv), "h.2.attn.c_attn");
    }
}
