//! Famous GPT-2 results as one-click reruns: each preset is a study — what the paper claims,
//! its number, what to look at — and the bundled example specs that reproduce it, in order.
//! The published numbers live in those specs (`published`), so every run of them draws the
//! paper's value beside its own. The app's gallery and `patchbay run preset:NAME` read these.

use crate::spec::Spec;
use crate::spec::examples::{self, Example};

/// A study and the specs that rerun it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// As in `preset:NAME` and `?preset=NAME`.
    pub name: &'static str,
    pub title: &'static str,
    /// Authors, year, title.
    pub paper: &'static str,
    pub url: &'static str,
    /// The claim and its headline number, in two or three sentences.
    pub claim: &'static str,
    /// What to look at in the figures.
    pub look_at: &'static str,
    /// The weights the paper used (users load them from the hub).
    pub model: &'static str,
    /// Example stems, run in this order.
    pub specs: &'static [&'static str],
}

impl Preset {
    /// The preset's examples, in order.
    pub fn examples(&self) -> impl Iterator<Item = &'static Example> + '_ {
        self.specs.iter().map(|stem| {
            examples::find(stem)
                .unwrap_or_else(|| panic!("preset {}: no example {stem}", self.name))
        })
    }

    /// The preset's specs, parsed.
    pub fn parsed(&self) -> Vec<(&'static str, Spec)> {
        self.examples()
            .map(|e| {
                let spec = Spec::from_json(e.json)
                    .unwrap_or_else(|err| panic!("example {} does not parse: {err}", e.stem));
                (e.stem, spec)
            })
            .collect()
    }
}

