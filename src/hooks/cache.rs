//! Recording activations by hook name (`run_with_cache`).

use super::{HookPoint, Hooks};
use burn::tensor::{Tensor, TensorData};
use std::collections::BTreeMap;

/// One cached activation. GPT-2's hooks are rank 3 (`[batch, pos, d]`) or rank 4
/// (`[batch, pos, head, d_head]`, `[batch, head, q_pos, k_pos]`).
#[derive(Debug, Clone)]
pub enum Activation {
    Rank3(Tensor<3>),
    Rank4(Tensor<4>),
}

/// A tensor operation written once for every rank: what [`Activation::map`] applies (a
/// closure cannot be generic over the rank).
pub trait AnyRank {
    fn apply<const D: usize>(&self, x: Tensor<D>) -> Tensor<D>;
}

impl Activation {
    /// `op` applied to the tensor, whatever its rank.
    pub fn map(&self, op: &impl AnyRank) -> Self {
        match self {
            Self::Rank3(t) => Self::Rank3(op.apply(t.clone())),
            Self::Rank4(t) => Self::Rank4(op.apply(t.clone())),
        }
    }

    /// Wraps a hook's tensor.
    ///
    /// # Panics
    /// If `D` is neither 3 nor 4 (no GPT-2 hook is).
    pub fn new<const D: usize>(x: Tensor<D>) -> Self {
        let d = x.dims();
        match D {
            3 => Self::Rank3(x.reshape([d[0], d[1], d[2]])),
            4 => Self::Rank4(x.reshape([d[0], d[1], d[2], d[3]])),
            _ => panic!("GPT-2 hooks are rank 3 or 4, got rank {D}"),
        }
    }

    /// The tensor at its own rank `D`, or `None` when `D` is not its rank.
    pub fn tensor<const D: usize>(&self) -> Option<Tensor<D>> {
        let dims = self.dims();
        if dims.len() != D {
            return None;
        }
        let mut shape = [0; D];
        shape.copy_from_slice(&dims);
        Some(match self {
            Self::Rank3(t) => t.clone().reshape(shape),
            Self::Rank4(t) => t.clone().reshape(shape),
        })
    }

    /// Shape, batch axis first.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Self::Rank3(t) => t.dims().to_vec(),
            Self::Rank4(t) => t.dims().to_vec(),
        }
    }

    /// Reads the values back from the device (blocking; native only).
    pub fn to_data(&self) -> TensorData {
        match self {
            Self::Rank3(t) => t.to_data(),
            Self::Rank4(t) => t.to_data(),
        }
    }
}

/// Activations of one forward pass, by hook point.
#[derive(Debug, Clone, Default)]
pub struct ActivationCache {
    activations: BTreeMap<HookPoint, Activation>,
}

impl ActivationCache {
    /// The activation at `point`, at its rank `D` (`None` if absent or of another rank).
    pub fn get<const D: usize>(&self, point: HookPoint) -> Option<Tensor<D>> {
        self.activations.get(&point)?.tensor()
    }

    /// The activation at `point`, whatever its rank.
    pub fn activation(&self, point: HookPoint) -> Option<&Activation> {
        self.activations.get(&point)
    }

    /// Stores an activation.
    pub fn insert<const D: usize>(&mut self, point: HookPoint, x: Tensor<D>) {
        self.activations.insert(point, Activation::new(x));
    }

    /// Hook points present, in forward order.
    pub fn points(&self) -> impl Iterator<Item = HookPoint> + '_ {
        self.activations.keys().copied()
    }

    /// `(point, activation)` pairs, in forward order.
    pub fn iter(&self) -> impl Iterator<Item = (HookPoint, &Activation)> {
        self.activations.iter().map(|(p, a)| (*p, a))
    }

    /// Number of cached activations.
    pub fn len(&self) -> usize {
        self.activations.len()
    }

    /// Whether nothing was cached.
    pub fn is_empty(&self) -> bool {
        self.activations.is_empty()
    }
}

/// Hooks that record every activation the filter accepts.
pub struct CacheHooks<F: Fn(HookPoint) -> bool> {
    filter: F,
    /// What has been recorded so far.
    pub cache: ActivationCache,
}

impl<F: Fn(HookPoint) -> bool> CacheHooks<F> {
    /// Records the hook points for which `filter` returns true.
    pub fn new(filter: F) -> Self {
        Self {
            filter,
            cache: ActivationCache::default(),
        }
    }
}

impl<F: Fn(HookPoint) -> bool> Hooks for CacheHooks<F> {
    fn fwd<const D: usize>(&mut self, point: HookPoint, x: Tensor<D>) -> Tensor<D> {
        if (self.filter)(point) {
            self.cache.insert(point, x.clone());
        }
        x
    }

    fn sees(&self, point: HookPoint) -> bool {
        (self.filter)(point)
    }
}
