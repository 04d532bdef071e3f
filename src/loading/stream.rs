//! `model.safetensors` as it arrives: the header is parsed from the first bytes, then each
//! tensor is converted to f32 and put on the device as soon as its last byte is in, so that the
//! file is never held whole. What the host holds at any time is the tensor being filled (on the
//! CPU backend, its final f32 buffer, which the backend adopts without a copy) or, when the
//! parameters go to a GPU, one block of it (the blocks are joined on the device).
//!
//! The sha256 of the file is computed on the way. Loading from bytes in memory (the CLI, tests)
//! feeds them in one piece through the same parser.

use super::LoadError;
use crate::model::{Family, ParameterNames};
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, tensor::TensorInfo};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The largest header safetensors allows (100 MB).
const MAX_HEADER: u64 = 100_000_000;

/// f32 elements reserved for a tensor before its bytes arrive (GPT-2 xl's embedding is 80M).
const MAX_RESERVED: usize = 128 << 20;

/// A tensor of the file, by its position in the data section.
struct Entry {
    /// Normalised (see `model::ParameterNames::parameter`).
    name: String,
    /// Whether GPT-2 may use it (causal-mask buffers are skipped).
    keep: bool,
    dtype: Dtype,
    shape: Vec<usize>,
    begin: u64,
    end: u64,
}

/// A tensor on the device, flattened; `shape` is the file's.
pub(super) struct Stored {
    pub shape: Vec<usize>,
    /// `Err(dtype)`: a number format Patchbay cannot read (an error if GPT-2 needs it).
    pub values: Result<Tensor<1>, String>,
}

/// The tensor being filled.
#[derive(Default)]
struct Filling {
    values: Vec<f32>,
    /// The bytes of an element split between two chunks.
    carry: Vec<u8>,
    /// The tensor's elements.
    numel: usize,
    /// Whether the file's announced size holds the whole tensor: only then is it allocated on
    /// the device before its bytes arrive (a header cannot make the parser allocate what the
    /// file does not hold).
    joinable: bool,
    /// The tensor on the device so far, its first `placed` elements written (GPU targets).
    joined: Option<Tensor<1>>,
    placed: usize,
    /// Its blocks on the device, joined at its end (when not `joinable`).
    blocks: Vec<Tensor<1>>,
}

enum Phase {
    /// The 8-byte header length, then the JSON header.
    Header { bytes: Vec<u8> },
    /// Data-section byte `at`; `next` indexes `entries`.
    Data { at: u64, next: usize },
}

/// A safetensors file parsed chunk by chunk into device tensors.
pub struct WeightStream {
    device: Device,
    /// Elements per block uploaded at a time; `None`: whole tensors (CPU backend).
    block: Option<usize>,
    phase: Phase,
    entries: Vec<Entry>,
    filling: Filling,
    received: u64,
    /// The file's size, where its source announced it, and where its data section starts.
    size: Option<u64>,
    data_start: u64,
    hasher: Sha256,
    stored: BTreeMap<String, Stored>,
    /// How the file names parameters (and which keys are buffers, dropped unread).
    names: &'static ParameterNames,
}

/// Every tensor of a file on the device, and the file's sha256.
pub struct StreamedWeights {
    pub(super) tensors: BTreeMap<String, Stored>,
    pub sha256: String,
    pub bytes: u64,
}

fn invalid(message: impl Into<String>) -> LoadError {
    LoadError::NotSafetensors(message.into())
}

impl WeightStream {
    /// A parser putting tensors on `device`, in blocks of about `block_bytes` of f32 when given
    /// (for a GPU: the host then holds one block), else whole.
    pub fn new(device: &Device, block_bytes: Option<usize>) -> Self {
        Self {
            device: device.clone(),
            block: block_bytes.map(|b| (b / 4).max(1)),
            phase: Phase::Header { bytes: vec![] },
            entries: vec![],
            filling: Filling::default(),
            received: 0,
            size: None,
            data_start: 0,
            hasher: Sha256::new(),
            stored: BTreeMap::new(),
            names: Family::default().names(),
        }
    }

    /// The same parser, reading keys as `family`'s checkpoints name them (GPT-2's unless said).
    pub fn reading(self, family: Family) -> Self {
        Self {
            names: family.names(),
            ..self
        }
    }

