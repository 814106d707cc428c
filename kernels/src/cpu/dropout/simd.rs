//! SIMD bodies of dropout (generic over [`Simd`]). The keep decisions come from the same
//! counter-based generator as the reference (`crate::rng`, 64-bit integer mixing, computed a
//! vector's worth at a time into a small buffer), so masks are bit-identical on every tier;
//! the scaling and the backward product are vectorised.
//! Tested in `kernels/tests/elementwise.rs`; benched in `benches/benches/fused.rs`.

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
    let (yp, mp, xp) = (y.as_mut_ptr(), mask.as_mut_ptr(), x.as_ptr());
    unsafe {
        let mut i = 0;
        while i < n {
            let w = (n - i).min(16);
            for j in 0..w {
                let keep = rng::uniform_f32(seed, offset + (i + j) as u64) >= p;
                *mp.add(i + j) = if keep { scale } else { 0.0 };
            }
            let mut j = 0;
            while j < w {
                let ww = (w - j).min(S::LANES);
                let o = i + j;
                store::<S>(
                    yp.add(o),
                    S::mul(load::<S>(xp.add(o), ww), load::<S>(mp.add(o), ww)),
                    ww,
                );
                j += S::LANES;
            }
            i += 16;
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
