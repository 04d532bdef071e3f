//! A word-association test (WEAT: Caliskan et al. 2017; SEAT-style templates): does the model
//! represent one set of target words (male names) nearer one set of attribute words ("career")
//! and the other (female names) nearer the other ("family")? Each word's vector is the hook's
//! activation at the word's last token inside a template sentence.

use super::kind::{About, ExperimentKind};
use super::readback::read;
use super::{
    ExperimentError, Grid, GridKind, GridName, MetricName, Needs, Output, ParamError, Progress,
    PromptInput, PromptSet,
};
use crate::hooks::HookPoint;
use crate::model::Gpt2;
use crate::rng::SplitMix64;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// The spec's `association_test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// A sentence with `{}` where each word goes (`"This is {}."`).
    pub template: String,
    /// The two target sets, X then Y (male and female names).
    pub targets: [Vec<String>; 2],
    /// The two attribute sets, A then B ("career" and "family" words).
    pub attributes: [Vec<String>; 2],
    /// A `[batch, pos, d_model]` hook: `hook_embed`, `blocks.L.hook_resid_post`...
    pub hook: HookPoint,
    /// Start each sentence with `<|endoftext|>`.
    #[serde(default)]
    pub prepend_bos: bool,
}

/// Partitions counted exactly up to this many (8 words a side: C(16, 8)); a seeded sample of
/// [`SAMPLED_PARTITIONS`] above.
pub const EXACT_PARTITIONS: u64 = 12_870;
pub const SAMPLED_PARTITIONS: u64 = 100_000;
/// Words a set may hold.
pub const MAX_WORDS: usize = 64;

const S: &str = "weat.s";
const EFFECT_SIZE: &str = "weat.effect_size";
const P_VALUE: &str = "weat.p_value";
const PARTITIONS: &str = "weat.partitions";

impl ExperimentKind for Params {
    const ABOUT: About = About {
        title: "Word association test (WEAT)",
        what: "Puts each word into a template sentence (\"This is {}.\"), reads the model's vector for it at one hook, and asks whether the first target set (male names, say) lies nearer the first attribute set (career words) and the second target set (female names) nearer the second (family words): s(w) is the word's mean cosine with the first attributes minus its mean cosine with the second.",
        read: "The effect size d is the difference of the two target sets' mean s in standard deviations (0: no association; 0.8 and more is large). The p-value is the share of the ways to split the targets into two sets of the same sizes whose difference is at least as large as the one observed: small means the association is unlikely by chance.",
        paper: "Caliskan et al. 2017, Semantics derived automatically from language corpora contain human-like biases",
        url: "https://arxiv.org/abs/1608.07187",
    };
    const NEEDS: Needs = Needs::NoPrompts;
    const GRIDS: &'static [&'static str] = &[S];
    const METRICS: &'static [&'static str] = &[EFFECT_SIZE, P_VALUE, PARTITIONS];

    fn check(&self) -> Result<(), ParamError> {
        let problem = |field: &str, message: String| {
            Err(ParamError {
                field: field.into(),
                message,
            })
        };
        if self.template.matches("{}").count() != 1 {
            return problem(
                "template",
                format!(
                    "{:?} must hold `{{}}` once, where each word goes",
                    self.template
                ),
            );
        }
        let sets = [
            ("targets[0]", &self.targets[0]),
            ("targets[1]", &self.targets[1]),
            ("attributes[0]", &self.attributes[0]),
            ("attributes[1]", &self.attributes[1]),
        ];
        for (field, words) in sets {
            if words.is_empty() || words.len() > MAX_WORDS {
                return problem(
                    field,
                    format!("give 1 to {MAX_WORDS} words, not {}", words.len()),
                );
            }
            if let Some(i) = words.iter().position(|w| w.trim().is_empty()) {
                return problem(&format!("{field}[{i}]"), "an empty word".into());
            }
        }
        if self.targets[0].len() + self.targets[1].len() < 3 {
            return problem(
                "targets",
                "the effect size needs at least three target words in all".into(),
            );
        }
        if !self.hook.is_d_model() {
            return problem(
                "hook",
                "give a [batch, pos, d_model] hook such as hook_embed or blocks.6.hook_resid_post"
                    .into(),
            );
        }
        Ok(())
    }
}