    /// The whole file's size, as its source announced it (checked against memory before): a
    /// tensor the size covers is joined on the device block by block as it arrives.
    pub fn announce(&mut self, size: Option<u64>) {
        self.size = size;
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The next bytes of the file.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), LoadError> {
        self.hasher.update(chunk);
        self.received += chunk.len() as u64;
        while !chunk.is_empty() {
            chunk = match &mut self.phase {
                Phase::Header { bytes } => {
                    let wanted = if bytes.len() < 8 {
                        8
                    } else {
                        8 + header_length(bytes)? as usize
                    };
                    let take = (wanted - bytes.len()).min(chunk.len());
                    bytes.extend_from_slice(&chunk[..take]);
                    if bytes.len() >= 8 && bytes.len() as u64 == 8 + header_length(bytes)? {
                        self.entries = parse_header(&bytes[8..], self.names)?;
                        self.data_start = bytes.len() as u64;
                        self.phase = Phase::Data { at: 0, next: 0 };
                        self.start_tensor()?;
                    }
                    &chunk[take..]
                }
                Phase::Data { at, next } => {
                    let Some(entry) = self.entries.get(*next) else {
                        return Err(invalid("bytes after the last tensor"));
                    };
                    let take = ((entry.end - *at) as usize).min(chunk.len());
                    let dtype = entry.keep.then_some(entry.dtype);
                    let done = *at + take as u64 == entry.end;
                    *at += take as u64;
                    if done {
                        *next += 1;
                    }
                    self.convert(dtype, &chunk[..take])?;
                    if done {
                        self.finish_tensor()?;
                        self.start_tensor()?;
                    }
                    &chunk[take..]
                }
            };
        }
        Ok(())
    }

    fn current(&self) -> Option<&Entry> {
        match self.phase {
            Phase::Data { next, .. } => self.entries.get(next),
            Phase::Header { .. } => None,
        }
    }

    fn start_tensor(&mut self) -> Result<(), LoadError> {
        let capacity = match self.current() {
            Some(entry) if entry.keep && readable(entry.dtype) => {
                let numel = ((entry.end - entry.begin) * 8 / entry.dtype.bitsize() as u64) as usize;
                // Reserved up front only to a sane size: beyond it the buffer grows as bytes
                // actually arrive, so a header cannot make the parser allocate what the file
                // does not hold.
                self.block.unwrap_or(MAX_RESERVED).min(numel)
            }
            _ => 0,
        };
        let numel = match self.current() {
            Some(entry) if readable(entry.dtype) => {
                ((entry.end - entry.begin) * 8 / entry.dtype.bitsize() as u64) as usize
            }
            _ => 0,
        };
        let joinable = match (self.current(), self.size) {
            (Some(entry), Some(size)) => self.data_start.saturating_add(entry.end) <= size,
            _ => false,
        };
        self.filling = Filling {
            values: Vec::with_capacity(capacity),
            numel,
            joinable,
            ..Filling::default()
        };
        // A tensor without bytes is complete at once.
        if let Some(entry) = self.current()
            && entry.begin == entry.end
            && let Phase::Data { next, .. } = &mut self.phase
        {
            *next += 1;
            self.finish_tensor()?;
            self.start_tensor()?;
        }
        Ok(())
    }

    /// Appends the f32 values of `bytes` (elements may straddle chunks); `None`: a tensor
    /// that is skipped.
    fn convert(&mut self, dtype: Option<Dtype>, mut bytes: &[u8]) -> Result<(), LoadError> {
        let Some(dtype) = dtype.filter(|d| readable(*d)) else {
            return Ok(());
        };
        let size = dtype.bitsize() / 8;
        let filling = &mut self.filling;
        if !filling.carry.is_empty() {
            let take = (size - filling.carry.len()).min(bytes.len());
            filling.carry.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if filling.carry.len() == size {
                let carry = std::mem::take(&mut filling.carry);
                push_f32(dtype, &carry, &mut filling.values);
            }
        }
        let whole = bytes.len() / size * size;
        push_f32(dtype, &bytes[..whole], &mut filling.values);
        filling.carry.extend_from_slice(&bytes[whole..]);
        if let Some(block) = self.block
            && filling.values.len() >= block
        {
            let values = std::mem::replace(&mut filling.values, Vec::with_capacity(block));
            self.place(values)?;
        }
        Ok(())
    }

    /// Writes the next `values` of the current tensor on the device. A tensor of several blocks
    /// is joined block by block as they arrive: joining them all at its end would hand the GPU
    /// one long run of copies (SwiftShader's stall the page's frames meanwhile).
    fn place(&mut self, values: Vec<f32>) -> Result<(), LoadError> {
        let n = values.len();
        let block = self.upload(values)?;
        let filling = &mut self.filling;
        let (numel, at) = (filling.numel, filling.placed);
        if !filling.joinable {
            filling.blocks.push(block);
            filling.placed = at + n;
            return Ok(());
        }
        filling.joined = Some(match filling.joined.take() {
            None if n == numel => block,
            joined => {
                let joined = joined.unwrap_or_else(|| Tensor::empty([numel], &self.device));
                let joined = joined.slice_assign(at..at + n, block);
                self.device
                    .flush()
                    .map_err(|e| LoadError::Device(e.to_string()))?;
                joined
            }
        });
        self.filling.placed = at + n;
        Ok(())
    }

