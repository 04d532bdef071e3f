//! The fused kernels on burn's GPU backend, in CubeCL (WGSL in the browser, SPIR-V on Vulkan).
//!
//! A row kernel (LayerNorm, softmax) gives each row to one unit, which loops over it: no
//! barriers, which CPU-emulated GPUs (SwiftShader, lavapipe) pay dearly for — with a cube per
//! row and its units summing through shared memory, the masked softmax took three times as
//! long as the five kernels it replaced on lavapipe. Inputs are made contiguous first, so a
//! row is `width` consecutive values.

use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::{Backend, Dispatch, backend_extension, tensor::FloatTensor};
use burn::tensor::{Shape, Tensor};
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::{CubeCount, CubeDim, calculate_cube_count_elemwise};
use kernels::{causal_softmax_kernel, gelu_new_kernel, layer_norm_kernel};

/// Rows per cube for a row kernel.
const ROW_UNITS: u32 = 64;

/// Units per cube for an elementwise kernel.
const ELEMENTWISE_UNITS: u32 = 256;

/// Kernels that the hooked model composes from several.
#[backend_extension(Cube)]
pub trait FusedKernels: Backend {
    /// LayerNorm over the last axis with its affine.
    fn fused_layer_norm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self>;

    /// `gelu_new`, elementwise.
    fn fused_gelu_new(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `softmax(scores / divisor)` over the last axis, keys after the query masked.
    fn fused_causal_softmax(scores: FloatTensor<Self>, divisor: f64) -> FloatTensor<Self>;
}

/// See [`super::layer_norm`].
pub fn layer_norm(x: Tensor<3>, weight: Tensor<1>, bias: Tensor<1>, epsilon: f64) -> Tensor<3> {
    Tensor::from_dispatch(Dispatch::fused_layer_norm(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        epsilon,
    ))
}

/// See [`super::gelu_new`].
pub fn gelu_new<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(Dispatch::fused_gelu_new(x.into_dispatch()))
}

/// `softmax(scores / divisor)` over the keys, each query masked from the keys after it (the
/// last query aligned with the last key).
///
/// # Shapes
/// - scores: `[batch, head, queries, keys]`
/// - output: `[batch, head, queries, keys]`
pub fn causal_softmax(scores: Tensor<4>, divisor: f64) -> Tensor<4> {
    Tensor::from_dispatch(Dispatch::fused_causal_softmax(
        scores.into_dispatch(),
        divisor,
    ))
}

impl FusedKernels for CubeBackend {
    fn fused_layer_norm(
        x: CubeTensor,
        weight: CubeTensor,
        bias: CubeTensor,
        epsilon: f64,
    ) -> CubeTensor {
        let (x, weight, bias) = (
            into_contiguous(x),
            into_contiguous(weight),
            into_contiguous(bias),
        );
        let output = empty_like(&x);
        let width = *x
            .meta
            .shape()
            .last()
            .expect("a LayerNorm's input has a last axis");
        assert!(
            weight.meta.shape().num_elements() == width
                && bias.meta.shape().num_elements() == width,
            "a LayerNorm of width {width} was given weights of another width"
        );
        let rows = x.meta.shape().num_elements() / width.max(1);
        let client = output.client.clone();
        let (cubes, cube_dim) = row_launch(&client, rows);
        layer_norm_kernel::launch(
            &client,
            cubes,
            cube_dim,
            x.into_tensor_arg(),
            weight.into_tensor_arg(),
            bias.into_tensor_arg(),
            output.clone().into_tensor_arg(),
            epsilon as f32,
            dtype_to_storage_type(output.dtype),
        );
        output
    }

    fn fused_gelu_new(x: CubeTensor) -> CubeTensor {
        let x = into_contiguous(x);
        let output = empty_like(&x);
        let client = output.client.clone();
        let cube_dim = CubeDim::new_1d(ELEMENTWISE_UNITS);
        let cubes = calculate_cube_count_elemwise(&client, x.meta.shape().num_elements(), cube_dim);
        gelu_new_kernel::launch(
            &client,
            cubes,
            cube_dim,
            x.into_tensor_arg(),
            output.clone().into_tensor_arg(),
            dtype_to_storage_type(output.dtype),
        );
        output
    }

