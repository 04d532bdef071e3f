//! Every input the fuzzers ever broke Patchbay with (`fuzz/regressions/TARGET/`), replayed
//! through the same entry point in the ordinary test run: each must now give a typed error or
//! a result, never a panic. (`ci/fuzz` replays them too, under libFuzzer.)

use crate::common;

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return vec![];
    };
    entries
        .map(|e| e.unwrap().path())
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect()
}

#[test]
fn tokenizer_files_that_once_panicked_are_refused() {
    let found = inputs("tokenizer_json");
    assert!(!found.is_empty(), "the known finding is kept");
    for (path, bytes) in found {
        let err = patchbay::loading::Tokenizer::from_bytes(&bytes)
            .err()
            .unwrap_or_else(|| panic!("{} should be refused", path.display()));
        assert!(
            err.to_string()
                .starts_with("tokenizer.json could not be used"),
            "{err}"
        );
    }
}

#[test]
fn tables_that_once_broke_the_row_limit_list_at_most_a_hundred() {
    use patchbay::datasets::{DatasetError, pairs};
    let tokenizer = patchbay::loading::Tokenizer::from_bytes(
        &std::fs::read(common::tiny_dir().join("tokenizer.json")).unwrap(),
    )
    .unwrap();
    for (path, bytes) in inputs("pairs_table") {
        // The target reads its input as (prepend_bos, text) through `arbitrary`; any split of
        // the bytes into text will do to replay the table.
        let text = String::from_utf8_lossy(&bytes);
        if let Err(DatasetError::Rows { listed, total }) = pairs::parse(&text, &tokenizer, true) {
            assert!(
                listed.len() <= 100 && listed.len() <= total,
                "{}",
                path.display()
            );
        }
    }
}

#[test]
fn configs_that_once_overflowed_are_refused() {
    let found = inputs("config_json");
    assert!(!found.is_empty(), "the known finding is kept");
    for (path, bytes) in found {
        let err = patchbay::model::Gpt2Config::from_hf_json(&bytes).expect_err(&format!(
            "{} describes no model Patchbay can run",
            path.display()
        ));
        assert!(
            err.to_string().contains("at most"),
            "{}: {err}",
            path.display()
        );
    }
}
