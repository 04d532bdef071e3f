//! Parity with the TransformerLens oracle on burn's CPU backend.

#[macro_use]
mod common;

parity_tests!(patchbay::device::cpu());
