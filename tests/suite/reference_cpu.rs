//! Parity with the TransformerLens oracle on burn's CPU backend.

use crate::common;

parity_tests!(patchbay::device::cpu());
