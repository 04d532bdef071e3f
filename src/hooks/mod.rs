//! TransformerLens-style hooks: named activation points, caching and interventions.
//!
//! Hooks are passed into the forward pass, never stored on the model, so plain inference
//! ([`NoHooks`]) compiles down to the bare computation.

mod cache;
mod intervention;
mod point;
mod selection;

pub use cache::{Activation, ActivationCache, AnyRank, CacheHooks};
pub use intervention::{Action, Intervention, InterventionError, InterventionHooks, Values};
pub use point::{BlockHook, HookPoint, UnknownHook};
pub use selection::SelectionMask;

use burn::tensor::Tensor;

/// Something that sees, and may replace, each named activation of a forward pass.
pub trait Hooks {
    /// Called once per hook point with the activation; returns what the model uses onwards.
    fn fwd<const D: usize>(&mut self, point: HookPoint, x: Tensor<D>) -> Tensor<D>;

    /// Whether this hook set reads or replaces `point`. Where none of a computation's hook
    /// points is seen, the model may run it as one fused kernel that never forms them (a
    /// LayerNorm's scale and normalized input, an attention's scores and pattern).
    fn sees(&self, _point: HookPoint) -> bool {
        true
    }
}

/// The hooks of plain inference: none.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {
    #[inline(always)]
    fn fwd<const D: usize>(&mut self, _point: HookPoint, x: Tensor<D>) -> Tensor<D> {
        x
    }

    fn sees(&self, _point: HookPoint) -> bool {
        false
    }
}

impl<H: Hooks> Hooks for &mut H {
    #[inline(always)]
    fn fwd<const D: usize>(&mut self, point: HookPoint, x: Tensor<D>) -> Tensor<D> {
        (**self).fwd(point, x)
    }

    fn sees(&self, point: HookPoint) -> bool {
        (**self).sees(point)
    }
}

/// Two hook sets in sequence: the first one's output is what the second one sees
/// (interventions first, then a cache records the patched values).
impl<A: Hooks, B: Hooks> Hooks for (A, B) {
    #[inline(always)]
    fn fwd<const D: usize>(&mut self, point: HookPoint, x: Tensor<D>) -> Tensor<D> {
        let x = self.0.fwd(point, x);
        self.1.fwd(point, x)
    }

    fn sees(&self, point: HookPoint) -> bool {
        self.0.sees(point) || self.1.sees(point)
    }
}
