//! The model's side of the browser app, as messages: the page sends [`Request`]s to the model's
//! Web Worker and hears [`Event`]s back (progress, partial grids, tokens, then one
//! [`Reply`] or an error), so that the page never waits on the model. Everything here but
//! loading (which fetches, in `worker`) is plain Rust over a loaded model and tested natively.
//!
//! - [`inspect`]: one prompt's tokens, losses, top-k and attention patterns.
//! - specs (the experiment panel's, and the Generation panel's generation or steering spec),
//!   with sweep progress and generated tokens streamed.

pub mod inspect;

use crate::bench::{BenchModel, BenchReport, Inputs, Timing, Workload, time};
use crate::datasets::{DatasetSource, Made};
use crate::device::Backend;
use crate::experiments::{Filling, GenerationName, Progress, Share, SweptShare, yield_to_browser};
pub use crate::failure::Failure;
use crate::loading::LoadedModel;
use crate::model::Gpt2;
use crate::spec::{RunContext, RunResult, Spec, run};
use burn::tensor::Device;
use inspect::Inspection;
use serde::{Deserialize, Serialize};
use web_time::Instant;

/// A loaded model in the worker.
pub struct Session {
    /// The hub id, URL or file label it was loaded from.
    pub name: String,
    pub model: LoadedModel,
    /// sha256 of `model.safetensors`, recorded with every result.
    pub weights_sha256: String,
    pub backend: Backend,
}

impl Session {
    /// What the page needs to know of it.
    pub fn info(&self, memory_mb: f64, notes: String, timings_ms: Vec<(String, f64)>) -> ModelInfo {
        let config = &self.model.model.config;
        ModelInfo {
            name: self.name.clone(),
            n_layer: config.n_layer,
            n_head: config.n_head,
            d_model: config.n_embd,
            backend: self.backend,
            weights_sha256: self.weights_sha256.clone(),
            memory_mb,
            parameter_bytes: 4 * config.n_params(),
            notes,
            timings_ms,
        }
    }
}

/// A loaded model as the page sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub n_layer: usize,
    pub n_head: usize,
    pub d_model: usize,
    pub backend: Backend,
    pub weights_sha256: String,
    /// The worker's WebAssembly memory after loading (it only grows: the peak), in MiB.
    pub memory_mb: f64,
    /// The f32 parameters on the device.
    #[serde(default)]
    pub parameter_bytes: u64,
    /// What the user should know: cache use, checks skipped (each starts with `; `).
    pub notes: String,
    /// Milliseconds of each step of loading, in order.
    pub timings_ms: Vec<(String, f64)>,
}

impl ModelInfo {
    /// What a worker pool of this model holds: per worker, this worker's WebAssembly memory
    /// and on a GPU the parameters; `device_memory` as the browser reports it.
    pub fn pool_memory(&self, device_memory: Option<u64>) -> crate::loading::memory::PoolMemory {
        let wasm = (self.memory_mb * (1u64 << 20) as f64) as u64;
        let device = match self.backend {
            Backend::Wgpu => self.parameter_bytes,
            Backend::Cpu => 0,
        };
        crate::loading::memory::PoolMemory::new(wasm + device, device_memory)
    }
}

/// Where a model comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum LoadSource {
    /// A folder URL ending in `/` with config.json, tokenizer.json and model.safetensors;
    /// `hub` names the hub API and repository whose file list gives sizes and sha256.
    Url {
        label: String,
        base: String,
        hub: Option<HubRepo>,
    },
    /// The files the user picked or dropped (they travel beside the request).
    Files,
}

/// A Hugging Face hub repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HubRepo {
    /// The hub's address, `https://huggingface.co`.
    pub hub: String,
    pub id: String,
}

/// What the page asks of the model: one variant per request type, each paired with its
/// reply's type by [`Ask`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    Load(Load),
    LoadSae(LoadSae),
    Inspect(Inspect),
    Tokenize(Tokenize),
    Run(RunSpec),
    RunShare(RunShare),
    Dataset(MakeDataset),
    Bench(Bench),
}

impl Request {
    /// Whether it needs a loaded model.
    pub fn needs_model(&self) -> bool {
        !matches!(self, Self::Load(_) | Self::Bench(_))
    }
}

