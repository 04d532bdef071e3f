//! Feature labels from a Neuronpedia export the user has (never fetched): explanations by
//! feature index, as Neuronpedia's explanation export writes them — a JSON array of objects with
//! `index` (a number or a string of digits) and `description` (or `explanation`), or the same
//! objects one per line (JSONL).

use serde_json::Value;
use std::collections::BTreeMap;

/// The most labels read from one file.
pub const MAX_LABELS: usize = 1 << 20;
/// Longer descriptions are cut to this many characters.
pub const MAX_LABEL_CHARS: usize = 300;

/// Labels by feature index; a feature with several explanations keeps the first.
pub fn parse(text: &str) -> Result<BTreeMap<usize, String>, String> {
    let trimmed = text.trim_start();
    let items: Vec<Value> = if trimmed.starts_with('[') {
        serde_json::from_str(trimmed)
            .map_err(|e| format!("not a JSON array of explanations: {e}"))?
    } else {
        trimmed
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| {
                serde_json::from_str(line).map_err(|e| format!("line {}: not JSON ({e})", i + 1))
            })
            .collect::<Result<_, _>>()?
    };
    if items.len() > MAX_LABELS {
        return Err(format!(
            "{} explanations: at most {MAX_LABELS}",
            items.len()
        ));
    }
    let mut labels = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let index = match item.get("index") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| format!("explanation {i} has no feature `index`"))?;
        let Some(description) = item
            .get("description")
            .or_else(|| item.get("explanation"))
            .and_then(Value::as_str)
        else {
            return Err(format!(
                "explanation {i} (feature {index}) has no `description`"
            ));
        };
        let description: String = description.trim().chars().take(MAX_LABEL_CHARS).collect();
        labels.entry(index as usize).or_insert(description);
    }
    if labels.is_empty() {
        return Err("the file holds no explanations".into());
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn neuronpedia_exports_read_as_labels_by_index() {
        let array = r#"[{"modelId":"gpt2-small","layer":"8-res-jb","index":"12","description":" the word cat","explanationModelName":"gpt-4o-mini"},
                        {"modelId":"gpt2-small","layer":"8-res-jb","index":"12","description":"later"},
                        {"index":3,"explanation":"numbers"}]"#;
        let labels = parse(array).unwrap();
        assert_eq!(labels[&12], "the word cat");
        assert_eq!(labels[&3], "numbers");
        let lines =
            "{\"index\":\"7\",\"description\":\"x\"}\n\n{\"index\":8,\"description\":\"y\"}\n";
        assert_eq!(parse(lines).unwrap().len(), 2);
    }

    #[test]
    fn a_file_that_is_not_an_export_is_told_why() {
        assert!(
            parse("[{\"description\":\"x\"}]")
                .unwrap_err()
                .contains("no feature `index`")
        );
        assert!(
            parse("[{\"index\":\"1\"}]")
                .unwrap_err()
                .contains("no `description`")
        );
        assert!(parse("{oops").unwrap_err().contains("line 1"));
        assert!(parse("[]").unwrap_err().contains("no explanations"));
        let long = format!("[{{\"index\":1,\"description\":\"{}\"}}]", "a".repeat(1000));
        assert_eq!(parse(&long).unwrap()[&1].len(), super::MAX_LABEL_CHARS);
    }
}
