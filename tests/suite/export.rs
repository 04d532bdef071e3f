//! `patchbay export`: every bundled example becomes a TransformerLens and an nnsight script,
//! or is refused by name. That the scripts reproduce `patchbay run` is `ci/interop`'s check (it needs PyTorch);
//! here they must at least parse as Python and carry the experiment in TransformerLens's idiom.

use patchbay::export::{Library, to_python};
use patchbay::spec::{Spec, examples::EXAMPLES};
use std::process::Command;

/// Parses `script` with the machine's Python (no PyTorch needed); no Python is a failure.
pub fn parses_as_python(name: &str, script: &str) {
    let Ok(out) = Command::new("python3")
        .args(["-c", "import ast, sys; ast.parse(sys.stdin.read())"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(script.as_bytes())?;
            child.wait_with_output()
        })
    else {
        panic!("no python3 here: the exported scripts must at least parse (install python3)");
    };
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_example_exports_or_is_refused_by_name() {
    // Refused: a steering spec whose direction is still to be found (every library), and
    // for nnsight edge attribution (no per-head q/k/v input in transformers' GPT-2) and
    // attribution of attention patterns.
    for (library, at_least, idiom) in [
        (
            Library::TransformerLens,
            EXAMPLES.len() - 1,
            "TransformerBridge.boot_transformers(",
        ),
        (
            Library::TransformerLens3,
            EXAMPLES.len() - 1,
            "HookedTransformer(",
        ),
        (Library::Nnsight, EXAMPLES.len() - 3, "with model.trace("),
    ] {
        let mut exported = 0;
        for example in EXAMPLES {
            let spec = Spec::from_json(example.json).unwrap();
            match to_python(&spec, library) {
                Ok(script) => {
                    parses_as_python(example.stem, &script);
                    assert!(script.contains(idiom), "{}", example.stem);
                    assert!(script.contains("json.dump(results"), "{}", example.stem);
                    exported += 1;
                }
                Err(e) => assert!(
                    e.to_string().contains("export yet")
                        || e.to_string().contains("not filled in yet"),
                    "{}: {e}",
                    example.stem
                ),
            }
        }
        assert!(
            exported >= at_least,
            "{library:?}: {exported} examples exported"
        );
    }
}

#[test]
fn scripts_use_the_librarys_own_patching_functions_and_the_specs_values() {
    let example = |stem: &str| {
        let json = EXAMPLES.iter().find(|e| e.stem == stem).unwrap().json;
        to_python(&Spec::from_json(json).unwrap(), Library::TransformerLens).unwrap()
    };
    let patching = example("ioi-activation-patching");
    assert!(patching.contains("patching.get_act_patch_resid_pre"));
    assert!(
        patching.contains("reduce=\"none\").values"),
        "TransformerLens 4 keeps each prompt's value"
    );
    assert!(patching.contains("\"When John and Mary went to the shops, John gave the bag to\","));
    assert!(patching.contains("(\" Mary\", \" John\"),"));
    let sampling = example("quick-brown-fox-sampling");
    assert!(sampling.contains("TEMPERATURE = 0.8"));
    assert!(sampling.contains("TOP_K = 50"));
    assert!(sampling.contains("class SplitMix64"));
    let json = EXAMPLES
        .iter()
        .find(|e| e.stem == "ioi-zero-ablation-heads")
        .unwrap()
        .json;
    let nnsight = to_python(&Spec::from_json(json).unwrap(), Library::Nnsight).unwrap();
    assert!(nnsight.contains("MODEL_SOURCE = sys.argv[1]"));
    assert!(nnsight.contains("TransformersModel(MODEL_SOURCE, task=\"text-generation\""));
    assert!(nnsight.contains("REMOTE = \"--remote\" in sys.argv[3:]"));
}

#[test]
fn gedi_and_beams_are_written_out() {
    let spec = |stem: &str| {
        let json = EXAMPLES.iter().find(|e| e.stem == stem).unwrap().json;
        Spec::from_json(json).unwrap()
    };
    for library in Library::ALL {
        let gedi = to_python(&spec("gedi-sentiment-positive"), library).unwrap();
        assert!(
            gedi.contains("\"model\": \"gedi-sentiment-medium\""),
            "{library:?}"
        );
        assert!(gedi.contains("\"disc_weight\": 30.0") && gedi.contains("def guide("));
        assert!(gedi.contains("--model-for"));
        let beams = to_python(&spec("beam-search-quick-brown-fox"), library).unwrap();
        assert!(
            beams.contains("num_beams=4, num_return_sequences=4"),
            "{library:?}"
        );
        assert!(beams.contains("no_repeat_ngram_size=2"));
        assert!(beams.contains("generate_beams(prompt_ids)"));
        let plain = to_python(&spec("quick-brown-fox-sampling"), library).unwrap();
        assert!(!plain.contains("load_gedi(") && !plain.contains("BEAM_SEARCH"));
    }
    let mut steered = spec("steering-love-hate");
    if let patchbay::spec::Experiment::Steering(p) = &mut steered.experiment {
        p.generation.num_beams = 2;
        p.generation.temperature = 0.0;
    }
    let err = to_python(&steered, Library::TransformerLens).unwrap_err();
    assert!(
        err.to_string().contains("steering with beam search"),
        "{err}"
    );
}

#[test]
fn a_stored_direction_steers_in_the_scripts() {
    let json = EXAMPLES
        .iter()
        .find(|e| e.stem == "steering-love-hate")
        .unwrap()
        .json;
    let mut spec = Spec::from_json(json).unwrap();
    if let patchbay::spec::Experiment::Steering(p) = &mut spec.experiment {
        *p = patchbay::experiments::steering::Params::with_direction(
            p.hook,
            vec![0.5, -0.25, 1.0],
            "a direction run".into(),
        );
    }
    for library in Library::ALL {
        let script = to_python(&spec, library).unwrap();
        assert!(
            script.contains("DIRECTION = [0.5, -0.25, 1.0]"),
            "{library:?}"
        );
        assert!(script.contains("vector = torch.tensor(DIRECTION)"));
        assert!(script.contains("DIRECTION_FROM = \"a direction run\""));
        assert!(!script.contains("POSITIVE_PROMPT"));
    }
}

#[test]
fn the_cli_writes_the_script_and_names_libraries_it_does_not_know() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_patchbay"))
            .args(args)
            .output()
            .unwrap()
    };
    let ok = run(&["export", "static/experiments/ioi-logit-lens.json"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("cache.accumulated_resid("));
    let unknown = run(&[
        "export",
        "static/experiments/ioi-logit-lens.json",
        "--to",
        "pyvene",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("`pyvene` is not a library"));
    // Refused by name: a LayerNorm's scale has no module of its own in transformers' GPT-2.
    let spec = std::env::temp_dir().join(format!("patchbay-scale-{}.json", std::process::id()));
    let json = std::fs::read_to_string("tests/specs/generation-interventions-tiny.json")
        .unwrap()
        .replace("blocks.1.hook_mlp_out", "blocks.1.ln2.hook_scale");
    std::fs::write(&spec, json).unwrap();
    let refused = run(&["export", spec.to_str().unwrap(), "--to", "nnsight"]);
    std::fs::remove_file(&spec).unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("an intervention at blocks.1.ln2.hook_scale has no nnsight export"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let nnsight = run(&[
        "export",
        "static/experiments/ioi-zero-ablation-mlp.json",
        "--to",
        "nnsight",
    ]);
    assert!(nnsight.status.success());
    assert!(String::from_utf8_lossy(&nnsight.stdout).contains("model.transformer.h[layer]"));
}

#[test]
fn titles_and_model_ids_cannot_break_out_of_the_docstring() {
    let json = EXAMPLES
        .iter()
        .find(|e| e.stem == "ioi-logit-lens")
        .unwrap()
        .json;
    let mut spec = Spec::from_json(json).unwrap();
    spec.title = r#"a """ quote, a \N{ and a \ at the end\"#.into();
    spec.model.id = r#"x"""\import os; os.system("id")"#.into();
    for library in Library::ALL {
        let script = to_python(&spec, library).unwrap();
        parses_as_python("hostile title", &script);
        let docstring_end = script[3..].find("\"\"\"").unwrap() + 3;
        assert!(
            script[docstring_end..].starts_with("\"\"\"\nimport "),
            "{library:?}"
        );
    }
}

/// A script run where its library is missing (here: the machine's Python, which has neither
/// TransformerLens nor nnsight) stops with one sentence naming the versions it was checked
/// with and the install line, before any import can fail with a traceback.
#[test]
fn a_script_says_which_library_versions_it_needs() {
    let json = EXAMPLES
        .iter()
        .find(|e| e.stem == "ioi-logit-lens")
        .unwrap()
        .json;
    let spec = Spec::from_json(json).unwrap();
    let dir = std::env::temp_dir().join(format!("patchbay-require-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for library in Library::ALL {
        let script = to_python(&spec, library).unwrap();
        let requirement = library.requirement();
        assert!(
            script.contains(requirement.pip),
            "{library:?}: the docstring's install line"
        );
        let path = dir.join(format!("{}.py", library.name().replace(['-', '@'], "_")));
        std::fs::write(&path, &script).unwrap();
        let out = Command::new("python3")
            .arg(&path)
            .args(["gpt2", "out.json"])
            .env("PYTHONPATH", "")
            .output()
            .expect("python3");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{library:?}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{library:?}: one sentence, not a traceback: {stderr}"
        );
        assert!(
            stderr.contains(&format!("{} {}.x", requirement.package, requirement.series))
                && stderr.contains("it is not installed")
                && stderr.contains(requirement.pip),
            "{library:?}: {stderr}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
