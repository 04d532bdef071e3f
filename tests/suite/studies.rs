//! The experiment kinds the presets added, against the oracle where it has the quantity and
//! against an independent route through the model where it has not: per-token loss,
//! repetition curves, neuron attribution, attribution patching of every component, knocking
//! heads out at one position, ActAdd's front-position steering, and LayerNorm at LN-free
//! GPT-2's epsilon (1e12) in f32.

use crate::common;

use common::{load_tiny, reference, reference_json, tiny_dir};
use patchbay::experiments::Progress;
use patchbay::hooks::{Action, HookPoint, Intervention};
use patchbay::loading::{LoadedModel, ModelFiles};
use patchbay::spec::{RunContext, RunResult, Spec, run};
use patchbay::tensor_io::{from_safetensors, to_safetensors};
use serde_json::json;
use std::sync::OnceLock;

fn tiny() -> &'static LoadedModel {
    static MODEL: OnceLock<LoadedModel> = OnceLock::new();
    MODEL.get_or_init(|| load_tiny("model.safetensors", &patchbay::device::cpu()))
}

fn run_json(model: &LoadedModel, spec: serde_json::Value) -> RunResult {
    let spec = Spec::from_json(&spec.to_string()).unwrap();
    let context = RunContext {
        model,
        saes: vec![],
        others: vec![],
        weights_sha256: String::new(),
        device: "cpu".into(),
        limits: patchbay::spec::Limits::default(),
    };
    pollster::block_on(run(&spec, &context, &mut Progress::none())).unwrap()
}

fn run_err(spec: serde_json::Value) -> String {
    let spec = Spec::from_json(&spec.to_string()).unwrap();
    let context = RunContext {
        model: tiny(),
        saes: vec![],
        others: vec![],
        weights_sha256: String::new(),
        device: "cpu".into(),
        limits: patchbay::spec::Limits::default(),
    };
    pollster::block_on(run(&spec, &context, &mut Progress::none()))
        .unwrap_err()
        .to_string()
}

fn ids(i: usize) -> Vec<u32> {
    reference_json()["clean_ids"][i]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect()
}

/// The 8 oracle prompts as a spec's `prompts` (ids, no BOS added: they carry it).
fn oracle_prompts(n: usize) -> serde_json::Value {
    let r = reference_json();
    json!({
        "clean": r["clean_ids"].as_array().unwrap()[..n],
        "corrupted": r["corrupted_ids"].as_array().unwrap()[..n],
        "answers": r["answer_ids"].as_array().unwrap()[..n],
        "prepend_bos": false,
    })
}

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn per_token_loss_is_the_oracles_next_token_log_probability() {
    let texts: Vec<Vec<u32>> = (0..3).map(ids).collect();
    let result = run_json(
        tiny(),
        json!({"version": 1, "model": {"id": "tiny"}, "experiment": {"loss": {"texts": texts, "prepend_bos": false}}}),
    );
    let grid = result.grid("loss.per_token").unwrap();
    let expected = reference("logprob_next_token");
    let width = expected.shape[1];
    assert_eq!(grid.shape, vec![3, width]);
    for (i, (got, want)) in grid.values.iter().zip(&expected.values).enumerate() {
        assert!(
            close(*got, -want, 1e-4),
            "text {} pos {}: {got} vs {}",
            i / width,
            i % width,
            -want
        );
    }
    let mean: f32 =
        expected.values[..3 * width].iter().map(|v| -v).sum::<f32>() / (3 * width) as f32;
    assert!(close(result.metric("loss").unwrap(), mean, 1e-4));
    assert!(run_err(json!({"version": 1, "model": {"id": "tiny"}, "experiment": {"loss": {"texts": [[50256]], "prepend_bos": false}}}))
        .contains("one token"));
}

