//! Activations: `y = f(x)` forward and `dx (+)= dy · f'(x)` backward, elementwise.
//!
//! Shapes: every slice has the same length n. Backward reads the output `y` for every
//! activation except GELU, which reads the input `x` (so fused paths that never materialise the
//! pre-activation can still run backward for the others; see [`Activation::backward_needs_input`]).
//!
//! Tested against `reference` in `kernels/tests/elementwise.rs` (every tier, awkward lengths);
//! benched in `benches/benches/fused.rs`.

pub mod reference;

use crate::isa::{self, Isa};

/// Activation functions, named as in PyTorch/Keras. Parameters are `f32` for every dtype.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Identity,
    Relu,
    /// `x` if `x > 0`, else `alpha·x` (alpha ≥ 0).
    LeakyRelu(f32),
    /// `x` if `x > 0`, else `alpha·(eˣ − 1)` (alpha > 0).
    Elu(f32),
    /// Exact GELU, `x·Φ(x)` with the error function (PyTorch's default).
    Gelu,
    Sigmoid,
    Tanh,
}

impl Activation {
    pub fn backward_needs_input(self) -> bool {
        matches!(self, Activation::Gelu)
    }

    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Elu(_) => "elu",
            Activation::Gelu => "gelu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
        }
    }
}

// y (n) = f(x (n))
pub fn activation_forward(act: Activation, y: &mut [f32], x: &[f32]) {
    activation_forward_isa(isa::active(), act, y, x)
}

pub fn activation_forward_isa(_isa: Isa, act: Activation, y: &mut [f32], x: &[f32]) {
    debug_assert_eq!(y.len(), x.len());
    reference::activation_forward(act, y, x)
}

// dx (n) (+)= dy (n) · f'(x (n)), with y = f(x)
pub fn activation_backward(
    act: Activation,
    dx: &mut [f32],
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    accumulate: bool,
) {
    activation_backward_isa(isa::active(), act, dx, x, y, dy, accumulate)
}

pub fn activation_backward_isa(
    _isa: Isa,
    act: Activation,
    dx: &mut [f32],
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    accumulate: bool,
) {
    reference::activation_backward(act, dx, x, y, dy, accumulate)
}
