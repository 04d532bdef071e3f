//! Which entries of an activation are touched, as a boolean mask: the one builder behind
//! interventions (one selection per axis) and patching sweeps (one selection per cell).

use burn::tensor::{Bool, Device, Tensor, TensorData};

/// A mask over an activation of shape `dims`: axes that some selection restricts are at full
/// size, the others at 1 (broadcast when the mask is applied).
pub struct SelectionMask {
    shape: Vec<usize>,
    restricted: Vec<bool>,
    values: Vec<bool>,
}

impl SelectionMask {
    /// Nothing selected yet; `restricted[axis]`: whether selections may restrict that axis.
    pub fn new(dims: &[usize], restricted: &[bool]) -> Self {
        let shape: Vec<usize> = dims
            .iter()
            .zip(restricted)
            .map(|(&d, &r)| if r { d } else { 1 })
            .collect();
        Self {
            values: vec![false; shape.iter().product()],
            shape,
            restricted: restricted.to_vec(),
        }
    }

    /// Adds every entry whose index on each axis is in that axis's list (`None`: any index).
    pub fn select(&mut self, per_axis: &[Option<&[usize]>]) {
        // The indices of each axis that the selection takes, within the mask's shape.
        let chosen: Vec<Vec<usize>> = self
            .shape
            .iter()
            .zip(per_axis)
            .zip(&self.restricted)
            .map(|((&size, selected), &restricted)| match selected {
                Some(list) if restricted => list.iter().copied().filter(|&i| i < size).collect(),
                _ => (0..size).collect(),
            })
            .collect();
        if chosen.iter().any(Vec::is_empty) {
            return;
        }
        let strides: Vec<usize> = (0..self.shape.len())
            .map(|a| self.shape[a + 1..].iter().product())
            .collect();
        // Every combination of the chosen indices: an odometer over the axes.
        let mut at = vec![0; chosen.len()];
        loop {
            let flat: usize = at
                .iter()
                .zip(&chosen)
                .zip(&strides)
                .map(|((&k, axis), s)| axis[k] * s)
                .sum();
            self.values[flat] = true;
            let mut axis = chosen.len();
            loop {
                if axis == 0 {
                    return;
                }
                axis -= 1;
                at[axis] += 1;
                if at[axis] < chosen[axis].len() {
                    break;
                }
                at[axis] = 0;
            }
        }
    }

    /// The mask, broadcast to `dims`.
    ///
    /// # Shapes
    /// - output: `dims`
    pub fn tensor<const D: usize>(&self, dims: [usize; D], device: &Device) -> Tensor<D, Bool> {
        let mut shape = [0; D];
        shape.copy_from_slice(&self.shape);
        Tensor::<D, Bool>::from_data(TensorData::new(self.values.clone(), shape), device)
            .expand(dims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_are_products_and_unions() {
        let mut mask = SelectionMask::new(&[2, 3, 4], &[true, true, false]);
        assert_eq!(mask.shape, vec![2, 3, 1]);
        mask.select(&[Some(&[1]), Some(&[0, 2]), None]);
        assert_eq!(mask.values, [false, false, false, true, false, true]);
        mask.select(&[Some(&[0]), Some(&[1]), None]);
        assert_eq!(mask.values, [false, true, false, true, false, true]);
        // An unrestricted axis ignores its list; an empty list selects nothing.
        mask.select(&[Some(&[0]), Some(&[]), Some(&[3])]);
        assert_eq!(mask.values, [false, true, false, true, false, true]);
    }
}
