//! Share links: the spec (never its results) and the model, in the URL fragment, so that the
//! recipient's browser recomputes the result locally. Fragments are not sent to servers.
//!
//! `#model=<id or URL, percent-encoded>&spec=<base64url of the deflated compact JSON spec>`

use crate::spec::{Spec, SpecError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Inflated specs larger than this are refused (a spec is a few kilobytes).
const MAX_SPEC_BYTES: usize = 1 << 20;

/// What a share link carries.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedRun {
    /// A hub id or a base URL; `None` leaves the choice to the recipient.
    pub model: Option<String>,
    pub spec: Spec,
}

/// Why a fragment is not a share link.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShareError {
    #[error("the link carries no experiment (`spec=` is missing)")]
    NoSpec,
    #[error("the link's experiment is damaged ({0}); was it cut short when copied?")]
    Encoding(String),
    #[error("the link's experiment is not valid: {0}")]
    Spec(SpecError),
}

impl SharedRun {
    /// The URL fragment (without `#`).
    pub fn to_fragment(&self) -> String {
        let json = serde_json::to_string(&self.spec).expect("a spec serialises");
        let packed =
            URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 9));
        match &self.model {
            Some(model) => format!("model={}&spec={packed}", percent_encode(model)),
            None => format!("spec={packed}"),
        }
    }

    /// Reads a fragment (with or without its `#`). `Ok(None)` when it is not a share link at all.
    pub fn from_fragment(fragment: &str) -> Result<Option<Self>, ShareError> {
        let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
        let fields: Vec<(&str, &str)> = fragment
            .split('&')
            .filter_map(|field| field.split_once('='))
            .collect();
        let field = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let Some(packed) = field("spec") else {
            return if field("model").is_some() {
                Err(ShareError::NoSpec)
            } else {
                Ok(None)
            };
        };
        let deflated = URL_SAFE_NO_PAD
            .decode(packed.trim_end_matches('='))
            .map_err(|e| ShareError::Encoding(e.to_string()))?;
        let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&deflated, MAX_SPEC_BYTES)
            .map_err(|e| ShareError::Encoding(format!("{:?}", e.status)))?;
        let json = String::from_utf8(json).map_err(|e| ShareError::Encoding(e.to_string()))?;
        let spec = Spec::from_json(&json).map_err(ShareError::Spec)?;
        let model = field("model")
            .map(percent_decode)
            .transpose()
            .map_err(ShareError::Encoding)?
            .filter(|m| !m.is_empty());
        Ok(Some(Self { model, spec }))
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn percent_decode(text: &str) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = tail
                .get(..2)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a bad %-escape in the model")?;
            bytes.push(hex);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = include_str!("../static/experiments/ioi-activation-patching.json");

    #[test]
    fn a_link_round_trips_and_is_compact() {
        let run = SharedRun {
            model: Some("https://example.org/models/tiny gpt2/?a=1&b=2".into()),
            spec: Spec::from_json(SPEC).unwrap(),
        };
        let fragment = run.to_fragment();
        assert!(
            fragment.len() < SPEC.len() / 2,
            "{} vs {}",
            fragment.len(),
            SPEC.len()
        );
        assert!(!fragment.contains('#') && !fragment.contains(' '));
        assert_eq!(
            SharedRun::from_fragment(&format!("#{fragment}")).unwrap(),
            Some(run)
        );
    }

    #[test]
    fn other_fragments_are_not_links_and_damaged_links_say_so() {
        assert_eq!(SharedRun::from_fragment("").unwrap(), None);
        assert_eq!(SharedRun::from_fragment("#top").unwrap(), None);
        assert_eq!(
            SharedRun::from_fragment("model=gpt2"),
            Err(ShareError::NoSpec)
        );
        let fragment = SharedRun {
            model: None,
            spec: Spec::from_json(SPEC).unwrap(),
        }
        .to_fragment();
        let cut = &fragment[..fragment.len() / 2];
        let err = SharedRun::from_fragment(cut).unwrap_err();
        assert!(matches!(err, ShareError::Encoding(_)), "{err}");
        assert!(err.to_string().contains("cut short"));
    }

    #[test]
    fn an_invalid_spec_in_a_link_is_refused_with_its_path() {
        let json = SPEC.replace("\"version\": 1", "\"version\": 7");
        let packed =
            URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 9));
        let err = SharedRun::from_fragment(&format!("spec={packed}")).unwrap_err();
        assert!(matches!(err, ShareError::Spec(_)));
        assert!(err.to_string().contains("newer Patchbay"), "{err}");
    }

    #[test]
    fn a_bomb_is_refused() {
        let zeros = vec![b' '; 4 << 20];
        let packed = URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec(&zeros, 9));
        assert!(matches!(
            SharedRun::from_fragment(&format!("spec={packed}")),
            Err(ShareError::Encoding(_))
        ));
    }
}
