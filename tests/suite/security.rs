//! One regression test per class of SECURITY.md's review: what a hostile spec or link once did
//! to `patchbay` (a panic, exit 101, or an out-of-memory abort, exit 134; code in an exported
//! script; escape sequences on the terminal) and what it must do now (exit 2 or 3 with the
//! field's path; literals only; escapes shown). The browser's side is `tests/e2e/security.test.mjs`.

use crate::common;
use patchbay::export::audit::check_script;
use patchbay::export::{Library, to_python};
use patchbay::share::SharedRun;
use patchbay::spec::Spec;
use serde_json::{Value, json};
use std::process::{Command, Output};

fn example(stem: &str) -> Value {
    serde_json::from_str(patchbay::spec::examples::find(stem).unwrap().json).unwrap()
}

/// `patchbay run` of `spec` (a JSON value, written to a file) on the tiny model.
fn run(spec: &Value, args: &[&str]) -> Output {
    let file = std::env::temp_dir().join(format!(
        "patchbay-security-{}-{:x}.json",
        std::process::id(),
        rand_suffix(spec)
    ));
    std::fs::write(&file, spec.to_string()).unwrap();
    let out = run_arg(file.to_str().unwrap(), args);
    std::fs::remove_file(&file).ok();
    out
}

fn rand_suffix(spec: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    spec.to_string().hash(&mut h);
    h.finish()
}

fn run_arg(what: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patchbay"))
        .args(["run", what, "--model", common::tiny_dir().to_str().unwrap()])
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap()
}

/// Refused with `code` (2: the input; 3: what this model cannot run), naming `path`.
#[track_caller]
fn refused(out: &Output, code: i32, path: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(path), "names `{path}`: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn exported_steering_phrases_cannot_leave_their_string_literal() {
    // The attack: a phrase naming the next placeholder, so that substitution put the next
    // phrase's text outside any literal, where the author's code ran.
    let mut spec = example("steering-love-hate");
    let steering = &mut spec["experiment"]["steering"];
    steering["positive"] = json!("NEGATIVE_PROMPT");
    steering["negative"] = json!("\"); __import__('os').system('touch /tmp/pwned'); (\"");
    steering["prompt"] = json!("STEERED_PROMPT\nimport os");
    let texts: Vec<String> = ["positive", "negative", "prompt"]
        .map(|k| steering[k].as_str().unwrap().to_string())
        .to_vec();
    let hostile = Spec::from_json(&spec.to_string()).unwrap();
    let plain = Spec::from_json(&example("steering-love-hate").to_string()).unwrap();
    for library in Library::ALL {
        let script = to_python(&hostile, library).unwrap();
        let benign = to_python(&plain, library).unwrap();
        check_script(&script, &benign, &texts)
            .unwrap_or_else(|e| panic!("{}: {e}", library.name()));
        assert!(
            !script.contains("__import__('os')\""),
            "the code stays inside a literal"
        );
    }
}

#[test]
fn control_characters_in_titles_stay_escaped_in_docstrings() {
    let mut spec = example("ioi-logit-lens");
    spec["title"] = json!("a title\0\"\"\"\nimport os\r\u{2028}\u{1b}[2J");
    spec["model"]["id"] = json!("gpt2\0\"\"\"");
    let spec = Spec::from_json(&spec.to_string()).unwrap();
    for library in Library::ALL {
        let script = to_python(&spec, library).unwrap();
        assert!(
            script
                .chars()
                .all(|c| c == '\n' || (' '..='~').contains(&c)),
            "printable ASCII only"
        );
        let docstring = script.split("\"\"\"").nth(1).unwrap();
        assert!(
            docstring.starts_with("a title\\x00\\\"\\\"\\\"\\nimport os\\r\\u2028\\x1b[2J"),
            "{docstring}"
        );
    }
}

#[test]
fn max_new_tokens_near_the_integer_limit_is_refused() {
    let mut spec = example("quick-brown-fox-sampling");
    spec["experiment"]["generation"]["generation"]["max_new_tokens"] = json!(u64::MAX);
    let out = run(&spec, &[]);
    let said = refused(&out, 3, "max_new_tokens");
    assert!(said.contains("exceeds the model's context"), "{said}");
}

