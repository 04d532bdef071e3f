//! A sparse autoencoder's `cfg.json` as SAELens writes it, checked: SAELens 6's layout (the hook
//! in `metadata.hook_name`, `architecture` at the top) and the layout before 6 (the hook in
//! `hook_point` or `hook_name` at the top level, top-k in `activation_fn_kwargs`), as
//! `gpt2-small-res-jb` and most released GPT-2 SAEs were saved.

use crate::hooks::HookPoint;
use serde_json::{Map, Value};

/// How the SAE's features are computed from their pre-activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// `relu(pre)`.
    Standard,
    /// `relu(pre)` where `pre > threshold`, else 0 (a `threshold [d_sae]` in the weights).
    JumpRelu,
    /// `relu(pre)` at each token's `k` largest pre-activations, else 0.
    TopK { k: usize },
}

/// How the hook's activation is scaled before encoding (and back after decoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalization {
    /// Used as it is.
    None,
    /// Each token's activation scaled to norm `sqrt(d_in)` on the way in, back on the way out
    /// (SAELens's `constant_norm_rescale`).
    ConstantNormRescale,
}

/// What an SAE computes, and where in the model.
#[derive(Debug, Clone, PartialEq)]
pub struct SaeConfig {
    pub architecture: Architecture,
    /// The width of the activation it reads (`d_model` for the residual stream).
    pub d_in: usize,
    /// Its number of features.
    pub d_sae: usize,
    /// The hook point whose activation it encodes, TransformerLens's name.
    pub hook: HookPoint,
    /// Whether `b_dec` is subtracted from the activation before encoding.
    pub apply_b_dec_to_input: bool,
    pub normalization: Normalization,
}

/// The most features an SAE may have: 2²⁰, forty times `gpt2-small-res-jb`'s 24,576.
pub const MAX_FEATURES: usize = 1 << 20;

/// Why a `cfg.json` was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum SaeConfigError {
    #[error("the SAE's cfg.json is not a JSON object: {0}")]
    Json(String),
    #[error("the SAE's cfg.json field `{field}`: {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
    #[error(
        "the SAE's cfg.json names no hook (SAELens 6 writes `metadata.hook_name`; older files `hook_point` or `hook_name`)"
    )]
    NoHook,
    #[error("the SAE reads `{0}`, which is not a TransformerLens hook of GPT-2")]
    UnknownHook(String),
    #[error("this SAE is a `{0}` SAE; Patchbay runs standard (ReLU), JumpReLU and top-k SAEs")]
    Architecture(String),
    #[error(
        "normalize_activations `{0}` is not supported: Patchbay applies `none` and `constant_norm_rescale`; {1}"
    )]
    Normalization(String, &'static str),
    #[error(
        "this top-k SAE scales its pre-activations by its decoder norms (`rescale_acts_by_decoder_norm`), which Patchbay does not apply yet"
    )]
    RescaledByDecoderNorm,
    #[error(
        "reshape_activations `{0}`: SAEs on attention heads' `hook_z` are not supported yet; residual-stream and MLP SAEs are"
    )]
    Reshape(String),
}

impl SaeConfig {
    /// Parses and checks a `cfg.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, SaeConfigError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| SaeConfigError::Json(e.to_string()))?;
        let cfg = value
            .as_object()
            .ok_or_else(|| SaeConfigError::Json("expected a JSON object".into()))?;
        let d_in = dimension(cfg, "d_in", crate::model::MAX_DIMENSION)?;
        let d_sae = dimension(cfg, "d_sae", MAX_FEATURES)?;
        Ok(Self {
            architecture: architecture(cfg, d_sae)?,
            d_in,
            d_sae,
            hook: hook(cfg)?,
            apply_b_dec_to_input: match cfg.get("apply_b_dec_to_input") {
                None | Some(Value::Null) => true,
                Some(Value::Bool(b)) => *b,
                Some(other) => {
                    return Err(field(
                        "apply_b_dec_to_input",
                        format!("expected true or false, found {other}"),
                    ));
                }
            },
            normalization: normalization(cfg)?,
        })
        .and_then(|config| reshape(cfg).map(|()| config))
    }
}

fn field(field: &'static str, problem: String) -> SaeConfigError {
    SaeConfigError::Field { field, problem }
}

