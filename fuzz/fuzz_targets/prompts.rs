//! Prompts as a user types them (control characters, `<|endoftext|>` inside text, lone
//! surrogates replaced as the browser's UTF-16 arrives, empty, longer than n_ctx): the prompt
//! panel's inspection on the tiny model gives a result or an error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (bool, String)| {
    let (prepend_bos, text) = input;
    let model = patchbay_fuzz::tiny();
    let _ = pollster::block_on(patchbay::session::inspect::inspect(
        &model,
        &text,
        prepend_bos,
    ));
});
