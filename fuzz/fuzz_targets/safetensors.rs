//! `model.safetensors`, structure-aware: a valid file for a small GPT-2 of the input's shape,
//! then one kind of damage at a time (a tensor's dtype, shape or offsets changed, a tensor
//! dropped or added, the header spliced with junk, the file cut), read whole and streamed in
//! chunks. Shapes may claim up to 2^40 elements: they must be refused before allocation.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use patchbay::loading::{WeightStream, assemble, load_gpt2};
use patchbay::model::Gpt2Config;
use patchbay_fuzz::{Entry, expected_tensors, safetensors_file};

#[derive(Arbitrary, Debug)]
struct Input {
    n_layer: u8,
    n_head: u8,
    d_head: u8,
    vocab: u8,
    n_ctx: u8,
    f16: bool,
    damage: Vec<Damage>,
    junk: Option<String>,
    cut: Option<u32>,
    chunk: u16,
    block: Option<u16>,
}

#[derive(Arbitrary, Debug)]
enum Damage {
    Dtype(u16, String),
    Shape(u16, Vec<u64>),
    Offsets(u16, u64, u64),
    Drop(u16),
    Add(String, Vec<u8>),
    Rename(u16, String),
    Byte(u32, u8),
}

fuzz_target!(|input: Input| {
    let config = Gpt2Config {
        n_layer: (input.n_layer % 3) as usize,
        n_head: (input.n_head % 3 + 1) as usize,
        n_embd: ((input.n_head % 3 + 1) * (input.d_head % 4 + 1)) as usize,
        vocab_size: (input.vocab % 16 + 1) as usize,
        n_positions: (input.n_ctx % 8 + 1) as usize,
        ..Gpt2Config::gpt2_small()
    };
    let (dtype, width) = if input.f16 { ("F16", 2) } else { ("F32", 4) };
    let mut entries = vec![];
    let mut offset = 0u64;
    for (name, shape) in expected_tensors(&config) {
        let bytes = shape.iter().product::<usize>() as u64 * width;
        entries.push(Entry {
            name,
            dtype: dtype.into(),
            shape: shape.iter().map(|&d| d as u64).collect(),
            offsets: [offset, offset + bytes],
        });
        offset += bytes;
    }
    let mut data = vec![0u8; offset as usize];
    for damage in input.damage.into_iter().take(4) {
        let n = entries.len().max(1);
        match damage {
            Damage::Dtype(i, dtype) => {
                if let Some(e) = entries.get_mut(i as usize % n) {
                    e.dtype = dtype;
                }
            }
            Damage::Shape(i, shape) => {
                if let Some(e) = entries.get_mut(i as usize % n) {
                    e.shape = shape.into_iter().take(5).map(|d| d % (1 << 40)).collect();
                }
            }
            Damage::Offsets(i, a, b) => {
                if let Some(e) = entries.get_mut(i as usize % n) {
                    e.offsets = [a, b];
                }
            }
            Damage::Drop(i) => {
                if !entries.is_empty() {
                    entries.remove(i as usize % n);
                }
            }
            Damage::Add(name, bytes) => {
                let begin = data.len() as u64;
                data.extend_from_slice(&bytes);
                entries.push(Entry {
                    name,
                    dtype: "U8".into(),
                    shape: vec![bytes.len() as u64],
                    offsets: [begin, data.len() as u64],
                });
            }
            Damage::Rename(i, name) => {
                if let Some(e) = entries.get_mut(i as usize % n) {
                    e.name = name;
                }
            }
            Damage::Byte(at, value) => {
                if !data.is_empty() {
                    let i = at as usize % data.len();
                    data[i] = value;
                }
            }
        }
    }
    let mut file = safetensors_file(&entries, input.junk.as_deref(), &data);
    if let Some(cut) = input.cut {
        file.truncate(cut as usize % (file.len() + 1));
    }
    let device = patchbay::device::cpu();
    let _ = load_gpt2(&config, &file, &device);
    let mut stream = WeightStream::new(&device, input.block.map(|b| b as usize * 4 + 4));
    let chunk = input.chunk as usize % 4096 + 1;
    for piece in file.chunks(chunk) {
        if stream.feed(piece).is_err() {
            return;
        }
    }
    if let Ok(weights) = stream.finish() {
        let _ = assemble(&config, weights);
    }
});