    /// Puts the tensor just completed (the one before `next`) on the device.
    fn finish_tensor(&mut self) -> Result<(), LoadError> {
        let Phase::Data { next, .. } = self.phase else {
            return Ok(());
        };
        let entry = &self.entries[next - 1];
        if !entry.keep {
            self.filling = Filling::default();
            return Ok(());
        }
        let (name, shape, dtype) = (entry.name.clone(), entry.shape.clone(), entry.dtype);
        let values = if readable(dtype) {
            let rest = std::mem::take(&mut self.filling.values);
            if !rest.is_empty() || self.filling.placed == 0 {
                self.place(rest)?;
            }
            let mut filling = std::mem::take(&mut self.filling);
            Ok(match filling.joined {
                Some(joined) => joined,
                None if filling.blocks.len() == 1 => filling.blocks.pop().expect("one block"),
                None => Tensor::cat(filling.blocks, 0),
            })
        } else {
            self.filling = Filling::default();
            Err(format!("{dtype:?}"))
        };
        self.stored.insert(name, Stored { shape, values });
        Ok(())
    }

    /// Puts `values` on the device. For a GPU the write is handed to the queue at once: the
    /// runtime would otherwise keep the bytes of up to 32 writes on the host until its next
    /// batch of work (cubecl's `tasks_max`), ~180 MiB of GPT-2 small's blocks.
    fn upload(&self, values: Vec<f32>) -> Result<Tensor<1>, LoadError> {
        let n = values.len();
        let tensor = Tensor::from_data(TensorData::new(values, [n]), &self.device);
        if self.block.is_some() {
            self.device
                .flush()
                .map_err(|e| LoadError::Device(e.to_string()))?;
        }
        Ok(tensor)
    }

    /// The whole file has been fed: every tensor, or why not.
    pub fn finish(self) -> Result<StreamedWeights, LoadError> {
        match self.phase {
            Phase::Header { .. } if self.received == 0 => Err(invalid(
                "the file is empty (0 bytes): a download or copy that did not finish?",
            )),
            Phase::Header { .. } => Err(invalid(format!(
                "the file ends inside its header, after {} bytes",
                self.received
            ))),
            Phase::Data { at, next } => {
                if let Some(entry) = self.entries.get(next) {
                    let header = self.received - at;
                    let end = self.entries.last().map_or(0, |e| e.end);
                    return Err(LoadError::Truncated {
                        expected: (header + end) as usize,
                        actual: self.received as usize,
                        tensor: entry.name.clone(),
                    });
                }
                Ok(StreamedWeights {
                    tensors: self.stored,
                    sha256: format!("{:x}", self.hasher.finalize()),
                    bytes: self.received,
                })
            }
        }
    }
}

fn readable(dtype: Dtype) -> bool {
    matches!(dtype, Dtype::F32 | Dtype::F16 | Dtype::BF16)
}

fn push_f32(dtype: Dtype, bytes: &[u8], out: &mut Vec<f32>) {
    match dtype {
        Dtype::F32 => out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        ),
        Dtype::F16 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()),
        ),
        Dtype::BF16 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()),
        ),
        _ => {}
    }
}

fn header_length(prefix: &[u8]) -> Result<u64, LoadError> {
    let n = u64::from_le_bytes(prefix[..8].try_into().expect("8 bytes"));
    if n > MAX_HEADER {
        return Err(invalid(format!(
            "its header would be {n} bytes long (at most {MAX_HEADER})"
        )));
    }
    Ok(n)
}

/// The tensors of a header in file order, keys read through `names` (buffers dropped); the data section must be covered exactly, in order.
fn parse_header(json: &[u8], names: &ParameterNames) -> Result<Vec<Entry>, LoadError> {
    let mut fields: BTreeMap<String, serde_json::Value> = serde_json::from_slice(json)
        .map_err(|e| invalid(format!("its header is not JSON: {e}")))?;
    fields.remove("__metadata__");
    let mut entries = fields
        .into_iter()
        .map(|(key, value)| {
            let info: TensorInfo = serde_json::from_value(value)
                .map_err(|e| invalid(format!("tensor `{key}`: {e}")))?;
            Ok(Entry {
                keep: names.parameter(&key).is_some(),
                name: names.parameter(&key).unwrap_or(&key).to_string(),
                dtype: info.dtype,
                shape: info.shape,
                begin: info.data_offsets.0 as u64,
                end: info.data_offsets.1 as u64,
            })
        })
        .collect::<Result<Vec<_>, LoadError>>()?;
    entries.sort_by_key(|e| (e.begin, e.end));
    let mut end = 0;
    for entry in &entries {
        let bits = entry
            .shape
            .iter()
            .try_fold(entry.dtype.bitsize() as u64, |n, &d| {
                n.checked_mul(d as u64)
            });
        let bytes = entry.end.checked_sub(entry.begin);
        if entry.begin != end || bytes.and_then(|b| b.checked_mul(8)) != bits {
            return Err(invalid(format!(
                "tensor `{}` has data offsets {}..{} that do not fit its shape {:?} and type {:?}",
                entry.name, entry.begin, entry.end, entry.shape, entry.dtype
            )));
        }
        end = entry.end;
    }
    Ok(entries)
}
