//! GPT-2 hyper-parameters, read from a Hugging Face `config.json`.

use super::family::{Family, Layout};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The non-linearity between `c_fc` and `c_proj`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// `gelu_new`: GELU with the tanh approximation (every released GPT-2).
    GeluNew,
    /// Exact GELU with `erf`.
    Gelu,
    /// ReLU.
    Relu,
}

impl Activation {
    fn from_hf(name: &str) -> Option<Self> {
        match name {
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Some(Self::GeluNew),
            "gelu" => Some(Self::Gelu),
            "relu" => Some(Self::Relu),
            _ => None,
        }
    }
}

/// GPT-2 architecture, as Hugging Face's `GPT2Config` names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gpt2Config {
    /// The family: its layout and its checkpoints' parameter names.
    #[serde(default)]
    pub family: Family,
    /// Number of transformer blocks.
    pub n_layer: usize,
    /// Attention heads per block.
    pub n_head: usize,
    /// Width of the residual stream (`d_model`).
    pub n_embd: usize,
    /// Hidden width of the MLP (`d_mlp`); Hugging Face's `n_inner`, `4 · n_embd` when absent.
    pub n_inner: usize,
    /// Longest sequence the position embedding covers.
    pub n_positions: usize,
    /// Number of tokens.
    pub vocab_size: usize,
    /// LayerNorm epsilon (1e-5 in GPT-2; 1e12 in the LN-free checkpoints).
    pub layer_norm_epsilon: f64,
    /// MLP non-linearity.
    pub activation: Activation,
    /// Whether the unembedding is the transposed token embedding.
    pub tie_word_embeddings: bool,
    /// The token prepended to a prompt (`prepend_bos`) and the one that ends a generation:
    /// `<|endoftext|>` in every GPT-2 (Hugging Face's default when `config.json` is silent).
    #[serde(default = "end_of_text")]
    pub bos_token_id: u32,
    #[serde(default = "end_of_text")]
    pub eos_token_id: u32,
}

/// `<|endoftext|>` in GPT-2's vocabulary: Hugging Face's `GPT2Config` default for
/// `bos_token_id` and `eos_token_id`.
pub const END_OF_TEXT: u32 = 50256;

fn end_of_text() -> u32 {
    END_OF_TEXT
}

/// The largest width, depth, context or vocabulary a `config.json` may name (2^24): sixteen
/// thousand times GPT-2 XL's widest, and small enough that no shape product overflows.
pub const MAX_DIMENSION: usize = 1 << 24;

/// The most parameters a `config.json` may describe (2^40, about 1.1 trillion).
pub const MAX_PARAMETERS: u64 = 1 << 40;

/// Why a `config.json` cannot describe a GPT-2 we can run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// Not JSON, or not a JSON object.
    #[error("config.json is not valid JSON: {0}")]
    Json(String),
    /// A required field is absent or has the wrong type.
    #[error("config.json field `{field}`: {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
    /// The checkpoint is another architecture.
    #[error(
        "config.json describes a `{model_type}` model; Patchbay runs GPT-2 (model_type \"gpt2\") only"
    )]
    NotGpt2 { model_type: String },
    /// A GPT-2 option this implementation does not support.
    #[error("unsupported GPT-2 option in config.json: {0}")]
    Unsupported(String),
}

