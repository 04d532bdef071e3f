//! Specs that parse, run on the tiny model's narrow twin (2 layers, 2 heads, d_model 8, 16
//! positions, the real vocabulary; `patchbay_fuzz::twin`): every experiment
//! kind with hostile parameters (layers, heads, positions and neurons out of range, zero or
//! huge `max_rows`, non-finite coefficients and temperatures, token ids outside the
//! vocabulary, empty prompts), built structure-aware so that most inputs reach the run. Each
//! gives a result or an error. Numbers are drawn over their whole range too, not only small
//! ones: `max_new_tokens` up to `u64::MAX`, answer ids anywhere in `u32`, value shapes of
//! `u64` dimensions, and prompt sets repeated up to 100,000 times (a share link of a few
//! kilobytes can say that), run under a 256 MiB limit (`spec::Limits`) that the run must
//! check before it allocates (docs/FUZZING.md, "What 10^6 runs missed").
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use patchbay::experiments::Progress;
use patchbay::spec::{RunContext, Spec, run};
use serde_json::{Value, json};

#[derive(Arbitrary, Debug)]
struct Input {
    prompts: Vec<Prompt>,
    /// How many times the prompts are repeated (`% 100_001`).
    repeat: u32,
    /// Answer ids instead of names (anywhere in `u32`: most outside the vocabulary).
    answer_ids: Option<(u32, u32)>,
    corrupted: bool,
    metric: u8,
    bos: bool,
    seed: u64,
    kind: Kind,
}

#[derive(Arbitrary, Debug)]
enum Prompt {
    Text(String),
    Ids(Vec<u32>),
}

#[derive(Arbitrary, Debug)]
enum Kind {
    Patching(Vec<u8>, u64),
    Ablation(u8, u8, u8, Vec<u16>, u64),
    Circuit(Vec<(u8, u8)>),
    Lens,
    Attribution(bool, u64),
    Path(bool, Option<(Vec<(u8, u8)>, u8)>, u64),
    Edges(u16),
    Generation(Prompt, Gen, Vec<Hostile>),
    Steering(u8, Prompt, Prompt, f32, Prompt, Gen),
}

#[derive(Arbitrary, Debug)]
struct Gen {
    max_new_tokens: Count,
    temperature: f32,
    top_k: Option<u16>,
    top_p: Option<f32>,
    repetition_penalty: Option<f32>,
    frequency_penalty: f32,
    logit_bias: Vec<(u32, f32)>,
    banned: Vec<u32>,
    kv_cache: bool,
}

/// A count: mostly small, sometimes anywhere in `u64`.
#[derive(Arbitrary, Debug)]
enum Count {
    Small(u8),
    Any(u64),
}

