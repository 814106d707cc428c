//! Vector math over [`Simd`]: `exp`, `sigmoid`, `tanh`, `erf`, and the activations (forward and
//! derivative) the fused kernels apply in registers. Accuracy is documented in `super`.
//! Tested in `kernels/tests/elementwise.rs` (`vector_math_accuracy_against_libm`, and the
//! activations and GEMM epilogues against the reference); benched in `benches/benches/fused.rs`.

#![allow(clippy::excessive_precision)] // published minimax constants, kept as printed

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

/// A lane-wise function as a value whose `#[inline(always)]` method is guaranteed to inline into
/// the `#[target_feature]` caller. (A closure would be compiled as its own function *without*
/// the caller's target features, turning every intrinsic into a call.)
pub(crate) trait VecFn<S: Simd>: Copy {
    fn f(self, v: S::V) -> S::V;
}

/// The derivative counterpart: `g(x, y) = f′` from the input and the output.
pub(crate) trait VecGrad<S: Simd>: Copy {
    fn g(self, x: S::V, y: S::V) -> S::V;
}

/// Activation `K` (see [`act_kind`]) with its parameter, as a [`VecFn`] / [`VecGrad`]; `K` is a
/// constant, so the `match` below folds away and each activation gets its own loop.
#[derive(Clone, Copy)]
pub(crate) struct ActK<const K: u8>(pub f32);

pub(crate) const K_IDENTITY: u8 = 0;
pub(crate) const K_RELU: u8 = 1;
pub(crate) const K_LEAKY: u8 = 2;
pub(crate) const K_ELU: u8 = 3;
pub(crate) const K_GELU: u8 = 4;
pub(crate) const K_SIGMOID: u8 = 5;
pub(crate) const K_TANH: u8 = 6;
pub(crate) const K_EXP: u8 = 10;
pub(crate) const K_ERF: u8 = 11;

impl<S: Simd, const K: u8> VecFn<S> for ActK<K> {
    #[inline(always)]
    fn f(self, v: S::V) -> S::V {
        match K {
            K_IDENTITY => v,
            K_RELU => act_fwd::<S>(Activation::Relu, v),
            K_LEAKY => act_fwd::<S>(Activation::LeakyRelu(self.0), v),
            K_ELU => act_fwd::<S>(Activation::Elu(self.0), v),
            K_GELU => gelu::<S>(v),
            K_SIGMOID => sigmoid::<S>(v),
            K_TANH => tanh::<S>(v),
            K_EXP => exp::<S>(v),
            _ => erf::<S>(v),
        }
    }
}

impl<S: Simd, const K: u8> VecGrad<S> for ActK<K> {
    #[inline(always)]
    fn g(self, x: S::V, y: S::V) -> S::V {
        match K {
            K_IDENTITY => S::splat(1.0),
            K_RELU => act_grad::<S>(Activation::Relu, x, y),
            K_LEAKY => act_grad::<S>(Activation::LeakyRelu(self.0), x, y),
            K_ELU => act_grad::<S>(Activation::Elu(self.0), x, y),
            K_GELU => gelu_grad::<S>(x),
            K_SIGMOID => act_grad::<S>(Activation::Sigmoid, x, y),
            _ => act_grad::<S>(Activation::Tanh, x, y),
        }
    }
}

/// Run `$e` with `$k` bound to the [`ActK`] of the activation `$act` (one monomorphised copy
/// of `$e` per activation).
macro_rules! with_act {
    ($act:expr, $k:ident => $e:expr) => {{
        use $crate::cpu::activation::Activation as A;
        use $crate::simd::math::*;
        match $act {
            A::Identity => {
                let $k = ActK::<K_IDENTITY>(0.0);
                $e
            }
            A::Relu => {
                let $k = ActK::<K_RELU>(0.0);
                $e
            }
            A::LeakyRelu(a) => {
                let $k = ActK::<K_LEAKY>(a);
                $e
            }
            A::Elu(a) => {
                let $k = ActK::<K_ELU>(a);
                $e
            }
            A::Gelu => {
                let $k = ActK::<K_GELU>(0.0);
                $e
            }
            A::Sigmoid => {
                let $k = ActK::<K_SIGMOID>(0.0);
                $e
            }
            A::Tanh => {
                let $k = ActK::<K_TANH>(0.0);
                $e
            }
        }
    }};
}
pub(crate) use with_act;
