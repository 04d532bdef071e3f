//! Exported scripts carry a spec's text only as literals (SECURITY.md, "Exported scripts"): every
//! example, exported for both libraries with each free-text field (title, model id, prompts,
//! answers, phrases, texts) set to hostile text, must differ from the plain export only inside its
//! string literals, hold each text as a literal's value and nothing but printable ASCII and
//! newlines — checked here by `export::audit`'s lexer for every rotation of the hostile texts over
//! the fields, and by Python's own parser (`tests/python/ast_shape.py`) under every Python 3.8+
//! on the machine (pyenv's too).

use patchbay::export::audit::{check_script, hostile_texts, with_hostile_text};
use patchbay::export::{Library, to_python};
use patchbay::spec::{Spec, examples::EXAMPLES};
use std::path::PathBuf;
use std::process::Command;

const LIBRARIES: [Library; 2] = [Library::TransformerLens, Library::Nnsight];

/// Each example spec with field n given `texts[(n + rotation) % len]`.
fn hostile_specs(rotation: usize) -> Vec<(&'static str, Spec, Spec, Vec<String>)> {
    let texts = hostile_texts();
    EXAMPLES
        .iter()
        .map(|example| {
            let spec = Spec::from_json(example.json).unwrap();
            let (hostile, given) =
                with_hostile_text(&spec, &mut |n| texts[(n + rotation) % texts.len()].clone());
            (example.stem, spec, hostile, given)
        })
        .collect()
}

#[test]
fn hostile_text_in_any_field_stays_inside_a_literal() {
    let rotations = hostile_texts().len();
    let mut checked = 0;
    for rotation in 0..rotations {
        for (stem, spec, hostile, texts) in hostile_specs(rotation) {
            assert!(!texts.is_empty(), "{stem}: no free-text field was found");
            for library in LIBRARIES {
                let (Ok(benign), Ok(script)) =
                    (to_python(&spec, library), to_python(&hostile, library))
                else {
                    continue; // refused by name (every_example_exports_or_is_refused_by_name)
                };
                if let Err(e) = check_script(&script, &benign, &texts) {
                    panic!("{stem}, {}, rotation {rotation}: {e}", library.name());
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= rotations * (2 * EXAMPLES.len() - 2));
}

#[test]
fn the_title_and_model_id_are_free_text_everywhere() {
    // The fields a user never sees in the script's code but reads in its docstring.
    let (_, spec, hostile, texts) = hostile_specs(0).into_iter().next().unwrap();
    assert_ne!(spec.title, hostile.title);
    assert_ne!(spec.model.id, hostile.model.id);
    assert!(texts.contains(&hostile.title) && texts.contains(&hostile.model.id));
}

/// Every Python 3.8 or newer here: `python3` and pyenv's versions.
fn pythons() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    if let Some(home) = std::env::var_os("HOME") {
        let versions = PathBuf::from(home).join(".pyenv/versions");
        if let Ok(entries) = std::fs::read_dir(&versions) {
            let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            entries.sort();
            for dir in entries {
                let name = dir.file_name().unwrap().to_string_lossy().to_string();
                let minor = name
                    .strip_prefix("3.")
                    .and_then(|rest| rest.split('.').next()?.parse::<u32>().ok());
                if minor.is_some_and(|m| m >= 8) && dir.join("bin/python").exists() {
                    found.push(dir.join("bin/python"));
                }
            }
        }
    }
    found.push(PathBuf::from("python3"));
    found
}

#[test]
fn python_parses_hostile_exports_into_the_benign_syntax_tree() {
    let dir = std::env::temp_dir().join(format!("patchbay-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cases = Vec::new();
    for rotation in [0, 1, 7, 13] {
        for (stem, spec, hostile, texts) in hostile_specs(rotation) {
            for library in LIBRARIES {
                let (Ok(benign), Ok(script)) =
                    (to_python(&spec, library), to_python(&hostile, library))
                else {
                    continue;
                };
                let name = format!("{stem}-{}-{rotation}", library.name());
                let benign_path = dir.join(format!("{name}-benign.py"));
                let hostile_path = dir.join(format!("{name}.py"));
                std::fs::write(&benign_path, benign).unwrap();
                std::fs::write(&hostile_path, script).unwrap();
                cases.push(serde_json::json!({
                    "name": name, "benign": benign_path, "hostile": hostile_path, "texts": texts,
                }));
            }
        }
    }
    let manifest = dir.join("manifest.json");
    std::fs::write(&manifest, serde_json::to_string(&cases).unwrap()).unwrap();
    let checker = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/ast_shape.py");
    let mut ran = Vec::new();
    for python in pythons() {
        let Ok(out) = Command::new(&python).arg(&checker).arg(&manifest).output() else {
            continue;
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {stdout}{}",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        ran.push(stdout.lines().last().unwrap_or_default().to_string());
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        !ran.is_empty(),
        "no Python found: install python3 (the exported scripts must be checked by a parser)"
    );
    eprintln!("{}", ran.join("\n"));
}
