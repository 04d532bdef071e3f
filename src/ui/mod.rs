//! The browser app (Leptos, client-side rendered): pick a device, load a model, run prompts
//! and experiments, keep the results in this browser.
//!
//! The model never runs here: it lives in a Web Worker (`crate::worker`) that `model_worker`
//! starts and talks to, so the page keeps drawing while the model works.
//!
//! Rooms: `page` (address, embed mode, security policy), `views` (the view on screen, from the
//! address), `workbench` (the spec being edited and the run in flight), `model_worker` (requests to
//! the model), `pool` (a sweep shared among workers), `loader` + `files` (getting models and files
//! in and out), `storage` + `history` (IndexedDB), the panels (`prompt`, `attention`, `generation`,
//! `experiment`, `result`, `heatmap`, `bench`).

mod app;
mod crash;
mod failure_view;
pub(crate) mod files;
mod heatmap;
mod js;
mod model_call;
mod model_worker;
mod page;
mod panels;
mod pool;
mod state;
mod storage;
mod views;
mod workbench;

pub use app::App;
pub use crash::install_panic_banner;
pub use failure_view::FailureView;
pub use model_call::ModelCall;
pub use model_worker::ModelWorker;
pub use state::{AppState, backend_label};
