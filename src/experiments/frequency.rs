//! Frequency tagging of neurons (HFTP: An et al. 2025, after Ding et al. 2016's frequency
//! tagging of language in the brain): a stream of sentences of a fixed rhythm — one token a word,
//! phrases of P words, sentences of W words — runs through the model, and every MLP neuron's
//! activation over the stream is searched for the sentence rate (1/W cycles a token) and the
//! phrase rate (1/P): a neuron tracking syntax oscillates at them. The same words in a shuffled
//! order keep every word's own response and lose the structure: the control.

use super::kind::{About, ExperimentKind};
use super::readback::read;
use super::{
    ExperimentError, Grid, GridKind, GridName, Needs, Output, ParamError, Progress, PromptInput,
    PromptSet,
};
use crate::hooks::{BlockHook, HookPoint};
use crate::model::Gpt2;
use crate::rng::SplitMix64;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// The spec's `frequency_tagging`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Sentences of `words_per_sentence` one-token words each, run as one stream.
    pub sentences: Vec<PromptInput>,
    pub words_per_sentence: usize,
    pub words_per_phrase: usize,
    /// Start the stream with `<|endoftext|>` (its position is not analysed).
    #[serde(default)]
    pub prepend_bos: bool,
    /// A neuron is tagged at a rate where its SNR exceeds this.
    #[serde(default = "Params::default_threshold")]
    pub threshold: f32,
    /// Also run the same tokens in a shuffled order (seeded by the spec's seed).
    #[serde(default = "Params::yes", skip_serializing_if = "Params::is_true")]
    pub shuffled_control: bool,
}

impl Params {
    const fn default_threshold() -> f32 {
        3.0
    }

    const fn yes() -> bool {
        true
    }

    fn is_true(b: &bool) -> bool {
        *b
    }
}

const SNR_SENTENCE: &str = "hftp.snr_sentence";
const SNR_PHRASE: &str = "hftp.snr_phrase";
const TAGGED: &str = "hftp.tagged";
const TAGGED_SHUFFLED: &str = "hftp.tagged_shuffled";
const SPECTRUM: &str = "hftp.spectrum";
const TRACES: &str = "hftp.traces";

/// The neurons of highest SNR at each rate whose activation over the stream the result keeps
/// (`hftp.traces`): those the ranked figures list.
pub const TRACED: usize = crate::figures::RANKED_BARS;

impl ExperimentKind for Params {
    const ABOUT: About = About {
        title: "Frequency tagging of neurons (HFTP)",
        what: "Runs a stream of sentences with a fixed rhythm (one token a word; two-word phrases; four-word sentences) and takes each MLP neuron's activation over the stream apart into frequencies. A neuron that follows the syntax oscillates at the sentence rate (every 4 tokens) or the phrase rate (every 2); its signal-to-noise ratio compares that frequency's amplitude with its neighbours'.",
        read: "hftp.tagged is the share of each layer's neurons whose SNR exceeds the threshold at the sentence rate and at the phrase rate: An et al. find syntax concentrated in particular middle layers. The shuffled control runs the same words in a random order: whatever stays tagged there follows the words, not the structure. The spectrum is each layer's mean amplitude by frequency, the two rates marked by their peaks.",
        paper: "An et al. 2025, Hierarchical Frequency Tagging Probe (HFTP): A Unified Approach to Investigate Syntactic Structure Representations in Large Language Models and the Human Brain",
        url: "https://arxiv.org/abs/2510.13255",
    };
    const NEEDS: Needs = Needs::NoPrompts;
    const GRIDS: &'static [&'static str] = &[
        SNR_SENTENCE,
        SNR_PHRASE,
        TAGGED,
        TAGGED_SHUFFLED,
        SPECTRUM,
        TRACES,
    ];

    fn check(&self) -> Result<(), ParamError> {
        let problem = |field: &str, message: String| {
            Err(ParamError {
                field: field.into(),
                message,
            })
        };
        let (w, p) = (self.words_per_sentence, self.words_per_phrase);
        if p == 0 || w < 2 * p || w % p != 0 {
            return problem(
                "words_per_phrase",
                format!("a sentence of {w} words must hold two or more phrases of {p} words"),
            );
        }
        if self.sentences.len() < 4 {
            return problem(
                "sentences",
                "give at least four sentences: the sentence rate needs neighbours on both sides"
                    .into(),
            );
        }
        let tokens = self.sentences.len() * w;
        if let Some(factor) = largest_prime_factor(tokens).filter(|&f| f > MAX_PRIME_FACTOR) {
            return problem(
                "sentences",
                format!(
                    "{} sentences make a stream of {tokens} tokens, whose prime factor {factor} makes its Fourier transform slow: use a count with small prime factors (32, 48, 64…)",
                    self.sentences.len()
                ),
            );
        }
        if !(self.threshold.is_finite() && self.threshold > 0.0) {
            return problem(
                "threshold",
                format!("must be positive, not {}", self.threshold),
            );
        }
        Ok(())
    }
}

