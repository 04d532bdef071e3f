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

pub const EXAMPLES: [Example; 14] = [
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
        stem: "steering-love-hate",
        title: "Steering: Love − Hate (gpt2, layer 6)",
        json: include_str!("../../static/experiments/steering-love-hate.json"),
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
