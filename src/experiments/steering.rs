//! Activation addition (Turner et al.): the difference of a hook's activation on two
//! prompts, scaled and added while the model runs.

use super::generation::{GenerationConfig, generate};
use super::kind::{About, ExperimentKind};
use super::metric::last_position;
use super::readback::read;
use super::{
    ExperimentError, GenerationName, Grid, GridKind, GridName, Needs, Output, ParamError, Progress,
    PromptInput, PromptSet,
};
use crate::hooks::{Action, HookPoint, Intervention, Values};
use crate::loading::ModelRef;
use crate::model::Gpt2;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// Activation addition: `coeff · (act(positive) − act(negative))` at `hook` while generating
/// from `prompt`; the unsteered continuation is computed alongside. The spec's `steering`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub hook: HookPoint,
    /// The prompts whose difference is the vector (absent when `direction` gives it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive: Option<PromptInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative: Option<PromptInput>,
    /// A stored direction added instead (a `direction` run's `direction.vector`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<StoredDirection>,
    pub coeff: f32,
    pub prompt: PromptInput,
    /// For all three prompts.
    #[serde(default = "yes")]
    pub prepend_bos: bool,
    /// Its `seed` is replaced by the spec's.
    #[serde(default)]
    pub generation: GenerationConfig,
    /// Where the difference is taken and added.
    #[serde(default, skip_serializing_if = "SteerAt::is_default")]
    pub at: SteerAt,
}

fn yes() -> bool {
    true
}

impl Params {
    /// Activation addition of a found direction (unit length: hence a larger coefficient than
    /// a difference of two prompts needs) at `hook`, every position, sampled as Turner et al.
    /// sample.
    pub fn with_direction(hook: HookPoint, values: Vec<f32>, from: String) -> Self {
        Self {
            hook,
            positive: None,
            negative: None,
            direction: Some(StoredDirection { values, from }),
            coeff: 10.0,
            prompt: PromptInput::Text("I think that".into()),
            prepend_bos: true,
            generation: GenerationConfig {
                max_new_tokens: 40,
                temperature: 1.0,
                top_p: Some(0.3),
                frequency_penalty: 1.0,
                ..GenerationConfig::default()
            },
            at: SteerAt::EveryPosition,
        }
    }
}

/// A direction kept in the spec, so that the spec alone reruns it: `[d_model]` values and
/// where they came from, for people. Without values, `from` is `example:STEM`, a bundled
/// direction example whose run's direction is to be filled in (a preset does that from the
/// run before it: [`crate::spec::Spec::fill_direction`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredDirection {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f32>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
}

impl StoredDirection {
    /// The bundled example whose run gives this direction, while its values are not there.
    pub fn pending_example(&self) -> Option<&str> {
        self.values
            .is_empty()
            .then(|| self.from.strip_prefix("example:"))
            .flatten()
    }

    /// Why this direction cannot run yet (its values are to come from an example's run).
    pub fn pending_problem(&self) -> Option<String> {
        self.pending_example().map(|stem| format!(
            "the direction is the one example:{stem} finds, not filled in yet: run the preset that holds both (patchbay run preset:NAME), or run example:{stem} and use its result's \"Steer with this direction\""
        ))
    }
}

/// Which positions a steering vector comes from and goes to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SteerAt {
    /// The difference at the two prompts' last positions, added at every position.
    #[default]
    EveryPosition,
    /// Turner et al.'s ActAdd: both prompts right-padded with `" "` tokens to one length, the
    /// difference position by position, added to the prompt's first positions (the prompt must
    /// be at least as long).
    Front,
}

impl SteerAt {
    fn is_default(&self) -> bool {
        *self == Self::EveryPosition
    }
}

/// Why ActAdd's front placement cannot run: the steering prompts, `steering` tokens after
/// padding (the longer one's length), do not fit in the `prompt`'s tokens.
pub fn front_problem(steering: usize, prompt: usize) -> Option<String> {
    (steering > prompt).then(|| format!(
        "the steering prompts are {steering} tokens after padding, the prompt only {prompt}: ActAdd adds them at the prompt's first positions, so the prompt must be at least as long"
    ))
}

