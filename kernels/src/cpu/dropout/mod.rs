//! Inverted dropout: `mask_i = 1/(1−p)` with probability `1−p`, else 0; `y = x·mask`.
//!
//! The keep decision for element `i` is `rng::uniform_f32(seed, offset + i) ≥ p`, a pure
//! function of `(seed, offset, i)`, so CPU and CUDA draw identical masks. The mask is stored
//! (as floats) for backward: `dx (+)= dy·mask`.
//! Shapes: `y`, `mask`, `x`, `dx`, `dy` all length n; `0 ≤ p < 1`.
//!
//! SIMD tiers (`simd.rs`): masks bit-identical to the reference (same generator), vectorised
//! scaling and backward.
//!
//! Tested in `kernels/tests/elementwise.rs` (every tier against the reference, keep rate,
//! scale, determinism); benched in `benches/benches/fused.rs`.

pub mod reference;
mod simd;

use std::sync::OnceLock;

use super::check_isa;
use crate::isa::{self, Isa};

simd_tiers!(fwd_t: fn(y: &mut [f32], mask: &mut [f32], x: &[f32], p: f32, seed: u64, offset: u64) => simd::forward);
simd_tiers!(bwd_t: fn(dx: &mut [f32], mask: &[f32], dy: &[f32], acc: bool) => simd::backward);

type Fns = Option<(fwd_t::F, bwd_t::F)>;

fn fns_for(isa: Isa) -> Fns {
    match isa {
        Isa::Reference => None,
        t => {
            check_isa(t);
            Some((fwd_t::pick(t), bwd_t::pick(t)))
        }
    }
}

fn active() -> Fns {
    static T: OnceLock<Fns> = OnceLock::new();
    *T.get_or_init(|| fns_for(isa::active()))
}

fn fwd_with(f: Fns, y: &mut [f32], mask: &mut [f32], x: &[f32], p: f32, seed: u64, off: u64) {
    assert!(mask.len() >= y.len() && x.len() >= y.len());
    match f {
        // SAFETY: lengths checked; supported tier.
        Some((f, _)) => unsafe { f(y, mask, x, p, seed, off) },
        None => reference::dropout_forward(y, mask, x, p, seed, off),
    }
}

fn bwd_with(f: Fns, dx: &mut [f32], mask: &[f32], dy: &[f32], acc: bool) {
    assert!(mask.len() >= dx.len() && dy.len() >= dx.len());
    match f {
        // SAFETY: lengths checked; supported tier.
        Some((_, b)) => unsafe { b(dx, mask, dy, acc) },
        None => reference::dropout_backward(dx, mask, dy, acc),
    }
}

/// As [`dropout_backward`] on an explicit tier.
pub fn dropout_backward_isa(isa: Isa, dx: &mut [f32], mask: &[f32], dy: &[f32], acc: bool) {
    bwd_with(fns_for(isa), dx, mask, dy, acc)
}

// y, mask (n) from x (n)
pub fn dropout_forward(y: &mut [f32], mask: &mut [f32], x: &[f32], p: f32, seed: u64, offset: u64) {
    fwd_with(active(), y, mask, x, p, seed, offset)
}

// dx (n) (+)= dy · mask
pub fn dropout_backward(dx: &mut [f32], mask: &[f32], dy: &[f32], acc: bool) {
    bwd_with(active(), dx, mask, dy, acc)
}

/// As [`dropout_forward`] on an explicit tier.
pub fn dropout_forward_isa(
    isa: Isa,
    y: &mut [f32],
    mask: &mut [f32],
    x: &[f32],
    p: f32,
    seed: u64,
    offset: u64,
) {
    fwd_with(fns_for(isa), y, mask, x, p, seed, offset)
}
