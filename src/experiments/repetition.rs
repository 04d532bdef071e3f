//! Repetition self-reinforcement (Xu et al. 2022, "Learning to break the loop", DITTO): a
//! sentence repeated n times; the more often it has occurred, the more likely the model is to
//! repeat it again.

use super::kind::{About, ExperimentKind};
use super::loss::token_losses;
use super::{
    ExperimentError, Grid, GridKind, GridName, Needs, Output, ParamError, Progress, PromptInput,
    PromptSet,
};
use crate::model::Gpt2;
use serde::{Deserialize, Serialize};

/// `sentence` repeated `repeats` times (its tokens, so every copy tokenises alike): the spec's
/// `repetition`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub sentence: PromptInput,
    #[serde(default = "ten")]
    pub repeats: usize,
    /// Start with `<|endoftext|>`, so that the first copy's first token is predicted too.
    #[serde(default = "yes")]
    pub prepend_bos: bool,
}

fn ten() -> usize {
    10
}

fn yes() -> bool {
    true
}

impl ExperimentKind for Params {
    const ABOUT: About = About {
        title: "Repetition curves",
        what: "Repeats one sentence n times and reads the probability of each of its tokens in each copy: TP_n is their mean in copy n, IP_n the share of tokens more probable than in the first copy.",
        read: "Both curves rise with the number of copies: the model reinforces its own repetitions, the loop that greedy decoding falls into.",
        paper: "Xu et al. 2022, Learning to Break the Loop",
        url: "https://arxiv.org/abs/2206.02369",
    };
    const NEEDS: Needs = Needs::NoPrompts;

    fn check(&self) -> Result<(), ParamError> {
        if self.repeats < 2 {
            return Err(ParamError {
                field: "repeats".into(),
                message: "repeat the sentence at least twice".into(),
            });
        }
        Ok(())
    }
}

/// `repeat.token_prob` `[copy, token]` (the probability of each token of each copy given
/// everything before it), `repeat.tp` `[copy]` (TP_n, their mean per copy) and `repeat.ip`
/// `[copy]` (IP_n, the share of a copy's tokens more probable than in the first copy).
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    _progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let sentence = prompts.encode(&params.sentence, false, "experiment.repetition.sentence")?;
    let n = params.repeats;
    let len = sentence.len();
    let bos = usize::from(params.prepend_bos);
    if len == 0 {
        return Err(ExperimentError::Parameter("the sentence is empty".into()));
    }
    // A count in the billions must be refused, not multiplied past usize or built.
    let total = n.checked_mul(len).and_then(|t| t.checked_add(bos));
    if total.is_none_or(|t| t > model.config.n_positions) {
        return Err(ExperimentError::Parameter(format!(
            "{n} copies of {len} tokens{} are {} tokens; the model reads at most {}",
            if bos == 1 { " after <|endoftext|>" } else { "" },
            total.map_or("more than 2^64".to_string(), |t| t.to_string()),
            model.config.n_positions
        )));
    }
    let total = total.expect("checked above");
    let mut ids = Vec::with_capacity(total);
    if params.prepend_bos {
        ids.push(model.config.bos_token_id);
    }
    for _ in 0..n {
        ids.extend(&sentence);
    }
    // losses[i] is the loss of ids[i + 1]; without BOS the first token has no prediction (NaN).
    let losses = token_losses(model, &ids).await?;
    let prob = |token_index: usize| match token_index.checked_sub(1) {
        Some(before) => (-losses[before]).exp(),
        None => f32::NAN,
    };
    let probs: Vec<f32> = (0..n * len).map(|i| prob(bos + i)).collect();
    let first = &probs[..len];
    let mut tp = Vec::with_capacity(n);
    let mut ip = Vec::with_capacity(n);
    for copy in probs.chunks(len) {
        let known: Vec<f32> = copy.iter().copied().filter(|p| p.is_finite()).collect();
        tp.push(known.iter().sum::<f32>() / known.len() as f32);
        let compared = copy
            .iter()
            .zip(first)
            .filter(|(p, q)| p.is_finite() && q.is_finite());
        let (rose, count) = compared.fold((0usize, 0usize), |(rose, count), (p, q)| {
            (rose + usize::from(p > q), count + 1)
        });
        ip.push(rose as f32 / count as f32);
    }
    let copies: Vec<String> = (1..=n).map(|c| c.to_string()).collect();
    let tokens = prompts.token_texts(&sentence);
    let mut token_prob = Grid::new(&["copy", "token"], vec![n, len], probs);
    token_prob.labels = vec![copies.clone(), tokens];
    let mut output = Output::default();
    output.grid(
        GridName::raw(GridKind::Repetition(RepetitionGrid::TokenProb)),
        token_prob,
    );
    output.grid(
        GridName::raw(GridKind::Repetition(RepetitionGrid::Tp)),
        Grid::new(&["copy"], vec![n], tp).with_labels(copies.clone()),
    );
    output.grid(
        GridName::raw(GridKind::Repetition(RepetitionGrid::Ip)),
        Grid::new(&["copy"], vec![n], ip).with_labels(copies),
    );
    Ok(output)
}

/// The grids of a repetition run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepetitionGrid {
    TokenProb,
    Tp,
    Ip,
}

impl RepetitionGrid {
    pub const ALL: [Self; 3] = [Self::TokenProb, Self::Tp, Self::Ip];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TokenProb => "token_prob",
            Self::Tp => "tp",
            Self::Ip => "ip",
        }
    }
}
