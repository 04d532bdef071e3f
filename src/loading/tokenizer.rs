//! The GPT-2 byte-level BPE tokenizer, from `tokenizer.json` bytes.

use super::LoadError;

/// `<|endoftext|>`, GPT-2's BOS/EOS token.
pub const END_OF_TEXT: u32 = 50256;

/// GPT-2's tokenizer (Hugging Face `tokenizers`, wasm-capable build).
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokenizer(vocab {})", self.vocab_size())
    }
}

/// `tokenizers` panics building a BPE model whose merges end in a token shorter than its
/// `continuing_subword_prefix` (it slices the token past its end; found by fuzzing): such a
/// model is refused here first.
fn check_bpe_merges(model: &serde_json::Value) -> Result<(), LoadError> {
    let prefix = model["continuing_subword_prefix"].as_str().unwrap_or("");
    if prefix.is_empty() {
        return Ok(());
    }
    let merges = model["merges"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let second = |merge: &serde_json::Value| match merge {
        serde_json::Value::String(pair) => pair.split_once(' ').map(|(_, b)| b.to_string()),
        serde_json::Value::Array(pair) => pair.get(1).and_then(|b| b.as_str()).map(String::from),
        _ => None,
    };
    for (i, merge) in merges.iter().enumerate() {
        if let Some(b) = second(merge)
            && !b.starts_with(prefix)
        {
            return Err(LoadError::Tokenizer(format!(
                "merge {i} ends in {b:?}, which lacks the continuing-subword prefix {prefix:?}"
            )));
        }
    }
    Ok(())
}

impl Tokenizer {
    /// Parses a Hugging Face `tokenizer.json`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LoadError> {
        // The JSON is read first and handed over as a value: `tokenizers` panics on some
        // malformed documents (its decoder's `expect("Helper")`, found by fuzzing), never on a
        // well-formed one.
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| LoadError::Tokenizer(format!("not JSON: {e}")))?;
        check_bpe_merges(&value["model"])?;
        let inner: tokenizers::Tokenizer =
            serde_json::from_value(value).map_err(|e| LoadError::Tokenizer(e.to_string()))?;
        Ok(Self { inner })
    }

    /// Token ids of `text`. The literal `<|endoftext|>` becomes id 50256, as in Hugging Face.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, LoadError> {
        let encoding = self
            .inner
            .encode(text, false)
            .map_err(|e| LoadError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Token ids of `text`, with `<|endoftext|>` first when `prepend_bos` (TransformerLens's default).
    pub fn encode_prompt(&self, text: &str, prepend_bos: bool) -> Result<Vec<u32>, LoadError> {
        let mut ids = Vec::with_capacity(text.len() / 3 + 1);
        if prepend_bos {
            ids.push(END_OF_TEXT);
        }
        ids.extend(self.encode(text)?);
        Ok(ids)
    }

    /// The text of `ids`.
    pub fn decode(&self, ids: &[u32]) -> Result<String, LoadError> {
        self.inner
            .decode(ids, false)
            .map_err(|e| LoadError::Tokenizer(e.to_string()))
    }

    /// The vocabulary entry of each id (byte-level, `Ġ` for a leading space).
    pub fn tokens(&self, ids: &[u32]) -> Vec<String> {
        ids.iter()
            .map(|&id| {
                self.inner
                    .id_to_token(id)
                    .unwrap_or_else(|| format!("<{id}>"))
            })
            .collect()
    }

    /// The readable text of each id on its own (`" Mary"`), for labels.
    pub fn token_texts(&self, ids: &[u32]) -> Vec<String> {
        ids.iter()
            .map(|&id| self.decode(&[id]).unwrap_or_else(|_| format!("<{id}>")))
            .collect()
    }

    /// Number of ids, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}