/// The FFT costs a stream's length times the sum of its prime factors a neuron: streams whose
/// factors are all at most this stay within a few times a power of two's cost.
const MAX_PRIME_FACTOR: usize = 13;

fn largest_prime_factor(mut n: usize) -> Option<usize> {
    let mut largest = None;
    let mut d = 2;
    while d * d <= n {
        while n.is_multiple_of(d) {
            largest = Some(d);
            n /= d;
        }
        d += 1;
    }
    if n > 1 {
        largest = Some(n);
    }
    largest
}

/// The grids: each neuron's SNR at both rates `[layer, neuron]`, the tagged share of each
/// layer `[layer, rate]` (with the shuffled control's beside it), each layer's mean spectrum
/// `[layer, frequency]`, and the activation over the stream of the [`TRACED`] neurons of
/// highest SNR at each rate (`hftp.traces [neuron, token]`, sentence rate's first, each neuron
/// once, labelled as the SNR grids' cells: `L3 neuron 517`).
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    params.checked()?;
    let mut stream = vec![];
    for (i, sentence) in params.sentences.iter().enumerate() {
        let path = format!("experiment.frequency_tagging.sentences[{i}]");
        let ids = prompts.encode(sentence, false, &path)?;
        if ids.len() != params.words_per_sentence {
            return Err(ExperimentError::Prompt {
                path,
                message: format!(
                    "{} tokens {:?}, not {}: every word must be one token",
                    ids.len(),
                    prompts.token_texts(&ids),
                    params.words_per_sentence
                ),
            });
        }
        stream.extend(ids);
    }
    let bos = prompts.bos().filter(|_| params.prepend_bos);
    let layers = model.config.n_layer;
    let steps = if params.shuffled_control { 2 } else { 1 } * layers;
    let mut done = 0;
    let mut tagged = Tagging::default();
    let acts = activations(model, &stream, bos).await?;
    for layer_acts in &acts {
        tagged.push(layer_acts, params);
        done += 1;
        progress.report(done, steps, &[], 1)?;
    }
    let mut output = Output::default();
    let neurons = model.config.n_inner;
    let bins = stream.len() / 2 + 1;
    let named_grid = |name: &'static str, axes: &[&str], shape: Vec<usize>, values: Vec<f64>| {
        (
            GridName::raw(GridKind::Named(name)),
            Grid::new(axes, shape, values.into_iter().map(|v| v as f32).collect()),
        )
    };
    let rates = vec!["sentence".to_string(), "phrase".to_string()];
    let layer_labels: Vec<String> = (0..layers).map(|l| format!("L{l}")).collect();
    let mut snr_grids = vec![];
    for (name, values) in [
        (SNR_SENTENCE, tagged.snr_sentence),
        (SNR_PHRASE, tagged.snr_phrase),
    ] {
        let (name, grid) = named_grid(name, &["layer", "neuron"], vec![layers, neurons], values);
        snr_grids.push(grid.clone());
        output.grid(name, grid);
    }
    let (name, grid) = traces(&snr_grids, &acts, prompts.token_texts(&stream));
    output.grid(name, grid);
    let (name, grid) = named_grid(
        TAGGED,
        &["layer", "rate"],
        vec![layers, 2],
        tagged.fractions,
    );
    output.grid(
        name,
        grid.with_axis_labels(vec![layer_labels.clone(), rates.clone()]),
    );
    let (name, grid) = named_grid(
        SPECTRUM,
        &["layer", "frequency"],
        vec![layers, bins],
        tagged.spectrum,
    );
    output.grid(name, grid);
    if params.shuffled_control {
        let mut shuffled = stream.clone();
        shuffle(&mut shuffled, &mut SplitMix64(prompts.seed));
        let mut control = Tagging::default();
        for layer_acts in activations(model, &shuffled, bos).await? {
            control.push(&layer_acts, params);
            done += 1;
            progress.report(done, steps, &[], 1)?;
        }
        let (name, grid) = named_grid(
            TAGGED_SHUFFLED,
            &["layer", "rate"],
            vec![layers, 2],
            control.fractions,
        );
        output.grid(name, grid.with_axis_labels(vec![layer_labels, rates]));
    }
    Ok(output)
}

