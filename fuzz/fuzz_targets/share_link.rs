//! Share links: any fragment (bad base64, deflate bombs, truncated streams); a link that opens
//! writes itself back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use patchbay::share::SharedRun;

fuzz_target!(|data: &[u8]| {
    let Ok(fragment) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(Some(shared)) = SharedRun::from_fragment(fragment) {
        let again = SharedRun::from_fragment(&shared.to_fragment()).expect("a written link opens");
        assert_eq!(again, Some(shared));
    }
    let _ = patchbay::open::open_link(&format!("https://example.org/#{fragment}"));
});
