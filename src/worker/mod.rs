//! The model's thread (wasm32): a dedicated Web Worker that runs the app's own WebAssembly
//! module (the page hands it over, so nothing is downloaded or compiled twice), holds the
//! device and the loaded model, and answers the page's [`Request`]s with [`Event`]s, so that
//! no model work ever blocks the page. The requests themselves are in [`crate::session`];
//! here are only what needs the browser: starting, messages, cancelling, loading.
//!
//! Messages are JSON strings ([`ToWorker`], [`FromWorker`]); local model files travel beside a
//! load request as `File` objects.

mod fetch;
mod load;

use crate::bench::BenchReport;
use crate::device::{self, Backend};
use crate::loading::{LoadedModel, assemble};
use crate::session::{
    self, Bench, Event, Failure, FromWorker, Load, LoadSource, ModelInfo, Reply, Request, Session,
    ToWorker,
};
use burn::tensor::Device;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// Whether this module runs in a worker (the model's thread) rather than in the page.
pub fn in_worker() -> bool {
    js_sys::global()
        .dyn_into::<web_sys::DedicatedWorkerGlobalScope>()
        .is_ok()
}

fn scope() -> web_sys::DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(id: u32, event: Event) {
    let json = serde_json::to_string(&FromWorker { id, event }).expect("events serialise");
    let _ = scope().post_message(&JsValue::from_str(&json));
}

#[wasm_bindgen(module = "/src/ui/gpu.js")]
extern "C" {
    #[wasm_bindgen(js_name = watchDeviceLoss)]
    fn watch_device_loss(callback: &Closure<dyn FnMut(String)>);
    /// The WebGPU adapter the device came from (empty on the CPU backend).
    #[wasm_bindgen(js_name = adapterInfo)]
    fn adapter_info() -> String;
}

/// Mebibytes of this worker's WebAssembly memory. It only grows, so this is the peak so far
/// (model weights live here on the CPU backend; downloads pass through it on both).
fn wasm_memory_mb() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|m| {
            m.buffer()
                .unchecked_into::<js_sys::ArrayBuffer>()
                .byte_length() as f64
                / 1048576.0
        })
        .unwrap_or(0.0)
}

/// The worker's state between messages.
struct Worker {
    device: Device,
    backend: Backend,
    session: Option<Rc<Session>>,
    /// A second model beside it, by the id specs name it with (GeDi's discriminator).
    beside: Option<(String, Rc<Session>)>,
    /// SAEs on the model's activations, by the id specs name them with.
    saes: Vec<(String, Rc<crate::sae::Sae>)>,
    /// Calls in flight, and those of them the page has cancelled.
    running: HashSet<u32>,
    cancelled: HashSet<u32>,
    downloads: HashMap<u32, web_sys::AbortController>,
    /// A benchmark is running (they run one at a time).
    benchmarking: bool,
}

impl Worker {
    /// Where models run now (the CPU after a lost GPU device).
    fn device(&self) -> (Device, Backend) {
        (self.device.clone(), self.backend)
    }
}

type Shared = Rc<RefCell<Worker>>;

/// Starts serving the page: finds the device (WebGPU, else the CPU), says `ready`, then runs
/// each request as it comes; a request that yields lets the others (and cancels) through.
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        post(
            0,
            Event::Crashed {
                message: info.to_string(),
            },
        );
    }));
    let worker: Shared = Rc::new(RefCell::new(Worker {
        device: device::cpu(),
        backend: Backend::Cpu,
        session: None,
        beside: None,
        saes: vec![],
        running: HashSet::new(),
        cancelled: HashSet::new(),
        downloads: HashMap::new(),
        benchmarking: false,
    }));
    let on_loss = {
        let worker = worker.clone();
        Closure::<dyn FnMut(String)>::new(move |why: String| {
            let mut state = worker.borrow_mut();
            state.session = None;
            state.beside = None;
            state.device = device::cpu();
            state.backend = Backend::Cpu;
            post(0, Event::DeviceLost { why });
        })
    };
    watch_device_loss(&on_loss);
    on_loss.forget();
    let on_message = {
        let worker = worker.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |message: web_sys::MessageEvent| {
            receive(&worker, message.data());
        })
    };
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    wasm_bindgen_futures::spawn_local(async move {
        let (device, backend, note) = device::browser().await;
        {
            let mut state = worker.borrow_mut();
            state.device = device;
            state.backend = backend;
        }
        post(0, Event::Ready { backend, note });
    });
}

