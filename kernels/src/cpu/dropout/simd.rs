//! SIMD bodies of dropout (generic over [`Simd`]). The keep decisions come from the same
//! counter-based generator as the reference (`crate::rng`, 64-bit integer mixing), a vector
//! at a time (`Simd::dropout_keep`: the x86 tiers mix 8 or 4 counters per instruction and
//! compare its integer bits against `rng::keep_threshold(p)`; the portable tier, without a
//! vector generator, runs the reference loop), so masks are bit-identical on every tier; the
//! scaling and the backward product are vectorised.
//! Tested in `kernels/tests/elementwise.rs`; benched in `benches/benches/fused.rs`.

use super::reference;
use crate::rng;
use crate::simd::{Simd, load, store};

// y, mask (n) from x (n)
#[inline(always)]
pub(crate) unsafe fn forward<S: Simd>(
    y: &mut [f32],
    mask: &mut [f32],
    x: &[f32],
    p: f32,
    seed: u64,
    offset: u64,
) {
    let n = y.len();
    let scale = if p < 1.0 {
        (1.0 / (1.0 - p as f64)) as f32
    } else {
        0.0
    };
    let thresh = rng::keep_threshold(p);
    let (yp, mp, xp) = (y.as_mut_ptr(), mask.as_mut_ptr(), x.as_ptr());
    unsafe {
        let mut i = 0;
        while i < n {
            let w = (n - i).min(S::LANES);
            let Some(m) = S::dropout_keep(seed, offset.wrapping_add(i as u64), thresh, scale)
            else {
                // No vector generator on this tier (a tier has one for every call or none, so
                // this is at i = 0).
                return reference::dropout_forward(y, mask, x, p, seed, offset);
            };
            store::<S>(mp.add(i), m, w);
            store::<S>(yp.add(i), S::mul(load::<S>(xp.add(i), w), m), w);
            i += S::LANES;
        }
    }
}

// dx (n) (+)= dy · mask
#[inline(always)]
pub(crate) unsafe fn backward<S: Simd>(dx: &mut [f32], mask: &[f32], dy: &[f32], acc: bool) {
    let n = dx.len();
    let (dp, mp, gp) = (dx.as_mut_ptr(), mask.as_ptr(), dy.as_ptr());
    unsafe {
        let mut i = 0;
        while i < n {
            let w = (n - i).min(S::LANES);
            let mut g = S::mul(load::<S>(gp.add(i), w), load::<S>(mp.add(i), w));
            if acc {
                g = S::add(load::<S>(dp.add(i), w), g);
            }
            store::<S>(dp.add(i), g, w);
            i += S::LANES;
        }
    }
}