/// A request and what it is answered with: a panel's `ModelCall<Q>` reads a `Q::Answer`,
/// never a [`Reply`] to match.
pub trait Ask: Into<Request> {
    type Answer: Clone;

    /// The answer in `reply` (`None` for another request's reply: a bug in the worker).
    fn answer(reply: &Reply) -> Option<&Self::Answer>;
}

/// Requests, each with its reply: `Variant(Request) => the reply's pattern => its answer; Answer`.
macro_rules! asks {
    ($($variant:ident($request:ident) => $reply:pat => $answer:expr; $ty:ty,)+) => {$(
        impl From<$request> for Request {
            fn from(request: $request) -> Self {
                Self::$variant(request)
            }
        }

        impl Ask for $request {
            type Answer = $ty;

            fn answer(reply: &Reply) -> Option<&$ty> {
                match reply {
                    $reply => Some($answer),
                    _ => None,
                }
            }
        }
    )+};
}

asks! {
    Load(Load) => Reply::Loaded(info) => info; ModelInfo,
    LoadSae(LoadSae) => Reply::SaeLoaded(info) => info; SaeInfo,
    Inspect(Inspect) => Reply::Inspection(inspection) => inspection; Inspection,
    Tokenize(Tokenize) => Reply::Tokens { texts } => texts; Vec<Vec<String>>,
    Run(RunSpec) => Reply::Run(result) => &**result; RunResult,
    RunShare(RunShare) => Reply::Swept { sweeps } => sweeps; Vec<SweptShare>,
    Dataset(MakeDataset) => Reply::Dataset(dataset) => &**dataset; Made,
    Bench(Bench) => Reply::Bench { report } => report; BenchReport,
}

/// Loads a model on the worker's device, replacing the one loaded; with `beside`, a second
/// model a spec names by that id (GeDi's), kept beside the first (replacing any other second
/// model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Load {
    pub source: LoadSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beside: Option<String>,
}

/// Loads an SAE on the loaded model's activations, kept beside it under `id` (the id specs name
/// it by; loading another under the same id replaces it). Its folder holds SAELens's `cfg.json`
/// and `sae_weights.safetensors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSae {
    pub source: LoadSource,
    pub id: String,
}

/// A loaded SAE, for the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaeInfo {
    pub id: String,
    /// TransformerLens's name of the hook it reads.
    pub hook: String,
    pub architecture: String,
    pub d_in: usize,
    pub d_sae: usize,
    pub sha256: String,
    /// Each starts with `; ` (where the files came from, cache notes).
    pub notes: String,
}

impl SaeInfo {
    pub fn of(id: &str, sae: &crate::sae::Sae, notes: String) -> Self {
        use crate::sae::Architecture;
        Self {
            id: id.to_string(),
            hook: sae.config.hook.to_string(),
            architecture: match sae.config.architecture {
                Architecture::Standard => "standard (ReLU)".into(),
                Architecture::JumpRelu => "JumpReLU".into(),
                Architecture::TopK { k } => format!("top-k (k = {k})"),
            },
            d_in: sae.config.d_in,
            d_sae: sae.config.d_sae,
            sha256: sae.sha256.clone(),
            notes,
        }
    }
}

/// The prompt panel: tokens, losses, the next token and attention patterns of one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inspect {
    pub text: String,
    pub prepend_bos: bool,
}

/// Token texts of each text (the form's tokenisation previews).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tokenize {
    pub texts: Vec<String>,
    pub prepend_bos: bool,
}

/// Runs a spec; generation and steering stream their tokens ([`Event::Token`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub spec: Box<Spec>,
    /// Each sweep's values, merged from a worker pool's shares ([`RunShare`]): the run computes
    /// no cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swept: Option<Vec<Vec<f32>>>,
}

impl RunSpec {
    pub fn new(spec: Spec) -> Self {
        Self {
            spec: Box::new(spec),
            swept: None,
        }
    }
}

/// Runs a spec that sweeps cells, computing only `share`'s cells of each sweep (a worker
/// pool's member); answered with their values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunShare {
    pub spec: Box<Spec>,
    pub share: Share,
}

/// A prompt set made and checked with the model's tokenizer (the dataset form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MakeDataset {
    pub source: DatasetSource,
}