fn receive(worker: &Shared, data: JsValue) {
    let text = js_sys::Reflect::get(&data, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_default();
    match serde_json::from_str::<ToWorker>(&text) {
        Ok(ToWorker::Cancel { id }) => {
            let mut state = worker.borrow_mut();
            if state.running.contains(&id) {
                state.cancelled.insert(id);
            }
            if let Some(download) = state.downloads.remove(&id) {
                download.abort();
            }
        }
        Ok(ToWorker::Call { id, request }) => {
            let files: Vec<web_sys::File> = js_sys::Reflect::get(&data, &"files".into())
                .ok()
                .filter(|f| f.is_array())
                .map(|f| {
                    js_sys::Array::from(&f)
                        .iter()
                        .filter_map(|f| f.dyn_into().ok())
                        .collect()
                })
                .unwrap_or_default();
            let worker = worker.clone();
            worker.borrow_mut().running.insert(id);
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = serve(&worker, id, *request, files).await;
                let mut state = worker.borrow_mut();
                state.running.remove(&id);
                state.cancelled.remove(&id);
                drop(state);
                post(
                    id,
                    match outcome {
                        Ok(reply) => Event::Done(Box::new(reply)),
                        Err(failure) => Event::Failed(failure),
                    },
                );
            });
        }
        Err(e) => web_sys::console::error_1(
            &format!("the model worker got a message it does not understand: {e}").into(),
        ),
    }
}

/// Sends `id`'s events to the page: partial grids at most every 50 ms (the page draws each
/// one), everything else at once. Returns `false` once the page has cancelled `id`.
fn emitter(worker: &Shared, id: u32) -> impl FnMut(Event) -> bool + use<> {
    let worker = worker.clone();
    let mut last_progress = f64::NEG_INFINITY;
    move |event| {
        let now = js_sys::Date::now();
        let send = match &event {
            Event::Progress { done, total, .. } => done == total || now - last_progress >= 50.0,
            _ => true,
        };
        if send {
            if matches!(event, Event::Progress { .. }) {
                last_progress = now;
            }
            post(id, event);
        }
        !worker.borrow().cancelled.contains(&id)
    }
}

async fn serve(
    worker: &Shared,
    id: u32,
    request: Request,
    files: Vec<web_sys::File>,
) -> Result<Reply, Failure> {
    let mut emit = emitter(worker, id);
    match request {
        Request::Load(Load { source, beside }) => load(worker, id, source, beside, files)
            .await
            .map(Reply::Loaded),
        Request::LoadSae(request) => load_sae(worker, id, request, files).await,
        Request::Bench(bench) => {
            // One at a time: a second would time the first's work too, and CubeCL has one launch
            // observer, which the first's counting holds.
            if std::mem::replace(&mut worker.borrow_mut().benchmarking, true) {
                return Err(Failure::input(
                    "a benchmark is already running in this tab: wait for it, or cancel it first",
                ));
            }
            let (device, backend) = worker.borrow().device();
            let counted = backend == Backend::Wgpu;
            let timed = session::bench(&device, &bench, counted, &mut emit).await;
            worker.borrow_mut().benchmarking = false;
            let (build_s, timings) = timed?;
            Ok(Reply::Bench {
                report: bench_report(backend, &bench, build_s, &timings),
            })
        }
        request => {
            let session = worker.borrow().session.clone().ok_or(Failure::NoModel)?;
            let beside: Vec<_> = worker.borrow().beside.iter().cloned().collect();
            let saes = worker.borrow().saes.clone();
            let beside = session::Beside {
                models: &beside,
                saes: &saes,
            };
            session::handle_beside(&session, &beside, &request, &mut emit).await
        }
    }
}

