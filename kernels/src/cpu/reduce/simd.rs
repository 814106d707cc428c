//! SIMD body of `sum_forward` (generic over [`Simd`]): row sums (`inner == 1`: vector partial
//! sums, reduced once per row) and column sums (`inner > 1`: blocks of 4 vectors of columns
//! held in registers while the reduced axis streams by).
//! Tested in `kernels/tests/elementwise.rs` (`sums_all_tiers`); benched in
//! `benches/benches/fused.rs`.

use crate::simd::{Simd, load, store};

// out (outer×inner) (+)= scale · Σ_k x (outer×n×inner)
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn sum_forward<S: Simd>(
    out: &mut [f32],
    x: &[f32],
    outer: usize,
    n: usize,
    inner: usize,
    scale: f32,
    acc: bool,
) {
    let (op, xp) = (out.as_mut_ptr(), x.as_ptr());
    unsafe {
        if inner == 1 {
            for o in 0..outer {
                let row = xp.add(o * n);
                let mut s4 = [S::zero(); 4];
                let mut k = 0;
                while k + 4 * S::LANES <= n {
                    for (v, s) in s4.iter_mut().enumerate() {
                        *s = S::add(*s, S::loadu(row.add(k + v * S::LANES)));
                    }
                    k += 4 * S::LANES;
                }
                while k < n {
                    let w = (n - k).min(S::LANES);
                    s4[0] = S::add(s4[0], load::<S>(row.add(k), w));
                    k += S::LANES;
                }
                let s = S::hsum(S::add(S::add(s4[0], s4[1]), S::add(s4[2], s4[3])));
                let d = op.add(o);
                *d = if acc { *d + scale * s } else { scale * s };
            }
            return;
        }
        const NV: usize = 4;
        let sv = S::splat(scale);
        for o in 0..outer {
            let base = xp.add(o * n * inner);
            let mut i0 = 0;
            while i0 < inner {
                let mut s = [S::zero(); NV];
                for k in 0..n {
                    let row = base.add(k * inner + i0);
                    for (v, a) in s.iter_mut().enumerate() {
                        let i = i0 + v * S::LANES;
                        if i < inner {
                            *a = S::add(*a, load::<S>(row.add(v * S::LANES), inner - i));
                        }
                    }
                }
                for (v, a) in s.iter().enumerate() {
                    let i = i0 + v * S::LANES;
                    if i >= inner {
                        break;
                    }
                    let w = (inner - i).min(S::LANES);
                    let d = op.add(o * inner + i);
                    let r = if acc {
                        S::fma(sv, *a, load::<S>(d, w))
                    } else {
                        S::mul(sv, *a)
                    };
                    store::<S>(d, r, w);
                }
                i0 += NV * S::LANES;
            }
        }
    }
}
