//! The browser app (Leptos, client-side rendered): pick a device, load a model, run prompts.

mod attention;
mod experiment;
mod fetch;
mod generation;
mod heatmap;
mod loader;
mod prompt;

use crate::device::{self, Backend};
use crate::loading::LoadedModel;
use burn::tensor::Device;
use leptos::prelude::*;
use std::rc::Rc;

/// A loaded model on a device, shared by every panel.
pub struct Session {
    pub name: String,
    pub model: LoadedModel,
    /// sha256 of `model.safetensors`, recorded with every result.
    pub weights_sha256: String,
}

/// App-wide state, in context.
#[derive(Clone, Copy)]
pub struct AppState {
    pub device: RwSignal<Option<(Device, Backend)>, LocalStorage>,
    pub session: RwSignal<Option<Rc<Session>>, LocalStorage>,
}

/// The page.
#[component]
pub fn App() -> impl IntoView {
    let state = AppState {
        device: RwSignal::new_local(None),
        session: RwSignal::new_local(None),
    };
    provide_context(state);
    let note = RwSignal::new(None::<String>);
    leptos::task::spawn_local(async move {
        let (device, backend, why) = device::browser().await;
        note.set(why);
        state.device.set(Some((device, backend)));
    });
    view! {
        <header>
            <h1>"Patchbay"</h1>
            <p class="tagline">"GPT-2 interpretability in your browser: the model runs here, nothing leaves your machine."</p>
            {move || match state.device.get() {
                None => view! { <p id="device" data-state="probing">"Looking for WebGPU…"</p> }.into_any(),
                Some((_, backend)) => {
                    let label = match backend {
                        Backend::Wgpu => "WebGPU",
                        Backend::Cpu => "CPU (no WebGPU)",
                    };
                    view! {
                        <p id="device" data-state="ready" data-backend=backend.to_string()>"Device: " <strong>{label}</strong></p>
                    }
                        .into_any()
                }
            }}
            {move || note.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
        </header>
        <main>
            <loader::ModelLoader/>
            {move || state.session.get().map(|_| view! { <prompt::PromptPanel/> <generation::GenerationPanel/> <experiment::ExperimentPanel/> })}
        </main>
    }
}