/// `weat.s` `[word]` (the targets, X then Y), the metrics `weat.effect_size`, `weat.p_value`
/// and `weat.partitions` (how many partitions the p-value counts: all of them, or a sample).
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    params.checked()?;
    super::hook_exists(model, params.hook)?;
    let (before, _) = params
        .template
        .split_once("{}")
        .expect("checked: the template holds {}");
    let groups = [
        ("targets", 0, &params.targets[0]),
        ("targets", 1, &params.targets[1]),
        ("attributes", 0, &params.attributes[0]),
        ("attributes", 1, &params.attributes[1]),
    ];
    let total: usize = groups.iter().map(|(_, _, words)| words.len()).sum();
    let mut vectors: [Vec<Vec<f64>>; 4] = Default::default();
    let mut done = 0;
    for (slot, (field, side, words)) in groups.iter().enumerate() {
        for (i, word) in words.iter().enumerate() {
            let path = format!("experiment.association_test.{field}[{side}][{i}]");
            let sentence = params.template.replacen("{}", word, 1);
            let text = |t: &str| PromptInput::Text(t.to_string());
            let prefix = if before.is_empty() && !params.prepend_bos {
                vec![]
            } else {
                prompts.encode(&text(before), params.prepend_bos, &path)?
            };
            let ids = prompts.encode(&text(&sentence), params.prepend_bos, &path)?;
            let word_ids = prompts.encode(&text(word), false, &path)?;
            let last = word_position(&prefix, &word_ids, &ids).ok_or_else(|| {
                ExperimentError::Prompt {
                    path: path.clone(),
                    message: format!(
                        "{word:?} is not tokenised the same inside the template: {:?} alone, {:?} in the sentence",
                        prompts.token_texts(&word_ids),
                        prompts.token_texts(&ids)
                    ),
                }
            })?;
            let (_, cache) = model.run_with_cache(model.tokens(std::slice::from_ref(&ids))?, |p| {
                p == params.hook
            });
            let act: Tensor<3> = cache
                .get(params.hook)
                .ok_or(ExperimentError::MissingActivation(params.hook))?;
            let [_, _, d_model] = act.dims();
            let vector = read(act.narrow(1, last, 1).reshape([d_model]))
                .await
                .map_err(ExperimentError::Device)?;
            vectors[slot].push(vector.into_iter().map(f64::from).collect());
            done += 1;
            progress.report(done, total, &[], 1)?;
        }
    }
    let [x, y, a, b] = &vectors;
    let s: Vec<f64> = x.iter().chain(y).map(|w| association(w, a, b)).collect();
    let test = Test::new(&s, x.len(), SplitMix64(prompts.seed));
    let labels = params.targets[0]
        .iter()
        .chain(&params.targets[1])
        .cloned()
        .collect();
    let mut output = Output::default();
    output.grid(
        GridName::raw(GridKind::Named(S)),
        Grid::new(
            &["word"],
            vec![s.len()],
            s.iter().map(|&v| v as f32).collect(),
        )
        .with_labels(labels),
    );
    output.metric(MetricName::Named(EFFECT_SIZE), test.effect_size as f32);
    output.metric(MetricName::Named(P_VALUE), test.p_value as f32);
    output.metric(MetricName::Named(PARTITIONS), test.partitions as f32);
    Ok(output)
}

/// The position of the word's last token in `sentence`, when the sentence tokenises as the
/// template's start, then the word's own tokens.
fn word_position(prefix: &[u32], word: &[u32], sentence: &[u32]) -> Option<usize> {
    let end = prefix.len() + word.len();
    (sentence.starts_with(prefix) && sentence.get(prefix.len()..end) == Some(word))
        .then(|| end - 1)
        .filter(|_| !word.is_empty())
}

fn cosine(u: &[f64], v: &[f64]) -> f64 {
    let dot: f64 = u.iter().zip(v).map(|(a, b)| a * b).sum();
    let norm = |w: &[f64]| w.iter().map(|a| a * a).sum::<f64>().sqrt();
    dot / (norm(u) * norm(v))
}

/// s(w): the mean cosine with the first attribute set minus the mean with the second.
fn association(w: &[f64], a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let mean = |set: &[Vec<f64>]| set.iter().map(|v| cosine(w, v)).sum::<f64>() / set.len() as f64;
    mean(a) - mean(b)
}

/// WEAT's statistics for the targets' s values (the first `x` are X, the rest Y).
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    /// (mean s over X − mean s over Y) / the standard deviation of all (ddof 1).
    pub effect_size: f64,
    /// The share of partitions into sets of X's and Y's sizes whose Σ_X s − Σ_Y s reaches the
    /// observed one (one-sided, the observed partition included).
    pub p_value: f64,
    /// How many partitions were counted.
    pub partitions: u64,
}

