//! Reductions along one axis: sum (with a scale, so mean is `scale = 1/n`) and max with argmax.
//!
//! Shapes: any tensor is viewed as `outer × n × inner` around the reduced axis of length `n`;
//! the output is `outer × inner`. Summing everything is `outer = inner = 1`; the bias gradient
//! (sum over a batch of rows) is `outer = 1, n = rows, inner = cols`.
//!
//! Tested against `reference` in `kernels/tests/elementwise.rs`; benched in
//! `benches/benches/fused.rs`.

pub mod reference;

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
    reference::sum_forward(out, x, outer, n, inner, scale, acc)
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

#[allow(clippy::too_many_arguments)]
pub fn sum_forward_isa(
    _isa: crate::isa::Isa,
    out: &mut [f32],
    x: &[f32],
    outer: usize,
    n: usize,
    inner: usize,
    scale: f32,
    acc: bool,
) {
    reference::sum_forward(out, x, outer, n, inner, scale, acc)
}