impl ExperimentKind for Params {
    const ABOUT: About = About {
        title: "Steering (activation addition)",
        what: "Activation addition: runs two short prompts (\"Love\" and \"Hate\", say), takes the difference of their activations at one hook and adds it, times a coefficient, while the model continues your prompt. At every position uses the two prompts' last tokens; at the front adds the padded prompts' difference position by position to the first tokens, as Turner et al. do.",
        read: "The steered continuation is shown beside the unsteered one from the same seed. Middle layers (6 of GPT-2 small's 12) steer topic and sentiment best; too large a coefficient turns the text into the steering words themselves.",
        paper: "Turner et al. 2023, Steering Language Models With Activation Engineering",
        url: "https://arxiv.org/abs/2308.10248",
    };
    const NEEDS: Needs = Needs::NoPrompts;

    fn check(&self) -> Result<(), ParamError> {
        let problem = |field: &str, message: &str| {
            Err(ParamError {
                field: field.into(),
                message: message.into(),
            })
        };
        match (&self.direction, &self.positive, &self.negative) {
            (None, Some(_), Some(_)) => {}
            (None, _, _) => {
                return problem(
                    "positive",
                    "give the two prompts (positive and negative), or a stored direction",
                );
            }
            (Some(_), None, None) if self.at == SteerAt::Front => {
                return problem(
                    "at",
                    "a stored direction is added at every position: ActAdd's front placement needs the two prompts",
                );
            }
            (Some(direction), None, None) => {
                if let Some(stem) = direction.pending_example() {
                    let is_direction = crate::spec::examples::find(stem).is_some_and(|e| {
                        crate::spec::Spec::from_json(e.json).is_ok_and(|spec| {
                            matches!(spec.experiment, crate::spec::Experiment::Direction(_))
                        })
                    });
                    if !is_direction {
                        return problem(
                            "direction.from",
                            &format!("example:{stem} is not a bundled direction example"),
                        );
                    }
                } else if direction.values.is_empty()
                    || direction.values.iter().any(|v| !v.is_finite())
                {
                    return problem(
                        "direction.values",
                        "give the direction's finite values (or only `from`: \"example:STEM\", a bundled direction example to take them from)",
                    );
                }
            }
            (Some(_), _, _) => {
                return problem(
                    "direction",
                    "steer by the two prompts or by a stored direction, not both",
                );
            }
        }
        self.generation.param_check()
    }

    fn models(&self) -> Vec<&ModelRef> {
        self.generation.models()
    }
}

/// The grid `steer.vector` and the continuations `unsteered` and `steered`.
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    let bos = params.prepend_bos;
    params.checked()?;
    let ids = prompts.encode(&params.prompt, bos, "experiment.steering.prompt")?;
    let pair = match (&params.positive, &params.negative) {
        (Some(positive), Some(negative)) => Some((
            prompts.encode(positive, bos, "experiment.steering.positive")?,
            prompts.encode(negative, bos, "experiment.steering.negative")?,
        )),
        _ => None,
    };
    let config = GenerationConfig {
        seed: prompts.seed,
        ..params.generation.clone()
    };
    let discriminator = prompts.discriminator(&config, model, "experiment.steering.generation")?;
    let mut output = Output::default();
    let steer = match (params.at, &params.direction, pair) {
        (SteerAt::EveryPosition, Some(direction), None) => {
            if let Some(problem) = direction.pending_problem() {
                return Err(ExperimentError::Parameter(format!(
                    "experiment.steering.direction: {problem}"
                )));
            }
            check_hook(model, params.hook)?;
            let d = model.config.n_embd;
            if direction.values.len() != d {
                return Err(ExperimentError::Parameter(format!(
                    "experiment.steering.direction: the direction has {} values; this model's residual stream has {d}",
                    direction.values.len()
                )));
            }
            let vector = SteeringVector {
                hook: params.hook,
                vector: direction.values.clone(),
                positive_acts: vec![],
                negative_acts: vec![],
            };
            output.grid(
                GridName::raw(GridKind::SteeringVector),
                Grid::new(&["d_model"], vec![d], direction.values.clone()),
            );
            vector.intervention(params.coeff)
        }
        (SteerAt::EveryPosition, None, Some((positive, negative))) => {
            let vector = steering_vector(model, params.hook, &positive, &negative).await?;
            let steer = vector.intervention(params.coeff);
            let d = vector.vector.len();
            output.grid(
                GridName::raw(GridKind::SteeringVector),
                Grid::new(&["d_model"], vec![d], vector.vector),
            );
            steer
        }
        (SteerAt::Front, None, Some((positive, negative))) => {
            let (positive, negative) = padded(&positive, &negative, prompts.padding_token()?);
            if let Some(problem) = front_problem(positive.len(), ids.len()) {
                return Err(ExperimentError::Parameter(problem));
            }
            let vector = steering_vector(model, params.hook, &positive, &negative).await?;
            let n = positive.len();
            let d = vector.vector.len();
            let front: Vec<f32> = vector
                .positive_acts
                .iter()
                .zip(&vector.negative_acts)
                .map(|(p, q)| params.coeff * (p - q))
                .collect();
            output.grid(
                GridName::raw(GridKind::SteeringVector),
                Grid::new(
                    &["pos", "d_model"],
                    vec![n, d],
                    front.iter().map(|v| v / params.coeff).collect(),
                ),
            );
            Intervention::new(
                params.hook,
                Action::AddFront {
                    values: Values {
                        shape: vec![n, d],
                        data: front,
                    },
                },
            )
        }
        _ => {
            return Err(ExperimentError::Parameter(
                "experiment.steering: give the two prompts, or a stored direction added at every position".into(),
            ));
        }
    };
    for (name, interventions) in [
        (GenerationName::Unsteered, vec![]),
        (GenerationName::Steered, vec![steer]),
    ] {
        if progress.stopped() {
            break;
        }
        progress.start_generation(name);
        let generation = generate(
            model,
            &ids,
            &config,
            &interventions,
            discriminator,
            progress,
        )
        .await?;
        output.generations.push((name, ids.clone(), generation));
    }
    Ok(output)
}

