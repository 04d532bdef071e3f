//! Lessons: a short Markdown text with runs in it, that an instructor writes without code.
//!
//! The Markdown is a small, safe subset — headings (`#` to `###`), paragraphs, `*emphasis*`,
//! `**strong**`, `` `code` ``, `[links](https://…)`, bulleted and numbered lists, fenced code —
//! and a fenced block with the info string `patchbay` is a step the reader runs:
//!
//! ````text
//! ```patchbay
//! load: openai-community/gpt2
//! ```
//! ```patchbay
//! example: ioi-activation-patching
//! ```
//! ```patchbay
//! { "version": 1, "model": {"id": "gpt2"}, "experiment": … }
//! ```
//! ````
//!
//! Nothing is written into the page as HTML: the app draws these blocks as elements, so a
//! lesson cannot run script. A link whose address is not `http(s)`, relative or a fragment, an
//! unknown example or an invalid spec is refused with its line.

use crate::spec::Spec;
use crate::spec::examples;

/// The largest lesson read (a lesson is a page of text, not a dataset).
pub const MAX_BYTES: usize = 256 * 1024;

/// A lesson shipped with the app, opened with `?lesson=NAME`.
pub struct Bundled {
    pub name: &'static str,
    pub text: &'static str,
}

pub const LESSONS: [Bundled; 1] = [Bundled {
    name: "ioi",
    text: include_str!("../static/lessons/ioi.md"),
}];

pub fn find(name: &str) -> Option<&'static Bundled> {
    LESSONS.iter().find(|l| l.name == name)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    /// The first level-1 heading, else "Lesson".
    pub title: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading(u8, Vec<Inline>),
    Paragraph(Vec<Inline>),
    List {
        ordered: bool,
        items: Vec<Vec<Inline>>,
    },
    Code(String),
    Step(Step),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text(String),
    Emphasis(String),
    Strong(String),
    Code(String),
    Link { text: String, url: String },
}

/// Something the reader does in a lesson.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Load a model (a hub id or a URL), as the model panel does.
    Load(String),
    /// Run a spec: a bundled example's or the lesson's own.
    Run(Box<Spec>),
}

/// Why a lesson cannot be read, with the line (from 1).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("lesson, line {line}: {message}")]
pub struct LessonError {
    pub line: usize,
    pub message: String,
}

fn error(line: usize, message: impl Into<String>) -> LessonError {
    LessonError {
        line,
        message: message.into(),
    }
}

/// Reads a lesson.
pub fn parse(text: &str) -> Result<Lesson, LessonError> {
    if text.len() > MAX_BYTES {
        return Err(error(
            1,
            format!(
                "the lesson is {} KiB; lessons are read up to {} KiB",
                text.len() / 1024,
                MAX_BYTES / 1024
            ),
        ));
    }
    let mut blocks = vec![];
    let mut paragraph: Vec<(usize, &str)> = vec![];
    let mut list: Option<(bool, Vec<(usize, String)>)> = None;
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    // Ends the paragraph or list being gathered.
    let flush = |blocks: &mut Vec<Block>,
                 paragraph: &mut Vec<(usize, &str)>,
                 list: &mut Option<(bool, Vec<(usize, String)>)>|
     -> Result<(), LessonError> {
        if let Some(&(line, _)) = paragraph.first() {
            let joined: Vec<&str> = paragraph.iter().map(|(_, l)| l.trim()).collect();
            blocks.push(Block::Paragraph(inline(&joined.join(" "), line)?));
            paragraph.clear();
        }
        if let Some((ordered, items)) = list.take() {
            let items = items
                .iter()
                .map(|(line, item)| inline(item, *line))
                .collect::<Result<_, _>>()?;
            blocks.push(Block::List { ordered, items });
        }
        Ok(())
    };
    while let Some((number, line)) = lines.next() {
        let trimmed = line.trim();
        if let Some(info) = trimmed.strip_prefix("```") {
            flush(&mut blocks, &mut paragraph, &mut list)?;
            let mut body = vec![];
            let mut closed = false;
            for (_, inner) in lines.by_ref() {
                if inner.trim() == "```" {
                    closed = true;
                    break;
                }
                body.push(inner);
            }
            if !closed {
                return Err(error(number, "this ``` block is not closed"));
            }
            let body = body.join("\n");
            blocks.push(match info.trim() {
                "patchbay" => Block::Step(step(&body, number)?),
                _ => Block::Code(body),
            });
        } else if trimmed.is_empty() {
            flush(&mut blocks, &mut paragraph, &mut list)?;
        } else if let Some((level, title)) = heading(trimmed) {
            flush(&mut blocks, &mut paragraph, &mut list)?;
            blocks.push(Block::Heading(level, inline(title, number)?));
        } else if let Some((ordered, item)) = list_item(trimmed) {
            if !paragraph.is_empty() || list.as_ref().is_some_and(|(o, _)| *o != ordered) {
                flush(&mut blocks, &mut paragraph, &mut list)?;
            }
            list.get_or_insert_with(|| (ordered, vec![]))
                .1
                .push((number, item.to_string()));
        } else if let Some((_, items)) = list.as_mut().filter(|_| line.starts_with([' ', '\t'])) {
            // An indented line goes on with the item before it.
            if let Some((_, last)) = items.last_mut() {
                last.push(' ');
                last.push_str(trimmed);
            }
        } else {
            if list.is_some() {
                flush(&mut blocks, &mut paragraph, &mut list)?;
            }
            paragraph.push((number, line));
        }
    }
    flush(&mut blocks, &mut paragraph, &mut list)?;
    let title = blocks
        .iter()
        .find_map(|b| match b {
            Block::Heading(1, inlines) => Some(plain(inlines)),
            _ => None,
        })
        .unwrap_or_else(|| "Lesson".into());
    Ok(Lesson { title, blocks })
}

