//! The browser app (Leptos, client-side rendered).

use crate::device::{self, Backend};
use leptos::prelude::*;

/// The page: which device runs the model, and (in later issues) the experiments.
#[component]
pub fn App() -> impl IntoView {
    let device = LocalResource::new(|| async {
        let (_device, backend, note) = device::browser().await;
        (backend, note)
    });
    view! {
        <main>
            <h1>"Patchbay"</h1>
            <p>"A GPT-2 interpretability lab that runs in your browser: nothing leaves your machine."</p>
            <Suspense fallback=|| view! { <p id="device" data-state="probing">"Looking for WebGPU…"</p> }>
                {move || device.get().map(|(backend, note)| view! { <DeviceStatus backend note/> })}
            </Suspense>
        </main>
    }
}

/// Which backend runs the model, with the reason when it is the CPU fallback.
#[component]
fn DeviceStatus(backend: Backend, note: Option<String>) -> impl IntoView {
    let label = match backend {
        Backend::Wgpu => "WebGPU",
        Backend::Cpu => "CPU (no WebGPU)",
    };
    view! {
        <p id="device" data-state="ready" data-backend=backend.to_string()>"Device: " <strong>{label}</strong></p>
        {note.map(|note| view! { <p class="notice" role="status">{note}</p> })}
    }
}
