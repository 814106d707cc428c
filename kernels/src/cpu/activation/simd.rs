//! SIMD bodies of the activation kernels (generic over [`Simd`]; instantiated per tier by
//! `simd_tiers!` in `mod.rs`). The activation is matched once per call, outside the loops, so
//! each loop is monomorphised for one function. Vector math accuracy: see `crate::simd`.

use super::Activation;
use crate::simd::{Simd, load, map1, math, store};

/// Run `$e` with `$f` bound to a closure `|v| f(v)` for the activation `$act` (one
/// monomorphised copy per activation).
macro_rules! with_act {
    ($S:ty, $act:expr, |$f:ident| $e:expr) => {
        match $act {
            Activation::Identity => {
                let $f = |v: <$S as Simd>::V| v;
                $e
            }
            Activation::Relu => {
                let $f = |v| math::act_fwd::<$S>(Activation::Relu, v);
                $e
            }
            Activation::LeakyRelu(a) => {
                let $f = move |v| math::act_fwd::<$S>(Activation::LeakyRelu(a), v);
                $e
            }
            Activation::Elu(a) => {
                let $f = move |v| math::act_fwd::<$S>(Activation::Elu(a), v);
                $e
            }
            Activation::Gelu => {
                let $f = |v| math::gelu::<$S>(v);
                $e
            }
            Activation::Sigmoid => {
                let $f = |v| math::sigmoid::<$S>(v);
                $e
            }
            Activation::Tanh => {
                let $f = |v| math::tanh::<$S>(v);
                $e
            }
        }
    };
}

/// Same, for the derivative `|x, y| f′`.
macro_rules! with_grad {
    ($S:ty, $act:expr, |$f:ident| $e:expr) => {
        match $act {
            Activation::Identity => {
                let $f = |_x, _y| <$S>::splat(1.0);
                $e
            }
            Activation::Relu => {
                let $f = |x, y| math::act_grad::<$S>(Activation::Relu, x, y);
                $e
            }
            Activation::LeakyRelu(a) => {
                let $f = move |x, y| math::act_grad::<$S>(Activation::LeakyRelu(a), x, y);
                $e
            }
            Activation::Elu(a) => {
                let $f = move |x, y| math::act_grad::<$S>(Activation::Elu(a), x, y);
                $e
            }
            Activation::Gelu => {
                let $f = |x, _y| math::gelu_grad::<$S>(x);
                $e
            }
            Activation::Sigmoid => {
                let $f = |x, y| math::act_grad::<$S>(Activation::Sigmoid, x, y);
                $e
            }
            Activation::Tanh => {
                let $f = |x, y| math::act_grad::<$S>(Activation::Tanh, x, y);
                $e
            }
        }
    };
}

// y (n) = f(x (n))
#[inline(always)]
pub(crate) unsafe fn forward<S: Simd>(act: Activation, y: &mut [f32], x: &[f32]) {
    let n = y.len();
    unsafe { with_act!(S, act, |f| map1::<S>(y.as_mut_ptr(), x.as_ptr(), n, f)) }
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
        with_grad!(S, act, |f| {
            let mut i = 0;
            while i < n {
                let w = (n - i).min(S::LANES);
                let xv = if needs_x {
                    load::<S>(xp.add(i), w)
                } else {
                    S::zero()
                };
                let mut g = S::mul(load::<S>(dyp.add(i), w), f(xv, load::<S>(yp.add(i), w)));
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
        with_grad!(S, act, |f| {
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
                        let g = S::mul(load::<S>(dyp.add(o), w), f(xv, load::<S>(yp.add(o), w)));
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
            0 => map1::<S>(yp, xp, n, |v| math::exp::<S>(v)),
            1 => map1::<S>(yp, xp, n, |v| math::erf::<S>(v)),
            2 => map1::<S>(yp, xp, n, |v| math::tanh::<S>(v)),
            _ => map1::<S>(yp, xp, n, |v| math::sigmoid::<S>(v)),
        }
    }
}
