//! Reductions along one axis: sum (with a scale, so mean is `scale = 1/n`) and max with argmax.
//!
//! Shapes: any tensor is viewed as `outer × n × inner` around the reduced axis of length `n`;
//! the output is `outer × inner`. Summing everything is `outer = inner = 1`; the bias gradient
//! (sum over a batch of rows) is `outer = 1, n = rows, inner = cols`.
//!
//! SIMD tiers (`simd.rs`) for `sum_forward` (row sums and column sums, e.g. the bias
//! gradient); summation order differs from the reference (vector partial sums), so results
//! agree to rounding (`1e-6·n` relative). The max family and `sum_backward` use the reference.
//!
//! Tested against `reference` in `kernels/tests/elementwise.rs`; benched in
//! `benches/benches/fused.rs`.

pub mod reference;
mod simd;

use std::sync::OnceLock;

use super::check_isa;
use crate::isa::{self, Isa};

simd_tiers!(sum_t: fn(out: &mut [f32], x: &[f32], outer: usize, n: usize, inner: usize, scale: f32, acc: bool) => simd::sum_forward);

fn sum_fn(isa: Isa) -> Option<sum_t::F> {
    match isa {
        Isa::Reference => None,
        t => {
            check_isa(t);
            Some(sum_t::pick(t))
        }
    }
}

fn active_sum() -> Option<sum_t::F> {
    static T: OnceLock<Option<sum_t::F>> = OnceLock::new();
    *T.get_or_init(|| sum_fn(isa::active()))
}

#[allow(clippy::too_many_arguments)]
fn sum_with(
    f: Option<sum_t::F>,
    out: &mut [f32],
    x: &[f32],
    outer: usize,
    n: usize,
    inner: usize,
    scale: f32,
    acc: bool,
) {
    assert!(out.len() >= outer * inner && x.len() >= outer * n * inner);
    match f {
        // SAFETY: lengths checked; supported tier.
        Some(f) => unsafe { f(out, x, outer, n, inner, scale, acc) },
        None => reference::sum_forward(out, x, outer, n, inner, scale, acc),
    }
}

// out (outer×inner) (+)= scale · Σ_k x (outer×n×inner)
pub fn sum_forward(
    out: &mut [f32],
    x: &[f32],
    outer: usize,
    n: usize,
    inner: usize,
    scale: f32,
    acc: bool,
) {
    sum_with(active_sum(), out, x, outer, n, inner, scale, acc)
}

// dx (outer×n×inner) (+)= scale · dy (outer×inner) broadcast over n
pub fn sum_backward(
    dx: &mut [f32],
    dy: &[f32],
    outer: usize,
    n: usize,
    inner: usize,
    scale: f32,
    acc: bool,
) {
    reference::sum_backward(dx, dy, outer, n, inner, scale, acc)
}

// out, argmax (outer×inner) = max_k x (outer×n×inner); n ≥ 1; NaN wins (propagates).
// argmax holds indices as floats (exact below 2^24), like class targets, so it can live in a
// tensor on any device.
pub fn max_forward(
    out: &mut [f32],
    argmax: &mut [f32],
    x: &[f32],
    outer: usize,
    n: usize,
    inner: usize,
) {
    reference::max_forward(out, argmax, x, outer, n, inner)
}

// dx (outer×n×inner) (+)= dy routed to the argmax positions
pub fn max_backward(
    dx: &mut [f32],
    argmax: &[f32],
    dy: &[f32],
    outer: usize,
    n: usize,
    inner: usize,
    acc: bool,
) {
    reference::max_backward(dx, argmax, dy, outer, n, inner, acc)
}

/// As [`sum_forward`] on an explicit tier.
#[allow(clippy::too_many_arguments)]
pub fn sum_forward_isa(
    isa: Isa,
    out: &mut [f32],
    x: &[f32],
    outer: usize,
    n: usize,
    inner: usize,
    scale: f32,
    acc: bool,
) {
    sum_with(sum_fn(isa), out, x, outer, n, inner, scale, acc)
}