    fn fused_causal_softmax(scores: CubeTensor, divisor: f64) -> CubeTensor {
        let scores = into_contiguous(scores);
        let output = empty_like(&scores);
        let shape = scores.meta.shape();
        let keys = shape[shape.num_dims() - 1];
        let rows = shape.num_elements() / keys.max(1);
        let client = output.client.clone();
        let (cubes, cube_dim) = row_launch(&client, rows);
        causal_softmax_kernel::launch(
            &client,
            cubes,
            cube_dim,
            scores.into_tensor_arg(),
            output.clone().into_tensor_arg(),
            divisor as f32,
            dtype_to_storage_type(output.dtype),
        );
        output
    }
}

/// A contiguous tensor of `like`'s shape and type, uninitialised.
fn empty_like(like: &CubeTensor) -> CubeTensor {
    empty_device_contiguous_dtype(
        like.client.clone(),
        like.device.clone(),
        Shape::from(like.meta.shape().to_vec()),
        like.dtype,
    )
}

/// One unit per row, [`ROW_UNITS`] rows per cube.
fn row_launch(client: &cubecl::client::Client, rows: usize) -> (CubeCount, CubeDim) {
    let cube_dim = CubeDim::new_1d(ROW_UNITS);
    (
        calculate_cube_count_elemwise(client, rows, cube_dim),
        cube_dim,
    )
}

mod kernels {
    use cubecl::prelude::*;

    /// One row of a LayerNorm per unit: the mean, then the variance of the centred values (two
    /// passes, as the composed ops), then the normalised, scaled and shifted row.
    #[cube(launch)]
    pub fn layer_norm_kernel<F: Float>(
        input: &Tensor<F>,
        weight: &Tensor<F>,
        bias: &Tensor<F>,
        output: &mut Tensor<F>,
        epsilon: f32,
        #[define(F)] _dtype: ElemType,
    ) {
        let width = weight.len();
        let start = ABSOLUTE_POS * width;
        if start >= input.len() {
            terminate!();
        }
        // Summed as offsets from the row's first value: one unit adds the row in order, and
        // a residual stream's large common offset would cost the sum its low bits.
        let shift = input[start];
        let mut sum = F::new(0.0);
        for i in 0..width {
            sum += input[start + i] - shift;
        }
        let mean = shift + sum / F::cast_from(width);
        let mut squares = F::new(0.0);
        for i in 0..width {
            let centred = input[start + i] - mean;
            squares += centred * centred;
        }
        let scale = F::sqrt(squares / F::cast_from(width) + F::cast_from(epsilon));
        for i in 0..width {
            output[start + i] = (input[start + i] - mean) / scale * weight[i] + bias[i];
        }
    }

    /// `gelu_new` of each element.
    #[cube(launch)]
    pub fn gelu_new_kernel<F: Float>(
        input: &Tensor<F>,
        output: &mut Tensor<F>,
        #[define(F)] _dtype: ElemType,
    ) {
        let i = ABSOLUTE_POS;
        if i >= input.len() {
            terminate!();
        }
        let x = input[i];
        let inner = (x + x * x * x * F::new(0.044715)) * F::new(0.797_884_6);
        output[i] = x * (F::tanh(inner) + F::new(1.0)) * F::new(0.5);
    }

    /// One row of attention scores per unit, `[.., queries, keys]`: divided by `divisor`, the
    /// keys after the query (the last query aligned with the last key) set to 0, the rest
    /// softmaxed. Key 0 is visible to every query, so no row is empty.
    #[cube(launch)]
    pub fn causal_softmax_kernel<F: Float>(
        scores: &Tensor<F>,
        output: &mut Tensor<F>,
        divisor: f32,
        #[define(F)] _dtype: ElemType,
    ) {
        let rank = scores.rank();
        let keys = scores.shape(rank - 1);
        let queries = scores.shape(rank - 2);
        let row = ABSOLUTE_POS;
        let start = row * keys;
        if start >= scores.len() {
            terminate!();
        }
        let visible = row % queries + 1 + keys - queries;
        let divisor = F::cast_from(divisor);
        let mut largest = scores[start] / divisor;
        for i in 1..visible {
            largest = F::max(largest, scores[start + i] / divisor);
        }
        let mut sum = F::new(0.0);
        for i in 0..visible {
            sum += F::exp(scores[start + i] / divisor - largest);
        }
        for i in 0..visible {
            output[start + i] = F::exp(scores[start + i] / divisor - largest) / sum;
        }
        for i in visible..keys {
            output[start + i] = F::new(0.0);
        }
    }
}
