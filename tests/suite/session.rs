//! The model worker's requests, run natively on the tiny model against the oracle: what the
//! Prompt and Generation panels show, and the messages that carry them.

use crate::common;

use common::experiments::block_on;
use common::{reference, reference_json};
use patchbay::experiments::GenerationConfig;
use patchbay::experiments::{Metric, steering};
use patchbay::session::{
    Event, Failure, FromWorker, Inspect, Reply, Request, RunSpec, Session, ToWorker, Tokenize,
    handle, inspect::TOP_K,
};
use patchbay::spec::Spec;
use patchbay::spec::{Experiment, ModelRef, PromptInput, SPEC_VERSION};

fn session() -> Session {
    common::tiny_session()
}

fn ids(value: &serde_json::Value) -> Vec<u32> {
    serde_json::from_value(value.clone()).unwrap()
}

#[test]
fn inspection_equals_the_oracle() {
    let session = session();
    let prompt = &reference_json()["prompts"][0];
    let text = prompt["text"].as_str().unwrap().to_string();
    let reply = block_on(handle(
        &session,
        &Request::Inspect(Inspect {
            text,
            prepend_bos: true,
        }),
        &mut |_| true,
    ))
    .unwrap();
    let Reply::Inspection(inspection) = reply else {
        panic!("an inspection")
    };
    let expected_ids = ids(&prompt["ids"]);
    let got: Vec<u32> = inspection.tokens.iter().map(|t| t.id).collect();
    assert_eq!(got, expected_ids);
    assert_eq!(inspection.tokens[0].loss, None);
    let logprobs = reference("logprob_next_token");
    for (i, token) in inspection.tokens.iter().enumerate().skip(1) {
        let loss = token.loss.unwrap();
        assert!(
            (loss + logprobs.values[i - 1]).abs() < 1e-4,
            "loss at {i}: {loss} vs {}",
            -logprobs.values[i - 1]
        );
    }
    let logits = reference("logits");
    let (pos, vocab) = (logits.shape[1], logits.shape[2]);
    let last = &logits.values[(pos - 1) * vocab..pos * vocab];
    let mut order: Vec<usize> = (0..vocab).collect();
    order.sort_by(|&a, &b| last[b].total_cmp(&last[a]));
    let top: Vec<u32> = inspection.top_k.iter().map(|c| c.id).collect();
    let expected: Vec<u32> = order[..TOP_K].iter().map(|&i| i as u32).collect();
    assert_eq!(top, expected);
    for candidate in &inspection.top_k {
        assert!((candidate.logit - last[candidate.id as usize]).abs() < 1e-4);
    }
    let probs: f32 = inspection.top_k.iter().map(|c| c.prob).sum();
    assert!(probs > 0.0 && probs <= 1.0 + 1e-5);

    let config = &session.model.model.config;
    assert_eq!(inspection.patterns.patterns.len(), config.n_layer);
    let n = expected_ids.len();
    for layer in &inspection.patterns.patterns {
        assert_eq!(layer.len(), config.n_head * n * n);
        for row in layer.chunks(n) {
            assert!(
                (row.iter().sum::<f32>() - 1.0).abs() < 1e-4,
                "pattern rows sum to 1"
            );
        }
    }
}

#[test]
fn steered_generation_streams_the_oracle_tokens_and_stops_when_asked() {
    let session = session();
    let steering = &reference_json()["steering"];
    let expected = ids(&steering["steered_new_ids"]);
    let spec = Spec {
        version: SPEC_VERSION,
        title: String::new(),
        model: ModelRef {
            id: "tiny".into(),
            revision: None,
        },
        prompts: None,
        metric: Metric::default(),
        experiment: Experiment::Steering(steering::Params {
            hook: steering["hook"].as_str().unwrap().parse().unwrap(),
            positive: Some(PromptInput::Text(" Love".into())),
            negative: Some(PromptInput::Text(" Hate".into())),
            direction: None,
            coeff: steering["coeff"].as_f64().unwrap() as f32,
            prompt: PromptInput::Text(steering["prompt"].as_str().unwrap().into()),
            prepend_bos: true,
            generation: GenerationConfig {
                max_new_tokens: expected.len(),
                stop_at_eos: false,
                ..GenerationConfig::default()
            },
            at: steering::SteerAt::EveryPosition,
        }),
        seed: 0,
        published: None,
    };
    let request = Request::Run(RunSpec::new(spec));
    let mut tokens = vec![];
    let reply = block_on(handle(&session, &request, &mut |event| {
        if let Event::Token(token) = event {
            tokens.push(token);
        }
        true
    }))
    .unwrap();
    let Reply::Run(result) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(
        result.generation("steered").unwrap().generation.new_ids,
        expected
    );
    let steered: Vec<u32> = tokens
        .iter()
        .filter(|t| t.run == 1 && t.name == patchbay::experiments::GenerationName::Steered)
        .map(|t| t.token)
        .collect();
    assert_eq!(steered, expected);
    assert_eq!(tokens.iter().filter(|t| t.run == 0).count(), expected.len());
    // What streams in is what the result keeps: each token's text, probability and runners-up.
    let streamed: Vec<_> = tokens
        .iter()
        .filter(|t| t.name == patchbay::experiments::GenerationName::Steered)
        .map(|t| t.choice.clone())
        .collect();
    assert_eq!(streamed, result.generation("steered").unwrap().choices());
    let first = &streamed[0];
    assert!(first.prob.is_some_and(|p| p > 0.0 && p <= 1.0));
    assert_eq!(first.alternatives.len(), 5);
    assert!(first.describe().starts_with(&format!("{:?}: ", first.text)));

    // Stop after the second token: neither continuation goes on.
    let mut seen = 0;
    block_on(handle(&session, &request, &mut |event| {
        seen += matches!(event, Event::Token(_)) as usize;
        seen < 2
    }))
    .unwrap();
    assert_eq!(seen, 2);
}

