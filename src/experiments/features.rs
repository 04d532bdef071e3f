//! An SAE's features on a prompt: each token's most active features, how well the SAE rebuilds
//! the activation (the error's norm per token, the fraction of variance explained), and one
//! feature's activation across the prompt with the tokens its decoder direction promotes.

use super::kind::{About, ExperimentKind};
use super::readback::read;
use super::top::largest;
use super::{
    ExperimentError, Grid, GridKind, GridName, MetricName, Needs, Output, ParamError, Progress,
    PromptInput, PromptSet,
};
use crate::hooks::{CacheHooks, HookPoint};
use crate::loading::ModelRef;
use crate::model::Gpt2;
use crate::sae::Sae;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// The spec's `sae_features`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The SAE, by the id it is loaded under (the CLI: `--model-for ID=DIR`).
    pub sae: ModelRef,
    pub prompt: PromptInput,
    /// Start the prompt with `<|endoftext|>` (TransformerLens's default).
    #[serde(default = "yes")]
    pub prepend_bos: bool,
    /// Features listed per token, most active first.
    #[serde(default = "default_top")]
    pub top: usize,
    /// A feature to follow across the prompt, with the tokens its decoder direction promotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<usize>,
}

fn yes() -> bool {
    true
}

fn default_top() -> usize {
    8
}

/// The most features listed per token.
pub const MAX_TOP: usize = 128;
/// The most feature activations a run reads back (positions × the SAE's width): 512 MiB of f32.
/// The spec's size check assumes a width of 2^17; a wider SAE is checked here, before it runs.
pub const MAX_ACTIVATIONS: usize = 1 << 27;

/// Tokens listed for a feature's decoder direction, at each end.
pub const LOGITS_SHOWN: usize = 10;

const TOP_FEATURES: &str = "sae.top_features";
const TOP_ACTIVATIONS: &str = "sae.top_activations";
const ERROR_NORM: &str = "sae.error_norm";
const ACTIVE: &str = "sae.active";
const FEATURE: &str = "sae.feature";
const FEATURE_LOGITS: &str = "sae.feature_logits";
const FVE: &str = "sae.fve";
const L0: &str = "sae.l0";

impl ExperimentKind for Params {
    const ABOUT: About = About {
        title: "SAE features",
        what: "Runs your prompt, reads the activation at the sparse autoencoder's hook and encodes it into the SAE's features: for each token the features that fire most, how many fire, and how far the SAE's reconstruction is from the real activation. Follow one feature to see where in the prompt it fires and which tokens its decoder direction pushes the logits towards (W_dec · W_U).",
        read: "A feature that fires on related tokens and promotes related next tokens is a candidate concept; check it on more prompts before trusting a label. The fraction of variance explained (near 1 for a good SAE, below 0 for a random one) says how much of the activation the features carry; the rest is the error term, which edits and patching keep.",
        paper: "Bricken et al. 2023, Towards Monosemanticity; Bloom 2024, Open Source Sparse Autoencoders for all Residual Stream Layers of GPT2 Small",
        url: "https://transformer-circuits.pub/2023/monosemantic-features",
    };
    const NEEDS: Needs = Needs::NoPrompts;
    const GRIDS: &'static [&'static str] = &[
        TOP_FEATURES,
        TOP_ACTIVATIONS,
        ERROR_NORM,
        ACTIVE,
        FEATURE,
        FEATURE_LOGITS,
    ];
    const METRICS: &'static [&'static str] = &[FVE, L0];

    fn check(&self) -> Result<(), ParamError> {
        if !(1..=MAX_TOP).contains(&self.top) {
            return Err(ParamError {
                field: "top".into(),
                message: format!("list 1 to {MAX_TOP} features per token, not {}", self.top),
            });
        }
        if let Some(feature) = self.feature
            && feature >= crate::sae::MAX_FEATURES
        {
            return Err(ParamError {
                field: "feature".into(),
                message: format!(
                    "{feature} is past the largest SAE Patchbay loads ({} features)",
                    crate::sae::MAX_FEATURES
                ),
            });
        }
        Ok(())
    }

    fn saes(&self) -> Vec<&ModelRef> {
        vec![&self.sae]
    }
}

