//! An SAE spliced into the forward pass at its hook, with feature edits: the activation becomes
//! `x + (decode(edited) − decode(acts))`, SAELens's `use_error_term=True` (the reconstruction
//! error is kept, so without edits the model runs unchanged).

use super::{FeatureEdit, Sae};
use crate::hooks::{HookPoint, Hooks};
use burn::tensor::{Int, Tensor, TensorData};

/// Hooks that edit an SAE's features wherever its hook point is reached.
pub struct SaeHooks<'a> {
    sae: &'a Sae,
    edits: &'a [FeatureEdit],
}

impl<'a> SaeHooks<'a> {
    /// `edits` checked against the SAE's width (`FeatureEdits::check_against`).
    pub fn new(sae: &'a Sae, edits: &'a [FeatureEdit]) -> Self {
        Self { sae, edits }
    }

    /// What the edits add to `x`: only the edited features' change, through their decoder rows.
    ///
    /// # Shapes
    /// `x [rows, d_in]` → `[rows, d_in]`.
    fn change(&self, x: Tensor<2>) -> Tensor<2> {
        let device = x.device();
        let encoded = self.sae.encode(x);
        // Each distinct feature once, in first-edit order; edits of one feature compose in order.
        let mut features: Vec<usize> = vec![];
        for edit in self.edits {
            if !features.contains(&edit.feature) {
                features.push(edit.feature);
            }
        }
        let index = Tensor::<1, Int>::from_data(
            TensorData::new(
                features.iter().map(|&f| f as i32).collect(),
                [features.len()],
            ),
            &device,
        );
        let before = encoded.acts.select(1, index.clone());
        let after = Tensor::cat(
            features
                .iter()
                .enumerate()
                .map(|(column, &feature)| {
                    self.edits
                        .iter()
                        .filter(|e| e.feature == feature)
                        .fold(before.clone().narrow(1, column, 1), |acts, edit| {
                            edit.action.apply(acts)
                        })
                })
                .collect(),
            1,
        );
        (after - before).matmul(self.sae.w_dec.clone().select(0, index)) / encoded.scale
    }
}

impl Hooks for SaeHooks<'_> {
    fn fwd<const D: usize>(&mut self, point: HookPoint, x: Tensor<D>) -> Tensor<D> {
        if point != self.sae.config.hook || self.edits.is_empty() {
            return x;
        }
        let dims = x.dims();
        let d_in = dims[D - 1];
        let rows = dims.iter().product::<usize>() / d_in.max(1);
        let change = self.change(x.clone().reshape([rows, d_in]));
        x + change.reshape(dims)
    }

    fn sees(&self, point: HookPoint) -> bool {
        point == self.sae.config.hook && !self.edits.is_empty()
    }
}
