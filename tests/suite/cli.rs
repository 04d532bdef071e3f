//! The `patchbay` command line: `tokenize` and `cache`, end to end through the binary.

use crate::common;

use patchbay::tensor_io::from_safetensors;
use std::process::Command;

fn patchbay(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_patchbay"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap()
}

fn model_dir() -> String {
    common::tiny_dir().display().to_string()
}

#[test]
fn tokenize_prints_ids_and_tokens() {
    let out = patchbay(&[
        "tokenize",
        "--model",
        &model_dir(),
        "--prepend-bos",
        "When John and Mary went to the shops, John gave the bag to",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let first_line = stdout.lines().next().unwrap();
    let expected: Vec<String> = common::clean_ids()[0].iter().map(u32::to_string).collect();
    assert_eq!(first_line, expected.join(","));
    assert!(stdout.contains("1757\t\"ĠJohn\""), "{stdout}");
}

/// `patchbay cache` on the batch of prompts 0 and 1: logits of both, and prompt 0's hooks.
fn cache_matches_the_oracle(device: &str) {
    let out_file = std::env::temp_dir().join(format!(
        "patchbay-cli-cache-{device}-{}.safetensors",
        std::process::id()
    ));
    let ids = common::clean_ids();
    let join = |seq: &[u32]| seq.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let (first, second) = (join(&ids[0]), join(&ids[1]));
    let out = patchbay(&[
        "cache",
        "--model",
        &model_dir(),
        "--ids",
        &first,
        "--ids",
        &second,
        "--out",
        out_file.to_str().unwrap(),
        "--device",
        device,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = from_safetensors(&std::fs::read(&out_file).unwrap()).unwrap();
    std::fs::remove_file(&out_file).ok();

    let hook_names = common::reference_json()["hook_names"].as_array().unwrap();
    assert_eq!(
        written.len(),
        hook_names.len() + 1,
        "logits and one tensor per hook"
    );
    let logits = &written["logits"];
    assert_eq!(logits.shape, vec![2, 15, 50257]);
    let expected = common::reference("logits");
    let n = 2 * 15 * 50257;
    assert!(common::max_abs_diff(&logits.values, &expected.values[..n]) <= 1e-4);
    for name in hook_names {
        let name = name.as_str().unwrap();
        let tensor = &written[name];
        let reference = common::reference(&format!("cache.{name}"));
        assert_eq!(tensor.shape[0], 2, "{name} keeps the batch axis");
        assert_eq!(&tensor.shape[1..], &reference.shape[1..], "{name}");
        let prompt0 = &tensor.values[..tensor.values.len() / 2];
        let diff = common::max_abs_diff(prompt0, &reference.values);
        assert!(diff <= 1e-4, "{name}: {diff:e}");
    }
}

#[test]
fn cache_on_cpu_matches_the_oracle() {
    cache_matches_the_oracle("cpu");
}

#[test]
fn cache_on_wgpu_matches_the_oracle() {
    cache_matches_the_oracle("wgpu");
}

#[test]
fn bad_input_is_a_clear_error_with_a_failing_status() {
    let dir = model_dir();
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "cache",
                "--model",
                &dir,
                "--ids",
                "50256,464",
                "--ids",
                "50256",
                "--out",
                "/dev/null",
            ],
            "equal lengths",
        ),
        (
            &[
                "cache",
                "--model",
                &dir,
                "--ids",
                "50256,x",
                "--out",
                "/dev/null",
            ],
            "`x` is not a token id",
        ),
        (
            &[
                "cache",
                "--model",
                "/nonexistent",
                "--ids",
                "1",
                "--out",
                "/dev/null",
            ],
            "cannot read /nonexistent/config.json",
        ),
        (
            &[
                "cache",
                "--model",
                &dir,
                "--ids",
                "1",
                "--out",
                "/dev/null",
                "--device",
                "tpu",
            ],
            "unknown device `tpu`",
        ),
    ];
    for (args, message) in cases {
        let out = patchbay(args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["tokenize", "--help"],
        &["cache", "--help"],
    ] {
        let out = patchbay(args);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: patchbay"));
    }
}

/// The exit status says whose move it is: 2 the input (as clap does for a bad command line),
/// 3 an experiment this model cannot run, 4 the model's files.
#[test]
fn the_exit_status_names_the_kind_of_failure() {
    let dir = model_dir();
    let write = |name: &str, text: &str| {
        let path = std::env::temp_dir().join(format!("patchbay-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/static/experiments/ioi-circuit.json"
    );
    let mut spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example).unwrap()).unwrap();
    spec["experiment"]["circuit"]["keep"] = serde_json::json!([[99, 0]]);
    let outside = write("outside.json", &spec.to_string());
    let malformed = write("malformed.json", r#"{"version": 1, "title": 3}"#);
    let cases: [(Vec<&str>, i32); 5] = [
        (
            vec![
                "cache",
                "--model",
                &dir,
                "--ids",
                "50256,x",
                "--out",
                "/dev/null",
            ],
            2,
        ),
        (
            vec![
                "cache",
                "--model",
                &dir,
                "--ids",
                "1",
                "--out",
                "/dev/null",
                "--device",
                "tpu",
            ],
            2,
        ),
        (
            vec![
                "cache",
                "--model",
                "/nonexistent",
                "--ids",
                "1",
                "--out",
                "/dev/null",
            ],
            4,
        ),
        (vec!["run", &malformed, "--model", &dir], 2),
        (vec!["run", &outside, "--model", &dir], 3),
    ];
    for (args, code) in cases {
        let out = patchbay(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error:"), "{args:?}: {stderr}");
    }
}
