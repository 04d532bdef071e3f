//! The page's JavaScript helpers (`src/ui/*.js`), as Rust functions: every binding in one
//! place.

use js_sys::Array;
use wasm_bindgen::prelude::*;

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/ui/offline.js")]
extern "C" {
    #[wasm_bindgen(js_name = registerServiceWorker, catch)]
    pub async fn register_service_worker_js(
        on_update: &wasm_bindgen::JsValue,
    ) -> Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>;
    #[wasm_bindgen(js_name = applyUpdate)]
    pub fn apply_update();
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/ui/embed.js")]
extern "C" {
    #[wasm_bindgen(js_name = reportHeight)]
    pub fn report_height();
}

/// IndexedDB (`storage.rs`).
#[wasm_bindgen(module = "/src/ui/storage.js")]
extern "C" {
    #[wasm_bindgen(js_name = openHistory, catch)]
    pub async fn open_history() -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = putRuns, catch)]
    pub async fn put_runs(records: Array) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = allRuns, catch)]
    pub async fn all_runs() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = deleteRuns, catch)]
    pub async fn delete_runs(ids: Array) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = onOtherTabChange)]
    pub fn on_other_tab_change(callback: &Closure<dyn FnMut()>);
    #[wasm_bindgen(catch)]
    pub async fn persist() -> Result<JsValue, JsValue>;
}

/// The model's worker (`model_worker.rs`).
#[wasm_bindgen(module = "/src/ui/model_worker.js")]
extern "C" {
    #[wasm_bindgen(js_name = startModelWorker, catch)]
    pub fn start_model_worker(
        module: &JsValue,
        on_message: &Closure<dyn FnMut(String)>,
        on_failure: &Closure<dyn FnMut(String)>,
    ) -> Result<web_sys::Worker, JsValue>;
    #[wasm_bindgen(js_name = sendToWorker)]
    pub fn send_to_worker(worker: &web_sys::Worker, message: &str, files: &js_sys::Array);
}
