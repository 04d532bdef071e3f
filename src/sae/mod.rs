//! Sparse autoencoders (SAEs) on GPT-2's activations, in SAELens's format: the features of a
//! hook's activation, and the activation rebuilt from them.

mod config;

pub use config::{Architecture, MAX_FEATURES, Normalization, SaeConfig, SaeConfigError};
