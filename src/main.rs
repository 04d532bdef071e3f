//! The browser app's entry point: Trunk builds this binary to wasm.

#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    /// The static constructors wasm-ld collects (pliron's `inventory` registrations, in burn's
    /// GPU kernel compiler).
    fn __wasm_call_ctors();
}

/// The same module runs twice: on the page (the app) and in the model's Web Worker, which the
/// page starts with this module.
#[cfg(target_arch = "wasm32")]
fn main() {
    // Once, here. A module that never calls them is linked "command style": every call from
    // JavaScript into it (each event handler, each resolved promise) would run all the
    // constructors again first, milliseconds each time (measured: 3 s of main-thread time to
    // draw one prompt's results).
    // SAFETY: the linker's constructor function, called before anything reads what it registers.
    unsafe { __wasm_call_ctors() };
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