#[test]
fn a_cancelled_sweep_ends_with_the_cancelled_error() {
    let session = session();
    let spec = Spec::from_json(include_str!(
        "../../static/experiments/ioi-activation-patching.json"
    ))
    .unwrap();
    let request = Request::Run(RunSpec::new(spec));
    let mut updates = 0;
    let outcome = block_on(handle(&session, &request, &mut |event| {
        if let Event::Progress {
            done,
            total,
            values,
            grid,
        } = event
        {
            assert_eq!(values.len(), done, "a mean per cell done");
            assert!(done <= total);
            // The grid the sweep fills, with its real axes: resid_pre is `[layer, pos]`.
            let grid = grid.expect("a patching sweep names its grid");
            assert_eq!(grid.name.to_string(), "patch.resid_pre");
            assert_eq!(grid.axes, ["layer", "pos"]);
            assert_eq!(grid.shape.iter().product::<usize>(), total);
            updates += 1;
        }
        updates < 3
    }));
    assert_eq!(updates, 3);
    let failure = outcome.unwrap_err();
    assert_eq!(failure, Failure::Cancelled);
    assert_eq!(failure.to_string(), "cancelled");
}

/// A failure reaches the page with its kind: a spec problem keeps its place in the spec.
#[test]
fn a_failure_crosses_to_the_page_typed() {
    let session = session();
    let mut spec: serde_json::Value =
        serde_json::from_str(include_str!("../../static/experiments/ioi-logit-lens.json")).unwrap();
    spec["prompts"]["answers"][1][0] = " Mary and John".into();
    let request = Request::Run(RunSpec::new(Spec::from_json(&spec.to_string()).unwrap()));
    let failure = block_on(handle(&session, &request, &mut |_| true)).unwrap_err();
    let message = FromWorker {
        id: 4,
        event: Event::Failed(failure),
    };
    let json = serde_json::to_string(&message).unwrap();
    let back: FromWorker = serde_json::from_str(&json).unwrap();
    assert_eq!(back, message);
    let Event::Failed(failure) = back.event else {
        unreachable!()
    };
    assert_eq!(
        failure.spec_path(),
        Some("prompts.answers[1][0]"),
        "{failure}"
    );
    assert!(
        failure.to_string().contains("must be single tokens"),
        "{failure}"
    );
    assert_eq!(failure.exit_code(), 2);
}

#[test]
fn messages_survive_the_trip_as_json() {
    let call = ToWorker::Call {
        id: 7,
        request: Box::new(Request::Tokenize(Tokenize {
            texts: vec!["When John".into()],
            prepend_bos: true,
        })),
    };
    let json = serde_json::to_string(&call).unwrap();
    assert_eq!(serde_json::from_str::<ToWorker>(&json).unwrap(), call);
    let session = session();
    let reply = block_on(handle(&session, &call_request(&call), &mut |_| true)).unwrap();
    assert_eq!(
        reply,
        Reply::Tokens {
            texts: vec![vec!["<|endoftext|>".into(), "When".into(), " John".into()]]
        }
    );
    let message = FromWorker {
        id: 7,
        event: Event::Done(Box::new(reply)),
    };
    let json = serde_json::to_string(&message).unwrap();
    assert_eq!(serde_json::from_str::<FromWorker>(&json).unwrap(), message);
    assert!(
        serde_json::from_str::<ToWorker>(r#"{"to":"call","id":1,"request":{"kind":"fly"}}"#)
            .is_err()
    );
    // The wire format names each request as before it had its own type.
    let sent = serde_json::to_string(&call).unwrap();
    assert!(
        sent.contains(r#""request":{"kind":"tokenize","texts":["When John"],"prepend_bos":true}"#),
        "{sent}"
    );
}

fn call_request(call: &ToWorker) -> Request {
    match call {
        ToWorker::Call { request, .. } => (**request).clone(),
        ToWorker::Cancel { .. } => unreachable!(),
    }
}

#[test]
fn a_run_reply_survives_the_trip_as_json() {
    let session = session();
    let spec =
        Spec::from_json(include_str!("../../static/experiments/ioi-logit-lens.json")).unwrap();
    let request = Request::Run(RunSpec::new(spec));
    let reply = block_on(handle(&session, &request, &mut |_| true)).unwrap();
    let message = FromWorker {
        id: 3,
        event: Event::Done(Box::new(reply)),
    };
    let json = serde_json::to_string(&message).unwrap();
    let back: FromWorker = serde_json::from_str(&json).unwrap();
    assert_eq!(back.id, 3);
}