/// The activations of the neurons ranked highest in either SNR grid, `[neuron, token]`.
fn traces(snr_grids: &[Grid], acts: &[Vec<Vec<f64>>], tokens: Vec<String>) -> (GridName, Grid) {
    let neurons = acts.first().and_then(|l| l.first()).map_or(1, Vec::len);
    let mut cells: Vec<(usize, String)> = vec![];
    for grid in snr_grids {
        for flat in crate::figures::ranked_cells(grid, TRACED) {
            if !cells.iter().any(|(c, _)| *c == flat) {
                cells.push((flat, crate::figures::cell_label(grid, flat)));
            }
        }
    }
    let values = cells
        .iter()
        .flat_map(|(flat, _)| {
            let (layer, neuron) = (flat / neurons, flat % neurons);
            acts[layer].iter().map(move |row| row[neuron] as f32)
        })
        .collect();
    let labels = cells
        .into_iter()
        .map(|(_, label)| label)
        .collect::<Vec<_>>();
    (
        GridName::raw(GridKind::Named(TRACES)),
        Grid::new(
            &["neuron", "token"],
            vec![labels.len(), tokens.len()],
            values,
        )
        .with_axis_labels(vec![labels, tokens]),
    )
}

/// Every layer's `mlp.hook_post` over the stream, `[token][neuron]` (the BOS row dropped).
async fn activations(
    model: &Gpt2,
    stream: &[u32],
    bos: Option<u32>,
) -> Result<Vec<Vec<Vec<f64>>>, ExperimentError> {
    let ids: Vec<u32> = bos.into_iter().chain(stream.iter().copied()).collect();
    let skip = ids.len() - stream.len();
    let is_post = |p: HookPoint| matches!(p, HookPoint::Block(_, BlockHook::MlpPost));
    let (_, cache) = model.run_with_cache(model.tokens(std::slice::from_ref(&ids))?, is_post);
    let mut layers = vec![];
    for layer in 0..model.config.n_layer {
        let point = HookPoint::Block(layer, BlockHook::MlpPost);
        let act: Tensor<3> = cache
            .get(point)
            .ok_or(ExperimentError::MissingActivation(point))?;
        let [_, pos, neurons] = act.dims();
        let values = read(
            act.narrow(1, skip, pos - skip)
                .reshape([pos - skip, neurons]),
        )
        .await
        .map_err(ExperimentError::Device)?;
        layers.push(
            values
                .chunks(neurons)
                .map(|row| row.iter().map(|&v| f64::from(v)).collect())
                .collect(),
        );
    }
    Ok(layers)
}

/// Fisher–Yates with Patchbay's stream: the same seed, the same order.
pub fn shuffle(tokens: &mut [u32], rng: &mut SplitMix64) {
    for i in (1..tokens.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        tokens.swap(i, j);
    }
}

/// The layers analysed so far, row-major.
#[derive(Debug, Default)]
pub struct Tagging {
    pub snr_sentence: Vec<f64>,
    pub snr_phrase: Vec<f64>,
    /// `[layer, 2]`: the share tagged at the sentence rate, then at the phrase rate.
    pub fractions: Vec<f64>,
    pub spectrum: Vec<f64>,
}