fn heading(line: &str) -> Option<(u8, &str)> {
    let level = line.chars().take_while(|&c| c == '#').count();
    let rest = line[level..].strip_prefix(' ')?;
    (1..=3)
        .contains(&level)
        .then_some((level as u8, rest.trim()))
}

fn list_item(line: &str) -> Option<(bool, &str)> {
    if let Some(rest) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
        return Some((false, rest));
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    let rest = line[digits..].strip_prefix(". ")?;
    (digits > 0).then_some((true, rest))
}

/// A `patchbay` block: `load: MODEL`, `example: NAME`, or a spec's JSON.
fn step(body: &str, line: usize) -> Result<Step, LessonError> {
    let body = body.trim();
    if body.starts_with('{') {
        return Spec::from_json(body)
            .map(|spec| Step::Run(Box::new(spec)))
            .map_err(|e| error(line, e.to_string()));
    }
    let (key, value) = body.split_once(':').ok_or_else(|| {
        error(
            line,
            "a patchbay block holds `load: MODEL`, `example: NAME` or a spec's JSON",
        )
    })?;
    let value = value.trim();
    match key.trim() {
        "load" if !value.is_empty() && !value.contains(char::is_whitespace) => {
            Ok(Step::Load(value.to_string()))
        }
        "load" => Err(error(line, "`load:` names one model (a hub id or a URL)")),
        "example" => {
            let example = examples::find(value).ok_or_else(|| {
                error(
                    line,
                    format!(
                        "no example `{value}`; the examples are {}",
                        examples::EXAMPLES.map(|e| e.stem).join(", ")
                    ),
                )
            })?;
            let spec = Spec::from_json(example.json).map_err(|e| error(line, e.to_string()))?;
            Ok(Step::Run(Box::new(spec)))
        }
        other => Err(error(
            line,
            format!(
                "`{other}:` is not a step; a patchbay block holds `load: MODEL`, `example: NAME` or a spec's JSON"
            ),
        )),
    }
}

