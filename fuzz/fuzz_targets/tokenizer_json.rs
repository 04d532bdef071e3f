//! `tokenizer.json`: any bytes; a tokenizer that loads must encode and decode a prompt.
#![no_main]
use libfuzzer_sys::fuzz_target;
use patchbay::loading::Tokenizer;

fuzz_target!(|data: &[u8]| {
    if let Ok(tokenizer) = Tokenizer::from_bytes(data) {
        if let Ok(ids) = tokenizer.encode_prompt("When Mary and John went to the store,", true) {
            let _ = tokenizer.decode(&ids);
            let _ = tokenizer.token_texts(&ids);
            let _ = tokenizer.tokens(&ids);
        }
    }
});
