//! Prompt pairs from the user's table: CSV with a header `clean,corrupted,correct,incorrect`
//! (quoted fields may hold commas, quotes doubled, line breaks), or JSON Lines of objects with
//! those keys. Every row is checked with the tokenizer (clean and corrupted of equal length,
//! all rows of one length, answers of one token) and every bad row is reported by number.

use super::{Dataset, DatasetError, RowError};
use crate::loading::Tokenizer;
use crate::spec::{PromptInput, TokenInput};

/// The columns, in the order a CSV header must name them (any order is accepted).
pub const COLUMNS: [&str; 4] = ["clean", "corrupted", "correct", "incorrect"];

/// The most rows a table may have.
pub const MAX_ROWS: usize = 4096;

/// One row as read, before the tokenizer sees it.
struct Row {
    /// 1-based line of the row's start.
    line: usize,
    fields: [String; 4],
}

/// Reads `text` (CSV or JSON Lines, told apart by the first character) and checks each row.
pub fn parse(
    text: &str,
    tokenizer: &Tokenizer,
    prepend_bos: bool,
) -> Result<Dataset, DatasetError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rows = if text.trim_start().starts_with('{') {
        json_lines(text)?
    } else {
        csv(text)?
    };
    if rows.is_empty() {
        return Err(DatasetError::Format(
            "the table has no rows: give one pair per row after the header".into(),
        ));
    }
    if rows.len() > MAX_ROWS {
        return Err(DatasetError::Format(format!(
            "the table has {} rows; at most {MAX_ROWS} are run at once",
            rows.len()
        )));
    }
    let mut dataset = Dataset::default();
    dataset.prompts.prepend_bos = prepend_bos;
    let mut errors = vec![];
    let mut length: Option<(usize, usize)> = None;
    for row in rows {
        let [clean, corrupted, correct, incorrect] = &row.fields;
        let fail = |message: String| RowError {
            row: row.line,
            message,
        };
        let encode = |text: &str| {
            tokenizer
                .encode_prompt(text, prepend_bos)
                .map_err(|e| fail(e.to_string()))
        };
        let checked = (|| {
            if clean.is_empty() || corrupted.is_empty() {
                return Err(fail("clean and corrupted prompts must not be empty".into()));
            }
            let (c, k) = (encode(clean)?, encode(corrupted)?);
            if c.len() != k.len() {
                return Err(fail(format!(
                    "clean has {} tokens and corrupted {}: they must align token by token",
                    c.len(),
                    k.len()
                )));
            }
            for answer in [correct, incorrect] {
                let ids = tokenizer.encode(answer).map_err(|e| fail(e.to_string()))?;
                if ids.len() != 1 {
                    return Err(fail(format!(
                        "answer {answer:?} is {} tokens {:?}; answers must be one token (a leading space usually belongs to it)",
                        ids.len(),
                        tokenizer.token_texts(&ids)
                    )));
                }
            }
            match length {
                Some((len, first)) if len != c.len() => Err(fail(format!(
                    "{} tokens, but row {first} has {len}: a batch runs at one length",
                    c.len()
                ))),
                _ => Ok(c.len()),
            }
        })();
        match checked {
            Ok(len) => {
                length.get_or_insert((len, row.line));
                let prompts = &mut dataset.prompts;
                prompts.clean.push(PromptInput::Text(clean.clone()));
                prompts.corrupted.push(PromptInput::Text(corrupted.clone()));
                prompts.answers.push([
                    TokenInput::Text(correct.clone()),
                    TokenInput::Text(incorrect.clone()),
                ]);
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(DatasetError::rows(errors));
    }
    dataset.note = format!(
        "{} prompt pairs of {} tokens from the table",
        dataset.prompts.clean.len(),
        length.map_or(0, |(len, _)| len)
    );
    Ok(dataset)
}

fn json_lines(text: &str) -> Result<Vec<Row>, DatasetError> {
    let mut rows = vec![];
    let mut errors = vec![];
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fail = |message: String| RowError {
            row: i + 1,
            message,
        };
        let object: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(line) {
            Ok(object) => object,
            Err(e) => {
                errors.push(fail(format!("not a JSON object: {e}")));
                continue;
            }
        };
        let field = |name: &str| match object.get(name) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(fail(format!("`{name}` must be a string"))),
            None => Err(fail(format!("`{name}` is missing"))),
        };
        if let Some(extra) = object.keys().find(|k| !COLUMNS.contains(&k.as_str())) {
            errors.push(fail(format!(
                "`{extra}` is not a column (the columns are {})",
                COLUMNS.join(", ")
            )));
            continue;
        }
        match COLUMNS.map(field) {
            [Ok(a), Ok(b), Ok(c), Ok(d)] => rows.push(Row {
                line: i + 1,
                fields: [a, b, c, d],
            }),
            fields => errors.extend(fields.into_iter().filter_map(Result::err).take(1)),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(DatasetError::rows(errors))
    }
}

fn csv(text: &str) -> Result<Vec<Row>, DatasetError> {
    let records = csv_records(text)?;
    let mut records = records.into_iter();
    let Some((_, header)) = records.next() else {
        return Ok(vec![]);
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let order: Vec<usize> = COLUMNS
        .iter()
        .map(|c| header.iter().position(|h| h == c))
        .collect::<Option<_>>()
        .filter(|_| header.len() == COLUMNS.len())
        .ok_or_else(|| {
            DatasetError::Format(format!(
                "the first row must name the columns {}; it is {}",
                COLUMNS.join(","),
                header.join(",")
            ))
        })?;
    let mut rows = vec![];
    let mut errors = vec![];
    for (line, record) in records {
        if record.len() == 1 && record[0].trim().is_empty() {
            continue;
        }
        if record.len() != COLUMNS.len() {
            errors.push(RowError {
                row: line,
                message: format!("{} fields; every row has {}", record.len(), COLUMNS.len()),
            });
            continue;
        }
        rows.push(Row {
            line,
            fields: [0, 1, 2, 3].map(|i| record[order[i]].clone()),
        });
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(DatasetError::rows(errors))
    }
}

/// RFC 4180 records with the line each starts on.
fn csv_records(text: &str) -> Result<Vec<(usize, Vec<String>)>, DatasetError> {
    let mut records = vec![];
    let mut fields = vec![];
    let mut field = String::new();
    let (mut line, mut start) = (1, 1);
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                fields.push(std::mem::take(&mut field));
                records.push((start, std::mem::take(&mut fields)));
                line += 1;
                start = line;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(DatasetError::Format(format!(
            "row {start}: a quoted field is never closed"
        )));
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push((start, fields));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_may_be_quoted_and_span_lines() {
        let records = csv_records("a,b\n\"x, \"\"y\"\"\",\"two\nlines\"\r\nlast,row").unwrap();
        assert_eq!(
            records,
            [
                (1, vec!["a".to_string(), "b".into()]),
                (2, vec!["x, \"y\"".into(), "two\nlines".into()]),
                (4, vec!["last".into(), "row".into()]),
            ]
        );
        assert!(csv_records("a,\"open").is_err());
    }
}
