//! GeDi-guided decoding (Krause et al. 2020): a second, class-conditional GPT-2 reads the
//! sequence after each of two control codes ("positive", "negative"); Bayes' rule over its two
//! likelihoods gives every candidate token's probability of the desired class, which reweights
//! and filters the base model's next-token distribution.
//!
//! The semantics are the authors' `generate` (salesforce/GeDi, `modeling_utils.py`), restated
//! in `../shared/refs/gen_gedi_refs.py`: with the sequence so far `x_1..x_{t-1}`,
//! - `S_c[v] = (Σ_{i<t} log P(x_i | c, x_<i) + log P(v | c, x_<t)) / t` for both codes,
//! - `k_c = logit_scale · S_c + bias_c` (+ `class_bias` for the desired code),
//! - `lp_desired = log_softmax(k)[desired]`,
//! - `g = log_softmax(base) + disc_weight · lp_desired`,
//! - the filter: in order of `lp_desired`, least desired first, a token is removed (`g -= 10⁴`)
//!   while the cumulative `softmax(g)` before and including it is under `filter_p` and its
//!   `P(desired)` is under `target_p`.

use super::ExperimentError;
use super::readback::read;
use crate::hooks::NoHooks;
use crate::loading::ModelRef;
use crate::model::{Gpt2, KvCache};
use burn::tensor::{Int, Tensor, TensorData, activation};
use serde::{Deserialize, Serialize};

/// The spec's `generation.gedi`: which class-conditional model guides, towards which code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gedi {
    /// The GeDi model (a plain GPT-2 works as a zero-shot discriminator).
    pub model: ModelRef,
    /// The desired control code's text; its first token is the code.
    pub desired: String,
    pub undesired: String,
    /// ω: how strongly the class probability reweights the base model.
    #[serde(default = "Gedi::default_disc_weight")]
    pub disc_weight: f32,
    /// ρ: the filter keeps at least this much of the guided distribution's mass...
    #[serde(default = "Gedi::default_filter_p")]
    pub filter_p: f32,
    /// τ: ...and every token whose P(desired) reaches this.
    #[serde(default = "Gedi::default_target_p")]
    pub target_p: f32,
    /// Added to the desired class's logit (a prior towards it).
    #[serde(default)]
    pub class_bias: f32,
}

impl Gedi {
    /// Guidance by `model` towards `desired` with the paper's sentiment setting (ω 30, ρ 0.8,
    /// τ 0.8, no class bias).
    pub fn new(model: ModelRef, desired: &str, undesired: &str) -> Self {
        Self {
            model,
            desired: desired.into(),
            undesired: undesired.into(),
            disc_weight: Self::default_disc_weight(),
            filter_p: Self::default_filter_p(),
            target_p: Self::default_target_p(),
            class_bias: 0.0,
        }
    }

    /// The paper's sentiment setting.
    const fn default_disc_weight() -> f32 {
        30.0
    }

    const fn default_filter_p() -> f32 {
        0.8
    }

    const fn default_target_p() -> f32 {
        0.8
    }

    /// Checks that need no model; the problem names its field under `gedi`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.model.id.trim().is_empty() {
            return Err((
                "model.id",
                "name the GeDi model (a hub id or a local label)".into(),
            ));
        }
        for (field, text) in [("desired", &self.desired), ("undesired", &self.undesired)] {
            if text.is_empty() {
                return Err((field, "give the control code's text (\"positive\")".into()));
            }
        }
        if self.desired == self.undesired {
            return Err((
                "undesired",
                format!(
                    "the two control codes are both {:?}: give two classes",
                    self.desired
                ),
            ));
        }
        if !(self.disc_weight.is_finite() && self.disc_weight >= 0.0) {
            return Err((
                "disc_weight",
                format!("must be 0 or positive, not {}", self.disc_weight),
            ));
        }
        for (field, p) in [("filter_p", self.filter_p), ("target_p", self.target_p)] {
            if !(0.0..=1.0).contains(&p) {
                return Err((field, format!("must be in [0, 1], not {p}")));
            }
        }
        if !self.class_bias.is_finite() {
            return Err((
                "class_bias",
                format!("must be a number, not {}", self.class_bias),
            ));
        }
        Ok(())
    }
}

/// The GeDi model ready to guide: the model and the two codes' token ids.
#[derive(Clone, Copy)]
pub struct Discriminator<'m> {
    pub model: &'m Gpt2,
    /// Desired, undesired.
    pub codes: [u32; 2],
}

