//! What the fuzz targets share: the tiny GPT-2 of `../shared/refs` (loaded once per process),
//! and safetensors files built from parts, so that targets can start from a valid file and
//! break one thing at a time.

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