fn dimension(
    cfg: &Map<String, Value>,
    name: &'static str,
    max: usize,
) -> Result<usize, SaeConfigError> {
    let value = cfg.get(name).ok_or_else(|| field(name, "missing".into()))?;
    match value.as_u64() {
        Some(n) if n >= 1 && n as u128 <= max as u128 => Ok(n as usize),
        Some(n) => Err(field(name, format!("{n} is outside 1..={max}"))),
        None => Err(field(
            name,
            format!("expected a positive integer, found {value}"),
        )),
    }
}

fn architecture(cfg: &Map<String, Value>, d_sae: usize) -> Result<Architecture, SaeConfigError> {
    let topk_kwargs = cfg
        .get("activation_fn_kwargs")
        .and_then(|kwargs| kwargs.get("k"));
    let name = match cfg.get("architecture").and_then(Value::as_str) {
        Some(name) => name,
        // Before SAELens 6: standard unless the activation is top-k.
        None if cfg
            .get("activation_fn_str")
            .or_else(|| cfg.get("activation_fn"))
            .and_then(Value::as_str)
            == Some("topk") =>
        {
            "topk"
        }
        None => "standard",
    };
    match name {
        "standard" => Ok(Architecture::Standard),
        "jumprelu" => Ok(Architecture::JumpRelu),
        "topk" => {
            let k = cfg
                .get("k")
                .or(topk_kwargs)
                .ok_or_else(|| field("k", "a top-k SAE needs its k".into()))?;
            match k.as_u64() {
                Some(k) if k >= 1 && k as u128 <= d_sae as u128 => {
                    Ok(Architecture::TopK { k: k as usize })
                }
                _ => Err(field(
                    "k",
                    format!("{k} is not a count of features in 1..={d_sae}"),
                )),
            }
        }
        other => Err(SaeConfigError::Architecture(other.to_string())),
    }
}

fn hook(cfg: &Map<String, Value>) -> Result<HookPoint, SaeConfigError> {
    let name = cfg
        .get("metadata")
        .and_then(|m| m.get("hook_name"))
        .or_else(|| cfg.get("hook_name"))
        .or_else(|| cfg.get("hook_point"))
        .and_then(Value::as_str)
        .ok_or(SaeConfigError::NoHook)?;
    name.parse()
        .map_err(|_| SaeConfigError::UnknownHook(name.to_string()))
}

fn normalization(cfg: &Map<String, Value>) -> Result<Normalization, SaeConfigError> {
    match cfg.get("normalize_activations") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(Normalization::None),
        Some(Value::String(s)) => match s.as_str() {
            "none" => Ok(Normalization::None),
            "constant_norm_rescale" => Ok(Normalization::ConstantNormRescale),
            "expected_average_only_in" => Err(SaeConfigError::Normalization(
                s.clone(),
                "its scaling factor is not in the SAE's files (SAELens folds it into the weights when it loads a release: save the SAE from SAELens after loading it)",
            )),
            "layer_norm" | "covariance_whitening" => Err(SaeConfigError::Normalization(
                s.clone(),
                "save the SAE from SAELens with the normalisation folded into its weights",
            )),
            _ => Err(SaeConfigError::Normalization(
                s.clone(),
                "SAELens does not define it either",
            )),
        },
        Some(other) => Err(SaeConfigError::Normalization(
            other.to_string(),
            "expected one of SAELens's names",
        )),
    }
}

