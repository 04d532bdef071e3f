//! History files: a real run exported, re-imported byte for byte, and every malformed or
//! hostile variant refused with its path.

use crate::common;

use patchbay::device;
use patchbay::experiments::Progress;
use patchbay::history::{HistoryFile, RunRecord};
use patchbay::share::SharedRun;
use patchbay::spec::{RunContext, Spec, run};
use serde_json::Value;
use std::sync::OnceLock;

fn saved_run() -> &'static RunRecord {
    static RECORD: OnceLock<RunRecord> = OnceLock::new();
    RECORD.get_or_init(|| {
        let device = device::cpu();
        let model = common::load_tiny("model.safetensors", &device);
        let spec = Spec::from_json(include_str!(
            "../../static/experiments/ioi-zero-ablation-heads.json"
        ))
        .unwrap();
        let context = RunContext {
            model: &model,
            saes: vec![],
            others: vec![],
            weights_sha256: "00ff".into(),
            device: "cpu".into(),
            limits: patchbay::spec::Limits::default(),
        };
        let result = pollster::block_on(run(&spec, &context, &mut Progress::none())).unwrap();
        RunRecord {
            id: "run-1".into(),
            name: "zero ablation".into(),
            pinned: true,
            created_ms: 1.7e12,
            model: "tiny-gpt2".into(),
            result,
        }
    })
}

fn exported() -> String {
    HistoryFile::new(vec![saved_run().clone()]).to_json()
}

#[test]
fn export_import_export_is_byte_for_byte() {
    let text = exported();
    let imported = HistoryFile::from_json(&text).unwrap();
    assert_eq!(imported.runs[0], *saved_run());
    assert_eq!(imported.to_json(), text);
    assert!(saved_run().matches("ZERO"));
    assert!(saved_run().matches("tiny"));
    assert!(!saved_run().matches("steering"));
    assert!(
        saved_run()
            .summary()
            .starts_with("ablation · tiny-gpt2 · cpu")
    );
}

fn refused(edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(&exported()).unwrap();
    edit(&mut value);
    HistoryFile::from_json(&value.to_string())
        .unwrap_err()
        .to_string()
}

#[test]
fn malformed_and_hostile_files_are_refused_with_their_path() {
    let grid = |v: &mut Value| {
        let grids = v["runs"][0]["result"]["grids"].as_object_mut().unwrap();
        let name = grids.keys().next().unwrap().clone();
        (name.clone(), grids.get_mut(&name).unwrap().clone())
    };
    let cases: Vec<(String, &str)> = vec![
        (
            refused(|v| v["format"] = "something-else".into()),
            "at format: not a Patchbay history file",
        ),
        (
            refused(|v| v["version"] = 2.into()),
            "written by a newer Patchbay",
        ),
        (
            refused(|v| v["version"] = Value::Null),
            "missing or unknown version",
        ),
        (
            refused(|v| {
                let (name, mut g) = grid(v);
                g["values"].as_array_mut().unwrap().pop();
                v["runs"][0]["result"]["grids"][name] = g;
            }),
            "does not match its",
        ),
        (
            refused(|v| {
                let (name, mut g) = grid(v);
                g["shape"] = serde_json::json!([4294967296u64, 4294967296u64]);
                v["runs"][0]["result"]["grids"][name] = g;
            }),
            "does not match its",
        ),
        (
            refused(|v| {
                let (_, g) = grid(v);
                v["runs"][0]["result"]["grids"]["<script>"] = g;
            }),
            "not a result name",
        ),
        (
            refused(|v| {
                v["runs"][0]["result"]["metrics"]["<script>"] = 1.0.into();
            }),
            "`<script>` is not a metric name",
        ),
        (
            refused(|v| {
                v["runs"][0]["result"]["spec"]["experiment"]["ablation"]["kind"] = "sideways".into()
            }),
            "runs[0].result.spec.experiment.ablation.kind",
        ),
        (
            refused(|v| {
                let run = v["runs"][0].clone();
                v["runs"].as_array_mut().unwrap().push(run);
            }),
            "at runs[1].id: \"run-1\" appears twice",
        ),
        (
            refused(|v| v["runs"][0]["extra"] = 1.into()),
            "unknown field `extra`",
        ),
        (
            refused(|v| *v = Value::Array(vec![])),
            "a history file is a JSON object",
        ),
    ];
    for (message, expected) in cases {
        assert!(
            message.contains(expected),
            "{message:?} should contain {expected:?}"
        );
        assert!(message.starts_with("cannot import"), "{message}");
    }
    assert!(
        HistoryFile::from_json("{\"format\": ")
            .unwrap_err()
            .to_string()
            .contains("not JSON")
    );
}

#[test]
fn a_share_link_carries_the_spec_of_a_saved_run() {
    let spec = saved_run().result.spec.clone();
    let fragment = SharedRun {
        model: Some("openai-community/gpt2".into()),
        spec: spec.clone(),
    }
    .to_fragment();
    let shared = SharedRun::from_fragment(&fragment).unwrap().unwrap();
    assert_eq!(shared.spec, spec);
    assert_eq!(shared.model.as_deref(), Some("openai-community/gpt2"));
}

fn patchbay_run(source: &str, extra: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_patchbay"))
        .args([
            "run",
            source,
            "--model",
            &common::tiny_dir().display().to_string(),
        ])
        .args(extra)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap()
}

#[test]
fn the_cli_reproduces_a_browser_history_file_and_a_share_link() {
    let dir = std::env::temp_dir().join(format!("patchbay-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("history.json");
    std::fs::write(&file, exported()).unwrap();
    let out = patchbay_run(file.to_str().unwrap(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let worst: f32 = stderr
        .split("max |difference| ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no comparison in {stderr}"));
    assert!(worst <= 1e-5, "{stderr}");
    assert!(stderr.contains("over 72 values"), "{stderr}");

    let two = HistoryFile::new(vec![
        saved_run().clone(),
        RunRecord {
            id: "run-2".into(),
            ..saved_run().clone()
        },
    ]);
    std::fs::write(&file, two.to_json()).unwrap();
    let out = patchbay_run(file.to_str().unwrap(), &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("holds 2 runs: choose one with --run (run-1, run-2)")
    );
    assert!(
        patchbay_run(file.to_str().unwrap(), &["--run", "run-2"])
            .status
            .success()
    );

    let link = format!(
        "http://127.0.0.1:8080/#{}",
        SharedRun {
            model: None,
            spec: saved_run().result.spec.clone()
        }
        .to_fragment()
    );
    let out = patchbay_run(&link, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: patchbay::spec::RunResult = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result.grid("ablate.zero_head_z").unwrap().values.len(), 8);
    let out = patchbay_run(&link[..link.len() - 9], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged"));
}
