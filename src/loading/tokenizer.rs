//! The GPT-2 byte-level BPE tokenizer, from `tokenizer.json` bytes.

use super::LoadError;
pub use crate::model::END_OF_TEXT;

/// GPT-2's tokenizer (Hugging Face `tokenizers`, wasm-capable build), and the token it prepends
/// to a prompt.
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    bos: u32,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokenizer(vocab {})", self.vocab_size())
    }
}

/// `tokenizers` panics building a BPE model from merges that do not fit its vocabulary (it
/// copies each merged token into a buffer as long as the longest vocabulary entry, and cuts the
/// continuing-subword prefix off the second token without looking; found by fuzzing). A merge
/// must join two vocabulary entries into a third, the second carrying the prefix if there is
/// one: anything else is refused here, before `tokenizers` sees it.
fn check_bpe_merges(model: &serde_json::Value) -> Result<(), LoadError> {
    let (Some(vocab), Some(merges)) = (model["vocab"].as_object(), model["merges"].as_array())
    else {
        return Ok(()); // not a BPE model, or one `tokenizers` refuses by itself
    };
    let prefix = model["continuing_subword_prefix"].as_str().unwrap_or("");
    for (i, merge) in merges.iter().enumerate() {
        let (a, b) = match merge {
            serde_json::Value::String(pair) => match pair.split(' ').collect::<Vec<_>>()[..] {
                [a, b] => (a, b),
                _ => continue,
            },
            serde_json::Value::Array(pair) => match (pair.first(), pair.get(1)) {
                (Some(serde_json::Value::String(a)), Some(serde_json::Value::String(b))) => {
                    (a.as_str(), b.as_str())
                }
                _ => continue,
            },
            _ => continue,
        };
        let merged = b.strip_prefix(prefix).map(|rest| format!("{a}{rest}"));
        let known = |token: &str| vocab.contains_key(token);
        if !(known(a) && known(b) && merged.as_deref().is_some_and(known)) {
            return Err(LoadError::Tokenizer(format!(
                "merge {i} ({a:?} + {b:?}) does not join two vocabulary entries into a third"
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
        let bos = inner.token_to_id("<|endoftext|>").unwrap_or(END_OF_TEXT);
        Ok(Self { inner, bos })
    }

    /// The same tokenizer prepending `bos` (the model's `bos_token_id`).
    pub fn with_bos(self, bos: u32) -> Self {
        Self { bos, ..self }
    }

    /// The token prepended to a prompt: `<|endoftext|>` unless the model's config names another.
    pub fn bos(&self) -> u32 {
        self.bos
    }

    /// The id of `text` if it is one token (`" "` → 220 in GPT-2).
    pub fn single_token(&self, text: &str) -> Option<u32> {
        match self.encode(text).ok()?[..] {
            [id] => Some(id),
            _ => None,
        }
    }

    /// Token ids of `text`. The literal `<|endoftext|>` becomes id 50256, as in Hugging Face.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, LoadError> {
        let encoding = self
            .inner
            .encode(text, false)
            .map_err(|e| LoadError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Token ids of `text`, with [`Self::bos`] first when `prepend_bos` (TransformerLens's
    /// default).
    pub fn encode_prompt(&self, text: &str, prepend_bos: bool) -> Result<Vec<u32>, LoadError> {
        let mut ids = Vec::with_capacity(text.len() / 3 + 1);
        if prepend_bos {
            ids.push(self.bos);
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