#[test]
fn repetition_curves_follow_from_the_token_probabilities_of_the_repeated_text() {
    let sentence = " The cat sat on the mat.";
    let result = run_json(
        tiny(),
        json!({"version": 1, "model": {"id": "tiny"}, "experiment": {"repetition": {"sentence": sentence, "repeats": 4}}}),
    );
    let probs = result.grid("repeat.token_prob").unwrap();
    let (n, len) = (probs.shape[0], probs.shape[1]);
    assert_eq!(n, 4);
    assert_eq!(probs.labels[1].concat(), sentence);
    // The same text through the loss kind: p = exp(−loss), copy by copy.
    let text = format!("{sentence}{sentence}{sentence}{sentence}");
    let loss = run_json(
        tiny(),
        json!({"version": 1, "model": {"id": "tiny"}, "experiment": {"loss": {"texts": [text]}}}),
    );
    let losses = &loss.grid("loss.per_token").unwrap().values;
    assert_eq!(losses.len(), n * len);
    for (i, p) in probs.values.iter().enumerate() {
        assert!(close(*p, (-losses[i]).exp(), 1e-5), "token {i}");
    }
    let (tp, ip) = (
        result.grid("repeat.tp").unwrap(),
        result.grid("repeat.ip").unwrap(),
    );
    for copy in 0..n {
        let row = &probs.values[copy * len..(copy + 1) * len];
        assert!(close(
            tp.values[copy],
            row.iter().sum::<f32>() / len as f32,
            1e-6
        ));
        let rose = row
            .iter()
            .zip(&probs.values[..len])
            .filter(|(p, q)| p > q)
            .count();
        assert_eq!(ip.values[copy], rose as f32 / len as f32);
    }
    assert_eq!(ip.values[0], 0.0);
    let too_long = run_err(
        json!({"version": 1, "model": {"id": "tiny"}, "experiment": {"repetition": {"sentence": sentence, "repeats": 40}}}),
    );
    assert!(too_long.contains("at most 128"), "{too_long}");
    // A count no sequence could hold is refused before anything is built.
    let absurd = run_err(
        json!({"version": 1, "model": {"id": "tiny"}, "experiment": {"repetition": {"sentence": sentence, "repeats": u64::MAX}}}),
    );
    assert!(absurd.contains("the model reads at most 128"), "{absurd}");
}

#[test]
fn neuron_attribution_is_the_value_vectors_read_through_the_unembedding() {
    // Prompt 0 alone: the oracle caches its activations.
    let result = run_json(
        tiny(),
        json!({"version": 1, "model": {"id": "tiny"}, "prompts": oracle_prompts(1), "experiment": {"neuron_dla": {"top": 5}}}),
    );
    let dla = result.grid("neurons.dla").unwrap();
    let weights =
        from_safetensors(&std::fs::read(tiny_dir().join("model.safetensors")).unwrap()).unwrap();
    let wte = &weights["wte.weight"];
    let d = wte.shape[1];
    let answer = &reference_json()["answer_ids"][0];
    let (correct, incorrect) = (
        answer[0].as_u64().unwrap() as usize,
        answer[1].as_u64().unwrap() as usize,
    );
    let direction: Vec<f32> = (0..d)
        .map(|k| wte.values[correct * d + k] - wte.values[incorrect * d + k])
        .collect();
    let scale = reference("cache.ln_final.hook_scale");
    let last_scale = *scale.values.last().unwrap();
    let d_mlp = dla.shape[1];
    for layer in 0..2 {
        let post = reference(&format!("cache.blocks.{layer}.mlp.hook_post"));
        let last = &post.values[post.values.len() - d_mlp..];
        let w_out = &weights[&format!("h.{layer}.mlp.c_proj.weight")]; // [d_mlp, d_model]
        for (n, activation) in last.iter().enumerate() {
            let row = &w_out.values[n * d..(n + 1) * d];
            let mean = row.iter().sum::<f32>() / d as f32;
            let read: f32 = row
                .iter()
                .zip(&direction)
                .map(|(w, u)| (w - mean) * u)
                .sum();
            let expected = activation * read / last_scale;
            let got = dla.values[layer * d_mlp + n];
            assert!(
                close(got, expected, 1e-4),
                "L{layer}N{n}: {got} vs {expected}"
            );
        }
    }
    let top = result.grid("neurons.top").unwrap();
    assert_eq!(top.shape, vec![5, 4]);
    let scores: Vec<f32> = (0..5).map(|r| top.values[r * 4]).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "ranked by score: {scores:?}"
    );
    for r in 0..5 {
        let row = &top.values[r * 4..r * 4 + 4];
        assert!(
            close(row[0], row[2] * row[3], 1e-5),
            "score = |activation| · ‖W_out‖"
        );
        let label = &top.labels[0][r];
        let (layer, neuron) = label[1..].split_once('N').unwrap();
        let index = layer.parse::<usize>().unwrap() * d_mlp + neuron.parse::<usize>().unwrap();
        assert!(close(row[1], dla.values[index], 1e-6), "{label}");
    }
}