#[test]
fn answer_ids_outside_the_vocabulary_are_refused() {
    let mut spec = example("ioi-logit-lens");
    spec["prompts"]["answers"][0] = json!([u32::MAX, 50257]);
    let said = refused(&run(&spec, &[]), 2, "prompts.answers[0][0]");
    assert!(said.contains("outside the model's vocabulary"), "{said}");
}

#[test]
fn a_value_shape_whose_product_overflows_is_refused() {
    let mut spec = example("quick-brown-fox-sampling");
    spec["experiment"]["generation"]["interventions"] = json!([{
        "hook": "blocks.0.hook_resid_pre",
        "action": {"add": {"values": {"shape": [4294967296u64, 4294967296u64, 64], "data": [0.0]}}},
    }]);
    let said = refused(&run(&spec, &[]), 3, "blocks.0.hook_resid_pre");
    assert!(said.contains("more numbers than fit in memory"), "{said}");
}

#[test]
fn a_small_link_that_expands_to_tens_of_thousands_of_prompts_is_refused_before_it_allocates() {
    // A logit lens (clean prompts only) over 12,000 prompts of 60 characters: under the
    // 1 MiB a link may inflate to, and about 150 GB to run.
    let mut spec = example("ioi-logit-lens");
    let n = 12_000;
    let text = "When John and Mary went to the shops, John gave the bag to a";
    spec["prompts"] = json!({"clean": vec![text; n], "answers": vec![[0, 1]; n]});
    let link = format!(
        "https://example.org/patchbay/#{}",
        SharedRun {
            model: None,
            spec: Spec::from_json(&spec.to_string()).unwrap(),
        }
        .to_fragment()
    );
    assert!(link.len() < 20_000, "a link of {} characters", link.len());
    let said = refused(&run_arg(&link, &[]), 2, "prompts.clean");
    assert!(
        said.contains("12000 prompts") && said.contains("GiB"),
        "{said}"
    );
    // The limit is the user's to raise, and checked as a number.
    let said = refused(
        &run_arg(&link, &["--max-memory-gb=-1"]),
        2,
        "--max-memory-gb",
    );
    assert!(said.contains("positive"), "{said}");
}

#[test]
fn terminal_escapes_in_a_spec_reach_the_terminal_escaped() {
    let mut spec = example("ioi-logit-lens");
    // A multi-token answer is refused with the answer quoted; a published note is printed in
    // the comparison table.
    spec["prompts"]["answers"][0][0] = json!("\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m two tokens");
    let out = run(&spec, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for raw in ['\u{1b}', '\u{7}', '\u{9b}'] {
        assert!(
            !stderr.contains(raw),
            "{raw:?} reached the terminal: {stderr:?}"
        );
    }

    let mut spec = example("ioi-logit-lens");
    spec["title"] = json!("\u{1b}[31mred\u{202e}");
    spec["published"] = json!({
        "source": "\u{1b}[2Jsource",
        "values": [{"of": "clean", "value": 1.0, "note": "\u{1b}]8;;https://evil.example\u{7}click\u{1b}]8;;\u{7}"}],
    });
    let out = run(&spec, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("\\u{1b}]8;;https://evil.example"),
        "{stderr}"
    );
    for raw in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(
            !stderr.contains(raw) && !stdout.contains(raw),
            "{raw:?} reached the terminal"
        );
    }
    let result: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        result["spec"]["title"], "\u{1b}[31mred\u{202e}",
        "the JSON keeps the value"
    );
}

#[test]
fn published_links_are_web_addresses_only() {
    for (url, ok) in [
        ("https://arxiv.org/abs/2211.00593", true),
        ("http://example.org/x", true),
        ("javascript:alert(1)", false),
        ("data:text/html,<script>alert(1)</script>", false),
        ("JAVASCRIPT://%0aalert(1)", false),
        ("https://example.org/\nx", false),
    ] {
        let mut spec = example("ioi-logit-lens");
        spec["published"] = json!({"source": "s", "url": url, "values": []});
        let read = Spec::from_json(&spec.to_string());
        match (read, ok) {
            (Ok(_), true) => {}
            (Err(e), false) => assert_eq!(e.path, "published.url", "{url}"),
            (read, _) => panic!("{url}: {read:?}"),
        }
    }
}