/// What guiding did to one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Guided {
    /// `g`: the guided, filtered log-probabilities the token is picked from.
    pub logits: Vec<f32>,
    /// log P(desired | sequence + v) for every candidate v.
    pub lp_desired: Vec<f64>,
    /// Tokens the filter removed.
    pub removed: u32,
}

/// One guided generation's state: the GeDi model's caches for both codes, and the running
/// log-likelihood of the sequence under each.
pub struct Guide<'m> {
    discriminator: Discriminator<'m>,
    settings: Gedi,
    scale: f64,
    bias: [f64; 2],
    use_cache: bool,
    cache: KvCache,
    /// Σ log P(x_i | code, x_<i) over the tokens of the sequence accounted for.
    past: [f64; 2],
    /// Tokens of the sequence the GeDi model has read (cache mode).
    read_tokens: usize,
    /// Log-softmax of the last position for both codes: the next token's log-likelihood.
    pending: Option<[Vec<f64>; 2]>,
}

impl<'m> Guide<'m> {
    /// Reads the class head (scale 1, bias 0 for a plain GPT-2).
    pub async fn new(
        discriminator: Discriminator<'m>,
        settings: &Gedi,
        use_cache: bool,
    ) -> Result<Self, ExperimentError> {
        let (scale, bias) = match &discriminator.model.class_head {
            Some(head) => {
                let scale = read(head.logit_scale.val())
                    .await
                    .map_err(ExperimentError::Device)?;
                let bias = read(head.bias.val())
                    .await
                    .map_err(ExperimentError::Device)?;
                (scale[0] as f64, [bias[0] as f64, bias[1] as f64])
            }
            None => (1.0, [0.0, 0.0]),
        };
        Ok(Self {
            discriminator,
            settings: settings.clone(),
            scale,
            bias,
            use_cache,
            cache: KvCache::default(),
            past: [0.0; 2],
            read_tokens: 0,
            pending: None,
        })
    }

    /// Guides the base model's processed logits for the next token after `sequence`.
    pub async fn guide(
        &mut self,
        sequence: &[u32],
        base_logits: &[f32],
    ) -> Result<Guided, ExperimentError> {
        let lp_desired = self.desired(sequence).await?;
        Ok(guided(base_logits, lp_desired, &self.settings))
    }

    /// log P(desired | sequence + v) for every v.
    async fn desired(&mut self, sequence: &[u32]) -> Result<Vec<f64>, ExperimentError> {
        if !self.use_cache {
            self.cache = KvCache::default();
            self.past = [0.0; 2];
            self.read_tokens = 0;
            self.pending = None;
        }
        // Both codes' sequences, as one batch of two.
        let fresh: Vec<Vec<u32>> = self
            .discriminator
            .codes
            .iter()
            .map(|&code| match self.read_tokens {
                0 => [&[code], sequence].concat(),
                read => sequence[read..].to_vec(),
            })
            .collect();
        if let Some(rows) = self.pending.take() {
            let next = sequence[self.read_tokens] as usize;
            for (past, row) in self.past.iter_mut().zip(&rows) {
                *past += row[next];
            }
        }
        let model = self.discriminator.model;
        let width = fresh[0].len();
        let ids: Vec<i32> = fresh.iter().flatten().map(|&id| id as i32).collect();
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(ids, [2, width]), &model.device());
        let logits = model.forward_cached(tokens, &mut self.cache, &mut NoHooks); // [2, width, vocab]
        let [_, _, vocab] = logits.dims();
        if width > 1 {
            // Each fresh position but the last predicts the fresh token after it.
            let targets: Vec<i32> = fresh
                .iter()
                .flat_map(|f| f[1..].iter().map(|&id| id as i32))
                .collect();
            let targets = Tensor::<3, Int>::from_data(
                TensorData::new(targets, [2, width - 1, 1]),
                &model.device(),
            );
            let log_probs = activation::log_softmax(logits.clone().narrow(1, 0, width - 1), 2);
            let sums = read(log_probs.gather(2, targets).sum_dim(1).reshape([2]))
                .await
                .map_err(ExperimentError::Device)?;
            for (past, sum) in self.past.iter_mut().zip(sums) {
                *past += sum as f64;
            }
        }
        let last = read(logits.narrow(1, width - 1, 1).reshape([2, vocab]))
            .await
            .map_err(ExperimentError::Device)?;
        let rows = [log_softmax(&last[..vocab]), log_softmax(&last[vocab..])];
        self.read_tokens = sequence.len();
        let t = (sequence.len() + 1) as f64;
        let class_logit =
            |c: usize, v: usize| self.scale * (rows[c][v] + self.past[c]) / t + self.bias[c];
        let class_bias = self.settings.class_bias as f64;
        let lp_desired = (0..vocab)
            .map(|v| {
                let margin = class_logit(1, v) - (class_logit(0, v) + class_bias);
                -softplus(margin)
            })
            .collect();
        self.pending = Some(rows);
        Ok(lp_desired)
    }
}

