//! Every preset's specs on random models of the shape each paper used (GPT-2 small's 12 × 12
//! heads, gpt2-medium's 24 × 16; narrow widths, the real tokenizer): each spec parses and runs
//! as written, and every published value finds its cell, so that the figures draw the paper's
//! number beside a computed one. The real numbers need the real weights, which users load.

use crate::common;

use patchbay::experiments::{Progress, Variant};
use patchbay::figures::{Mark, grid_svg};
use patchbay::loading::{LoadedModel, Tokenizer};
use patchbay::model::{Gpt2, Gpt2Config};
use patchbay::presets::PRESETS;
use patchbay::spec::published::Found;
use patchbay::spec::{Experiment, RunContext, Spec, run};

/// A random model of the shape of the weights `id` names.
fn shaped_like(id: &str) -> LoadedModel {
    let (n_layer, n_head) = if id.contains("medium") {
        (24, 16)
    } else {
        (12, 12)
    };
    let n_embd = 4 * n_head;
    let config = Gpt2Config {
        n_layer,
        n_head,
        n_embd,
        n_inner: 4 * n_embd,
        ..Gpt2Config::gpt2_small()
    };
    let tokenizer =
        std::fs::read(common::tiny_dir().join("tokenizer.json")).expect("the real tokenizer");
    LoadedModel {
        model: Gpt2::random(&config, 7, &patchbay::device::cpu()),
        tokenizer: Tokenizer::from_bytes(&tokenizer).unwrap(),
    }
}

/// The spec with its first two prompts only and short generations: the same experiment, less
/// work.
fn smaller(mut spec: Spec) -> Spec {
    if let Some(prompts) = &mut spec.prompts {
        prompts.clean.truncate(2);
        prompts.corrupted.truncate(2);
        prompts.answers.truncate(2);
    }
    match &mut spec.experiment {
        Experiment::Generation(p) => p.generation.max_new_tokens = 3,
        Experiment::Steering(p) => p.generation.max_new_tokens = 3,
        _ => {}
    }
    spec
}

#[test]
fn every_preset_runs_on_its_papers_shape_and_finds_every_published_value() {
    let mut models: Vec<(String, LoadedModel)> = vec![];
    for preset in PRESETS {
        let mut runs = vec![];
        for (stem, mut spec) in preset.parsed() {
            // A spec that steers with the direction an earlier spec of the preset finds.
            if spec.direction_source().is_some() {
                assert!(
                    spec.fill_direction(&runs),
                    "{}/{stem}: no earlier run gives its direction",
                    preset.name
                );
            }
            let id = spec.model.id.clone();
            if !models.iter().any(|(m, _)| *m == id) {
                models.push((id.clone(), shaped_like(&id)));
            }
            for other in spec.experiment.models() {
                if !models.iter().any(|(m, _)| *m == other.id) {
                    models.push((other.id.clone(), shaped_like(&other.id)));
                }
            }
            let model = &models.iter().find(|(m, _)| *m == id).unwrap().1;
            let others = spec
                .experiment
                .models()
                .into_iter()
                .map(|other| {
                    let found = models.iter().find(|(m, _)| *m == other.id).unwrap();
                    (found.0.as_str(), &found.1)
                })
                .collect();
            let context = RunContext {
                model,
                saes: vec![],
                others,
                weights_sha256: String::new(),
                device: "cpu".into(),
                limits: patchbay::spec::Limits::default(),
            };
            let spec = smaller(spec);
            let result = pollster::block_on(run(&spec, &context, &mut Progress::none()))
                .unwrap_or_else(|e| panic!("{}/{stem}: {e}", preset.name));
            runs.push(result.clone());
            let Some(published) = &spec.published else {
                continue;
            };
            for comparison in published.compare(&result) {
                let Found::Cell { grid, index, value } = comparison.found else {
                    match comparison.found {
                        Found::Metric(_) => continue,
                        Found::Missing(why) => panic!(
                            "{}/{stem}: {} is not in the run: {why}",
                            preset.name, comparison.what
                        ),
                        Found::Cell { .. } => unreachable!(),
                    }
                };
                // The figure of that grid draws the published value at the cell.
                let drawn = &result.grids[&grid];
                let marks = [Mark {
                    index,
                    published: comparison.published,
                    note: comparison.note.clone(),
                }];
                let svg = grid_svg(&grid.to_string(), drawn, &[], 0.0, &marks);
                let expected = match comparison.published {
                    Some(v) => format!("published {v}"),
                    None => "published: ".to_string(),
                };
                assert!(
                    svg.contains(&expected) && svg.contains("class=\"published\""),
                    "{}/{stem}: the figure of {grid} does not draw {}",
                    preset.name,
                    comparison.what
                );
                assert!(value.is_finite() || grid.variant == Variant::Normalised);
            }
        }
    }
}
