//! What the fuzz targets share: the tiny GPT-2 of `../shared/refs` and a narrower twin of it
//! (each loaded once per process), and safetensors files built from parts, so that targets can
//! start from a valid file and break one thing at a time.

use burn::tensor::{Device, Tensor};
use patchbay::loading::{LoadedModel, ModelFiles};
use patchbay::model::{Gpt2, Gpt2Config, ParameterSource};
use std::path::PathBuf;
use std::rc::Rc;

/// `../shared/refs/tiny-gpt2` (or `$PATCHBAY_REFS/tiny-gpt2`).
pub fn tiny_dir() -> PathBuf {
    std::env::var_os("PATCHBAY_REFS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/refs"))
        .join("tiny-gpt2")
}

thread_local! {
    static TINY: Rc<LoadedModel> = Rc::new(
        ModelFiles::from_dir(tiny_dir())
            .and_then(|files| files.load(&patchbay::device::cpu()))
            .expect("the tiny model of ../shared/refs loads"),
    );
}

/// The tiny model and its tokenizer, loaded once per process.
pub fn tiny() -> Rc<LoadedModel> {
    TINY.with(Rc::clone)
}

/// A narrow twin of the tiny model for the targets that run experiments on every input: the
/// real tokenizer and vocabulary (so `<|endoftext|>`, ids past the vocabulary and every
/// token a prompt can become are the real ones), 2 layers, 2 heads, d_model 8 and a context of
/// 16 positions, random weights. Most of a run on the tiny model is its 50,257-way unembedding
/// over up to 128 positions; the twin makes that 64× smaller, and runs past its context more
/// often, which is where hostile prompts and positions go.
pub fn twin() -> Rc<LoadedModel> {
    TWIN.with(Rc::clone)
}

thread_local! {
    static TWIN: Rc<LoadedModel> = Rc::new(twin_files().load(&patchbay::device::cpu())
        .expect("the narrow twin of the tiny model loads"));
}

/// The twin's `config.json`, `model.safetensors` and `tokenizer.json`, loaded as a user's
/// folder would be.
pub fn twin_files() -> ModelFiles {
    let tiny = tiny_dir();
    let read = |name: &str| std::fs::read(tiny.join(name)).expect("the tiny model's files");
    let mut config: serde_json::Value =
        serde_json::from_slice(&read("config.json")).expect("the tiny model's config.json");
    config["n_layer"] = 2.into();
    config["n_head"] = 2.into();
    config["n_embd"] = 8.into();
    config["n_positions"] = 16.into();
    let parsed = Gpt2Config::from_hf_json(config.to_string().as_bytes()).expect("twin config");
    let mut entries = vec![];
    let mut data = vec![];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for (name, shape) in expected_tensors(&parsed) {
        let begin = data.len() as u64;
        for _ in 0..shape.iter().product::<usize>() {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let unit = (state >> 40) as f32 / (1u64 << 24) as f32; // [0, 1)
            data.extend_from_slice(&(0.4 * unit - 0.2).to_le_bytes());
        }
        entries.push(Entry {
            name,
            dtype: "F32".into(),
            shape: shape.iter().map(|&d| d as u64).collect(),
            offsets: [begin, data.len() as u64],
        });
    }
    ModelFiles {
        config: config.to_string().into_bytes(),
        weights: safetensors_file(&entries, None, &data),
        tokenizer: read("tokenizer.json"),
    }
}

/// Every parameter `config`'s GPT-2 asks for, by name and shape, in the order it asks.
pub fn expected_tensors(config: &Gpt2Config) -> Vec<(String, Vec<usize>)> {
    struct Recorder {
        device: Device,
        seen: Vec<(String, Vec<usize>)>,
    }
    impl ParameterSource for Recorder {
        type Error = std::convert::Infallible;
        fn take<const D: usize>(
            &mut self,
            name: &str,
            shape: [usize; D],
        ) -> Result<Tensor<D>, Self::Error> {
            self.seen.push((name.to_string(), shape.to_vec()));
            Ok(Tensor::zeros(shape, &self.device))
        }
        fn has(&self, _name: &str) -> bool {
            false
        }
    }
    let mut recorder = Recorder {
        device: patchbay::device::cpu(),
        seen: vec![],
    };
    let _ = Gpt2::build(config, &mut recorder);
    recorder.seen
}

/// One header entry of a safetensors file.
pub struct Entry {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    pub offsets: [u64; 2],
}

/// `u64` header length, the JSON header (with `extra` spliced in when given), the data.
pub fn safetensors_file(entries: &[Entry], extra: Option<&str>, data: &[u8]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    for e in entries {
        header.insert(
            e.name.clone(),
            serde_json::json!({"dtype": e.dtype, "shape": e.shape, "data_offsets": e.offsets}),
        );
    }
    let mut text = serde_json::Value::Object(header).to_string();
    if let Some(extra) = extra {
        text.insert_str(1, extra);
    }
    let mut file = (text.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(text.as_bytes());
    file.extend_from_slice(data);
    file
}