impl Tagging {
    /// Adds a layer's `[token][neuron]` activations.
    pub fn push(&mut self, acts: &[Vec<f64>], params: &Params) {
        let t = acts.len();
        let amplitude = amplitudes(acts);
        let (k_s, k_p) = (t / params.words_per_sentence, t / params.words_per_phrase);
        let snr_s = snr(&amplitude, k_s);
        let snr_p = snr(&amplitude, k_p);
        let threshold = params.threshold as f64;
        let share = |snr: &[f64]| {
            snr.iter().filter(|&&v| v > threshold).count() as f64 / snr.len().max(1) as f64
        };
        self.fractions.extend([share(&snr_s), share(&snr_p)]);
        self.snr_sentence.extend(snr_s);
        self.snr_phrase.extend(snr_p);
        let neurons = acts.first().map_or(0, Vec::len).max(1) as f64;
        self.spectrum.extend(
            amplitude
                .iter()
                .map(|bin| bin.iter().sum::<f64>() / neurons / (t as f64 / 2.0)),
        );
    }
}

/// Each neuron's amplitude spectrum of its mean-removed activation, `[bin][neuron]` for bins
/// `0..=T/2` (`|rfft|`, as NumPy's).
pub fn amplitudes(acts: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let t = acts.len();
    let neurons = acts.first().map_or(0, Vec::len);
    let mean: Vec<f64> = (0..neurons)
        .map(|n| acts.iter().map(|row| row[n]).sum::<f64>() / t as f64)
        .collect();
    let rows: Vec<Vec<(f64, f64)>> = acts
        .iter()
        .map(|row| row.iter().zip(&mean).map(|(a, m)| (a - m, 0.0)).collect())
        .collect();
    let twiddles: Vec<(f64, f64)> = (0..t)
        .map(|j| {
            let angle = -std::f64::consts::TAU * j as f64 / t as f64;
            (angle.cos(), angle.sin())
        })
        .collect();
    let spectrum = fft_rows(&rows, &twiddles, 1);
    spectrum[..t / 2 + 1]
        .iter()
        .map(|bin| bin.iter().map(|(re, im)| re.hypot(*im)).collect())
        .collect()
}

/// The discrete Fourier transform along the rows (each row a vector of independent signals'
/// values at one time), by Cooley–Tukey on the smallest factor of the length at each level (a
/// plain DFT for a prime length). `twiddles[j] = e^{−2πij/N}` of the top-level length N;
/// `stride` = N / this length.
fn fft_rows(
    rows: &[Vec<(f64, f64)>],
    twiddles: &[(f64, f64)],
    stride: usize,
) -> Vec<Vec<(f64, f64)>> {
    let n = rows.len();
    if n <= 1 {
        return rows.to_vec();
    }
    let p = (2..=n)
        .find(|&d| n.is_multiple_of(d))
        .expect("n ≥ 2 has a factor");
    let m = n / p;
    // p sub-sequences (every p-th row from r), each transformed; a prime length has m = 1.
    let subs: Vec<Vec<Vec<(f64, f64)>>> = (0..p)
        .map(|r| {
            let sub: Vec<Vec<(f64, f64)>> = (0..m).map(|j| rows[j * p + r].clone()).collect();
            fft_rows(&sub, twiddles, stride * p)
        })
        .collect();
    let width = rows[0].len();
    (0..n)
        .map(|k| {
            let mut out = vec![(0.0, 0.0); width];
            for (r, sub) in subs.iter().enumerate() {
                let (wr, wi) = twiddles[(r * k % n) * stride];
                for (o, (sr, si)) in out.iter_mut().zip(&sub[k % m]) {
                    o.0 += wr * sr - wi * si;
                    o.1 += wr * si + wi * sr;
                }
            }
            out
        })
        .collect()
}

