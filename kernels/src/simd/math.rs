//! Vector math over [`Simd`]: `exp`, `sigmoid`, `tanh`, `erf`, and the activations (forward and
//! derivative) the fused kernels apply in registers. Accuracy is documented in `super`.

use super::Simd;
use crate::cpu::activation::Activation;

const LOG2E: f32 = std::f32::consts::LOG2_E;
// ln 2 split Cephes-style so n·LN2_HI is exact for |n| < 2^10.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `eˣ`, Cephes `expf` (≤ 2 ulp). NaN propagates; overflow → inf; underflow → 0/denormal.
#[inline(always)]
pub(crate) fn exp<S: Simd>(x: S::V) -> S::V {
    // Clamp so the scale factor stays in ldexp's range; `max(lo, x)` keeps a NaN `x`.
    let x = S::min(S::splat(89.0), S::max(S::splat(-104.0), x));
    let n = S::round(S::mul(x, S::splat(LOG2E)));
    let r = S::fnma(n, S::splat(LN2_HI), x);
    let r = S::fnma(n, S::splat(LN2_LO), r);
    let mut p = S::splat(1.987_569_1e-4);
    p = S::fma(p, r, S::splat(1.398_199_9e-3));
    p = S::fma(p, r, S::splat(8.333_452e-3));
    p = S::fma(p, r, S::splat(4.166_579_6e-2));
    p = S::fma(p, r, S::splat(1.666_666_5e-1));
    p = S::fma(p, r, S::splat(5.000_000_1e-1));
    let r2 = S::mul(r, r);
    let y = S::add(S::fma(p, r2, r), S::splat(1.0));
    S::ldexp(y, n)
}

/// Logistic function `1/(1+e^{−x})` (exact division; saturates cleanly at both ends).
#[inline(always)]
pub(crate) fn sigmoid<S: Simd>(x: S::V) -> S::V {
    let one = S::splat(1.0);
    S::div(one, S::add(one, exp::<S>(S::sub(S::zero(), x))))
}

/// `tanh x`: Cephes `tanhf` (odd polynomial for |x| < 0.625, else `1 − 2/(e^{2|x|}+1)`).
#[inline(always)]
pub(crate) fn tanh<S: Simd>(x: S::V) -> S::V {
    let ax = S::abs(x);
    // large branch
    let e = exp::<S>(S::mul(S::min(S::splat(9.5), ax), S::splat(2.0)));
    let big = S::sub(
        S::splat(1.0),
        S::div(S::splat(2.0), S::add(e, S::splat(1.0))),
    );
    let big = S::copysign(big, x);
    // small branch
    let z = S::mul(x, x);
    let mut p = S::splat(-5.704_988_7e-3);
    p = S::fma(p, z, S::splat(2.063_908_9e-2));
    p = S::fma(p, z, S::splat(-5.373_971_6e-2));
    p = S::fma(p, z, S::splat(1.333_144_2e-1));
    p = S::fma(p, z, S::splat(-3.333_328_2e-1));
    let small = S::fma(S::mul(p, z), x, x);
    S::select(S::lt(ax, S::splat(0.625)), small, big)
}

/// `erf x` (Juffa's two-piece minimax `erff`, ≤ ~2 ulp).
#[inline(always)]
pub(crate) fn erf<S: Simd>(x: S::V) -> S::V {
    let t = S::abs(x);
    let s = S::mul(x, x);
    // |x| > 0.927734375: erf = 1 − exp(poly(t))
    let mut r = S::fma(S::splat(-1.728_534_7e-5), t, S::splat(3.831_971_3e-4));
    let u = S::fma(S::splat(-3.883_964_4e-3), t, S::splat(2.425_462_2e-2));
    r = S::fma(r, s, u);
    r = S::fma(r, t, S::splat(-1.067_778_8e-1));
    r = S::fma(r, t, S::splat(-6.348_466_9e-1));
    r = S::fma(r, t, S::splat(-1.287_175_1e-1));
    r = S::fma(r, t, S::sub(S::zero(), t));
    let big = S::copysign(S::sub(S::splat(1.0), exp::<S>(r)), x);
    // |x| ≤ 0.927734375: odd polynomial
    let mut q = S::splat(-5.967_617e-4);
    q = S::fma(q, s, S::splat(4.991_194_2e-3));
    q = S::fma(q, s, S::splat(-2.676_813_5e-2));
    q = S::fma(q, s, S::splat(1.128_199_3e-1));
    q = S::fma(q, s, S::splat(-3.761_253_4e-1));
    q = S::fma(q, s, S::splat(1.283_791_7e-1));
    let small = S::fma(q, x, x);
    S::select(S::gt(t, S::splat(0.927_734_4)), big, small)
}

const INV_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// Exact GELU `x·Φ(x)`.
#[inline(always)]
pub(crate) fn gelu<S: Simd>(x: S::V) -> S::V {
    let cdf = S::mul(
        S::splat(0.5),
        S::add(S::splat(1.0), erf::<S>(S::mul(x, S::splat(INV_SQRT_2)))),
    );
    S::mul(x, cdf)
}

/// GELU′(x) = Φ(x) + x·φ(x).
#[inline(always)]
pub(crate) fn gelu_grad<S: Simd>(x: S::V) -> S::V {
    let cdf = S::mul(
        S::splat(0.5),
        S::add(S::splat(1.0), erf::<S>(S::mul(x, S::splat(INV_SQRT_2)))),
    );
    let pdf = S::mul(
        S::splat(INV_SQRT_2PI),
        exp::<S>(S::mul(S::mul(x, x), S::splat(-0.5))),
    );
    S::fma(x, pdf, cdf)
}

/// `f(x)` for an activation, matching `activation::reference::apply`.
#[inline(always)]
pub(crate) fn act_fwd<S: Simd>(act: Activation, x: S::V) -> S::V {
    match act {
        Activation::Identity => x,
        // max(x, 0) with the NaN going through: maxps(x, 0) returns 0 for NaN like the reference
        // (`x > 0 ? x : 0`).
        Activation::Relu => S::select(S::gt(x, S::zero()), x, S::zero()),
        Activation::LeakyRelu(a) => S::select(S::gt(x, S::zero()), x, S::mul(S::splat(a), x)),
        Activation::Elu(a) => S::select(
            S::gt(x, S::zero()),
            x,
            S::mul(S::splat(a), S::sub(exp::<S>(x), S::splat(1.0))),
        ),
        Activation::Gelu => gelu::<S>(x),
        Activation::Sigmoid => sigmoid::<S>(x),
        Activation::Tanh => tanh::<S>(x),
    }
}

/// `f′(x)` from the input `x` (GELU only) and the output `y`, matching
/// `activation::reference::derivative`.
#[inline(always)]
pub(crate) fn act_grad<S: Simd>(act: Activation, x: S::V, y: S::V) -> S::V {
    let one = S::splat(1.0);
    match act {
        Activation::Identity => one,
        Activation::Relu => S::select(S::gt(y, S::zero()), one, S::zero()),
        Activation::LeakyRelu(a) => S::select(S::gt(y, S::zero()), one, S::splat(a)),
        Activation::Elu(a) => S::select(S::gt(y, S::zero()), one, S::add(y, S::splat(a))),
        Activation::Gelu => gelu_grad::<S>(x),
        Activation::Sigmoid => S::mul(y, S::sub(one, y)),
        Activation::Tanh => S::fnma(y, y, one),
    }
}