/// The Benchmark panel: GPT-2 small's shape (or its narrow variant) with random weights, built
/// on the worker's device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bench {
    pub workloads: Vec<Workload>,
    pub reps: usize,
    #[serde(default)]
    pub model: BenchModel,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reply {
    Loaded(ModelInfo),
    SaeLoaded(SaeInfo),
    Inspection(Inspection),
    Tokens { texts: Vec<Vec<String>> },
    Run(Box<RunResult>),
    Swept { sweeps: Vec<SweptShare> },
    Dataset(Box<Made>),
    Bench { report: BenchReport },
}

/// One new token of continuation `run` (0, 1... in the order they are generated), with its
/// name (`default`, `unsteered`, `steered`), text and probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewToken {
    pub run: usize,
    pub name: GenerationName,
    pub token: u32,
    pub choice: crate::spec::TokenChoice,
}

/// What the worker says while a request runs, and when it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The worker has started; the model will run on `backend` (`note`: why not WebGPU).
    Ready {
        backend: Backend,
        note: Option<String>,
    },
    /// A line for the status bar.
    Status {
        text: String,
    },
    /// Bytes of the current download.
    Download {
        received: u64,
        total: Option<u64>,
    },
    /// Cells done of a sweep, with the per-cell means so far and the grid they fill.
    Progress {
        done: usize,
        total: usize,
        values: Vec<f32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grid: Option<Filling>,
    },
    Token(NewToken),
    Timed(Timing),
    Done(Box<Reply>),
    Failed(Failure),
    /// The GPU device is gone: the worker now runs on the CPU and has no model.
    DeviceLost {
        why: String,
    },
    /// The worker stopped (a panic); `message` says why.
    Crashed {
        message: String,
    },
}

/// A message to the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum ToWorker {
    Call { id: u32, request: Box<Request> },
    Cancel { id: u32 },
}

/// A message from the worker: `id` is the request's, 0 for news about the worker itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FromWorker {
    pub id: u32,
    pub event: Event,
}

/// Runs a request that needs a loaded model. `emit` sends an event to the page and returns
/// `false` once the page has cancelled.
pub async fn handle(
    session: &Session,
    request: &Request,
    emit: &mut dyn FnMut(Event) -> bool,
) -> Result<Reply, Failure> {
    handle_beside(session, &Beside::default(), request, emit).await
}

/// What is loaded beside the session's model, by the id a spec names each.
#[derive(Default)]
pub struct Beside<'a> {
    /// Other models (GeDi's discriminator).
    pub models: &'a [(String, std::rc::Rc<Session>)],
    /// SAEs on the session's model.
    pub saes: &'a [(String, std::rc::Rc<crate::sae::Sae>)],
}

/// [`handle`] with other models and SAEs loaded beside the session's.
pub async fn handle_beside(
    session: &Session,
    others: &Beside<'_>,
    request: &Request,
    emit: &mut dyn FnMut(Event) -> bool,
) -> Result<Reply, Failure> {
    let loaded = &session.model;
    match request {
        Request::Inspect(Inspect { text, prepend_bos }) => {
            inspect::inspect(loaded, text, *prepend_bos)
                .await
                .map(Reply::Inspection)
        }
        Request::Tokenize(Tokenize { texts, prepend_bos }) => Ok(Reply::Tokens {
            texts: texts
                .iter()
                .map(|text| {
                    loaded
                        .tokenizer
                        .encode_prompt(text, *prepend_bos)
                        .map(|ids| loaded.tokenizer.token_texts(&ids))
                        .unwrap_or_default()
                })
                .collect(),
        }),
        Request::Dataset(MakeDataset { source }) => source
            .make(&loaded.tokenizer)
            .map(|dataset| Reply::Dataset(Box::new(dataset)))
            .map_err(|e| Failure::input(e.to_string())),
        Request::Run(RunSpec { spec, swept }) => {
            let cells = match swept {
                Some(swept) => Cells::Given(swept.clone()),
                None => Cells::All,
            };
            run_reported(session, others, spec, cells, emit)
                .await
                .map(|(result, _)| Reply::Run(Box::new(result)))
        }
        Request::RunShare(RunShare { spec, share }) => {
            let share =
                Share::new(share.index, share.of).map_err(|e| Failure::input(e.to_string()))?;
            if !spec.experiment.sweeps_cells() {
                return Err(Failure::input(format!(
                    "a {} run has no sweep to share among workers",
                    spec.experiment.kind().name()
                )));
            }
            run_reported(session, others, spec, Cells::Share(share), emit)
                .await
                .map(|(_, sweeps)| Reply::Swept { sweeps })
        }
        Request::Load(_) | Request::LoadSae(_) | Request::Bench(_) => Err(Failure::internal(
            "this request does not run on a loaded model",
        )),
    }
}

