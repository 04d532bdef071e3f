//! The app's state (in Leptos context) and what changes it from outside the panels: the model
//! worker's news.

use super::crash;
use super::model_worker::ModelWorker;
use super::panels::history::HistoryState;
use super::pool::LoadedFrom;
use crate::device::Backend;
use crate::history::RunRecord;
use crate::session::{Event, ModelInfo};
use leptos::prelude::*;
use std::rc::Rc;

/// App-wide state, in context.
#[derive(Clone, Copy)]
pub struct AppState {
    /// Where the model runs, once the worker has looked for WebGPU.
    pub backend: RwSignal<Option<Backend>>,
    /// The model loaded in the worker.
    pub session: RwSignal<Option<Rc<ModelInfo>>, LocalStorage>,
    /// A second model loaded beside it, with the id specs name it by (GeDi's discriminator).
    pub beside: RwSignal<Option<(String, Rc<ModelInfo>)>, LocalStorage>,
    pub history: RwSignal<HistoryState, LocalStorage>,
    /// The run whose results are on screen (just computed, or opened from the history).
    pub opened: RwSignal<Option<Rc<RunRecord>>, LocalStorage>,
    pub worker: StoredValue<ModelWorker, LocalStorage>,
    /// Where the session's model came from: what a worker pool's members load.
    pub model_source: StoredValue<Option<LoadedFrom>, LocalStorage>,
}

impl AppState {
    /// The model's worker.
    pub fn worker(&self) -> ModelWorker {
        self.worker.get_value()
    }
}

/// How a backend is named on the page.
pub fn backend_label(backend: Backend) -> &'static str {
    match backend {
        Backend::Wgpu => "WebGPU",
        Backend::Cpu => "CPU (no WebGPU)",
    }
}

/// What the worker says about itself: where the model runs; a lost GPU device (say so, show
/// the CPU, and let the user load the model again from the browser cache: work in flight on
/// the lost device never finishes, and the panels are reset with the session); a crash.
pub fn on_worker_news(
    backend: RwSignal<Option<Backend>>,
    session: RwSignal<Option<Rc<ModelInfo>>, LocalStorage>,
    beside: RwSignal<Option<(String, Rc<ModelInfo>)>, LocalStorage>,
    note: RwSignal<Option<String>>,
    lost: RwSignal<Option<String>>,
) -> impl Fn(Event) + 'static {
    move |event| match event {
        Event::Ready {
            backend: found,
            note: why,
        } => {
            note.set(why);
            backend.set(Some(found));
        }
        Event::DeviceLost { why } => {
            lost.set(Some(why));
            session.set(None);
            beside.set(None);
            backend.set(Some(Backend::Cpu));
        }
        Event::Crashed { message } => {
            session.set(None);
            beside.set(None);
            crash::show_worker_crash(&message);
        }
        _ => {}
    }
}
