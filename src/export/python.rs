//! Python source text: literals for the values a spec holds.

use crate::experiments::PromptInput;
use crate::spec::TokenInput;

/// A Python string literal (a JSON string is one: same quotes, same escapes).
pub fn string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

/// A prompt: its text, or its token ids as a list.
pub fn prompt(prompt: &PromptInput) -> String {
    match prompt {
        PromptInput::Text(text) => string(text),
        PromptInput::Ids(ids) => list(ids.iter().map(u32::to_string)),
    }
}

/// A token as its text (one token of the tokenizer) or id.
pub fn token(token: &TokenInput) -> String {
    match token {
        TokenInput::Id(id) => id.to_string(),
        TokenInput::Text(text) => string(text),
    }
}

/// `[a, b, c]`.
pub fn list(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(", "))
}

/// One item per line, indented, for lists people read (prompts).
pub fn long_list(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    if items.is_empty() {
        return "[]".into();
    }
    format!(
        "[\n{}]",
        items
            .iter()
            .map(|i| format!("    {i},\n"))
            .collect::<String>()
    )
}

/// `True` / `False`.
pub fn boolean(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

/// An f32 as Python reads it back to the same f32 (shortest round-trip digits); non-finite
/// values as `float(...)`.
pub fn float(value: f32) -> String {
    if value.is_finite() {
        let text = format!("{value:?}");
        text
    } else if value.is_nan() {
        "float(\"nan\")".into()
    } else if value > 0.0 {
        "float(\"inf\")".into()
    } else {
        "float(\"-inf\")".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_python() {
        assert_eq!(string("a \"b\"\n\\ é"), "\"a \\\"b\\\"\\n\\\\ é\"");
        assert_eq!(prompt(&PromptInput::Ids(vec![1, 2])), "[1, 2]");
        assert_eq!(token(&TokenInput::Text(" Mary".into())), "\" Mary\"");
        assert_eq!(float(0.7), "0.7");
        assert_eq!(float(4.0), "4.0");
        assert_eq!(float(f32::NEG_INFINITY), "float(\"-inf\")");
        assert_eq!(long_list(["1".to_string()]), "[\n    1,\n]");
    }
}