#[test]
fn attribution_of_attention_outputs_is_the_sum_of_its_heads_and_every_target_is_compared() {
    let result = run_json(
        tiny(),
        json!({"version": 1, "model": {"id": "tiny"}, "prompts": oracle_prompts(8), "experiment": {"attribution_patching": {
            "compare": true, "targets": ["z_by_pos", "attn_out", "mlp_out", "q", "k", "v", "pattern"]}}}),
    );
    // attn_out = Σ_h z_h W_O^h + b_O, and z feeds nothing else: grad·Δ is the same sum.
    let by_pos = result.grid("attrib.z_by_pos").unwrap();
    let attn_out = result.grid("attrib.attn_out").unwrap();
    let (layers, pos, heads) = (by_pos.shape[0], by_pos.shape[1], by_pos.shape[2]);
    assert_eq!(attn_out.shape, vec![layers, pos]);
    for (i, got) in attn_out.values.iter().enumerate() {
        let sum: f32 = by_pos.values[i * heads..(i + 1) * heads].iter().sum();
        assert!(
            close(*got, sum, 1e-4),
            "layer {} pos {}: {got} vs {sum}",
            i / pos,
            i % pos
        );
    }
    for target in ["mlp_out", "q", "k", "v", "pattern"] {
        let grid = result.grid(&format!("attrib.{target}")).unwrap();
        let patched = result
            .grid(&format!(
                "patch.{}",
                match target {
                    "mlp_out" => "mlp_out".to_string(),
                    t => format!("attn_head_{t}_all_pos"),
                }
            ))
            .unwrap();
        assert_eq!(grid.shape, patched.shape, "{target}");
        assert!(grid.values.iter().all(|v| v.is_finite()), "{target}");
        assert!(
            result
                .metric(&format!("pearson.{target}"))
                .unwrap()
                .is_finite(),
            "{target}"
        );
    }
    assert!(
        result.metric("pearson.z").is_none(),
        "only the targets named"
    );
}

#[test]
fn knocking_a_head_out_at_one_position_is_a_zero_intervention_there() {
    let result = run_json(
        tiny(),
        json!({"version": 1, "model": {"id": "tiny"}, "prompts": oracle_prompts(8), "experiment": {"ablation": {
            "ablation": "zero", "target": "heads", "position": 14}}}),
    );
    let grid = result.grid("ablate.zero_head_z_per_prompt").unwrap();
    let model = &tiny().model;
    let clean: Vec<Vec<u32>> = (0..8).map(ids).collect();
    let answers: Vec<[u32; 2]> = (0..8)
        .map(|i| {
            let a = &reference_json()["answer_ids"][i];
            [a[0].as_u64().unwrap() as u32, a[1].as_u64().unwrap() as u32]
        })
        .collect();
    for (layer, head) in [(0, 1), (1, 3)] {
        let knockout = Intervention::new(HookPoint::z(layer), Action::Zero)
            .at_heads(vec![head])
            .at_positions(vec![14]);
        let logits = model
            .run_with_hooks(model.tokens(&clean).unwrap(), vec![knockout])
            .unwrap();
        let data = logits
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        let (pos, vocab) = (15, data.len() / (8 * 15));
        for (p, [c, w]) in answers.iter().enumerate() {
            let row = &data[(p * pos + pos - 1) * vocab..];
            let diff = row[*c as usize] - row[*w as usize];
            let got = grid.values[(layer * 4 + head) * 8 + p];
            assert!(
                close(got, diff, 1e-4),
                "L{layer}H{head} prompt {p}: {got} vs {diff}"
            );
        }
    }
    assert!(run_err(json!({"version": 1, "model": {"id": "tiny"}, "prompts": oracle_prompts(2), "experiment": {"ablation": {
        "ablation": "zero", "target": "heads", "position": 15}}})).contains("position 15 is beyond"));
}

