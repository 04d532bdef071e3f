//! Prompts as a user types them (control characters, `<|endoftext|>` inside text, lone
//! surrogates replaced as the browser's UTF-16 arrives, empty, longer than n_ctx): the prompt
//! panel's inspection on the tiny model's narrow twin (16 positions, the real vocabulary) gives
//! a result or an error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (bool, String)| {
    let (prepend_bos, text) = input;
    let model = patchbay_fuzz::twin();
    let _ = pollster::block_on(patchbay::session::inspect::inspect(
        &model,
        &text,
        prepend_bos,
    ));
});
