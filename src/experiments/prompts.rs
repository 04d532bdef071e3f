//! What every experiment reads: the prompt set (clean prompts, optional corrupted
//! counterparts, one answer pair each, the metric they are scored with), and the cached runs
//! of either batch.

use super::gedi::Discriminator;
use super::generation::GenerationConfig;
use super::metric::{AnswerPair, Metric, last_position};
use super::readback::read;
use super::{ExperimentError, UnequalLengths};
use crate::hooks::{ActivationCache, HookPoint};
use crate::loading::{LoadedModel, ModelRef, Tokenizer};
use crate::model::Gpt2;
use crate::sae::Sae;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// A prompt as text, or as token ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PromptInput {
    Text(String),
    Ids(Vec<u32>),
}

impl PromptInput {
    /// The ids, tokenising text (with `<|endoftext|>` first if `prepend_bos`); `path` names the
    /// prompt's place in the spec for errors.
    pub fn encode(
        &self,
        tokenizer: Option<&Tokenizer>,
        prepend_bos: bool,
        path: &str,
    ) -> Result<Vec<u32>, ExperimentError> {
        let failed = |message: String| ExperimentError::Prompt {
            path: path.into(),
            message,
        };
        match (self, tokenizer) {
            (Self::Ids(ids), _) => Ok(ids.clone()),
            (Self::Text(text), Some(tokenizer)) => tokenizer
                .encode_prompt(text, prepend_bos)
                .map_err(|e| failed(e.to_string())),
            (Self::Text(_), None) => Err(failed(
                "text needs the model's tokenizer; give token ids".into(),
            )),
        }
    }
}

/// The prompts of an experiment, tokenised and checked: as many corrupted prompts (if any)
/// and answer pairs as clean prompts, each corrupted prompt as long as its clean one.
/// Corrupted runs are scored with the clean answers.
pub struct PromptSet<'a> {
    clean: Vec<Vec<u32>>,
    corrupted: Vec<Vec<u32>>,
    answers: Vec<AnswerPair>,
    pub metric: Metric,
    /// The seed of anything random (sampling).
    pub seed: u64,
    /// For experiments whose parameters hold prompts of their own (generation, steering).
    tokenizer: Option<&'a Tokenizer>,
    /// Models the parameters name besides the one run (GeDi's), by id.
    models: Vec<(&'a str, &'a LoadedModel)>,
    /// SAEs the parameters name, by id.
    saes: Vec<(&'a str, &'a Sae)>,
}

/// A batch's run: its metric (mean and per prompt) and the activations asked for.
pub struct CachedRun {
    pub metric: f32,
    pub per_prompt: Vec<f32>,
    pub cache: ActivationCache,
}

impl<'a> PromptSet<'a> {
    /// Checks that the batches pair up; `corrupted` may be empty.
    pub fn new(
        clean: Vec<Vec<u32>>,
        corrupted: Vec<Vec<u32>>,
        answers: Vec<AnswerPair>,
        metric: Metric,
    ) -> Result<Self, ExperimentError> {
        let counts_differ = clean.len() != answers.len()
            || (!corrupted.is_empty() && corrupted.len() != clean.len());
        if counts_differ {
            return Err(ExperimentError::Counts(format!(
                "{} clean prompts, {} corrupted prompts and {} answer pairs: they must be equal in number",
                clean.len(),
                corrupted.len(),
                answers.len()
            )));
        }
        if let Some((index, (c, k))) = clean
            .iter()
            .zip(&corrupted)
            .enumerate()
            .find(|(_, (c, k))| c.len() != k.len())
        {
            return Err(UnequalLengths {
                index,
                clean: c.clone(),
                corrupted: k.clone(),
                texts: None,
            }
            .into());
        }
        Ok(Self {
            clean,
            corrupted,
            answers,
            metric,
            seed: 0,
            tokenizer: None,
            models: vec![],
            saes: vec![],
        })
    }

    /// No prompts: for experiments that bring their own (generation, steering).
    pub fn empty() -> Self {
        Self {
            clean: vec![],
            corrupted: vec![],
            answers: vec![],
            metric: Metric::default(),
            seed: 0,
            tokenizer: None,
            models: vec![],
            saes: vec![],
        }
    }

    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Lets the experiment tokenise the text prompts of its parameters.
    pub fn with_tokenizer(mut self, tokenizer: &'a Tokenizer) -> Self {
        self.tokenizer = Some(tokenizer);
        self
    }