/// Each neuron's amplitude at bin `k` over the mean of up to two neighbours on each side.
pub fn snr(amplitude: &[Vec<f64>], k: usize) -> Vec<f64> {
    let neighbours: Vec<usize> = [k.wrapping_sub(2), k.wrapping_sub(1), k + 1, k + 2]
        .into_iter()
        .filter(|&j| j < amplitude.len())
        .collect();
    let Some(at) = amplitude.get(k) else {
        return vec![];
    };
    at.iter()
        .enumerate()
        .map(|(n, a)| {
            let around =
                neighbours.iter().map(|&j| amplitude[j][n]).sum::<f64>() / neighbours.len() as f64;
            a / around
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            sentences: vec![],
            words_per_sentence: 4,
            words_per_phrase: 2,
            prepend_bos: false,
            threshold: 3.0,
            shuffled_control: true,
        }
    }

    #[test]
    fn the_fft_equals_the_plain_dft_for_any_length() {
        for t in [1usize, 2, 6, 7, 12, 16, 30] {
            let acts: Vec<Vec<f64>> = (0..t)
                .map(|i| vec![((i * 37 % 11) as f64).sin(), (i as f64 * 0.3).cos()])
                .collect();
            let fast = amplitudes(&acts);
            for n in 0..2 {
                let mean = acts.iter().map(|r| r[n]).sum::<f64>() / t as f64;
                for (k, bin) in fast.iter().enumerate() {
                    let (mut re, mut im) = (0.0, 0.0);
                    for (j, row) in acts.iter().enumerate() {
                        let angle = -std::f64::consts::TAU * (j * k) as f64 / t as f64;
                        re += (row[n] - mean) * angle.cos();
                        im += (row[n] - mean) * angle.sin();
                    }
                    assert!((bin[n] - re.hypot(im)).abs() < 1e-9, "t {t}, bin {k}");
                }
            }
        }
    }

    #[test]
    fn a_neuron_at_the_sentence_rate_is_tagged_and_shuffling_removes_it() {
        // 32 four-word sentences; neuron 0 fires on every sentence's first word, neuron 1 is
        // noise-like (a word's own response, the same whatever the order).
        let t = 128;
        let word_response = |token: u32| SplitMix64(u64::from(token)).next_f64();
        let tokens: Vec<u32> = (0..t as u32).collect();
        let acts = |order: &[u32]| -> Vec<Vec<f64>> {
            order
                .iter()
                .map(|&tok| vec![if tok % 4 == 0 { 1.0 } else { 0.0 }, word_response(tok)])
                .collect()
        };
        let mut tagged = Tagging::default();
        tagged.push(&acts(&tokens), &params());
        assert!(tagged.snr_sentence[0] > 100.0, "{}", tagged.snr_sentence[0]);
        assert_eq!(
            tagged.fractions[0], 0.5,
            "one neuron of two at the sentence rate"
        );
        let mut shuffled = tokens.clone();
        shuffle(&mut shuffled, &mut SplitMix64(0));
        let mut control = Tagging::default();
        control.push(&acts(&shuffled), &params());
        assert!(control.snr_sentence[0] < 3.0, "{}", control.snr_sentence[0]);
        assert_eq!(tagged.spectrum.len(), t / 2 + 1);
    }

    #[test]
    fn the_rhythm_must_hold_phrases_and_sentences() {
        let mut p = params();
        p.sentences = vec![PromptInput::Text(" big dogs see cats".into()); 4];
        assert!(p.check().is_ok());
        p.words_per_phrase = 3;
        assert_eq!(p.check().unwrap_err().field, "words_per_phrase");
        p.words_per_phrase = 2;
        p.sentences.truncate(3);
        assert_eq!(p.check().unwrap_err().field, "sentences");
        // 251 sentences: 1004 tokens = 4 × 251, a transform of prime length 251 per neuron.
        p.sentences = vec![PromptInput::Text(" big dogs see cats".into()); 251];
        let err = p.check().unwrap_err();
        assert!(err.message.contains("prime factor 251"), "{}", err.message);
        p.sentences.truncate(240);
        assert!(p.check().is_ok(), "240 × 4 = 960 = 2⁶ · 3 · 5");
        assert_eq!(largest_prime_factor(128), Some(2));
        assert_eq!(largest_prime_factor(1), None);
    }
}
