//! The example specs that ship with Patchbay (`static/experiments/`), compiled in so that they
//! work offline: the app's example menu, `?example=<stem>` links and the CLI read them here.

/// A bundled example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    /// Its file name without `.json`, as in `?example=`.
    pub stem: &'static str,
    pub title: &'static str,
    pub json: &'static str,
}

pub const EXAMPLES: [Example; 36] = [
    Example {
        stem: "ioi-activation-patching",
        title: "IOI: activation patching",
        json: include_str!("../../static/experiments/ioi-activation-patching.json"),
    },
    Example {
        stem: "ioi-logit-lens",
        title: "IOI: logit lens and direct logit attribution",
        json: include_str!("../../static/experiments/ioi-logit-lens.json"),
    },
    Example {
        stem: "ioi-attribution-patching",
        title: "IOI: attribution vs activation patching",
        json: include_str!("../../static/experiments/ioi-attribution-patching.json"),
    },
    Example {
        stem: "ioi-zero-ablation-heads",
        title: "IOI: zero-ablate heads",
        json: include_str!("../../static/experiments/ioi-zero-ablation-heads.json"),
    },
    Example {
        stem: "ioi-mean-ablation-heads",
        title: "IOI: mean-ablate heads",
        json: include_str!("../../static/experiments/ioi-mean-ablation-heads.json"),
    },
    Example {
        stem: "ioi-zero-ablation-mlp",
        title: "IOI: zero-ablate MLP layers",
        json: include_str!("../../static/experiments/ioi-zero-ablation-mlp.json"),
    },
    Example {
        stem: "ioi-resample-ablation-neurons",
        title: "IOI: resample-ablate neurons",
        json: include_str!("../../static/experiments/ioi-resample-ablation-neurons.json"),
    },
    Example {
        stem: "ioi-circuit",
        title: "IOI: keep only the IOI circuit (gpt2)",
        json: include_str!("../../static/experiments/ioi-circuit.json"),
    },
    Example {
        stem: "ioi-path-patching-name-movers",
        title: "IOI: path patching to the name movers' queries (gpt2, 64 prompts)",
        json: include_str!("../../static/experiments/ioi-path-patching-name-movers.json"),
    },
    Example {
        stem: "ioi-edge-attribution",
        title: "IOI: edge attribution patching (gpt2, 64 prompts)",
        json: include_str!("../../static/experiments/ioi-edge-attribution.json"),
    },
    Example {
        stem: "colored-objects-head-patching",
        title: "Colored Objects: head patching (gpt2-medium, 32 prompts)",
        json: include_str!("../../static/experiments/colored-objects-head-patching.json"),
    },
    Example {
        stem: "mcq-anchored-patching",
        title: "Multiple choice: where the answer's letter enters (gpt2, 32 prompts)",
        json: include_str!("../../static/experiments/mcq-anchored-patching.json"),
    },
    Example {
        stem: "quick-brown-fox-sampling",
        title: "Sampling: the quick brown fox",
        json: include_str!("../../static/experiments/quick-brown-fox-sampling.json"),
    },
    Example {
        stem: "beam-search-quick-brown-fox",
        title: "Beam search: the quick brown fox, four beams",
        json: include_str!("../../static/experiments/beam-search-quick-brown-fox.json"),
    },
    Example {
        stem: "gedi-sentiment-positive",
        title: "GeDi: guided towards positive sentiment (GeDi model needed)",
        json: include_str!("../../static/experiments/gedi-sentiment-positive.json"),
    },
    Example {
        stem: "gedi-sentiment-negative",
        title: "GeDi: guided towards negative sentiment (GeDi model needed)",
        json: include_str!("../../static/experiments/gedi-sentiment-negative.json"),
    },
    Example {
        stem: "gedi-zero-shot-gpt2",
        title: "GeDi: GPT-2 as its own zero-shot discriminator",
        json: include_str!("../../static/experiments/gedi-zero-shot-gpt2.json"),
    },
    Example {
        stem: "hftp-syntax",
        title: "HFTP: neurons at the phrase and sentence rates",
        json: include_str!("../../static/experiments/hftp-syntax.json"),
    },
    Example {
        stem: "weat-career-family-embed",
        title: "WEAT: career and family, token embedding",
        json: include_str!("../../static/experiments/weat-career-family-embed.json"),
    },
    Example {
        stem: "weat-career-family-layer6",
        title: "WEAT: career and family, layer 6",
        json: include_str!("../../static/experiments/weat-career-family-layer6.json"),
    },
    Example {
        stem: "weat-math-arts-layer6",
        title: "WEAT: math and arts against male and female terms, layer 6",
        json: include_str!("../../static/experiments/weat-math-arts-layer6.json"),
    },
    Example {
        stem: "weat-science-arts-layer6",
        title: "WEAT: science and arts against male and female terms, layer 6",
        json: include_str!("../../static/experiments/weat-science-arts-layer6.json"),
    },
    Example {
        stem: "steering-love-hate",
        title: "Steering: Love − Hate (gpt2, layer 6)",
        json: include_str!("../../static/experiments/steering-love-hate.json"),
    },
    Example {
        stem: "ioi-knockout-heads-at-end",
        title: "IOI: knock out each head at END (TransformerLens demo: L9H9)",
        json: include_str!("../../static/experiments/ioi-knockout-heads-at-end.json"),
    },
    Example {
        stem: "ioi-attribution-agreement",
        title: "IOI: attribution vs activation patching, every component (gpt2)",
        json: include_str!("../../static/experiments/ioi-attribution-agreement.json"),
    },
    Example {
        stem: "ioi-relp",
        title: "IOI: RelP vs attribution vs activation patching (gpt2)",
        json: include_str!("../../static/experiments/ioi-relp.json"),
    },
    Example {
        stem: "ln-free-loss",
        title: "LN-free GPT-2: per-token loss (schaeff/gpt2-small_LNFree300)",
        json: include_str!("../../static/experiments/ln-free-loss.json"),
    },
    Example {
        stem: "moral-direction",
        title: "Moral direction: do's and don'ts on one axis (PCA, GPT-2 small)",
        json: include_str!("../../static/experiments/moral-direction.json"),
    },
    Example {
        stem: "moral-direction-steering",
        title: "Moral direction: steer GPT-2 small with it",
        json: include_str!("../../static/experiments/moral-direction-steering.json"),
    },
    Example {
        stem: "vanilla-loss",
        title: "LN-free GPT-2's control: per-token loss (schaeff/gpt2-small_vanilla300)",
        json: include_str!("../../static/experiments/vanilla-loss.json"),
    },
    Example {
        stem: "ln-free-logit-lens",
        title: "LN-free GPT-2: IOI logit lens (schaeff/gpt2-small_LNFree300)",
        json: include_str!("../../static/experiments/ln-free-logit-lens.json"),
    },
    Example {
        stem: "vanilla-logit-lens",
        title: "LN-free GPT-2's control: IOI logit lens (schaeff/gpt2-small_vanilla300)",
        json: include_str!("../../static/experiments/vanilla-logit-lens.json"),
    },
    Example {
        stem: "mcq-anchored-neurons",
        title: "Multiple choice: the neurons that write \"A\" (gpt2)",
        json: include_str!("../../static/experiments/mcq-anchored-neurons.json"),
    },
    Example {
        stem: "repetition-ditto",
        title: "Repetition: one sentence ten times (DITTO's TP_n and IP_n)",
        json: include_str!("../../static/experiments/repetition-ditto.json"),
    },
    Example {
        stem: "steering-love-hate-front",
        title: "Steering: Love − Hate at the front positions (ActAdd's way)",
        json: include_str!("../../static/experiments/steering-love-hate-front.json"),
    },
    Example {
        stem: "steering-moral",
        title: "Steering: Intent to praise − Intent to hurt (gpt2, layer 6)",
        json: include_str!("../../static/experiments/steering-moral.json"),
    },
];

/// The example named `stem`.
pub fn find(stem: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.stem == stem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    #[test]
    fn every_example_parses_and_is_findable() {
        for example in EXAMPLES {
            Spec::from_json(example.json).unwrap_or_else(|e| panic!("{}: {e}", example.stem));
            assert_eq!(find(example.stem), Some(&example));
        }
    }
}