/// Which cells of its sweeps a run computes (`experiments::shares`).
enum Cells {
    All,
    Share(Share),
    /// None: every sweep's values are given.
    Given(Vec<Vec<f32>>),
}

/// Runs `spec` on the session's model, its progress and tokens sent as events; returns the
/// result and, for a share, the values of its cells.
async fn run_reported(
    session: &Session,
    others: &Beside<'_>,
    spec: &Spec,
    cells: Cells,
    emit: &mut dyn FnMut(Event) -> bool,
) -> Result<(RunResult, Vec<SweptShare>), Failure> {
    let loaded = &session.model;
    let context = RunContext {
        model: loaded,
        others: others
            .models
            .iter()
            .map(|(id, other)| (id.as_str(), &other.model))
            .collect(),
        saes: others
            .saes
            .iter()
            .map(|(id, sae)| (id.as_str(), sae.as_ref()))
            .collect(),
        weights_sha256: session.weights_sha256.clone(),
        device: session.backend.to_string(),
        limits: crate::spec::Limits::default(),
    };
    // `emit` reports both kinds of progress, so it is shared between the callbacks.
    let emit = std::cell::RefCell::new(emit);
    let mut runs: Vec<GenerationName> = Vec::new();
    let mut progress = Progress::new(|update| {
        (emit.borrow_mut())(Event::Progress {
            done: update.done,
            total: update.total,
            values: update.values.to_vec(),
            grid: update.grid.cloned(),
        })
    })
    .with_tokens(|update| {
        if runs.last() != Some(&update.generation) {
            runs.push(update.generation);
        }
        (emit.borrow_mut())(Event::Token(NewToken {
            run: runs.len() - 1,
            name: update.generation,
            token: update.step.token,
            choice: crate::spec::TokenChoice::named(update.step, &loaded.tokenizer),
        }))
    });
    progress = match cells {
        Cells::All => progress,
        Cells::Share(share) => progress.with_share(share),
        Cells::Given(swept) => progress.with_swept(swept),
    };
    let result = run(spec, &context, &mut progress)
        .await
        .map_err(Failure::from)?;
    progress
        .check_swept_read()
        .map_err(|e| Failure::input(e.to_string()))?;
    Ok((result, progress.take_swept()))
}

/// The Benchmark panel's work: builds GPT-2 small's shape with seeded random weights on
/// `device` and times each workload, emitting every timing as it lands. Returns the seconds
/// the model took to build and the timings.
pub async fn bench(
    device: &Device,
    request: &Bench,
    count_gpu_calls: bool,
    emit: &mut dyn FnMut(Event) -> bool,
) -> Result<(f64, Vec<Timing>), Failure> {
    let Bench {
        workloads,
        reps,
        model,
    } = request;
    let reps = *reps;
    emit(Event::Status {
        text: format!("building the model ({})…", model.describe()),
    });
    yield_to_browser().await;
    let config = model.config();
    let started = Instant::now();
    let model = Gpt2::random(&config, 0, device);
    let inputs = Inputs::new(config.vocab_size, 12345);
    let build_s = started.elapsed().as_secs_f64();
    let mut timings = Vec::new();
    for &workload in workloads {
        if !emit(Event::Status {
            text: format!("timing {}…", workload.describe()),
        }) {
            return Err(Failure::Cancelled);
        }
        yield_to_browser().await;
        let schedule = workload.schedule(reps.max(1));
        let timing = time(&model, &inputs, workload, schedule, count_gpu_calls)
            .await
            .map_err(|e| match Failure::from(e) {
                Failure::Experiment { message } => {
                    Failure::internal(format!("{}: {message}", workload.describe()))
                }
                other => other,
            })?;
        emit(Event::Timed(timing.clone()));
        timings.push(timing);
    }
    Ok((build_s, timings))
}
