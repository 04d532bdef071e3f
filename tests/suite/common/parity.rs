//! The parity checks, run once per device by `reference_cpu.rs` and `reference_wgpu.rs`.

use super::*;
use patchbay::hooks::{Action, HookPoint, Intervention, Values};
use patchbay::tensor_io::HostTensor;

/// All 8 prompts' logits from the hub-layout, prefixed and f16 weights.
pub fn logits_match(device: &Device) {
    let expected = reference("logits");
    for weights in ["model.safetensors", "model-prefixed.safetensors"] {
        let loaded = load_tiny(weights, device);
        let tokens = loaded.model.tokens(&clean_ids()).unwrap();
        let logits = HostTensor::from_data(loaded.model.forward(tokens).into_data());
        assert_close(&format!("logits from {weights}"), &logits, expected, 1e-4);
    }
    let loaded = load_tiny("model-f16.safetensors", device);
    let tokens = loaded.model.tokens(&clean_ids()[..1]).unwrap();
    let logits = HostTensor::from_data(
        loaded
            .model
            .forward(tokens)
            .reshape([15, 50257])
            .into_data(),
    );
    assert_close(
        "logits from model-f16.safetensors",
        &logits,
        reference("f16.logits_prompt0"),
        1e-4,
    );
}

/// Every hook activation of prompt 0, by TransformerLens name, batch axis kept.
pub fn cache_matches(device: &Device) {
    let loaded = load_tiny("model.safetensors", device);
    let tokens = loaded.model.tokens(&clean_ids()[..1]).unwrap();
    let (_, cache) = loaded.model.run_with_cache(tokens, |_| true);
    let names: Vec<String> = reference_json()["hook_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(cache.len(), names.len(), "every hook is cached");
    for name in names {
        let point: HookPoint = name.parse().unwrap();
        let actual = HostTensor::from_data(cache.activation(point).unwrap().to_data());
        assert_close(&name, &actual, reference(&format!("cache.{name}")), 1e-4);
    }
}

/// Mean logit difference of the last position over the clean batch.
fn mean_logit_diff(logits: HostTensor, answers: &[Vec<u32>]) -> f32 {
    let (pos, vocab) = (logits.shape[1], logits.shape[2]);
    let per_prompt: Vec<f32> = answers
        .iter()
        .enumerate()
        .map(|(b, a)| {
            let row = &logits.values[(b * pos + pos - 1) * vocab..(b * pos + pos) * vocab];
            row[a[0] as usize] - row[a[1] as usize]
        })
        .collect();
    per_prompt.iter().sum::<f32>() / per_prompt.len() as f32
}

/// The oracle's ablation tables, computed with plain interventions.
pub fn ablations_match(device: &Device) {
    let loaded = load_tiny("model.safetensors", device);
    let model = &loaded.model;
    let answers = ids(&reference_json()["answer_ids"]);
    let (n_layer, n_head) = (model.config.n_layer, model.config.n_head);
    let run = |interventions: Vec<Intervention>| {
        let logits = model
            .run_with_hooks(model.tokens(&clean_ids()).unwrap(), interventions)
            .unwrap();
        mean_logit_diff(HostTensor::from_data(logits.into_data()), &answers)
    };
    let mut zero = vec![];
    let mut mean = vec![];
    for layer in 0..n_layer {
        for head in 0..n_head {
            zero.push(run(vec![
                Intervention::new(HookPoint::z(layer), Action::Zero).at_heads(vec![head]),
            ]));
            mean.push(run(vec![
                Intervention::new(HookPoint::z(layer), Action::Mean).at_heads(vec![head]),
            ]));
        }
    }
    let mlp: Vec<f32> = (0..n_layer)
        .map(|l| run(vec![Intervention::new(HookPoint::mlp_out(l), Action::Zero)]))
        .collect();
    let table = |values: Vec<f32>, shape: Vec<usize>| HostTensor { shape, values };
    assert_close(
        "ablate.zero_head_z",
        &table(zero, vec![n_layer, n_head]),
        reference("ablate.zero_head_z"),
        1e-4,
    );
    assert_close(
        "ablate.mean_head_z",
        &table(mean, vec![n_layer, n_head]),
        reference("ablate.mean_head_z"),
        1e-4,
    );
    assert_close(
        "ablate.zero_mlp_out",
        &table(mlp, vec![n_layer]),
        reference("ablate.zero_mlp_out"),
        1e-4,
    );
}

/// Activation addition with an `add` intervention reproduces the oracle's steered logits.
pub fn steering_matches(device: &Device) {
    let loaded = load_tiny("model.safetensors", device);
    let model = &loaded.model;
    let steering = &reference_json()["steering"];
    let vector = reference("steer.vector");
    let coeff = steering["coeff"].as_f64().unwrap() as f32;
    let hook: HookPoint = steering["hook"].as_str().unwrap().parse().unwrap();
    let prompt = ids(&serde_json::json!([steering["prompt_ids"]]));
    let scaled = Values {
        shape: vec![vector.values.len()],
        data: vector.values.iter().map(|v| v * coeff).collect(),
    };
    let steered = model
        .run_with_hooks(
            model.tokens(&prompt).unwrap(),
            vec![Intervention::new(hook, Action::Add { values: scaled })],
        )
        .unwrap();
    let [_, pos, vocab] = steered.dims();
    let last = HostTensor::from_data(
        steered
            .slice([0..1, pos - 1..pos])
            .reshape([1, vocab])
            .into_data(),
    );
    let expected = reference("steer.last_logits_steered");
    assert_close(
        "steer.last_logits_steered",
        &HostTensor {
            shape: expected.shape.clone(),
            values: last.values,
        },
        expected,
        1e-4,
    );
}