impl Count {
    fn value(&self) -> u64 {
        match self {
            Self::Small(n) => u64::from(*n % 5),
            Self::Any(n) => *n,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Hostile {
    hook: u8,
    action: u8,
    factor: f32,
    values: Vec<f32>,
    shape: Vec<u64>,
    positions: Option<Vec<u8>>,
    heads: Option<Vec<u8>>,
    neurons: Option<Vec<u16>>,
}

const HOOKS: [&str; 12] = [
    "hook_embed",
    "blocks.0.hook_resid_pre",
    "blocks.1.attn.hook_z",
    "blocks.0.attn.hook_pattern",
    "blocks.1.attn.hook_attn_scores",
    "blocks.0.attn.hook_q",
    "blocks.1.mlp.hook_post",
    "blocks.0.hook_mlp_out",
    "blocks.7.hook_resid_pre",
    "ln_final.hook_normalized",
    "blocks.1.ln1.hook_scale",
    "blocks.1.hook_resid_post",
];

const TARGETS: [&str; 15] = [
    "resid_pre",
    "resid_mid",
    "resid_post",
    "attn_out",
    "mlp_out",
    "attn_head_out_all_pos",
    "attn_head_out_by_pos",
    "attn_head_q_all_pos",
    "attn_head_q_by_pos",
    "attn_head_k_all_pos",
    "attn_head_k_by_pos",
    "attn_head_v_all_pos",
    "attn_head_v_by_pos",
    "attn_head_pattern_all_pos",
    "attn_head_pattern_by_pos",
];

fn prompt(p: &Prompt) -> Value {
    match p {
        Prompt::Text(t) => json!(t.chars().take(24).collect::<String>()),
        Prompt::Ids(ids) => json!(ids.iter().take(6).collect::<Vec<_>>()),
    }
}

fn number(x: f32) -> Value {
    // JSON has no NaN or infinity: those reach the spec as the largest numbers.
    if x.is_finite() {
        json!(x)
    } else {
        json!(f32::MAX)
    }
}

fn generation(g: &Gen) -> Value {
    json!({
        "max_new_tokens": g.max_new_tokens.value(),
        "temperature": number(g.temperature),
        "top_k": g.top_k,
        "top_p": g.top_p.map(number),
        "repetition_penalty": g.repetition_penalty.map(number),
        "frequency_penalty": number(g.frequency_penalty),
        "logit_bias": g.logit_bias.iter().take(3).map(|(k, v)| (k.to_string(), number(*v))).collect::<serde_json::Map<_, _>>(),
        "banned_tokens": g.banned.iter().take(3).collect::<Vec<_>>(),
        "kv_cache": g.kv_cache,
    })
}

fn intervention(h: &Hostile) -> Value {
    let action = match h.action % 5 {
        0 => json!("zero"),
        1 => json!({"scale": {"factor": number(h.factor)}}),
        2 => {
            json!({"add": {"values": {"shape": h.shape.iter().take(4).collect::<Vec<_>>(), "data": h.values.iter().take(64).map(|v| number(*v)).collect::<Vec<_>>()}}})
        }
        3 => {
            json!({"replace": {"values": {"shape": h.shape.iter().take(4).collect::<Vec<_>>(), "data": h.values.iter().take(64).map(|v| number(*v)).collect::<Vec<_>>()}}})
        }
        _ => json!("mean"),
    };
    json!({
        "hook": HOOKS[h.hook as usize % HOOKS.len()],
        "action": action,
        "positions": h.positions,
        "heads": h.heads,
        "neurons": h.neurons,
    })
}

fn experiment(kind: &Kind) -> Value {
    let pairs = |heads: &[(u8, u8)]| {
        heads
            .iter()
            .take(6)
            .map(|(l, h)| json!([l % 4, h % 6]))
            .collect::<Vec<_>>()
    };
    match kind {
        Kind::Patching(targets, max_rows) => json!({"activation_patching": {
            "targets": targets.iter().take(3).map(|t| TARGETS[*t as usize % TARGETS.len()]).collect::<Vec<_>>(),
            "max_rows": max_rows % 100_000,
        }}),
        Kind::Ablation(kind, target, layer, neurons, max_rows) => json!({"ablation": {
            "ablation": (["zero", "mean", "resample"][*kind as usize % 3]),
            "target": match target % 3 {
                0 => json!("heads"),
                1 => json!("mlp"),
                _ => json!({"neurons": {"layer": layer % 4, "neurons": neurons.iter().take(4).map(|n| n % 300).collect::<Vec<_>>()}}),
            },
            "max_rows": max_rows % 100_000,
        }}),
        Kind::Circuit(keep) => json!({"circuit": {"keep": pairs(keep)}}),
        Kind::Lens => json!("logit_lens"),
        Kind::Attribution(compare, max_rows) => {
            json!({"attribution_patching": {"compare": compare, "max_rows": max_rows % 100_000}})
        }
        Kind::Path(denoising, receivers, max_rows) => json!({"path_patching": {
            "direction": if *denoising { "denoising" } else { "noising" },
            "receivers": match receivers {
                None => json!("final_resid"),
                Some((heads, input)) => json!({"heads": pairs(heads), "input": (["q", "k", "v"][*input as usize % 3])}),
            },
            "max_rows": max_rows % 100_000,
        }}),
        Kind::Edges(top) => json!({"edge_attribution_patching": {"top": top}}),
        Kind::Generation(p, g, interventions) => json!({"generation": {
            "prompt": prompt(p),
            "generation": generation(g),
            "interventions": interventions.iter().take(3).map(intervention).collect::<Vec<_>>(),
        }}),
        Kind::Steering(hook, positive, negative, coeff, p, g) => json!({"steering": {
            "hook": HOOKS[*hook as usize % HOOKS.len()],
            "positive": prompt(positive),
            "negative": prompt(negative),
            "coeff": number(*coeff),
            "prompt": prompt(p),
            "generation": generation(g),
        }}),
    }
}

fuzz_target!(|input: Input| {
    let once: Vec<Value> = input.prompts.iter().take(2).map(prompt).collect();
    let repeat = (input.repeat % 100_001).max(1) as usize;
    let clean: Vec<Value> = std::iter::repeat_n(once, repeat).flatten().collect();
    let names = [" Mary", " John", " Tom"];
    let mut spec = json!({
        "version": 1,
        "model": {"id": "tiny"},
        "metric": (["logit_diff", "answer_prob", "answer_loss"][input.metric as usize % 3]),
        "experiment": experiment(&input.kind),
        "seed": input.seed,
    });
    if !clean.is_empty() {
        let answers: Vec<Value> = (0..clean.len())
            .map(|i| match input.answer_ids {
                Some((a, b)) => json!([a, b]),
                None => json!([names[i % 3], names[(i + 1) % 3]]),
            })
            .collect();
        let mut prompts = json!({"clean": clean, "answers": answers, "prepend_bos": input.bos});
        if input.corrupted {
            prompts["corrupted"] = json!(clean.iter().rev().cloned().collect::<Vec<_>>());
        }
        spec["prompts"] = prompts;
    }
    let Ok(spec) = Spec::from_json(&spec.to_string()) else {
        return;
    };
    let model = patchbay_fuzz::twin();
    let context = RunContext {
        model: &model,
        others: vec![],
        // A spec naming an SAE is refused at its path (none is loaded here).
        saes: vec![],
        weights_sha256: String::new(),
        device: "cpu".into(),
        limits: patchbay::spec::Limits {
            memory_bytes: 256 << 20,
        },
    };
    let _ = pollster::block_on(run(&spec, &context, &mut Progress::none()));
});
