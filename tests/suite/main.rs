//! The integration tests, one binary: each file was a test crate of its own, and each linked
//! the library, burn and wgpu again (minutes of a cold CI build). `cargo test --test suite NAME`
//! runs a part, e.g. `cargo test --test suite reference_cpu::`.

#[macro_use]
mod common;

mod cli;
mod datasets;
mod experiments_cpu;
mod experiments_wgpu;
mod export;
mod export_hostile;
mod fused;
mod fuzz_regressions;
mod gpu_calls;
mod history;
mod hooks;
mod loading;
mod presets;
mod reference_cpu;
mod reference_wgpu;
mod sae;
mod security;
mod session;
mod spec;
mod studies;
mod tokenizer;
mod worker_pool;
