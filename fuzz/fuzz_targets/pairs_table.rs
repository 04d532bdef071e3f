//! The user's prompt-pair table (CSV or JSON Lines): rows are accepted or named.
#![no_main]
use libfuzzer_sys::fuzz_target;
use patchbay::datasets::{DatasetError, pairs};

fuzz_target!(|input: (bool, String)| {
    let (prepend_bos, text) = input;
    let model = patchbay_fuzz::tiny();
    match pairs::parse(&text, &model.tokenizer, prepend_bos) {
        Ok(dataset) => assert_eq!(dataset.prompts.clean.len(), dataset.prompts.answers.len()),
        Err(DatasetError::Rows { listed, total }) => {
            assert!(!listed.is_empty() && listed.len() <= 100 && listed.len() <= total)
        }
        Err(_) => {}
    }
});
