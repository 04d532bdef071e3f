//! Patchbay: a GPT-2 interpretability lab on burn, shared by the browser app and the CLI.
//!
//! - [`model`]: GPT-2 with TransformerLens hook points.
//! - [`hooks`]: hook names, activation caches, interventions.
//! - [`loading`]: config, weights and tokenizer from bytes.
//! - [`device`]: choosing where the model runs.
//! - [`experiments`]: patching, ablation, lenses, attribution, steering, generation.
//! - [`spec`]: the versioned experiment format and its runner (CLI and browser).
//! - [`datasets`]: prompt sets (the IOI generator, the user's CSV/JSONL pairs) for specs.
//! - [`history`], [`share`], [`figures`]: saved runs, share links, SVG figures; [`open`]:
//!   a spec, history file or share link to run.
//! - [`presets`]: published GPT-2 studies as bundles of example specs with the papers' numbers.
//! - [`session`]: the model's side of the browser app as messages (its Web Worker runs them).
//! - [`failure`]: why a request failed, typed from the worker to the page and the CLI.
//! - [`bench`]: the benchmark workloads, native and in the browser.
//! - `ui` (wasm32 only): the Leptos browser app; `worker` (wasm32 only): the model's Web Worker.

pub mod bench;
pub mod datasets;
pub mod device;
pub mod experiments;
pub mod export;
pub mod failure;
pub mod figures;
pub mod gpu_calls;
pub mod history;
pub mod hooks;
pub mod lesson;
pub mod links;
pub mod loading;
pub mod model;
pub mod open;
pub mod presets;
pub mod reading;
pub mod rng;
pub mod sae;
pub mod session;
pub mod share;
pub mod spec;
pub mod tensor_io;
pub mod terminal;
#[cfg(target_arch = "wasm32")]
pub mod ui;
#[cfg(target_arch = "wasm32")]
pub mod worker;