fn reshape(cfg: &Map<String, Value>) -> Result<(), SaeConfigError> {
    if cfg.get("rescale_acts_by_decoder_norm") == Some(&Value::Bool(true)) {
        return Err(SaeConfigError::RescaledByDecoderNorm);
    }
    match cfg.get("reshape_activations").and_then(Value::as_str) {
        None | Some("none") => Ok(()),
        Some(other) => Err(SaeConfigError::Reshape(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::BlockHook;

    fn parse(json: &str) -> Result<SaeConfig, SaeConfigError> {
        SaeConfig::from_json(json.as_bytes())
    }

    #[test]
    fn saelens_6_and_older_layouts_name_the_same_sae() {
        let six = parse(r#"{"architecture":"standard","d_in":768,"d_sae":24576,"dtype":"float32","apply_b_dec_to_input":true,"normalize_activations":"none","reshape_activations":"none","metadata":{"hook_name":"blocks.8.hook_resid_pre","sae_lens_version":"6.54.12"}}"#).unwrap();
        let jb = parse(r#"{"model_name":"gpt2-small","hook_point":"blocks.8.hook_resid_pre","hook_point_layer":8,"d_in":768,"d_sae":24576,"dtype":"torch.float32","apply_b_dec_to_input":true}"#).unwrap();
        assert_eq!(six, jb);
        assert_eq!(six.hook, HookPoint::Block(8, BlockHook::ResidPre));
        assert_eq!(six.architecture, Architecture::Standard);
    }

    #[test]
    fn the_files_saelens_wrote_for_the_oracle_parse() {
        let file = |name| parse(std::str::from_utf8(name).unwrap()).unwrap();
        let standard = file(include_bytes!("../../tests/sae/refs/standard/cfg.json"));
        let legacy = file(include_bytes!("../../tests/sae/refs/legacy/cfg.json"));
        let jumprelu = file(include_bytes!("../../tests/sae/refs/jumprelu/cfg.json"));
        let topk = file(include_bytes!("../../tests/sae/refs/topk/cfg.json"));
        assert_eq!(standard, legacy);
        assert_eq!(standard.hook, HookPoint::Block(1, BlockHook::ResidPre));
        assert_eq!(jumprelu.architecture, Architecture::JumpRelu);
        assert_eq!(jumprelu.hook, HookPoint::Block(0, BlockHook::ResidPost));
        assert_eq!(topk.architecture, Architecture::TopK { k: 8 });
        assert!(!topk.apply_b_dec_to_input);
        assert_eq!((topk.d_in, topk.d_sae), (64, 256));
    }

    #[test]
    fn top_k_reads_k_in_either_layout() {
        let six = parse(r#"{"architecture":"topk","k":32,"d_in":64,"d_sae":256,"metadata":{"hook_name":"blocks.1.hook_mlp_out"}}"#).unwrap();
        let old = parse(r#"{"activation_fn_str":"topk","activation_fn_kwargs":{"k":32},"d_in":64,"d_sae":256,"hook_name":"blocks.1.hook_mlp_out"}"#).unwrap();
        assert_eq!(six.architecture, Architecture::TopK { k: 32 });
        assert_eq!(six, old);
        assert!(matches!(
            parse(
                r#"{"architecture":"topk","k":300,"d_in":64,"d_sae":256,"hook_name":"blocks.1.hook_mlp_out"}"#
            ),
            Err(SaeConfigError::Field { field: "k", .. })
        ));
    }

    #[test]
    fn what_patchbay_cannot_run_is_refused_by_name() {
        let refused = |json: &str| parse(json).unwrap_err().to_string();
        assert!(refused(r#"{"architecture":"gated","d_in":64,"d_sae":256,"hook_name":"blocks.0.hook_resid_pre"}"#).contains("`gated`"));
        assert!(refused(r#"{"d_in":64,"d_sae":256,"hook_name":"blocks.0.hook_resid_pre","normalize_activations":"expected_average_only_in"}"#).contains("expected_average_only_in"));
        assert!(refused(r#"{"d_in":64,"d_sae":256,"hook_name":"blocks.0.attn.hook_z","reshape_activations":"hook_z"}"#).contains("hook_z"));
        assert!(
            refused(r#"{"d_in":64,"d_sae":256,"hook_name":"blocks.0.hook_nonsense"}"#)
                .contains("blocks.0.hook_nonsense")
        );
        assert!(refused(r#"{"d_in":64,"d_sae":256}"#).contains("names no hook"));
        assert!(
            refused(r#"{"d_in":64,"d_sae":0,"hook_name":"blocks.0.hook_resid_pre"}"#)
                .contains("d_sae")
        );
        assert!(
            refused(r#"{"d_in":64,"d_sae":1e30,"hook_name":"blocks.0.hook_resid_pre"}"#)
                .contains("d_sae")
        );
        assert!(refused("[1, 2]").contains("JSON object"));
        assert!(refused(r#"{"architecture":"topk","k":8,"rescale_acts_by_decoder_norm":true,"d_in":64,"d_sae":256,"hook_name":"blocks.1.hook_mlp_out"}"#).contains("rescale_acts_by_decoder_norm"));
    }
}
