//! Checks that an exported script cannot carry code from the spec it was made from: the
//! property `tests/suite/export_hostile.rs` and the `export_script` fuzz target assert
//! (SECURITY.md). A spec's free text (titles, model ids, prompts, answers, phrases) is replaced
//! by hostile text; the script must then differ from a benign export only inside its string
//! literals, each hostile text must be the value of a literal, and the script must be printable
//! ASCII and newlines.
//!
//! The comparison lexes Python the way the scripts are written: `#` comments, `'`/`"` strings
//! and their triple-quoted forms, with optional prefixes (`f`, `r`, `b`). A literal is replaced
//! by `"…"` in the script's skeleton and decoded (the escapes [`super::python::string`] writes).

use crate::spec::Spec;
use serde_json::Value;

/// A script with its string literals taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skeleton {
    /// The script with every string literal's body replaced by `…`.
    pub code: String,
    /// Every literal's value, decoded, in order.
    pub literals: Vec<String>,
}

/// Lexes `script` into its skeleton. Errors on an unterminated literal.
pub fn skeleton(script: &str) -> Result<Skeleton, String> {
    let chars: Vec<char> = script.chars().collect();
    let mut code = String::with_capacity(script.len());
    let mut literals = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                code.push(chars[i]);
                i += 1;
            }
            continue;
        }
        if c != '"' && c != '\'' {
            code.push(c);
            i += 1;
            continue;
        }
        let raw = prefix_is_raw(&code);
        let triple = chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c);
        let quote_len = if triple { 3 } else { 1 };
        let start = i + quote_len;
        let mut j = start;
        let end = loop {
            match chars.get(j) {
                None => return Err(format!("a literal opened at char {i} never ends")),
                Some('\\') => j += 2,
                Some('\n') if !triple => {
                    return Err(format!(
                        "a line break inside the literal opened at char {i}"
                    ));
                }
                Some(&q) if q == c && (!triple || chars[j..].starts_with(&[c, c, c])) => break j,
                Some(_) => j += 1,
            }
        };
        let body: String = chars[start..end].iter().collect();
        literals.push(if raw { body } else { decode(&body)? });
        let quotes: String = std::iter::repeat_n(c, quote_len).collect();
        code.push_str(&quotes);
        code.push('…');
        code.push_str(&quotes);
        i = end + quote_len;
    }
    Ok(Skeleton { code, literals })
}

/// Whether the identifier characters just before a quote make it a raw string (`r"`, `rb"`).
fn prefix_is_raw(code: &str) -> bool {
    let prefix: String = code
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    prefix.len() <= 2 && prefix.chars().any(|c| c == 'r' || c == 'R')
}

/// The value of a literal's body written with Python's escapes.
fn decode(body: &str) -> Result<String, String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> Result<char, String> {
            let digits: String = chars.by_ref().take(n).collect();
            u32::from_str_radix(&digits, 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| format!("a bad escape \\…{digits}"))
        };
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('\'') => out.push('\''),
            Some('\n') => {}
            Some('x') => out.push(hex(&mut chars, 2)?),
            Some('u') => out.push(hex(&mut chars, 4)?),
            Some('U') => out.push(hex(&mut chars, 8)?),
            // Python keeps an unknown escape as written (`"\d"` is backslash, d).
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => return Err("a literal ends in a backslash".into()),
        }
    }
    Ok(out)
}

/// `spec` with each free-text string replaced by `text(n)` for the n-th such string, where a
/// string is free text when the spec stays valid with the replacement (hook names, enum values
/// and the like do not); `published` is left alone (it never reaches a script). Returns the new
/// spec and the texts it was given.
pub fn with_hostile_text(
    spec: &Spec,
    text: &mut dyn FnMut(usize) -> String,
) -> (Spec, Vec<String>) {
    let mut value = serde_json::to_value(spec).expect("a spec serialises");
    let mut paths = Vec::new();
    string_paths(&value, &mut Vec::new(), &mut paths);
    // Published values are drawn beside a run, never written into a script.
    paths.retain(|path| !matches!(path.first(), Some(Step::Key(k)) if k == "published"));
    let mut given = Vec::new();
    for path in paths {
        let candidate = text(given.len());
        let mut trial = value.clone();
        *at(&mut trial, &path) = Value::String(candidate.clone());
        let valid = serde_json::from_value::<Spec>(trial.clone())
            .ok()
            .is_some_and(|s| s.check().is_ok());
        if valid {
            value = trial;
            given.push(candidate);
        }
    }
    let spec = serde_json::from_value(value).expect("checked above");
    (spec, given)
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn string_paths(value: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        Value::String(_) => out.push(here.clone()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                here.push(Step::Index(i));
                string_paths(item, here, out);
                here.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                here.push(Step::Key(key.clone()));
                string_paths(item, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn at<'v>(value: &'v mut Value, path: &[Step]) -> &'v mut Value {
    path.iter().fold(value, |v, step| match step {
        Step::Key(k) => &mut v[k.as_str()],
        Step::Index(i) => &mut v[*i],
    })
}

/// The property: `hostile` (the export of a spec given `texts`) has `benign`'s skeleton, each
/// text is inside one of its literals, and it holds no character but printable ASCII and `\n`.
pub fn check_script(hostile: &str, benign: &str, texts: &[String]) -> Result<(), String> {
    if let Some((line, c)) = hostile.lines().enumerate().find_map(|(n, l)| {
        l.chars()
            .find(|c| !(' '..='~').contains(c))
            .map(|c| (n + 1, c))
    }) {
        return Err(format!("line {line} holds {c:?}"));
    }
    if hostile.contains('\r') {
        return Err("a carriage return".into());
    }
    let hostile = skeleton(hostile)?;
    let benign = skeleton(benign)?;
    if hostile.code != benign.code {
        let line = hostile
            .code
            .lines()
            .zip(benign.code.lines())
            .position(|(a, b)| a != b)
            .map_or(0, |n| n + 1);
        return Err(format!(
            "the script's code differs from a benign export's (line {line} of the skeleton)"
        ));
    }
    for text in texts {
        if !hostile.literals.iter().any(|l| l.contains(text.as_str())) {
            return Err(format!("{text:?} is not the value of any literal"));
        }
    }
    Ok(())
}

/// Texts that have broken code generators: quotes of every kind, backslashes, line breaks of
/// every kind Python or a terminal knows, NUL and other controls, placeholder-like words,
/// format directives, code, non-ASCII and a long string.
pub fn hostile_texts() -> Vec<String> {
    let mut texts: Vec<String> = [
        "\"",
        "'",
        "\"\"\"",
        "'''",
        "\\",
        "ends in a backslash\\",
        "\\\"); import os; os.system(\"id\"); (\"",
        "\"); __import__('os').system('id'); (\"",
        "\n__import__('os').system('id')\n#",
        "line\rbreak\r\nand\x0bvertical\x0cfeed\x1cfile\x1dgroup\x1erecord\u{85}next\u{2028}line\u{2029}para",
        "nul\0byte",
        "\x1b[31mred\x1b[0m\x07",
        "\x7fdel\u{202e}bidi\u{feff}bom",
        "POSITIVE_PROMPT",
        "NEGATIVE_PROMPT STEERED_PROMPT HOOK COEFF",
        "{} {0} {title} %s %(x)s {{",
        "...",
        "é ü 中文 🙂 \u{10ffff}",
        "#",
        "\"\"\" + __import__('os').getcwd() + \"\"\"",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    texts.push("a\"'\\\n".repeat(2500));
    texts
}
