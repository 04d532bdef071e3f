//! `config.json`: any bytes; a config that parses must plan a load without overflowing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use patchbay::loading::memory::{MemoryEstimate, Target, WASM32_MEMORY};

fuzz_target!(|data: &[u8]| {
    if let Ok(config) = patchbay::model::Gpt2Config::from_hf_json(data) {
        let estimate = MemoryEstimate::new(&config, None);
        let _ = estimate.check(&Target::Cpu, WASM32_MEMORY);
        let _ = estimate.check(
            &Target::Gpu {
                max_binding: Some(1 << 30),
            },
            WASM32_MEMORY,
        );
        let _ = estimate.to_string();
    }
});
