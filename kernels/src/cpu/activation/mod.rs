//! Activations: `y = f(x)` forward and `dx (+)= dy · f'(x)` backward, elementwise.
//!
//! Shapes: every slice has the same length n. Backward reads the output `y` for every
//! activation except GELU, which reads the input `x` (so fused paths that never materialise the
//! pre-activation can still run backward for the others; see [`Activation::backward_needs_input`]).
//!
//! Fused: [`bias_act_backward`] computes `dpre = dy·f′` and the bias gradient `Σ_rows dpre`
//! in one pass (the Linear+activation backward before its two GEMMs); the forward bias +
//! activation is fused into the GEMM epilogue (`matmul::Epilogue`).
//!
//! SIMD tiers (`simd.rs`, every tier of [`crate::isa`]): activations use the vector math of
//! `crate::simd::math` (exp ≤ 2 ulp, sigmoid/tanh ~1e-6 relative, erf ≤ ~2 ulp), so results
//! match the reference within `1e-6 + 1e-5·|ref|`; ReLU/leaky/identity are exact.
//!
//! Tested against `reference` in `kernels/tests/elementwise.rs` (every tier, awkward lengths,
//! vector math on dense grids against `libm`); benched in `benches/benches/fused.rs`.

pub mod reference;
mod simd;

use std::sync::OnceLock;

use super::check_isa;
use crate::isa::{self, Isa};

simd_tiers!(fwd_t: fn(act: Activation, y: &mut [f32], x: &[f32]) => simd::forward);
simd_tiers!(bwd_t: fn(act: Activation, dx: &mut [f32], x: &[f32], y: &[f32], dy: &[f32], acc: bool) => simd::backward);
simd_tiers!(bias_bwd_t: fn(act: Activation, dpre: &mut [f32], dbias: &mut [f32], x: &[f32], y: &[f32], dy: &[f32], rows: usize, cols: usize, acc_dpre: bool, acc_dbias: bool) => simd::bias_act_backward);
simd_tiers!(vmath_t: fn(which: u8, y: &mut [f32], x: &[f32]) => simd::vmath);

/// The function table of the active tier (`None`: the reference).
struct Table {
    fwd: Option<fwd_t::F>,
    bwd: Option<bwd_t::F>,
    bias_bwd: Option<bias_bwd_t::F>,
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| match isa::active() {
        Isa::Reference => Table {
            fwd: None,
            bwd: None,
            bias_bwd: None,
        },
        t => Table {
            fwd: Some(fwd_t::pick(t)),
            bwd: Some(bwd_t::pick(t)),
            bias_bwd: Some(bias_bwd_t::pick(t)),
        },
    })
}

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
    assert_eq!(y.len(), x.len(), "activation_forward: lengths differ");
    match table().fwd {
        // SAFETY: lengths checked; the table only holds tiers this CPU supports.
        Some(f) => unsafe { f(act, y, x) },
        None => reference::activation_forward(act, y, x),
    }
}

pub fn activation_forward_isa(isa: Isa, act: Activation, y: &mut [f32], x: &[f32]) {
    assert_eq!(y.len(), x.len(), "activation_forward: lengths differ");
    match isa {
        Isa::Reference => reference::activation_forward(act, y, x),
        t => {
            check_isa(t);
            // SAFETY: lengths checked, tier supported.
            unsafe { fwd_t::pick(t)(act, y, x) }
        }
    }
}

fn check_bwd(act: Activation, dx: &[f32], x: &[f32], y: &[f32], dy: &[f32]) {
    let n = dx.len();
    assert!(
        y.len() >= n && dy.len() >= n && (!act.backward_needs_input() || x.len() >= n),
        "activation_backward: operands shorter than dx"
    );
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
    check_bwd(act, dx, x, y, dy);
    match table().bwd {
        // SAFETY: lengths checked; the table only holds supported tiers.
        Some(f) => unsafe { f(act, dx, x, y, dy, accumulate) },
        None => reference::activation_backward(act, dx, x, y, dy, accumulate),
    }
}