#[test]
fn front_steering_adds_the_padded_prompts_difference_position_by_position() {
    let spec = |coeff: f32, prompt: &str| {
        json!({"version": 1, "model": {"id": "tiny"}, "experiment": {"steering": {
            "hook": "blocks.1.hook_resid_pre", "positive": "Love", "negative": "I hate", "coeff": coeff,
            "prompt": prompt, "at": "front", "generation": {"max_new_tokens": 4}}}})
    };
    let result = run_json(tiny(), spec(3.0, "I hate you because"));
    let vector = result.grid("steer.vector").unwrap();
    // "Love" is padded with " " to the length of "I hate" (both after <|endoftext|>).
    assert_eq!(vector.shape[0], 3);
    let model = &tiny().model;
    let act = |ids: Vec<u32>| {
        let (_, cache) = model.run_with_cache(model.tokens(&[ids]).unwrap(), |p| {
            p == HookPoint::resid_pre(1)
        });
        let t: burn::tensor::Tensor<3> = cache.get(HookPoint::resid_pre(1)).unwrap();
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    };
    let tokenizer = &tiny().tokenizer;
    let love = tokenizer.encode_prompt("Love", true).unwrap();
    let hate = tokenizer.encode_prompt("I hate", true).unwrap();
    assert_eq!((love.len(), hate.len()), (2, 3));
    let (pos, neg) = (act(vec![love[0], love[1], 220]), act(hate));
    for (i, v) in vector.values.iter().enumerate() {
        assert!(close(*v, pos[i] - neg[i], 1e-5), "{i}");
    }
    assert_ne!(
        result.generation("steered").unwrap().generation.new_ids,
        result.generation("unsteered").unwrap().generation.new_ids
    );
    let none = run_json(tiny(), spec(0.0, "I hate you because"));
    assert_eq!(
        none.generation("steered").unwrap().generation.new_ids,
        none.generation("unsteered").unwrap().generation.new_ids
    );
    assert!(run_err(spec(3.0, "Hi")).contains("the prompt must be at least as long"));
}

