//! The experiment spec: any text; a spec that parses passes its model-free checks or says
//! why, writes itself back, and reads back as itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use patchbay::spec::Spec;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = Spec::from_json(text) {
        let json = spec.to_json();
        let back = Spec::from_json(&json).expect("a written spec reads back");
        assert_eq!(back.to_json(), json);
    }
});
