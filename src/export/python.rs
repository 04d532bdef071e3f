//! Python source text: literals for the values a spec holds. Every value from a spec reaches a
//! script through these functions and nothing else (no substitution over generated code), so
//! what a spec says can only ever be a literal's value (SECURITY.md).

use crate::experiments::PromptInput;
use crate::spec::TokenInput;
use std::fmt::Write;

/// A Python string literal whose value is `text`, written in printable ASCII whatever `text`
/// holds: quotes and backslashes escaped, every other character outside `' '..='~'` as a
/// `\n`/`\t`/`\r`, `\xNN`, `\uNNNN` or `\UNNNNNNNN` escape (no raw newline, NUL or bidi
/// control can reach the script).
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    escape_into(text, &mut out);
    out.push('"');
    out
}

/// `text` for a docstring or comment: the body of [`string`] (it cannot end a `"""` docstring,
/// since every quote is escaped, nor a line, since no line break is left).
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(text, &mut out);
    out
}

fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            c => {
                let code = u32::from(c);
                let _ = match code {
                    0..=0xff => write!(out, "\\x{code:02x}"),
                    0x100..=0xffff => write!(out, "\\u{code:04x}"),
                    _ => write!(out, "\\U{code:08x}"),
                };
            }
        }
    }
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

/// `METHODS` and `RELP_RULES`: which attribution methods a script computes, and RelP's rules.
pub fn methods(
    methods: &[crate::experiments::AttributionMethod],
    rules: &[crate::experiments::RelpRule],
) -> String {
    format!(
        "\nMETHODS = {}  # gradient: attribution patching; relp: relevance patching\nRELP_RULES = {}\n",
        list(methods.iter().map(|m| string(m.as_str()))),
        list(rules.iter().map(|r| string(r.as_str()))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_python() {
        assert_eq!(string("a \"b\"\n\\ é"), "\"a \\\"b\\\"\\n\\\\ \\xe9\"");
        assert_eq!(
            string("\0\u{2028}\u{1F600}\x1b"),
            "\"\\x00\\u2028\\U0001f600\\x1b\""
        );
        assert_eq!(escaped("\"\"\""), "\\\"\\\"\\\"");
        assert_eq!(prompt(&PromptInput::Ids(vec![1, 2])), "[1, 2]");
        assert_eq!(token(&TokenInput::Text(" Mary".into())), "\" Mary\"");
        assert_eq!(float(0.7), "0.7");
        assert_eq!(float(4.0), "4.0");
        assert_eq!(float(f32::NEG_INFINITY), "float(\"-inf\")");
        assert_eq!(long_list(["1".to_string()]), "[\n    1,\n]");
    }
}
