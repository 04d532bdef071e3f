//! Sparse autoencoders (SAEs) on GPT-2's activations, in SAELens's format: the features of a
//! hook's activation, and the activation rebuilt from them.
//!
//! What an SAE computes (SAELens 6's `encode`/`decode`; `tests/sae/gen_sae_refs.py` states it
//! for the oracle):
//!
//! ```text
//! sae_in = x·s − b_dec·apply_b_dec_to_input     s = sqrt(d_in)/‖x‖ with constant_norm_rescale, else 1
//! pre    = sae_in · W_enc + b_enc
//! acts   = relu(pre)                           standard
//!        = relu(pre)·(pre > threshold)         JumpReLU
//!        = relu(pre) at the k largest pre       top-k
//! recon  = (acts · W_dec + b_dec) / s
//! ```

mod config;
mod edit;
mod hooks;
pub mod labels;
mod load;

pub use config::{Architecture, MAX_FEATURES, Normalization, SaeConfig, SaeConfigError};
pub use edit::{FeatureAction, FeatureEdit, FeatureEdits};
pub use hooks::SaeHooks;
pub use load::{CONFIG_FILE, SaeError, SaeFiles, SaePlan, WEIGHTS_FILE, load, sae_bytes};

use crate::model::{Gpt2Config, ParameterSource};
use burn::tensor::{Tensor, TensorData};

/// An SAE's parameters on the device.
///
/// # Shapes
/// `w_enc [d_in, d_sae]`, `b_enc [d_sae]`, `w_dec [d_sae, d_in]`, `b_dec [d_in]`,
/// `threshold [d_sae]` (JumpReLU only).
#[derive(Debug, Clone)]
pub struct Sae {
    pub config: SaeConfig,
    pub w_enc: Tensor<2>,
    pub b_enc: Tensor<1>,
    pub w_dec: Tensor<2>,
    pub b_dec: Tensor<1>,
    pub threshold: Option<Tensor<1>>,
    /// sha256 of `sae_weights.safetensors`, hex (empty for generated weights).
    pub sha256: String,
}

/// An SAE's features for a batch of activations, with what undoing them needs.
///
/// # Shapes
/// `acts [rows, d_sae]`; `scale [rows, 1]` (`s` above; ones without normalisation).
pub struct Encoded {
    pub acts: Tensor<2>,
    pub scale: Tensor<2>,
}

impl Sae {
    /// Builds the SAE `config` describes from `source`, asking for each tensor by SAELens's
    /// name (`W_enc`, `b_enc`, `W_dec`, `b_dec`, and `threshold` for JumpReLU).
    pub fn build<S: ParameterSource>(config: SaeConfig, source: &mut S) -> Result<Self, S::Error> {
        let (d_in, d_sae) = (config.d_in, config.d_sae);
        Ok(Self {
            w_enc: source.take("W_enc", [d_in, d_sae])?,
            b_enc: source.take("b_enc", [d_sae])?,
            w_dec: source.take("W_dec", [d_sae, d_in])?,
            b_dec: source.take("b_dec", [d_in])?,
            threshold: match config.architecture {
                Architecture::JumpRelu => Some(source.take("threshold", [d_sae])?),
                _ => None,
            },
            config,
            sha256: String::new(),
        })
    }

    /// An SAE of `config`'s shape with seeded random weights (benchmarks at a real SAE's size):
    /// decoder rows of unit norm, the encoder their transpose, a negative encoder bias so that
    /// few features fire.
    pub fn random(config: SaeConfig, seed: u64, device: &burn::tensor::Device) -> Self {
        let (d_in, d_sae) = (config.d_in, config.d_sae);
        let mut rng = crate::rng::SplitMix64(seed);
        let mut w_dec: Vec<f32> = (0..d_sae * d_in)
            .map(|_| rng.next_f64() as f32 - 0.5)
            .collect();
        for row in w_dec.chunks_mut(d_in) {
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            row.iter_mut().for_each(|v| *v /= norm);
        }
        let w_dec = Tensor::<2>::from_data(TensorData::new(w_dec, [d_sae, d_in]), device);
        let vector = |value: f32, n: usize| Tensor::<1>::full([n], value, device);
        Self {
            w_enc: w_dec.clone().transpose(),
            b_enc: vector(-0.5, d_sae),
            w_dec,
            b_dec: vector(0.0, d_in),
            threshold: matches!(config.architecture, Architecture::JumpRelu)
                .then(|| vector(0.1, d_sae)),
            config,
            sha256: String::new(),
        }
    }

    /// Whether this SAE reads an activation `model` has, of its width; else why not.
    pub fn check_fits(&self, model: &Gpt2Config) -> Result<(), SaeError> {
        let hook = self.config.hook;
        if hook.layer().is_some_and(|layer| layer >= model.n_layer) {
            return Err(SaeError::Mismatch(format!(
                "the SAE reads {hook}, but the model has {} layers",
                model.n_layer
            )));
        }
        let shape = model.hook_shape(hook, 1, 1);
        if shape.len() != 3 || shape[2] != self.config.d_in {
            return Err(SaeError::Mismatch(format!(
                "the SAE reads {hook} with d_in {}, but the model's {hook} has shape [batch, pos, {}]",
                self.config.d_in,
                shape.last().copied().unwrap_or(0)
            )));
        }
        Ok(())
    }

    /// The features of `x`.
    ///
    /// # Shapes
    /// `x [rows, d_in]`.
    pub fn encode(&self, x: Tensor<2>) -> Encoded {
        let [rows, d_in] = x.dims();
        let scale = match self.config.normalization {
            Normalization::None => Tensor::ones([rows, 1], &x.device()),
            Normalization::ConstantNormRescale => {
                let norm = x.clone().square().sum_dim(1).sqrt();
                norm.recip().mul_scalar((d_in as f32).sqrt())
            }
        };
        let mut sae_in = x * scale.clone();
        if self.config.apply_b_dec_to_input {
            sae_in = sae_in - self.b_dec.clone().unsqueeze();
        }
        let pre = sae_in.matmul(self.w_enc.clone()) + self.b_enc.clone().unsqueeze();
        let acts = match self.config.architecture {
            Architecture::Standard => burn::tensor::activation::relu(pre),
            Architecture::JumpRelu => {
                let threshold = self.threshold.clone().expect("built with a threshold");
                let below = pre
                    .clone()
                    .lower_equal(threshold.unsqueeze::<2>().expand([rows, self.config.d_sae]));
                burn::tensor::activation::relu(pre.mask_fill(below, 0.0))
            }
            Architecture::TopK { k } => {
                let k = k.min(self.config.d_sae);
                let kth = pre.clone().topk(k, 1).narrow(1, k - 1, 1);
                let below = pre.clone().lower(kth.expand([rows, self.config.d_sae]));
                burn::tensor::activation::relu(pre.mask_fill(below, 0.0))
            }
        };
        Encoded { acts, scale }
    }

    /// The activation rebuilt from features.
    ///
    /// # Shapes
    /// `acts [rows, d_sae]`, `scale [rows, 1]` → `[rows, d_in]`.
    pub fn decode(&self, acts: Tensor<2>, scale: Tensor<2>) -> Tensor<2> {
        (acts.matmul(self.w_dec.clone()) + self.b_dec.clone().unsqueeze()) / scale
    }
}