#[test]
fn layer_norm_at_epsilon_1e12_with_weight_1e6_is_exact_centring_in_f32() {
    // The tiny model made LN-free the way schaeff/*_LNFree* are: epsilon 1e12, LN weights 1e6.
    let dir = tiny_dir();
    let mut files = ModelFiles::from_dir(&dir).unwrap();
    let mut config: serde_json::Value = serde_json::from_slice(&files.config).unwrap();
    config["layer_norm_epsilon"] = json!(1e12);
    files.config = config.to_string().into_bytes();
    let mut tensors = from_safetensors(&files.weights).unwrap();
    for (name, t) in tensors.iter_mut() {
        if name.contains("ln_") && name.ends_with(".weight") {
            t.values.iter_mut().for_each(|w| *w = 1e6);
        }
    }
    files.weights = to_safetensors(&tensors).unwrap();
    let loaded = files.load(&patchbay::device::cpu()).unwrap();
    let model = &loaded.model;
    let (_, cache) = model.run_with_cache(model.tokens(&[ids(0)]).unwrap(), |_| true);
    let read = |p: &str| -> Vec<f32> {
        let point: HookPoint = p.parse().unwrap();
        let t: burn::tensor::Tensor<3> = cache.get(point).unwrap();
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    };
    let d = 64;
    for (input, ln) in [
        ("blocks.0.hook_resid_pre", "blocks.0.ln1"),
        ("blocks.1.hook_resid_mid", "blocks.1.ln2"),
        ("blocks.1.hook_resid_post", "ln_final"),
    ] {
        assert!(
            read(&format!("{ln}.hook_scale")).iter().all(|&s| s == 1e6),
            "{ln}: sqrt(var + 1e12) is 1e6 exactly"
        );
        let (x, normalized) = (read(input), read(&format!("{ln}.hook_normalized")));
        for (row, out) in x.chunks(d).zip(normalized.chunks(d)) {
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / d as f64;
            for (v, n) in row.iter().zip(out) {
                let centred = *v as f64 - mean;
                assert!(
                    ((*n as f64) * 1e6 - centred).abs() <= 1e-6 * (1.0 + centred.abs()),
                    "{ln}: {n} · 1e6 vs {centred}"
                );
            }
        }
    }
    // At residual norms far beyond GPT-2's (variance up to 3e4), the module still centres.
    let ln = &model.ln_f;
    let x: Vec<f32> = (0..d)
        .map(|i| ((i * 37 % 64) as f32 - 31.5) * 5.5)
        .collect();
    let out = ln.forward(
        burn::tensor::Tensor::<3>::from_data(
            burn::tensor::TensorData::new(x.clone(), [1, 1, d]),
            &model.device(),
        ),
        [HookPoint::LnFinalScale, HookPoint::LnFinalNormalized],
        &mut patchbay::hooks::NoHooks,
    );
    let out = out
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap();
    let bias = &tensors["ln_f.bias"].values;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / d as f64;
    for i in 0..d {
        let expected = x[i] as f64 - mean + bias[i] as f64;
        assert!(
            (out[i] as f64 - expected).abs() <= 1e-5 * (1.0 + expected.abs()),
            "{i}: {} vs {expected}",
            out[i]
        );
    }
}

/// A direction found from texts steers: the steering spec a direction run writes adds exactly
/// that vector (its `steer.vector`), the steered continuation differs from the unsteered one,
/// the spec alone reruns it, and a direction of another width is refused by name.
#[test]
fn a_found_direction_is_a_steering_vector() {
    let found = run_json(
        tiny(),
        json!({
            "version": 1,
            "title": "do and don't",
            "model": {"id": "tiny"},
            "experiment": {"direction": {
                "texts": ["help people", "thank a friend", "kill people", "steal money"],
                "hook": "blocks.1.hook_resid_pre",
                "method": "mean_difference"
            }}
        }),
    );
    let mut spec = found
        .steering_spec()
        .expect("a direction run writes a steering spec");
    assert!(spec.title.contains("\"do and don't\""), "{}", spec.title);
    if let patchbay::spec::Experiment::Steering(p) = &mut spec.experiment {
        p.generation.temperature = 0.0;
        p.generation.max_new_tokens = 8;
        p.generation.stop_at_eos = false;
        p.coeff = 40.0;
    }
    let text = spec.to_json();
    let steered = run_json(tiny(), serde_json::from_str(&text).unwrap());
    assert_eq!(
        steered.grid("steer.vector").unwrap().values,
        found.grid("direction.vector").unwrap().values
    );
    let ids = |name: &str| steered.generation(name).unwrap().generation.new_ids.clone();
    assert_ne!(ids("steered"), ids("unsteered"));
    let mut short: serde_json::Value = serde_json::from_str(&text).unwrap();
    short["experiment"]["steering"]["direction"]["values"] = json!([1.0, 2.0]);
    let err = run_err(short);
    assert!(
        err.contains("the direction has 2 values; this model's residual stream has 64"),
        "{err}"
    );
    let mut both: serde_json::Value = serde_json::from_str(&text).unwrap();
    both["experiment"]["steering"]["positive"] = json!(" Love");
    both["experiment"]["steering"]["negative"] = json!(" Hate");
    let err = Spec::from_json(&both.to_string()).unwrap_err();
    assert_eq!(err.path, "experiment.steering.direction", "{err}");
}