/// Inline Markdown: code first (its text is literal), then links, strong and emphasis.
fn inline(text: &str, line: usize) -> Result<Vec<Inline>, LessonError> {
    let mut out: Vec<Inline> = vec![];
    let mut text_run = String::new();
    let mut rest = text;
    // `_` and `*` inside a word (`hook_resid_pre`) are the word's, not emphasis.
    let mut previous: Option<char> = None;
    let push_text = |out: &mut Vec<Inline>, run: &mut String| {
        if !run.is_empty() {
            out.push(Inline::Text(std::mem::take(run)));
        }
    };
    while let Some(c) = rest.chars().next() {
        let closing = |marker: &str| {
            let inner = &rest[marker.len()..];
            inner
                .find(marker)
                .filter(|&end| end > 0)
                .map(|end| (&inner[..end], &inner[end + marker.len()..]))
        };
        let parsed = match c {
            '`' => closing("`").map(|(code, after)| (Inline::Code(code.into()), after)),
            '*' if rest.starts_with("**") => {
                closing("**").map(|(t, after)| (Inline::Strong(t.into()), after))
            }
            '*' | '_' if !previous.is_some_and(char::is_alphanumeric) => closing(&c.to_string())
                .filter(|(_, after)| !after.starts_with(char::is_alphanumeric))
                .map(|(t, after)| (Inline::Emphasis(t.into()), after)),
            '[' => match link(rest) {
                Some((text, url, after)) => {
                    check_url(url, line)?;
                    Some((
                        Inline::Link {
                            text: text.into(),
                            url: url.into(),
                        },
                        after,
                    ))
                }
                None => None,
            },
            _ => None,
        };
        match parsed {
            Some((node, after)) => {
                push_text(&mut out, &mut text_run);
                out.push(node);
                previous = rest[..rest.len() - after.len()].chars().last();
                rest = after;
            }
            None => {
                text_run.push(c);
                previous = Some(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    push_text(&mut out, &mut text_run);
    Ok(out)
}

/// The longest link text and address read (a lesson's links are a few words and one URL).
const MAX_LINK_TEXT: usize = 1000;
const MAX_LINK_URL: usize = 2000;

/// `[text](url)` at the start of `s`: the text, the address and what follows. The text ends at
/// the first `]` (a `[` before it starts a link of its own), and both parts are read within a
/// bound, so that a paragraph of brackets costs a pass over it, not one per bracket.
fn link(s: &str) -> Option<(&str, &str, &str)> {
    let bytes = s.as_bytes();
    let close = 1 + bytes[1..]
        .iter()
        .take(MAX_LINK_TEXT)
        .position(|&b| b == b']' || b == b'[')?;
    if close == 1 || bytes[close] != b']' || bytes.get(close + 1) != Some(&b'(') {
        return None;
    }
    let start = close + 2;
    let end = start
        + bytes[start..]
            .iter()
            .take(MAX_LINK_URL)
            .position(|&b| b == b')')?;
    Some((&s[1..close], s[start..end].trim(), &s[end + 1..]))
}

/// Links go to the web, to this site or within the page; nothing else (`javascript:`,
/// `data:`) is a link.
fn check_url(url: &str, line: usize) -> Result<(), LessonError> {
    let scheme = url
        .find(':')
        .filter(|&colon| !url[..colon].contains(['/', '?', '#']))
        .map(|colon| url[..colon].to_ascii_lowercase());
    match scheme.as_deref() {
        None | Some("http" | "https") => Ok(()),
        Some(other) => Err(error(
            line,
            format!(
                "a link to a `{other}:` address is not allowed (https, relative or #fragment links are)"
            ),
        )),
    }
}

/// The text of inline nodes without their markup.
pub fn plain(inlines: &[Inline]) -> String {
    inlines
        .iter()
        .map(|i| match i {
            Inline::Text(t) | Inline::Emphasis(t) | Inline::Strong(t) | Inline::Code(t) => {
                t.as_str()
            }
            Inline::Link { text, .. } => text.as_str(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_reads_into_blocks_with_their_inline_markup() {
        let lesson = parse(
            "# Induction\n\nA *head* that **copies**: see `blocks.5`\nand [the paper](https://arxiv.org/abs/2209.11895).\n\n- one\n- two\n  continued\n\n1. first\n2. second\n\n```\nplain code\n```\n",
        )
        .unwrap();
        assert_eq!(lesson.title, "Induction");
        assert_eq!(
            lesson.blocks[1],
            Block::Paragraph(vec![
                Inline::Text("A ".into()),
                Inline::Emphasis("head".into()),
                Inline::Text(" that ".into()),
                Inline::Strong("copies".into()),
                Inline::Text(": see ".into()),
                Inline::Code("blocks.5".into()),
                Inline::Text(" and ".into()),
                Inline::Link {
                    text: "the paper".into(),
                    url: "https://arxiv.org/abs/2209.11895".into()
                },
                Inline::Text(".".into()),
            ])
        );
        assert_eq!(
            lesson.blocks[2],
            Block::List {
                ordered: false,
                items: vec![
                    vec![Inline::Text("one".into())],
                    vec![Inline::Text("two continued".into())]
                ]
            }
        );
        assert!(
            matches!(&lesson.blocks[3], Block::List { ordered: true, items } if items.len() == 2)
        );
        assert_eq!(lesson.blocks[4], Block::Code("plain code".into()));
    }

    #[test]
    fn underscores_inside_words_stay_in_the_word() {
        let lesson = parse("Patch hook_resid_pre, not _this_ or *that*.").unwrap();
        assert_eq!(
            lesson.blocks[0],
            Block::Paragraph(vec![
                Inline::Text("Patch hook_resid_pre, not ".into()),
                Inline::Emphasis("this".into()),
                Inline::Text(" or ".into()),
                Inline::Emphasis("that".into()),
                Inline::Text(".".into()),
            ])
        );
    }

    #[test]
    fn patchbay_blocks_are_steps_and_bad_ones_say_where() {
        let lesson = parse("```patchbay\nload: openai-community/gpt2\n```\n```patchbay\nexample: ioi-logit-lens\n```\n").unwrap();
        assert_eq!(
            lesson.blocks[0],
            Block::Step(Step::Load("openai-community/gpt2".into()))
        );
        let Block::Step(Step::Run(spec)) = &lesson.blocks[1] else {
            panic!("{:?}", lesson.blocks[1]);
        };
        assert_eq!(
            spec.title,
            examples::find("ioi-logit-lens")
                .map(|e| Spec::from_json(e.json).unwrap().title)
                .unwrap()
        );
        let unknown = parse("Intro\n\n```patchbay\nexample: no-such\n```").unwrap_err();
        assert_eq!(unknown.line, 3);
        assert!(
            unknown.message.contains("no example `no-such`"),
            "{unknown}"
        );
        let spec = parse("```patchbay\n{\"version\": 1}\n```").unwrap_err();
        assert!(spec.message.contains("invalid experiment spec"), "{spec}");
        assert_eq!(
            parse("```patchbay\nexample: x").unwrap_err().message,
            "this ``` block is not closed"
        );
    }

    #[test]
    fn links_only_go_to_the_web_this_site_or_the_page() {
        for ok in [
            "https://x.org/a",
            "lessons/two.md",
            "#step-2",
            "/patchbay/?lesson=ioi",
        ] {
            assert!(parse(&format!("[a]({ok})")).is_ok(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:x",
            "data:text/html,x",
            "vbscript:x",
        ] {
            let e = parse(&format!("Text\nmore [a]({bad})")).unwrap_err();
            assert_eq!(e.line, 1, "{bad}");
            assert!(e.message.contains("is not allowed"), "{bad}: {e}");
        }
        assert!(
            parse(&"x".repeat(MAX_BYTES + 1))
                .unwrap_err()
                .message
                .contains("256 KiB")
        );
        // Brackets that never close are text.
        let brackets = parse(&"[a ".repeat(80_000)).unwrap();
        assert!(matches!(&brackets.blocks[0], Block::Paragraph(p) if p.len() == 1));
        assert_eq!(
            parse("[a]b](c) [d](e)").unwrap().blocks[0],
            Block::Paragraph(vec![
                Inline::Text("[a]b](c) ".into()),
                Inline::Link {
                    text: "d".into(),
                    url: "e".into()
                },
            ])
        );
    }

    #[test]
    fn the_bundled_lessons_read() {
        for bundled in LESSONS {
            let lesson = parse(bundled.text).unwrap_or_else(|e| panic!("{}: {e}", bundled.name));
            let steps = lesson
                .blocks
                .iter()
                .filter(|b| matches!(b, Block::Step(_)))
                .count();
            assert!(steps >= 4, "{}: {steps} steps", bundled.name);
        }
    }
}