impl Test {
    pub fn new(s: &[f64], x: usize, mut rng: SplitMix64) -> Self {
        let n = s.len();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let all_mean = mean(s);
        let sd = (s.iter().map(|v| (v - all_mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        let effect_size = (mean(&s[..x]) - mean(&s[x..])) / sd;
        let total: f64 = s.iter().sum();
        // Σ_X − Σ_Y = 2 Σ_X − total: a partition reaches the observed statistic when its X sum does.
        let observed = 2.0 * s[..x].iter().sum::<f64>() - total;
        let reaches = |sum_x: f64| 2.0 * sum_x - total >= observed - 1e-12;
        let (mut count, mut partitions) = (0u64, 0u64);
        if binomial(n, x) <= EXACT_PARTITIONS {
            for chosen in Combinations::new(n, x) {
                partitions += 1;
                count += reaches(chosen.iter().map(|&i| s[i]).sum()) as u64;
            }
        } else {
            let mut order: Vec<usize> = (0..n).collect();
            // The observed partition, then a seeded sample (Fisher–Yates on the first x).
            partitions = SAMPLED_PARTITIONS;
            count = 1;
            for _ in 1..SAMPLED_PARTITIONS {
                for i in 0..x {
                    let j = i + (rng.next_u64() % (n - i) as u64) as usize;
                    order.swap(i, j);
                }
                count += reaches(order[..x].iter().map(|&i| s[i]).sum()) as u64;
            }
        }
        Self {
            effect_size,
            p_value: count as f64 / partitions as f64,
            partitions,
        }
    }
}

/// C(n, k), saturating.
fn binomial(n: usize, k: usize) -> u64 {
    (0..k.min(n - k)).fold(1u64, |c, i| {
        c.saturating_mul((n - i) as u64) / (i as u64 + 1)
    })
}

/// The k-subsets of 0..n in lexicographic order.
struct Combinations {
    n: usize,
    next: Option<Vec<usize>>,
}

impl Combinations {
    fn new(n: usize, k: usize) -> Self {
        Self {
            n,
            next: (k <= n).then(|| (0..k).collect()),
        }
    }
}

impl Iterator for Combinations {
    type Item = Vec<usize>;

    fn next(&mut self) -> Option<Vec<usize>> {
        let current = self.next.take()?;
        let k = current.len();
        let mut following = current.clone();
        // The rightmost index that can still move right.
        if let Some(i) = (0..k).rev().find(|&i| following[i] < self.n - k + i) {
            following[i] += 1;
            for j in i + 1..k {
                following[j] = following[j - 1] + 1;
            }
            self.next = Some(following);
        }
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_is_counted_once() {
        assert_eq!(Combinations::new(16, 8).count() as u64, EXACT_PARTITIONS);
        assert_eq!(binomial(16, 8), EXACT_PARTITIONS);
        assert_eq!(Combinations::new(4, 2).collect::<Vec<_>>().len(), 6);
        assert_eq!(Combinations::new(3, 0).count(), 1);
    }

    #[test]
    fn separated_targets_have_a_large_effect_and_the_smallest_p() {
        // X far above Y: only the observed partition reaches its statistic.
        let s = [1.0, 1.1, 0.9, 1.2, -1.0, -0.9, -1.1, -1.2];
        let test = Test::new(&s, 4, SplitMix64(0));
        assert_eq!(test.partitions, 70);
        assert!((test.p_value - 1.0 / 70.0).abs() < 1e-12);
        assert!(test.effect_size > 1.5);
        // Reversed: every partition reaches it.
        let reversed: Vec<f64> = s.iter().map(|v| -v).collect();
        assert_eq!(Test::new(&reversed, 4, SplitMix64(0)).p_value, 1.0);
    }

    #[test]
    fn many_words_are_sampled_with_the_seed() {
        let s: Vec<f64> = (0..40).map(|i| ((i * 7919) % 23) as f64 / 23.0).collect();
        let a = Test::new(&s, 20, SplitMix64(3));
        assert_eq!(a.partitions, SAMPLED_PARTITIONS);
        assert_eq!(a, Test::new(&s, 20, SplitMix64(3)));
        assert!(a.p_value > 0.0 && a.p_value <= 1.0);
    }

    #[test]
    fn a_word_is_found_after_the_template_start() {
        assert_eq!(word_position(&[1, 2], &[7, 8], &[1, 2, 7, 8, 9]), Some(3));
        assert_eq!(word_position(&[1, 2], &[7], &[1, 2, 6, 9]), None);
        assert_eq!(word_position(&[1, 2], &[], &[1, 2, 9]), None);
    }
}