/// Grids over the prompt's positions: `sae.top_features` and `sae.top_activations` `[pos,
/// rank]` (ids, and their activations; ties by lower id), `sae.error_norm` and `sae.active`
/// `[pos]`; with a feature, `sae.feature` `[pos]` and `sae.feature_logits` `[rank]` (the
/// largest and then the smallest entries of `W_dec[f] · W_U`, labelled by token); metrics
/// `sae.fve` and `sae.l0` (mean active features per token).
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let sae = prompts.sae(&params.sae, model, "experiment.sae_features.sae")?;
    if let Some(feature) = params.feature
        && feature >= sae.config.d_sae
    {
        return Err(ExperimentError::Prompt {
            path: "experiment.sae_features.feature".into(),
            message: format!(
                "the SAE `{}` has features 0 to {}, not {feature}",
                params.sae.id,
                sae.config.d_sae - 1
            ),
        });
    }
    let ids = prompts.encode(
        &params.prompt,
        params.prepend_bos,
        "experiment.sae_features.prompt",
    )?;
    check_size(
        ids.len(),
        sae.config.d_sae,
        "experiment.sae_features.prompt",
    )?;
    let features = encode_prompt(model, sae, &ids)?;
    let pos = ids.len();
    let d_sae = sae.config.d_sae;
    let acts = read(features.acts).await.map_err(ExperimentError::Device)?;
    let error_norm = read(features.error_norm)
        .await
        .map_err(ExperimentError::Device)?;
    let fve = read(features.fve).await.map_err(ExperimentError::Device)?[0];
    progress.report(1, 1, &[fve], 1)?;

    let top = params.top.min(d_sae);
    let mut top_ids = Vec::with_capacity(pos * top);
    let mut top_values = Vec::with_capacity(pos * top);
    let mut active = Vec::with_capacity(pos);
    for row in acts.chunks(d_sae) {
        for id in largest(row, top) {
            top_ids.push(id as f32);
            top_values.push(row[id as usize]);
        }
        active.push(row.iter().filter(|&&a| a > 0.0).count() as f32);
    }
    let tokens: Vec<String> = match prompts.tokenizer() {
        Some(tokenizer) => tokenizer.token_texts(&ids),
        None => ids.iter().map(|id| format!("<{id}>")).collect(),
    };
    let by_pos = |values: Vec<f32>| {
        Grid::new(&["pos", "rank"], vec![pos, top], values).with_labels(tokens.clone())
    };
    let mut output = Output::default();
    let named = |name| GridName::raw(GridKind::Named(name));
    output.grid(named(TOP_FEATURES), by_pos(top_ids));
    output.grid(named(TOP_ACTIVATIONS), by_pos(top_values));
    let per_pos =
        |values: Vec<f32>| Grid::new(&["pos"], vec![pos], values).with_labels(tokens.clone());
    output.grid(named(ERROR_NORM), per_pos(error_norm));
    let l0 = active.iter().sum::<f32>() / pos as f32;
    output.grid(named(ACTIVE), per_pos(active));
    output.metric(MetricName::Named(FVE), fve);
    output.metric(MetricName::Named(L0), l0);
    if let Some(feature) = params.feature {
        let column = acts.iter().skip(feature).step_by(d_sae).copied().collect();
        output.grid(named(FEATURE), per_pos(column));
        let logits = read(feature_logits(model, sae, feature))
            .await
            .map_err(ExperimentError::Device)?;
        let n = LOGITS_SHOWN.min(logits.len() / 2);
        let highest = largest(&logits, n);
        let negated: Vec<f32> = logits.iter().map(|v| -v).collect();
        let lowest = largest(&negated, n);
        let chosen: Vec<u32> = highest.into_iter().chain(lowest).collect();
        let labels = match prompts.tokenizer() {
            Some(tokenizer) => tokenizer.token_texts(&chosen),
            None => chosen.iter().map(|id| format!("<{id}>")).collect(),
        };
        output.grid(
            named(FEATURE_LOGITS),
            Grid::new(
                &["token"],
                vec![chosen.len()],
                chosen.iter().map(|&id| logits[id as usize]).collect(),
            )
            .with_labels(labels),
        );
    }
    Ok(output)
}

/// Refuses `rows` positions of an SAE `d_sae` wide past [`MAX_ACTIVATIONS`], at `path`.
pub fn check_size(rows: usize, d_sae: usize, path: &str) -> Result<(), ExperimentError> {
    match rows.checked_mul(d_sae) {
        Some(n) if n <= MAX_ACTIVATIONS => Ok(()),
        _ => Err(ExperimentError::Prompt {
            path: path.into(),
            message: format!(
                "{rows} positions × {d_sae} features is more than the {MAX_ACTIVATIONS} activations a run may hold: use fewer or shorter prompts"
            ),
        }),
    }
}

/// A prompt's features at the SAE's hook, on the device.
///
/// # Shapes
/// `acts [pos, d_sae]`, `error_norm [pos]`, `fve [1]`.
pub struct PromptFeatures {
    pub acts: Tensor<2>,
    pub error_norm: Tensor<1>,
    pub fve: Tensor<1>,
}

