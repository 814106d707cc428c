//! Inverted dropout: `mask_i = 1/(1−p)` with probability `1−p`, else 0; `y = x·mask`.
//!
//! The keep decision for element `i` is `rng::uniform_f32(seed, offset + i) ≥ p`, a pure
//! function of `(seed, offset, i)`, so CPU and CUDA draw identical masks. The mask is stored
//! (as floats) for backward: `dx (+)= dy·mask`.
//! Shapes: `y`, `mask`, `x`, `dx`, `dy` all length n; `0 ≤ p < 1`.
//!
//! Tested in `kernels/tests/elementwise.rs` (keep rate, scale, determinism).

pub mod reference;

// y, mask (n) from x (n)
pub fn dropout_forward(y: &mut [f32], mask: &mut [f32], x: &[f32], p: f32, seed: u64, offset: u64) {
    reference::dropout_forward(y, mask, x, p, seed, offset)
}

// dx (n) (+)= dy · mask
pub fn dropout_backward(dx: &mut [f32], mask: &[f32], dy: &[f32], acc: bool) {
    reference::dropout_backward(dx, mask, dy, acc)
}

#[allow(clippy::too_many_arguments)]
pub fn dropout_forward_isa(
    _isa: crate::isa::Isa,
    y: &mut [f32],
    mask: &mut [f32],
    x: &[f32],
    p: f32,
    seed: u64,
    offset: u64,
) {
    reference::dropout_forward(y, mask, x, p, seed, offset)
}
