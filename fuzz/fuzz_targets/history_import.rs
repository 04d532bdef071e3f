//! History files (import): any text; one that is accepted writes itself back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use patchbay::history::HistoryFile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(history) = HistoryFile::from_json(text) {
        let _ = serde_json::to_string(&history);
    }
    let _ = patchbay::open::open_file(text, None);
});
