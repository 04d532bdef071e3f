//! Exported scripts: any texts in a bundled example's free-text fields (title, model id,
//! prompts, answers, phrases) change the script only inside its string literals, each text is a
//! literal's value, and the script stays printable ASCII (`export::audit`, SECURITY.md).
#![no_main]
use libfuzzer_sys::fuzz_target;
use patchbay::export::audit::{check_script, with_hostile_text};
use patchbay::export::{Library, to_python};
use patchbay::spec::{Spec, examples::EXAMPLES};

#[derive(arbitrary::Arbitrary, Debug)]
struct Input {
    example: u8,
    nnsight: bool,
    texts: Vec<String>,
}

fuzz_target!(|input: Input| {
    if input.texts.is_empty() {
        return;
    }
    let example = &EXAMPLES[usize::from(input.example) % EXAMPLES.len()];
    let library = if input.nnsight {
        Library::Nnsight
    } else {
        Library::TransformerLens
    };
    let spec = Spec::from_json(example.json).expect("a bundled example parses");
    let (hostile, texts) =
        with_hostile_text(&spec, &mut |n| input.texts[n % input.texts.len()].clone());
    let (Ok(benign), Ok(script)) = (to_python(&spec, library), to_python(&hostile, library)) else {
        return;
    };
    if let Err(e) = check_script(&script, &benign, &texts) {
        panic!("{}: {e}\n{texts:?}", example.stem);
    }
});