pub const PRESETS: [Preset; 13] = [
    Preset {
        name: "ioi-demo",
        title: "Indirect object identification (TransformerLens demo)",
        paper: "Wang et al. 2022, Interpretability in the Wild; Nanda, TransformerLens Exploratory Analysis Demo",
        url: "https://arxiv.org/abs/2211.00593",
        claim: "GPT-2 small completes \"When John and Mary went to the shops, John gave the bag to\" with \" Mary\": a logit difference of 3.55 over the wrong name on the demo's 8 prompts. Heads 9.9 and 9.6 (name movers) copy the name; 10.7 and 11.10 push against it; knocking out 9.9 alone costs only 0.6 because backup heads take over.",
        look_at: "The logit lens jumps at 9_mid (≈0.5 → 5.0); head 9.9's direct logit attribution is +2.99 and 10.7's −1.90; resid_pre patching moves from S2 (position 10) to END (position 14) between layers 7 and 9; knocking out 9.9 at END leaves ≈2.92.",
        model: "openai-community/gpt2",
        specs: &[
            "ioi-logit-lens",
            "ioi-activation-patching",
            "ioi-knockout-heads-at-end",
            "ioi-circuit",
        ],
    },
    Preset {
        name: "ioi-path-patching",
        title: "IOI: which heads reach the name movers (path patching)",
        paper: "Wang et al. 2022, Interpretability in the Wild",
        url: "https://arxiv.org/abs/2211.00593",
        claim: "Path patching from every head to the name movers' queries finds the S-inhibition heads 7.3, 7.9, 8.6 and 8.10: they tell the name movers which name not to copy. Induction (5.5, 6.9) and duplicate-token heads (0.1, 3.0) feed them in turn.",
        look_at: "The strongest cells of path.head_to_receivers.q are the marked S-inhibition heads; the edge-attribution graph shows the same heads upstream of 9.9, 9.6 and 10.0.",
        model: "openai-community/gpt2",
        specs: &["ioi-path-patching-name-movers", "ioi-edge-attribution"],
    },
    Preset {
        name: "attribution-agreement",
        title: "Attribution patching vs activation patching",
        paper: "Nanda 2023, Attribution Patching: Activation Patching At Industrial Scale",
        url: "https://neelnanda.io/attribution-patching",
        claim: "One backward pass estimates every activation patch linearly. On IOI the estimate tracks the real effect closely for attention outputs and head values (Pearson r 0.98–0.995) and poorly for MLP outputs (0.44) and the residual stream (0.74), where the metric is far from linear.",
        look_at: "The Pearson r per component beside the published one, and the scatter plots: the points off the diagonal are where linearity fails.",
        model: "openai-community/gpt2",
        specs: &["ioi-attribution-agreement"],
    },
    Preset {
        name: "relp-ioi",
        title: "Relevance patching (RelP): attribution that agrees with activation patching",
        paper: "Jafari, Eberle, Khakzar and Nanda 2025, RelP: Faithful and Efficient Circuit Discovery via Relevance Patching",
        url: "https://arxiv.org/abs/2508.21258",
        claim: "Attribution patching's gradient estimates GPT-2's MLP effects close to noise (IOI, GPT-2 small: Pearson r 0.195 against activation patching). RelP keeps its cost, two forward passes and one backward pass, but propagates the signal by LRP rules (LayerNorm scale and GELU treated as linear): MLP outputs 0.992, the residual stream 0.753 → 0.968, attention outputs 0.979 → 0.962.",
        look_at: "The three-way scatters: per component, the gradient's and RelP's estimates against the real patch, each with its r beside the paper's. The MLP outputs are where the two methods part. The paper's IOI set is larger than these eight demo prompts, so expect its ordering rather than its decimals.",
        model: "openai-community/gpt2",
        specs: &["ioi-relp"],
    },
    Preset {
        name: "colored-objects",
        title: "Circuit component reuse: Colored Objects (gpt2-medium)",
        paper: "Merullo, Eickhoff and Pavlick 2023, Circuit Component Reuse Across Tasks in Transformer Language Models",
        url: "https://arxiv.org/abs/2310.08744",
        claim: "The Colored Objects task reuses the IOI circuit's components: 78% of its in-circuit heads are IOI heads. Intervening on four middle-layer heads raises gpt2-medium's accuracy from 49.6% to 93.7%.",
        look_at: "The heads whose patching restores the right colour, against the IOI heads of the same model; the published numbers are accuracies of the paper's intervention, which this spec does not compute.",
        model: "openai-community/gpt2-medium",
        specs: &["colored-objects-head-patching"],
    },
    Preset {
        name: "ln-free",
        title: "GPT-2 without LayerNorm",
        paper: "Heimersheim 2024, You can remove GPT2's LayerNorm by fine-tuning",
        url: "https://arxiv.org/abs/2409.13710",
        claim: "Fine-tuning GPT-2 small while removing its LayerNorms costs almost nothing: cross-entropy 3.0797 on OpenWebText against 3.1006 for the original. Without LayerNorm, direct logit attribution is exact rather than an approximation.",
        look_at: "Per-token loss of the LN-free model beside its LayerNorm control on the same texts, and the logit lens of both on IOI. Load schaeff/gpt2-small_LNFree300 for the first and third spec, schaeff/gpt2-small_vanilla300 for the others (its config's layer_norm_epsilon is 1e12: LayerNorm becomes centring).",
        model: "schaeff/gpt2-small_LNFree300",
        specs: &[
            "ln-free-loss",
            "vanilla-loss",
            "ln-free-logit-lens",
            "vanilla-logit-lens",
        ],
    },
    Preset {
        name: "anchored-mcq",
        title: "Anchored bias in multiple choice",
        paper: "Li and Gao 2024, Anchored Answers: Unravelling Positional Bias in GPT-2's Multiple-Choice Questions",
        url: "https://arxiv.org/abs/2405.03205",
        claim: "GPT-2 favours answer \"A\" whatever the question. The bias is written by a few MLP neurons whose value vectors, read through the unembedding, point to \"A\"; editing those value vectors towards the right letter reduces it.",
        look_at: "The top neurons by |activation| × ‖W_out row‖ and their direct effect on logit(\" A\") − logit(right letter): the anchored neurons are the late-layer ones with large positive DLA. The patching spec shows where the right letter enters.",
        model: "openai-community/gpt2",
        specs: &["mcq-anchored-neurons", "mcq-anchored-patching"],
    },
    Preset {
        name: "repetition",
        title: "Repetition self-reinforcement",
        paper: "Xu et al. 2022, Learning to Break the Loop: Analyzing and Mitigating Repetitions for Neural Text Generation (DITTO)",
        url: "https://arxiv.org/abs/2206.02369",
        claim: "The more often a sentence has been repeated, the more likely the model is to repeat it again: the mean token probability of the n-th copy (TP_n) rises with n, and more and more of its tokens are more probable than in the first copy (IP_n).",
        look_at: "repeat.tp and repeat.ip by copy: the paper's curves rise steeply over the first few copies and saturate.",
        model: "openai-community/gpt2",
        specs: &["repetition-ditto"],
    },
    Preset {
        name: "actadd",
        title: "Activation addition: steering without training",
        paper: "Turner et al. 2023, Steering Language Models With Activation Engineering (ActAdd)",
        url: "https://arxiv.org/abs/2308.10248",
        claim: "Adding the difference of the residual streams of \"Love\" and \"Hate\" at layer 6 (coefficient 5) turns \"I hate you because\" into affectionate text. The paper adds the padded prompts' difference at the front positions; Patchbay's default adds the last-position difference everywhere.",
        look_at: "The steered and unsteered continuations side by side, for both placements of the vector, and a moral direction (\"Intent to praise\" − \"Intent to hurt\").",
        model: "openai-community/gpt2",
        specs: &[
            "steering-love-hate",
            "steering-love-hate-front",
            "steering-moral",
        ],
    },
    Preset {
        name: "hftp",
        title: "Frequency tagging: neurons that follow phrases and sentences",
        paper: "An et al. 2025, Hierarchical Frequency Tagging Probe (HFTP)",
        url: "https://arxiv.org/abs/2510.13255",
        claim: "Feed GPT-2 a stream of four-word sentences made of two two-word phrases, one token a word: a neuron that tracks syntax oscillates every four tokens (the sentence rate) or every two (the phrase rate), as the brain's response does in Ding et al.'s frequency-tagging experiments. An et al. find such neurons concentrated in particular middle layers of GPT-2.",
        look_at: "hftp.tagged: the share of each layer's MLP neurons whose SNR exceeds 3 at each rate, beside the same words shuffled (hftp.tagged_shuffled), which keeps each word's own response and loses the structure; the spectrum's peaks at the two rates.",
        model: "openai-community/gpt2",
        specs: &["hftp-syntax"],
    },
    Preset {
        name: "weat-career-family",
        title: "Word associations: are male names nearer career and female names nearer family, male terms nearer math and science?",
        paper: "Caliskan et al. 2017, Semantics derived automatically from language corpora contain human-like biases",
        url: "https://arxiv.org/abs/1608.07187",
        claim: "Word embeddings learned from text carry the associations implicit-association tests find in people: in GloVe, male names sit nearer career words and female names nearer family words with an effect size of 1.81 (p < 10⁻³), and math and science words nearer male terms than arts words are (1.06 and 1.24: tests 7 and 8, the gender tests SEAT carries over to sentence encoders). The same tests ask it of GPT-2, career/family once at the token embedding, all three in the middle of the network (SEAT's way: each word inside a template sentence).",
        look_at: "The dots: each name's association, s(w) = mean cosine with the career words − mean cosine with the family words, male names in blue, female in orange. The caption's effect size d (0.8 and more is large) and p-value (all 12,870 ways to split the 16 names into two groups of 8).",
        model: "openai-community/gpt2",
        specs: &[
            "weat-career-family-embed",
            "weat-career-family-layer6",
            "weat-math-arts-layer6",
            "weat-science-arts-layer6",
        ],
    },
    Preset {
        name: "moral-direction",
        title: "The moral direction: right and wrong on one axis, then steering with it",
        paper: "Schramowski et al. 2022, Large Pre-trained Language Models Contain Human-like Biases of What is Right and Wrong to Do",
        url: "https://arxiv.org/abs/2103.11790",
        claim: "The first principal component of the representations of short actions (\"help people\", \"kill people\", \"steal money\") separates what people consider right from what they consider wrong: projecting a new phrase onto it rates it, and the authors use the direction to keep GPT-2 from toxic degeneration.",
        look_at: "The texts on the direction's axis: the do's on one side, the don'ts on the other, and the share of variance the component carries. Then the steering run adds that same direction (unit length, × 20) while GPT-2 continues a hostile prompt: the steered continuation beside the unsteered one.",
        model: "openai-community/gpt2",
        specs: &["moral-direction", "moral-direction-steering"],
    },
    Preset {
        name: "gedi-sentiment",
        title: "GeDi: a small class-conditional model steers a large one",
        paper: "Krause et al. 2020, GeDi: Generative Discriminator Guided Sequence Generation",
        url: "https://arxiv.org/abs/2009.06367",
        claim: "A GPT-2 medium trained with a control code in front of each text (\"positive\", \"negative\") is a generative discriminator: Bayes' rule over its two likelihoods gives every next token's probability of the desired class in one pass. Weighting GPT-2's distribution by it (ω 30) and filtering what is neither likely nor desired (ρ 0.8, τ 0.8) steers sentiment about 30 times faster than PPLM's gradient steps.",
        look_at: "The two continuations of the same prompt, each token shaded by its P(desired) with the filter's count on hover: the guided tokens are desired with high probability, and thousands of tokens are filtered at the first steps. The GeDi model is the authors' gedi_sentiment checkpoint converted to a Hugging Face folder (README: GeDi models); load it as `gedi-sentiment-medium` (the CLI: --model-for gedi-sentiment-medium=DIR).",
        model: "openai-community/gpt2",
        specs: &["gedi-sentiment-positive", "gedi-sentiment-negative"],
    },
];

/// The preset called `name`.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The preset names, for messages.
pub fn names() -> String {
    PRESETS.map(|p| p.name).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_names_examples_that_parse() {
        for preset in PRESETS {
            let specs = preset.parsed();
            assert!(!specs.is_empty(), "{}", preset.name);
            assert_eq!(find(preset.name), Some(&preset));
        }
        let names: std::collections::BTreeSet<_> = PRESETS.iter().map(|p| p.name).collect();
        assert_eq!(names.len(), PRESETS.len(), "two presets share a name");
    }
}
