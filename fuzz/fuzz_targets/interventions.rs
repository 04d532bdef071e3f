//! Interventions as a spec gives them (any JSON: hooks, out-of-range heads, positions and
//! neurons, values of any shape, non-finite numbers): validated, then run on the tiny model.
#![no_main]
use libfuzzer_sys::fuzz_target;
use patchbay::hooks::Intervention;

fuzz_target!(|data: &[u8]| {
    let Ok(interventions) = serde_json::from_slice::<Vec<Intervention>>(data) else {
        return;
    };
    let model = patchbay_fuzz::tiny();
    let Ok(tokens) = model.model.tokens(&[vec![50256, 464, 2068], vec![1, 2, 3]]) else {
        return;
    };
    let _ = model.model.run_with_hooks(tokens, interventions);
});
