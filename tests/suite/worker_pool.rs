//! A sweep shared among a worker pool's members (the browser runs each in its own Web Worker):
//! every share computes its cells, the page merges them, and a run given the merged values
//! writes exactly what one worker's run writes.

use crate::common;

use common::experiments::block_on;
use patchbay::experiments::shares::merge;
use patchbay::experiments::{Share, SweptShare};
use patchbay::session::{Failure, Reply, Request, RunShare, RunSpec, Session, handle};
use patchbay::spec::{RunResult, Spec};

fn session() -> Session {
    common::tiny_session()
}

fn spec(example: &str) -> Spec {
    Spec::from_json(&std::fs::read_to_string(format!("static/experiments/{example}.json")).unwrap())
        .unwrap()
}

fn run(session: &Session, request: RunSpec) -> RunResult {
    match block_on(handle(session, &Request::Run(request), &mut |_| true)).unwrap() {
        Reply::Run(result) => *result,
        other => panic!("{other:?}"),
    }
}

fn share(
    session: &Session,
    spec: &Spec,
    index: usize,
    of: usize,
) -> Result<Vec<SweptShare>, Failure> {
    let request = Request::RunShare(RunShare {
        spec: Box::new(spec.clone()),
        share: Share { index, of },
    });
    block_on(handle(session, &request, &mut |_| true)).map(|reply| match reply {
        Reply::Swept { sweeps } => sweeps,
        other => panic!("{other:?}"),
    })
}

#[test]
fn a_sweep_shared_among_workers_gives_the_whole_runs_result() {
    let session = session();
    // Six patching targets (six sweeps, cells of every layer, position and head), and an
    // ablation of every head.
    for example in ["ioi-activation-patching", "ioi-mean-ablation-heads"] {
        let spec = spec(example);
        let whole = run(&session, RunSpec::new(spec.clone()));
        for of in [2, 3] {
            let shares: Vec<Vec<SweptShare>> = (0..of)
                .map(|k| share(&session, &spec, k, of).unwrap())
                .collect();
            let computed: usize = shares.iter().flatten().map(|s| s.values.len()).sum();
            let cells: usize = shares[0].iter().map(|s| s.cells * s.prompts).sum();
            assert_eq!(
                computed, cells,
                "{example}: each cell computed once among {of}"
            );
            let mut given = RunSpec::new(spec.clone());
            given.swept = Some(merge(&shares).unwrap());
            let pooled = run(&session, given);
            assert_eq!(
                pooled.grids.keys().collect::<Vec<_>>(),
                whole.grids.keys().collect::<Vec<_>>()
            );
            for (name, grid) in &whole.grids {
                let other = &pooled.grids[name];
                assert_eq!(grid.shape, other.shape, "{example} {name}");
                for (a, b) in grid.values.iter().zip(&other.values) {
                    assert!(
                        (a - b).abs() <= 1e-5 || (a.is_nan() && b.is_nan()),
                        "{example} {name} on {of} workers: {b} vs {a}"
                    );
                }
            }
            assert_eq!(pooled.metrics, whole.metrics, "{example}");
        }
    }
}

#[test]
fn a_share_of_a_run_without_a_sweep_or_out_of_range_is_refused() {
    let session = session();
    let lens = spec("ioi-logit-lens");
    let message = share(&session, &lens, 0, 2).unwrap_err().to_string();
    assert!(message.contains("no sweep to share"), "{message}");
    let patching = spec("ioi-mean-ablation-heads");
    let message = share(&session, &patching, 2, 2).unwrap_err().to_string();
    assert!(message.contains("share 2 of 2"), "{message}");
    let mut given = RunSpec::new(patching.clone());
    given.swept = Some(vec![vec![0.0; 3]]);
    let failure = block_on(handle(&session, &Request::Run(given), &mut |_| true)).unwrap_err();
    assert!(failure.to_string().contains("do not fit"), "{failure}");
    // The run's one sweep fits, but a second sweep's values were given: merged for another spec.
    let mut values = merge(&[share(&session, &patching, 0, 1).unwrap()]).unwrap();
    values.push(values[0].clone());
    let mut given = RunSpec::new(patching);
    given.swept = Some(values);
    let failure = block_on(handle(&session, &Request::Run(given), &mut |_| true)).unwrap_err();
    assert!(failure.to_string().contains("do not fit"), "{failure}");
}