/// Loads a model, replacing the one loaded in its place (whose memory is freed first); the
/// memory check counts the other model's parameters where they share the worker's memory.
async fn load(
    worker: &Shared,
    id: u32,
    source: LoadSource,
    beside: Option<String>,
    files: Vec<web_sys::File>,
) -> Result<ModelInfo, Failure> {
    let held = {
        let mut state = worker.borrow_mut();
        let other = match beside {
            Some(_) => {
                state.beside = None;
                state.session.clone()
            }
            None => {
                state.session = None;
                // SAEs read the model they were loaded on.
                state.saes.clear();
                state.beside.as_ref().map(|(_, s)| s.clone())
            }
        };
        match (state.backend, other) {
            (Backend::Cpu, Some(other)) => {
                Some((other.name.clone(), 4 * other.model.model.config.n_params()))
            }
            _ => None,
        }
    };
    let (device, backend) = worker.borrow().device();
    let emit = |event: Event| post(id, event);
    let fetched = match source {
        LoadSource::Url { label, base, hub } => {
            let controller = web_sys::AbortController::new()
                .map_err(|_| Failure::internal("this browser has no AbortController"))?;
            worker.borrow_mut().downloads.insert(id, controller.clone());
            let fetched = load::download(
                &label,
                &base,
                hub.as_ref(),
                (&device, backend),
                held.as_ref(),
                &controller.signal(),
                &emit,
            )
            .await;
            worker.borrow_mut().downloads.remove(&id);
            fetched
        }
        LoadSource::Files => {
            load::read_local(files, (&device, backend), held.as_ref(), &emit).await
        }
    };
    let cancelled = worker.borrow().cancelled.contains(&id);
    let fetched = match fetched {
        _ if cancelled => return Err(Failure::Cancelled),
        Ok(fetched) => fetched,
        Err(e) => return Err(e.into()),
    };
    let parts = fetched.parts;
    let weights_sha256 = parts.weights.sha256.clone();
    let assembling = js_sys::Date::now();
    let model = match assemble(&parts.config, parts.weights) {
        Ok(model) => model,
        Err(e) => {
            // Files that failed must not come back from the cache next time.
            fetch::forget(&fetched.urls).await;
            return Err(e.into());
        }
    };
    let session = Session {
        name: fetched.name,
        model: LoadedModel {
            model,
            tokenizer: parts.tokenizer,
        },
        weights_sha256,
        backend,
    };
    let mut timings_ms = parts.timings_ms;
    timings_ms.push((
        "model assembled".to_string(),
        js_sys::Date::now() - assembling,
    ));
    let info = session.info(wasm_memory_mb(), fetched.notes, timings_ms);
    let mut state = worker.borrow_mut();
    match beside {
        Some(as_id) => state.beside = Some((as_id, Rc::new(session))),
        None => state.session = Some(Rc::new(session)),
    }
    Ok(info)
}

/// Loads an SAE on the loaded model's activations, replacing one loaded under the same id.
async fn load_sae(
    worker: &Shared,
    id: u32,
    request: session::LoadSae,
    files: Vec<web_sys::File>,
) -> Result<Reply, Failure> {
    let session = worker.borrow().session.clone().ok_or(Failure::NoModel)?;
    let (device, backend) = worker.borrow().device();
    // On the CPU backend the model's parameters and the other SAEs share the worker's memory.
    let held = match backend {
        Backend::Cpu => {
            4 * session.model.model.config.n_params()
                + worker
                    .borrow()
                    .saes
                    .iter()
                    .filter(|(other, _)| *other != request.id)
                    .map(|(_, sae)| crate::sae::sae_bytes(&sae.config))
                    .sum::<u64>()
        }
        Backend::Wgpu => 0,
    };
    let emit = |event: Event| post(id, event);
    let controller = web_sys::AbortController::new()
        .map_err(|_| Failure::internal("this browser has no AbortController"))?;
    worker.borrow_mut().downloads.insert(id, controller.clone());
    let loaded = load::load_sae(
        &request,
        files,
        (&device, backend),
        held,
        &controller.signal(),
        &emit,
    )
    .await;
    worker.borrow_mut().downloads.remove(&id);
    if worker.borrow().cancelled.contains(&id) {
        return Err(Failure::Cancelled);
    }
    let (sae, notes) = loaded?;
    sae.check_fits(&session.model.model.config)?;
    let info = session::SaeInfo::of(&request.id, &sae, notes);
    let mut state = worker.borrow_mut();
    state.saes.retain(|(other, _)| *other != request.id);
    state.saes.push((request.id, Rc::new(sae)));
    Ok(Reply::SaeLoaded(info))
}

fn user_agent() -> String {
    js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| js_sys::Reflect::get(&n, &"userAgent".into()))
        .ok()
        .and_then(|ua| ua.as_string())
        .unwrap_or_default()
}

/// The Benchmark panel's report, in the shape of `patchbay bench --json` plus where it ran.
fn bench_report(
    backend: Backend,
    bench: &Bench,
    build_s: f64,
    timings: &[crate::bench::Timing],
) -> BenchReport {
    BenchReport {
        adapter: Some(adapter_info()),
        browser: Some(user_agent()),
        build_model_s: Some(build_s),
        wasm_memory_mb: Some(wasm_memory_mb()),
        ..BenchReport::new(bench.model, backend, bench.reps, timings)
    }
}
