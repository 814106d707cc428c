//! SIMD bodies of the activation kernels (generic over [`Simd`]; instantiated per tier by
//! `simd_tiers!` in `mod.rs`). The activation is matched once per call, outside the loops
//! (`with_act!`), so each loop is monomorphised for one function. Vector math accuracy: see `crate::simd`.
//! Tested in `kernels/tests/elementwise.rs`; benched in `benches/benches/fused.rs`.

use super::Activation;
use crate::simd::math::{self, ActK, K_ERF, K_EXP, with_act};
use crate::simd::{Simd, load, map1, store};

// y (n) = f(x (n))
#[inline(always)]
pub(crate) unsafe fn forward<S: Simd>(act: Activation, y: &mut [f32], x: &[f32]) {
    let n = y.len();
    unsafe { with_act!(act, k => map1::<S, _>(y.as_mut_ptr(), x.as_ptr(), n, k)) }
}

// dx (n) (+)= dy · f′(x, y); `x` is only read for GELU (may be empty otherwise)
#[inline(always)]
pub(crate) unsafe fn backward<S: Simd>(
    act: Activation,
    dx: &mut [f32],
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    acc: bool,
) {
    let n = dx.len();
    let needs_x = act.backward_needs_input();
    let (dxp, xp, yp, dyp) = (dx.as_mut_ptr(), x.as_ptr(), y.as_ptr(), dy.as_ptr());
    unsafe {
        with_act!(act, k => {
            let mut i = 0;
            while i < n {
                let w = (n - i).min(S::LANES);
                let xv = if needs_x {
                    load::<S>(xp.add(i), w)
                } else {
                    S::zero()
                };
                let mut g = S::mul(load::<S>(dyp.add(i), w), VecGrad::<S>::g(k, xv, load::<S>(yp.add(i), w)));
                if acc {
                    g = S::add(load::<S>(dxp.add(i), w), g);
                }
                store::<S>(dxp.add(i), g, w);
                i += S::LANES;
            }
        })
    }
}

/// Fused backward of `y = f(x·Wᵀ + b)` up to the GEMMs: `dpre (+)= dy·f′` over `rows × cols`
/// and, in the same pass, `dbias (+)= Σ_rows dy·f′` (the new contribution only).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn bias_act_backward<S: Simd>(
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
    const NV: usize = 4;
    let needs_x = act.backward_needs_input();
    let (dp, db, xp, yp, dyp) = (
        dpre.as_mut_ptr(),
        dbias.as_mut_ptr(),
        x.as_ptr(),
        y.as_ptr(),
        dy.as_ptr(),
    );
    unsafe {
        with_act!(act, k => {
            // Column blocks of NV vectors; the block's bias sums stay in registers over rows.
            let mut j0 = 0;
            while j0 < cols {
                let mut sums = [S::zero(); NV];
                for r in 0..rows {
                    let base = r * cols + j0;
                    for (v, s) in sums.iter_mut().enumerate() {
                        let j = j0 + v * S::LANES;
                        if j >= cols {
                            break;
                        }
                        let w = (cols - j).min(S::LANES);
                        let o = base + v * S::LANES;
                        let xv = if needs_x {
                            load::<S>(xp.add(o), w)
                        } else {
                            S::zero()
                        };
                        let g = S::mul(load::<S>(dyp.add(o), w), VecGrad::<S>::g(k, xv, load::<S>(yp.add(o), w)));
                        *s = S::add(*s, g);
                        let out = if acc_dpre {
                            S::add(load::<S>(dp.add(o), w), g)
                        } else {
                            g
                        };
                        store::<S>(dp.add(o), out, w);
                    }
                }
                for (v, s) in sums.iter().enumerate() {
                    let j = j0 + v * S::LANES;
                    if j >= cols {
                        break;
                    }
                    let w = (cols - j).min(S::LANES);
                    let out = if acc_dbias {
                        S::add(load::<S>(db.add(j), w), *s)
                    } else {
                        *s
                    };
                    store::<S>(db.add(j), out, w);
                }
                j0 += NV * S::LANES;
            }
        })
    }
}

// y (n) = one of the vector math functions (exp, erf, tanh, sigmoid) of x (n)
#[inline(always)]
pub(crate) unsafe fn vmath<S: Simd>(which: u8, y: &mut [f32], x: &[f32]) {
    let n = y.len();
    let (yp, xp) = (y.as_mut_ptr(), x.as_ptr());
    unsafe {
        match which {
            0 => map1::<S, _>(yp, xp, n, ActK::<K_EXP>(0.0)),
            1 => map1::<S, _>(yp, xp, n, ActK::<K_ERF>(0.0)),
            2 => map1::<S, _>(yp, xp, n, ActK::<{ math::K_TANH }>(0.0)),
            _ => map1::<S, _>(yp, xp, n, ActK::<{ math::K_SIGMOID }>(0.0)),
        }
    }
}