pub fn activation_backward_isa(
    isa: Isa,
    act: Activation,
    dx: &mut [f32],
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    accumulate: bool,
) {
    check_bwd(act, dx, x, y, dy);
    match isa {
        Isa::Reference => reference::activation_backward(act, dx, x, y, dy, accumulate),
        t => {
            check_isa(t);
            // SAFETY: lengths checked, tier supported.
            unsafe { bwd_t::pick(t)(act, dx, x, y, dy, accumulate) }
        }
    }
}

/// Fused Linear+activation backward up to the GEMMs, over `rows × cols` row-major:
/// `dpre (+)= dy·f′(x, y)` (accumulate flag `acc_dpre`) and
/// `dbias (+)= Σ_rows dy·f′(x, y)` (flag `acc_dbias`; only the new contribution is summed).
/// `x` (the pre-activation) is only read for GELU and may be empty otherwise.
#[allow(clippy::too_many_arguments)]
pub fn bias_act_backward(
    act: Activation,
    dpre: &mut [f32],
    dbias: &mut [f32],
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    rows: usize,
    cols: usize,
    acc_dpre: bool,
    acc_dbias: bool,
) {
    let f = table().bias_bwd;
    bias_act_backward_with(
        f, act, dpre, dbias, x, y, dy, rows, cols, acc_dpre, acc_dbias,
    )
}

/// As [`bias_act_backward`] on an explicit tier.
#[allow(clippy::too_many_arguments)]
pub fn bias_act_backward_isa(
    isa: Isa,
    act: Activation,
    dpre: &mut [f32],
    dbias: &mut [f32],
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    rows: usize,
    cols: usize,
    acc_dpre: bool,
    acc_dbias: bool,
) {
    let f = match isa {
        Isa::Reference => None,
        t => {
            check_isa(t);
            Some(bias_bwd_t::pick(t))
        }
    };
    bias_act_backward_with(
        f, act, dpre, dbias, x, y, dy, rows, cols, acc_dpre, acc_dbias,
    )
}

#[allow(clippy::too_many_arguments)]
fn bias_act_backward_with(
    f: Option<bias_bwd_t::F>,
    act: Activation,
    dpre: &mut [f32],
    dbias: &mut [f32],
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    rows: usize,
    cols: usize,
    acc_dpre: bool,
    acc_dbias: bool,
) {
    let n = rows * cols;
    assert!(
        dpre.len() >= n && y.len() >= n && dy.len() >= n && dbias.len() >= cols,
        "bias_act_backward: operand too short"
    );
    assert!(!act.backward_needs_input() || x.len() >= n);
    match f {
        // SAFETY: lengths checked; `f` comes from a supported tier.
        Some(f) => unsafe { f(act, dpre, dbias, x, y, dy, rows, cols, acc_dpre, acc_dbias) },
        None => reference::bias_act_backward(
            act, dpre, dbias, x, y, dy, rows, cols, acc_dpre, acc_dbias,
        ),
    }
}

/// Which vector function [`vector_math_isa`] evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorFn {
    Exp,
    Erf,
    Tanh,
    Sigmoid,
}

/// `y = fun(x)` with a tier's vector math (exposed so tests can measure its accuracy against
/// `libm`; the reference tier uses the scalar functions).
pub fn vector_math_isa(isa: Isa, fun: VectorFn, y: &mut [f32], x: &[f32]) {
    assert_eq!(y.len(), x.len());
    if isa == Isa::Reference {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = match fun {
                VectorFn::Exp => v.exp(),
                VectorFn::Erf => libm::erff(v),
                VectorFn::Tanh => v.tanh(),
                VectorFn::Sigmoid => reference::sigmoid(v),
            };
        }
        return;
    }
    check_isa(isa);
    let which = fun as u8;
    // SAFETY: lengths checked, tier supported.
    unsafe { vmath_t::pick(isa)(which, y, x) }
}