    /// Makes `model` available as `id` to parameters that name a second model.
    pub fn with_model(mut self, id: &'a str, model: &'a LoadedModel) -> Self {
        self.models.push((id, model));
        self
    }

    /// The model's tokenizer, where the run has one.
    pub fn tokenizer(&self) -> Option<&'a Tokenizer> {
        self.tokenizer
    }

    /// Makes `sae` available as `id` to parameters that name an SAE.
    pub fn with_sae(mut self, id: &'a str, sae: &'a Sae) -> Self {
        self.saes.push((id, sae));
        self
    }

    /// The SAE `named` at `path` of the spec, checked against `model`.
    pub fn sae(
        &self,
        named: &ModelRef,
        model: &Gpt2,
        path: &str,
    ) -> Result<&'a Sae, ExperimentError> {
        let at = |message: String| ExperimentError::Prompt {
            path: path.into(),
            message,
        };
        let &(_, sae) = self
            .saes
            .iter()
            .find(|(id, _)| *id == named.id)
            .ok_or_else(|| at(format!("the SAE `{}` is not loaded", named.id)))?;
        sae.check_fits(&model.config)
            .map_err(|e| at(e.to_string()))?;
        Ok(sae)
    }

    /// GeDi's model, checked against `base`, with the ids of its two control codes, when
    /// `config` asks for guidance; `path` is the generation config's place in the spec.
    pub fn discriminator(
        &self,
        config: &GenerationConfig,
        base: &Gpt2,
        path: &str,
    ) -> Result<Option<Discriminator<'a>>, ExperimentError> {
        let Some(gedi) = &config.gedi else {
            return Ok(None);
        };
        let at = |field: &str, message: String| ExperimentError::Prompt {
            path: format!("{path}.gedi.{field}"),
            message,
        };
        let Some(&(_, loaded)) = self.models.iter().find(|(id, _)| *id == gedi.model.id) else {
            return Err(at(
                "model",
                format!("the GeDi model `{}` is not loaded", gedi.model.id),
            ));
        };
        let (vocab, theirs) = (base.config.vocab_size, loaded.model.config.vocab_size);
        if vocab != theirs {
            return Err(at(
                "model",
                format!(
                    "the GeDi model `{}` has a vocabulary of {theirs} tokens, the model it guides {vocab}: both must read the same tokens",
                    gedi.model.id
                ),
            ));
        }
        let mut codes = [0; 2];
        for (code, (field, text)) in codes
            .iter_mut()
            .zip([("desired", &gedi.desired), ("undesired", &gedi.undesired)])
        {
            let ids = loaded
                .tokenizer
                .encode(text)
                .map_err(|e| at(field, e.to_string()))?;
            *code = *ids.first().ok_or_else(|| {
                at(
                    field,
                    format!("the control code {text:?} encodes to no token"),
                )
            })?;
        }
        if codes[0] == codes[1] {
            return Err(at(
                "undesired",
                format!(
                    "both control codes begin with the same token ({:?}): GeDi reads only the first",
                    loaded.tokenizer.token_texts(&codes[..1])[0]
                ),
            ));
        }
        Ok(Some(Discriminator {
            model: &loaded.model,
            codes,
        }))
    }

    pub fn clean(&self) -> &[Vec<u32>] {
        &self.clean
    }

    pub fn answers(&self) -> &[AnswerPair] {
        &self.answers
    }

    /// The corrupted prompts, which this experiment needs.
    pub fn corrupted(&self) -> Result<&[Vec<u32>], ExperimentError> {
        if self.corrupted.is_empty() {
            return Err(ExperimentError::Parameter(
                "this experiment needs corrupted prompts".into(),
            ));
        }
        Ok(&self.corrupted)
    }

    pub fn has_corrupted(&self) -> bool {
        !self.corrupted.is_empty()
    }

    /// Positions per prompt (every prompt of a set is this long when there are corrupted ones).
    pub fn n_pos(&self) -> usize {
        self.clean.first().map_or(0, Vec::len)
    }

    /// The ids of a prompt in the parameters at `path` (`experiment.prompt`), tokenised with
    /// `<|endoftext|>` first if `prepend_bos`.
    pub fn encode(
        &self,
        input: &PromptInput,
        prepend_bos: bool,
        path: &str,
    ) -> Result<Vec<u32>, ExperimentError> {
        input.encode(self.tokenizer, prepend_bos, path)
    }

    /// ActAdd's padding token: the tokenizer's `" "` (220 in GPT-2), as TransformerLens's
    /// `model.to_single_token(" ")`.
    pub fn padding_token(&self) -> Result<u32, ExperimentError> {
        self.tokenizer
            .and_then(|t| t.single_token(" "))
            .ok_or_else(|| {
                ExperimentError::Parameter(
                    "ActAdd's front placement pads the steering prompts with the tokenizer's \" \" token: run it with the model's tokenizer".into(),
                )
            })
    }

    /// The tokenizer's `<|endoftext|>` (BOS), when there is a tokenizer.
    pub fn bos(&self) -> Option<u32> {
        self.tokenizer.map(|t| t.bos())
    }

    /// Each token's text (its id without a tokenizer), for labels.
    pub fn token_texts(&self, ids: &[u32]) -> Vec<String> {
        match self.tokenizer {
            Some(tokenizer) => tokenizer.token_texts(ids),
            None => ids.iter().map(u32::to_string).collect(),
        }
    }

    /// Runs the clean prompts, caching the hooks `keep` accepts.
    pub async fn clean_run(
        &self,
        model: &Gpt2,
        keep: impl Fn(HookPoint) -> bool,
    ) -> Result<CachedRun, ExperimentError> {
        self.run(model, &self.clean, self.metric, keep).await
    }

    /// Runs the clean prompts scored with `metric` instead of the set's.
    pub async fn clean_run_scored(
        &self,
        model: &Gpt2,
        metric: Metric,
        keep: impl Fn(HookPoint) -> bool,
    ) -> Result<CachedRun, ExperimentError> {
        self.run(model, &self.clean, metric, keep).await
    }

    /// Runs the corrupted prompts (scored with the clean answers).
    pub async fn corrupted_run(
        &self,
        model: &Gpt2,
        keep: impl Fn(HookPoint) -> bool,
    ) -> Result<CachedRun, ExperimentError> {
        self.run(model, self.corrupted()?, self.metric, keep).await
    }

    async fn run(
        &self,
        model: &Gpt2,
        tokens: &[Vec<u32>],
        metric: Metric,
        keep: impl Fn(HookPoint) -> bool,
    ) -> Result<CachedRun, ExperimentError> {
        let (logits, cache) = model.run_with_cache(model.tokens(tokens)?, keep);
        let (metric, per_prompt) = self.score_with(metric, logits).await?;
        Ok(CachedRun {
            metric,
            per_prompt,
            cache,
        })
    }

    /// The metric of full-sequence logits, one row per prompt: mean and per prompt.
    pub async fn score(&self, logits: Tensor<3>) -> Result<(f32, Vec<f32>), ExperimentError> {
        self.score_with(self.metric, logits).await
    }

    async fn score_with(
        &self,
        metric: Metric,
        logits: Tensor<3>,
    ) -> Result<(f32, Vec<f32>), ExperimentError> {
        let per_prompt = read(metric.per_row(last_position(logits), &self.answers))
            .await
            .map_err(ExperimentError::Device)?;
        let mean = per_prompt.iter().sum::<f32>() / per_prompt.len() as f32;
        Ok((mean, per_prompt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_pair_up_and_text_needs_a_tokenizer() {
        let answers = vec![AnswerPair {
            correct: 1,
            incorrect: 2,
        }];
        let err = PromptSet::new(
            vec![vec![1, 2]],
            vec![vec![1]],
            answers.clone(),
            Metric::LogitDiff,
        )
        .err()
        .unwrap();
        assert!(
            matches!(&err, ExperimentError::UnequalLengths(e) if e.index == 0),
            "{err}"
        );
        let err = PromptSet::new(vec![vec![1]], vec![], vec![], Metric::LogitDiff)
            .err()
            .unwrap();
        assert!(err.to_string().contains("1 clean prompts"), "{err}");
        let set = PromptSet::new(vec![vec![1]], vec![], answers, Metric::LogitDiff).unwrap();
        assert!(set.corrupted().is_err());
        let input = PromptInput::Text("hello".into());
        let err = set.encode(&input, true, "experiment.prompt").unwrap_err();
        assert_eq!(
            err,
            ExperimentError::Prompt {
                path: "experiment.prompt".into(),
                message: "text needs the model's tokenizer; give token ids".into(),
            }
        );
        let ids = PromptInput::Ids(vec![5, 6]);
        assert_eq!(set.encode(&ids, true, "x"), Ok(vec![5, 6]));
    }
}
