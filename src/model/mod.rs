//! GPT-2 in burn, with TransformerLens hook points. Reads like nanoGPT; Hugging Face's
//! parameter names (`wte, wpe, h, ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc,
//! mlp.c_proj, ln_f`) are kept so the weight map is a handful of rules.

mod attention;
mod block;
mod build;
mod class_head;
mod config;
mod family;
pub mod fused;
mod gpt2;
mod layer_norm;
mod mlp;

pub use attention::{Attention, FutureMask, LayerKv};
pub use block::Block;
pub use build::{ParameterSource, RandomParameters};
pub use class_head::ClassHead;
pub use config::{Activation, ConfigError, END_OF_TEXT, Gpt2Config, MAX_DIMENSION, MAX_PARAMETERS};
pub use family::{BlockOrder, Family, Layout, Norm, ParameterNames, Positions};
pub use gpt2::{Gpt2, InputError, KvCache};
pub use layer_norm::LayerNorm;
pub use mlp::Mlp;