/// Runs `ids` up to the SAE's hook and encodes the activation there.
pub fn encode_prompt(
    model: &Gpt2,
    sae: &Sae,
    ids: &[u32],
) -> Result<PromptFeatures, ExperimentError> {
    let hook = sae.config.hook;
    let x = activation(model, hook, ids)?;
    let [_, pos, d_in] = x.dims();
    let x = x.reshape([pos, d_in]);
    let encoded = sae.encode(x.clone());
    let recon = sae.decode(encoded.acts.clone(), encoded.scale);
    let error = (x.clone() - recon).square().sum_dim(1);
    let centred = (x.clone() - x.mean_dim(0)).square().sum();
    let fve = error.clone().sum().div(centred).neg().add_scalar(1.0);
    Ok(PromptFeatures {
        acts: encoded.acts,
        error_norm: error.sqrt().reshape([pos]),
        fve,
    })
}

/// The activation at `hook` for one prompt, the forward pass stopped after the hook's block.
///
/// # Shapes
/// `[1, pos, d_in]`.
fn activation(model: &Gpt2, hook: HookPoint, ids: &[u32]) -> Result<Tensor<3>, ExperimentError> {
    let tokens = model.tokens(&[ids.to_vec()])?;
    let mut cache = CacheHooks::new(|point: HookPoint| point == hook);
    let resid = model.embed(tokens, 0, &mut cache);
    let end = hook.layer().map_or(model.config.n_layer, |layer| layer + 1);
    let resid = model.blocks_between(0, end, resid, &mut cache);
    if hook.layer().is_none() {
        model.unembed(resid, &mut cache);
    }
    cache
        .cache
        .get::<3>(hook)
        .ok_or(ExperimentError::MissingActivation(hook))
}

/// `W_dec[feature] · W_U`: what the feature's decoder direction adds to each token's logit
/// (without the final LayerNorm), `[vocab]`.
fn feature_logits(model: &Gpt2, sae: &Sae, feature: usize) -> Tensor<1> {
    let device = model.device();
    let index = Tensor::<1, Int>::from_data(TensorData::new(vec![feature as i32], [1]), &device);
    let direction = sae.w_dec.clone().select(0, index);
    let logits = direction.matmul(model.w_u());
    let vocab = logits.dims()[1];
    logits.reshape([vocab])
}

/// A feature listed for a token: `(feature, position, activation)`.
pub type Listed = (usize, usize, f32);

/// The listed features of the tokens whose text contains `query` (ignoring case and the
/// leading space), strongest first, each feature once at its strongest token: a search of the
/// prompt's features by the tokens that activate them.
///
/// # Shapes
/// `top_ids`, `top_values`: `[pos, top]` as the kind writes them.
pub fn features_on_tokens(
    tokens: &[String],
    top_ids: &[f32],
    top_values: &[f32],
    query: &str,
) -> Vec<Listed> {
    let query = query.trim().to_lowercase();
    if query.is_empty() || tokens.is_empty() {
        return vec![];
    }
    let top = top_ids.len() / tokens.len();
    let mut found: Vec<Listed> = vec![];
    for (pos, token) in tokens.iter().enumerate() {
        if !token.trim().to_lowercase().contains(&query) {
            continue;
        }
        for rank in 0..top {
            let (feature, value) = (
                top_ids[pos * top + rank] as usize,
                top_values[pos * top + rank],
            );
            if value <= 0.0 {
                continue;
            }
            match found.iter_mut().find(|(f, ..)| *f == feature) {
                Some(kept) if kept.2 >= value => {}
                Some(kept) => *kept = (feature, pos, value),
                None => found.push((feature, pos, value)),
            }
        }
    }
    found.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    found
}

#[cfg(test)]
mod tests {
    use super::features_on_tokens;

    #[test]
    fn features_are_found_by_the_tokens_they_fire_on() {
        let tokens = ["<|endoftext|>", " John", " and", " john"].map(String::from);
        // Two features listed per token.
        let ids = [0., 1., 5., 6., 7., 8., 5., 9.];
        let values = [1., 0.5, 2., 1., 3., 0., 4., 0.];
        let found = features_on_tokens(&tokens, &ids, &values, "JOHN");
        // Feature 5 at its strongest (position 3), then 6; 9 does not fire.
        assert_eq!(found, vec![(5, 3, 4.0), (6, 1, 1.0)]);
        assert!(features_on_tokens(&tokens, &ids, &values, " ").is_empty());
        assert_eq!(
            features_on_tokens(&tokens, &ids, &values, "and"),
            vec![(7, 2, 3.0)]
        );
    }
}
