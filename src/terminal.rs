//! Text for a terminal: what a spec, a link or a model folder says reaches the CLI's messages,
//! and a terminal obeys escape sequences. Every message the CLI prints goes through [`safe`]
//! (SECURITY.md, "Terminal output").

use std::borrow::Cow;

/// Whether `c` is a control character a terminal may act on or a bidirectional override that
/// reorders what is shown: C0 but line feed and tab, DEL, C1, and Unicode's bidi controls.
pub fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every [`is_unsafe`] character written as `\u{…}`.
pub fn safe(text: &str) -> Cow<'_, str> {
    replace_unsafe(text, |code| format!("\\u{{{code:x}}}"))
}

/// JSON text with every [`is_unsafe`] character that JSON leaves raw (DEL, C1, bidi controls)
/// written as a `\uXXXX` escape: the same JSON value, harmless on a terminal. (Those characters
/// can only stand inside strings, where the escape means the same character.)
pub fn safe_json(json: &str) -> Cow<'_, str> {
    replace_unsafe(json, |code| format!("\\u{code:04x}"))
}

fn replace_unsafe(text: &str, escape: impl Fn(u32) -> String) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if is_unsafe(c) {
                    escape(u32::from(c))
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_bidi_overrides_are_shown_not_obeyed() {
        assert_eq!(safe("plain\nlines\tok"), "plain\nlines\tok");
        assert_eq!(
            safe("\x1b[2J\x07\u{9b}31m\u{202e}"),
            "\\u{1b}[2J\\u{7}\\u{9b}31m\\u{202e}"
        );
        assert_eq!(safe("\r"), "\\u{d}");
    }

    #[test]
    fn json_stays_the_same_value() {
        let text = "a\u{9b}b\u{202e}c\u{7f}";
        let json = serde_json::to_string(text).unwrap();
        let safe = safe_json(&json);
        assert!(!safe.chars().any(is_unsafe));
        assert_eq!(serde_json::from_str::<String>(&safe).unwrap(), text);
    }
}
