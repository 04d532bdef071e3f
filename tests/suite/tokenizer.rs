//! The GPT-2 tokenizer against the 48 cases of `../shared/refs/gpt2-tokenizer`.

use crate::common;

use patchbay::loading::{END_OF_TEXT, Tokenizer};

fn tokenizer() -> Tokenizer {
    Tokenizer::from_bytes(
        &std::fs::read(common::refs_dir().join("gpt2-tokenizer/tokenizer.json")).unwrap(),
    )
    .unwrap()
}

#[test]
fn all_tokenizer_cases_match() {
    let tokenizer = tokenizer();
    let cases: serde_json::Value = serde_json::from_slice(
        &std::fs::read(common::refs_dir().join("gpt2-tokenizer/tokenizer_cases.json")).unwrap(),
    )
    .unwrap();
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 48);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let expected = common::ids(&serde_json::json!([case["ids"]])).remove(0);
        let ids = tokenizer.encode(text).unwrap();
        assert_eq!(ids, expected, "ids of {text:?}");
        let tokens: Vec<String> = case["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect();
        assert_eq!(tokenizer.tokens(&ids), tokens, "tokens of {text:?}");
        assert_eq!(
            tokenizer.decode(&ids).unwrap(),
            case["decoded"].as_str().unwrap(),
            "decoding of {text:?}"
        );
    }
}

#[test]
fn end_of_text_is_one_special_token_and_bos_is_prepended() {
    let tokenizer = tokenizer();
    assert_eq!(
        tokenizer.encode("<|endoftext|>").unwrap(),
        vec![END_OF_TEXT]
    );
    let prompt = &common::reference_json()["prompts"][0];
    let ids = tokenizer
        .encode_prompt(prompt["text"].as_str().unwrap(), true)
        .unwrap();
    assert_eq!(ids, common::clean_ids()[0]);
    assert_eq!(
        tokenizer.token_texts(&ids[..3]),
        vec!["<|endoftext|>", "When", " John"]
    );
}

#[test]
fn a_broken_tokenizer_file_is_a_clear_error() {
    let err = Tokenizer::from_bytes(b"{\"model\": 3}").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("tokenizer.json could not be used"),
        "{err}"
    );
}