/// `ln(1 + e^x)` without overflow: `−softplus(k_u − k_d)` is log P(desired).
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Log-softmax in f64 (`-inf` stays `-inf`).
pub fn log_softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let log_total = max
        + logits
            .iter()
            .map(|&l| (l as f64 - max).exp())
            .sum::<f64>()
            .ln();
    logits.iter().map(|&l| l as f64 - log_total).collect()
}

/// The base model's processed logits reweighted by the class probabilities and filtered.
pub fn guided(base_logits: &[f32], lp_desired: Vec<f64>, settings: &Gedi) -> Guided {
    let weight = settings.disc_weight as f64;
    let mut g: Vec<f64> = log_softmax(base_logits)
        .iter()
        .zip(&lp_desired)
        .map(|(base, desired)| base + weight * desired)
        .collect();
    let mut removed = 0;
    if settings.filter_p > 0.0 {
        let max = g.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = g.iter().map(|l| (l - max).exp()).collect();
        let total: f64 = weights.iter().sum();
        // Least desired first, ties by id (a stable sort's order), sorted in place.
        let mut order: Vec<(f64, usize)> = lp_desired.iter().copied().zip(0..).collect();
        order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let (filter_p, log_target) = (settings.filter_p as f64, (settings.target_p as f64).ln());
        let mut mass = 0.0;
        for (_, v) in order {
            mass += weights[v] / total;
            if mass >= filter_p {
                break;
            }
            if lp_desired[v] < log_target {
                g[v] -= 10_000.0;
                removed += 1;
            }
        }
    }
    Guided {
        logits: g.iter().map(|&l| l as f32).collect(),
        lp_desired,
        removed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(filter_p: f32, target_p: f32) -> Gedi {
        Gedi {
            model: ModelRef {
                id: "gedi".into(),
                revision: None,
            },
            desired: "positive".into(),
            undesired: "negative".into(),
            disc_weight: 1.0,
            filter_p,
            target_p,
            class_bias: 0.0,
        }
    }

    #[test]
    fn the_filter_removes_undesired_tokens_until_the_mass_is_reached() {
        // Equal base log-probs; P(desired) 0.1, 0.2, 0.9, 0.95: g ∝ P(desired).
        let lp = vec![0.1f64.ln(), 0.2f64.ln(), 0.9f64.ln(), 0.95f64.ln()];
        let out = guided(&[0.0; 4], lp.clone(), &settings(0.1, 0.5));
        // Cumulative mass, least desired first: 0.047, 0.140: only the first is under 0.1.
        assert_eq!(out.removed, 1);
        assert_eq!(
            guided(&[0.0; 4], lp.clone(), &settings(0.2, 0.5)).removed,
            2
        );
        // The third is under the mass too, but desired enough.
        assert_eq!(
            guided(&[0.0; 4], lp.clone(), &settings(0.9, 0.5)).removed,
            2
        );
        assert!(out.logits[0] < -9_000.0 && out.logits[1] > -10.0);
        // A target every token reaches keeps them all.
        assert_eq!(
            guided(&[0.0; 4], lp.clone(), &settings(0.99, 0.05)).removed,
            0
        );
        // No filter mass: nothing removed.
        assert_eq!(guided(&[0.0; 4], lp, &settings(0.0, 1.0)).removed, 0);
    }

    #[test]
    fn guiding_adds_the_weighted_class_log_probability() {
        let lp = vec![-0.1, -2.0];
        let out = guided(&[1.0, 1.0], lp, &settings(0.0, 1.0));
        let base = -(2.0f64).ln();
        assert!((out.logits[0] as f64 - (base - 0.1)).abs() < 1e-6);
        assert!((out.logits[1] as f64 - (base - 2.0)).abs() < 1e-6);
    }

    #[test]
    fn checks_name_the_field() {
        let mut gedi = settings(0.8, 0.8);
        gedi.undesired = "positive".into();
        assert_eq!(gedi.check().unwrap_err().0, "undesired");
        let mut gedi = settings(1.5, 0.8);
        assert_eq!(gedi.check().unwrap_err().0, "filter_p");
        gedi.filter_p = 0.5;
        gedi.disc_weight = f32::NAN;
        assert_eq!(gedi.check().unwrap_err().0, "disc_weight");
    }
}
