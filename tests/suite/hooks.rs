//! Hook names are TransformerLens's, exactly, and interventions are validated data.

use crate::common;

use patchbay::hooks::{Action, BlockHook, HookPoint, Intervention, Values};

#[test]
fn hook_names_are_transformer_lens_names_in_forward_order() {
    let expected: Vec<&str> = common::reference_json()["hook_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let ours: Vec<String> = HookPoint::all(2).iter().map(ToString::to_string).collect();
    assert_eq!(ours, expected);
}

#[test]
fn hook_names_round_trip_and_bad_names_are_rejected() {
    for point in HookPoint::all(12) {
        assert_eq!(point.to_string().parse::<HookPoint>().unwrap(), point);
        let json = serde_json::to_string(&point).unwrap();
        assert_eq!(serde_json::from_str::<HookPoint>(&json).unwrap(), point);
    }
    assert_eq!(
        "blocks.11.attn.hook_z".parse::<HookPoint>().unwrap(),
        HookPoint::Block(11, BlockHook::Z)
    );
    for bad in [
        "",
        "hook_z",
        "blocks.x.hook_resid_pre",
        "blocks.01.hook_resid_pre",
        "blocks.-1.attn.hook_z",
        "blocks.0.hook_z",
        "blocks.0",
        "ln_final.hook_scale ",
    ] {
        let err = bad.parse::<HookPoint>().unwrap_err();
        assert!(
            err.to_string().contains("is not a GPT-2 hook name"),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn interventions_are_serde_data_with_strict_fields() {
    let json = r#"{"hook": "blocks.1.attn.hook_z", "action": {"scale": {"factor": 0.5}}, "positions": [3], "heads": [0, 2]}"#;
    let parsed: Intervention = serde_json::from_str(json).unwrap();
    assert_eq!(
        parsed,
        Intervention::new(HookPoint::z(1), Action::Scale { factor: 0.5 })
            .at_positions(vec![3])
            .at_heads(vec![0, 2])
    );
    let round = serde_json::to_string(&parsed).unwrap();
    assert_eq!(
        serde_json::from_str::<Intervention>(&round).unwrap(),
        parsed
    );
    for bad in [
        r#"{"hook": "blocks.1.attn.hook_z", "action": "zero", "head": [0]}"#,
        r#"{"hook": "blocks.1.attn.hook_zz", "action": "zero"}"#,
        r#"{"hook": "blocks.1.attn.hook_z", "action": "explode"}"#,
    ] {
        assert!(serde_json::from_str::<Intervention>(bad).is_err(), "{bad}");
    }
}

#[test]
fn interventions_that_do_not_fit_are_refused_before_the_run() {
    let dims = [2, 5, 4, 16]; // hook_z of a [2, 5] batch, 4 heads
    let ok = Intervention::new(HookPoint::z(0), Action::Zero)
        .at_heads(vec![3])
        .at_positions(vec![4]);
    assert!(ok.validate(&dims).is_ok());
    let cases = [
        (
            Intervention::new(HookPoint::z(0), Action::Zero).at_heads(vec![4]),
            "head 4 is out of range",
        ),
        (
            Intervention::new(HookPoint::z(0), Action::Zero).at_positions(vec![5]),
            "position 5 is out of range",
        ),
        (
            Intervention::new(
                HookPoint::z(0),
                Action::Add {
                    values: Values {
                        shape: vec![15],
                        data: vec![0.0; 15],
                    },
                },
            ),
            "do not broadcast",
        ),
        (
            Intervention::new(
                HookPoint::z(0),
                Action::Replace {
                    values: Values {
                        shape: vec![16],
                        data: vec![0.0; 3],
                    },
                },
            ),
            "3 numbers were given",
        ),
    ];
    let resid_dims = [2, 5, 64];
    let err = Intervention::new(HookPoint::resid_pre(0), Action::Zero)
        .at_heads(vec![0])
        .validate(&resid_dims)
        .unwrap_err();
    assert!(err.to_string().contains("has no head axis"), "{err}");
    let err = Intervention::new(HookPoint::resid_pre(0), Action::Zero)
        .validate(&dims)
        .unwrap_err();
    assert!(err.to_string().contains("not rank 3"), "{err}");
    for (intervention, message) in cases {
        let err = intervention.validate(&dims).unwrap_err().to_string();
        assert!(err.contains(message), "{err}");
    }
}
