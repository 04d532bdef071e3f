//! One panel a file: each reads and changes `AppState`, and talks to the model only through
//! the worker (`state.worker()`).

pub mod attention;
pub mod bench;
pub mod dataset_form;
pub mod experiment;
pub mod experiment_form;
pub mod features;
mod form;
pub mod gedi;
pub mod generation;
pub mod history;
pub mod lesson;
pub mod loader;
pub mod presets;
pub mod prompt;
pub mod result;
pub mod sampling;
pub mod tagging;