/// Both prompts right-padded with `padding` (the tokenizer's `" "`) to the longer one's length.
pub fn padded(positive: &[u32], negative: &[u32], padding: u32) -> (Vec<u32>, Vec<u32>) {
    let n = positive.len().max(negative.len());
    let pad = |ids: &[u32]| {
        let mut ids = ids.to_vec();
        ids.resize(n, padding);
        ids
    };
    (pad(positive), pad(negative))
}

/// A steering vector and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SteeringVector {
    pub hook: HookPoint,
    /// `act(positive)[last] − act(negative)[last]`, `[d_model]`.
    pub vector: Vec<f32>,
    /// The hook's activation on each prompt, `[pos, d_model]` row-major.
    pub positive_acts: Vec<f32>,
    pub negative_acts: Vec<f32>,
}

impl SteeringVector {
    /// The intervention adding `coeff · vector` at every position of `hook`.
    pub fn intervention(&self, coeff: f32) -> Intervention {
        let values = Values::vector(self.vector.iter().map(|v| v * coeff).collect());
        Intervention::new(self.hook, Action::Add { values })
    }
}

/// Whether `hook` is a residual-stream hook of this model.
fn check_hook(model: &Gpt2, hook: HookPoint) -> Result<(), ExperimentError> {
    if !hook.is_d_model() {
        return Err(ExperimentError::Parameter(format!(
            "steering needs a residual-stream hook such as blocks.0.hook_resid_pre, not {hook}"
        )));
    }
    super::hook_exists(model, hook)
}

/// The residual-stream direction from `negative` to `positive` at `hook` (a `[batch, pos,
/// d_model]` hook such as `blocks.6.hook_resid_pre`), read at each prompt's last position.
pub async fn steering_vector(
    model: &Gpt2,
    hook: HookPoint,
    positive: &[u32],
    negative: &[u32],
) -> Result<SteeringVector, ExperimentError> {
    check_hook(model, hook)?;
    let act = |ids: &[u32]| -> Result<Tensor<3>, ExperimentError> {
        let (_, cache) = model.run_with_cache(model.tokens(&[ids.to_vec()])?, |p| p == hook);
        cache
            .get::<3>(hook)
            .ok_or(ExperimentError::MissingActivation(hook))
    };
    let (pos, neg) = (act(positive)?, act(negative)?);
    let vector = last_position(pos.clone()) - last_position(neg.clone());
    let device = ExperimentError::Device;
    Ok(SteeringVector {
        hook,
        vector: read(vector).await.map_err(device)?,
        positive_acts: read(pos).await.map_err(device)?,
        negative_acts: read(neg).await.map_err(device)?,
    })
}
