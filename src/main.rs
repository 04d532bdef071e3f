//! The browser app's entry point: Trunk builds this binary to wasm.

/// The same module runs twice: on the page (the app) and in the model's Web Worker, which the
/// page starts with this module.
#[cfg(target_arch = "wasm32")]
fn main() {
    if patchbay::worker::in_worker() {
        patchbay::worker::start();
    } else {
        patchbay::ui::install_panic_banner();
        leptos::mount::mount_to_body(patchbay::ui::App);
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "patchbay-web is the browser app: serve it with `ci/serve` (trunk serve); the native tool is `patchbay`."
    );
    std::process::exit(2);
}