impl Gpt2Config {
    /// Parses a Hugging Face `config.json`, rejecting anything that is not a GPT-2 we can run.
    pub fn from_hf_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| ConfigError::Json(e.to_string()))?;
        let obj = value
            .as_object()
            .ok_or_else(|| ConfigError::Json("expected a JSON object".into()))?;

        let model_type = obj.get("model_type").and_then(Value::as_str).unwrap_or("");
        let gpt2_architecture = obj
            .get("architectures")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter()
                    .any(|v| v.as_str().is_some_and(|s| s.starts_with("GPT2")))
            });
        let family = match Family::from_model_type(model_type) {
            Some(family) => family,
            None if model_type.is_empty() && gpt2_architecture => Family::Gpt2,
            None => {
                let model_type = if model_type.is_empty() {
                    "unknown"
                } else {
                    model_type
                };
                return Err(ConfigError::NotGpt2 {
                    model_type: model_type.into(),
                });
            }
        };

        let usize_field = |field: &'static str| -> Result<usize, ConfigError> {
            let v = obj.get(field).ok_or(ConfigError::Field {
                field,
                problem: "missing".into(),
            })?;
            v.as_u64()
                .filter(|&n| n > 0 && n <= MAX_DIMENSION as u64)
                .map(|n| n as usize)
                .ok_or_else(|| ConfigError::Field {
                    field,
                    problem: format!(
                        "expected a positive integer of at most {MAX_DIMENSION}, found {v}"
                    ),
                })
        };
        let n_embd = usize_field("n_embd")?;
        let n_head = usize_field("n_head")?;
        if n_embd % n_head != 0 {
            return Err(ConfigError::Field {
                field: "n_head",
                problem: format!("n_embd ({n_embd}) is not divisible by n_head ({n_head})"),
            });
        }
        let n_inner = match obj.get("n_inner") {
            None | Some(Value::Null) => 4 * n_embd,
            Some(_) => usize_field("n_inner")?,
        };
        let layer_norm_epsilon = match obj.get("layer_norm_epsilon") {
            None => 1e-5,
            Some(v) => v
                .as_f64()
                .filter(|e| *e > 0.0)
                .ok_or_else(|| ConfigError::Field {
                    field: "layer_norm_epsilon",
                    problem: format!("expected a positive number, found {v}"),
                })?,
        };
        let activation_name = obj
            .get("activation_function")
            .and_then(Value::as_str)
            .unwrap_or("gelu_new");
        let activation = Activation::from_hf(activation_name).ok_or_else(|| {
            ConfigError::Unsupported(format!("activation_function \"{activation_name}\""))
        })?;
        for flag in ["scale_attn_by_inverse_layer_idx", "add_cross_attention"] {
            if obj.get(flag).and_then(Value::as_bool) == Some(true) {
                return Err(ConfigError::Unsupported(format!("{flag} = true")));
            }
        }
        if obj.get("scale_attn_weights").and_then(Value::as_bool) == Some(false) {
            return Err(ConfigError::Unsupported(
                "scale_attn_weights = false".into(),
            ));
        }

        // In the order a missing field is reported: the first of these that is absent.
        let n_layer = usize_field("n_layer")?;
        let n_positions = usize_field("n_positions")?;
        let vocab_size = usize_field("vocab_size")?;
        let token_field = |field: &'static str| -> Result<u32, ConfigError> {
            match obj.get(field) {
                None | Some(Value::Null) => Ok(END_OF_TEXT),
                Some(v) => v
                    .as_u64()
                    .filter(|&id| id < vocab_size as u64)
                    .map(|id| id as u32)
                    .ok_or_else(|| ConfigError::Field {
                        field,
                        problem: format!(
                            "expected a token id below vocab_size ({vocab_size}), found {v}"
                        ),
                    }),
            }
        };

        let config = Self {
            family,
            n_layer,
            n_head,
            n_embd,
            n_inner,
            n_positions,
            vocab_size,
            layer_norm_epsilon,
            activation,
            tie_word_embeddings: obj
                .get("tie_word_embeddings")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            bos_token_id: token_field("bos_token_id")?,
            eos_token_id: token_field("eos_token_id")?,
        };
        let parameters = config.n_params_wide();
        if parameters > u128::from(MAX_PARAMETERS) {
            return Err(ConfigError::Unsupported(format!(
                "a model of {parameters} parameters (at most {MAX_PARAMETERS})"
            )));
        }
        Ok(config)
    }

    /// GPT-2 small's shape (124M parameters), for benchmarks and memory estimates.
    pub fn gpt2_small() -> Self {
        Self {
            family: Family::Gpt2,
            n_layer: 12,
            n_head: 12,
            n_embd: 768,
            n_inner: 3072,
            n_positions: 1024,
            vocab_size: 50257,
            layer_norm_epsilon: 1e-5,
            activation: Activation::GeluNew,
            tie_word_embeddings: true,
            bos_token_id: END_OF_TEXT,
            eos_token_id: END_OF_TEXT,
        }
    }

    /// What the forward pass does: the family's layout.
    pub fn layout(&self) -> Layout {
        self.family.layout()
    }

    /// Width of one attention head.
    pub fn d_head(&self) -> usize {
        self.n_embd / self.n_head
    }

    /// Number of parameters (tied unembedding counted once). At most [`MAX_PARAMETERS`] for a
    /// parsed config.
    pub fn n_params(&self) -> u64 {
        u64::try_from(self.n_params_wide()).unwrap_or(u64::MAX)
    }

    /// [`Self::n_params`] in a width no config within [`MAX_DIMENSION`] overflows.
    fn n_params_wide(&self) -> u128 {
        let [d, d_mlp, layers, vocab, positions] = [
            self.n_embd,
            self.n_inner,
            self.n_layer,
            self.vocab_size,
            self.n_positions,
        ]
        .map(|n| n as u128);
        let per_block =
            2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * d_mlp + d_mlp) + (d_mlp * d + d);
        let unembed = if self.tie_word_embeddings {
            0
        } else {
            vocab * d
        };
        vocab * d + positions * d + layers * per_block + 2 * d + unembed
    }
}
