//! When the app cannot go on (a lost GPU device, a bug): a WebAssembly panic stops the module,
//! so before it does, the page says what happened and that nothing stored is lost.

use wasm_bindgen::JsCast;

/// Installs the panic hook: the message goes to the console and into a banner on the page.
pub fn install_panic_banner() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let message = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        show(&explain(&message));
    }));
}

/// The model's worker stopped (a panic there, or it could not start): the same banner.
pub fn show_worker_crash(message: &str) {
    show(&explain(message));
}

/// What to tell the user about a panic message.
fn explain(message: &str) -> String {
    let lower = message.to_lowercase();
    let cause = if lower.contains("lost") || lower.contains("destroyed") || lower.contains("device")
    {
        "The GPU device was lost (a driver reset, the GPU was needed elsewhere, or the tab slept)."
    } else {
        "Patchbay hit an internal error and stopped."
    };
    format!(
        "{cause} Reload the page to continue: your history and downloaded models are kept in \
         this browser. Details: {message}"
    )
}

fn show(text: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(banner) = document.create_element("div") else {
        return;
    };
    banner.set_id("fatal-error");
    let _ = banner.set_attribute("role", "alert");
    let _ = banner.set_attribute("class", "error fatal");
    banner.set_text_content(Some(text));
    // A link, not a button: after a panic no code of the module may run.
    if let Ok(link) = document.create_element("a") {
        link.set_text_content(Some(" Reload"));
        let _ = link.set_attribute("href", &document.url().unwrap_or_default());
        let _ = banner.append_child(&link);
    }
    if let Some(body) = document.body() {
        let _ = body
            .unchecked_ref::<web_sys::Element>()
            .prepend_with_node_1(&banner);
    }
}
