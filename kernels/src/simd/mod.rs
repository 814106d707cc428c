//! A small width-generic SIMD trait and the vector math built on it (exp, sigmoid, tanh, erf).
//!
//! What: one trait, [`Simd`], over a vector of `f32` lanes, with three implementations:
//! - `Avx512` (`__m512`, 16 lanes) and `Avx2` (`__m256`, 8 lanes): `core::arch` intrinsics,
//!   x86-64 only (`#[cfg(target_arch = "x86_64")]`), see [`x86`];
//! - `Portable` (`wide::f32x8`, 8 lanes): SSE2 on baseline x86-64, NEON on aarch64, see
//!   [`portable`].
//!
//! Kernels are written once, generically over `S: Simd`, as `#[inline(always)]` bodies, and
//! instantiated inside thin `#[target_feature(enable = ...)]` wrappers (one per tier) that are
//! only called after run-time detection ([`crate::isa`]). The trait methods are safe to *call*
//! only inside such a wrapper: that is the one safety contract of this module, and the reason
//! the tier types are crate-private.
//!
//! Accuracy of the vector math (checked in `kernels/tests/elementwise.rs` against `libm`):
//! - `exp`: Cephes `expf` range reduction + degree-6 polynomial, ≤ 2 ulp on [-87, 88]; overflow
//!   gives `inf`, underflow gives denormals/0 like the scalar function.
//! - `sigmoid = 1/(1+exp(-x))` and `tanh` (Cephes `tanhf`: odd polynomial below 0.625,
//!   `1 − 2/(e^{2|x|}+1)` above): ≤ ~1e-6 relative / 1e-7 absolute.
//! - `erf`: two minimax pieces (Juffa's `erff`: odd polynomial below 0.927, `1 − exp(p(|x|))`
//!   above), ≤ ~2 ulp; comfortably below the 1e-7 absolute target (A&S 7.1.26 is 1.5e-7).
//!
//! How tested: `kernels/tests/elementwise.rs` (every tier, dense grids against `libm`).
//! How benched: `benches/benches/fused.rs` (the fused kernels that use this math).

#![allow(clippy::missing_safety_doc)]

pub(crate) mod math;
pub(crate) mod portable;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

/// A vector of `f32` lanes. See the module docs for the safety contract.
pub(crate) trait Simd: Copy + Send + Sync + 'static {
    const LANES: usize;
    type V: Copy;
    /// A lane mask (comparison result).
    type M: Copy;

    /// Unaligned load of `LANES` floats.
    unsafe fn loadu(p: *const f32) -> Self::V;
    /// Unaligned store of `LANES` floats.
    unsafe fn storeu(p: *mut f32, v: Self::V);
    /// Load the first `n < LANES` floats, the other lanes are 0. Never reads past `p + n`.
    unsafe fn load_n(p: *const f32, n: usize) -> Self::V;
    /// Store the first `n < LANES` lanes. Never writes past `p + n`.
    unsafe fn store_n(p: *mut f32, v: Self::V, n: usize);

    fn splat(x: f32) -> Self::V;
    fn zero() -> Self::V;
    fn add(a: Self::V, b: Self::V) -> Self::V;
    fn sub(a: Self::V, b: Self::V) -> Self::V;
    fn mul(a: Self::V, b: Self::V) -> Self::V;
    fn div(a: Self::V, b: Self::V) -> Self::V;
    /// `a·b + c` (fused where the tier has FMA).
    fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `c − a·b`
    fn fnma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `max(a, b)`; when either is NaN returns `b` (x86 `maxps` semantics).
    fn max(a: Self::V, b: Self::V) -> Self::V;
    /// `min(a, b)`; when either is NaN returns `b`.
    fn min(a: Self::V, b: Self::V) -> Self::V;
    fn abs(a: Self::V) -> Self::V;
    fn sqrt(a: Self::V) -> Self::V;
    /// Round to nearest integer (ties to even), as a float.
    fn round(a: Self::V) -> Self::V;
    /// `y · 2ⁿ` for integer-valued `n` in [-150, 130] (overflow → inf, underflow → 0).
    fn ldexp(y: Self::V, n: Self::V) -> Self::V;
    /// `|a|` with the sign of `s`.
    fn copysign(a: Self::V, s: Self::V) -> Self::V;

    fn gt(a: Self::V, b: Self::V) -> Self::M;
    fn lt(a: Self::V, b: Self::V) -> Self::M;
    /// `m ? t : f` per lane.
    fn select(m: Self::M, t: Self::V, f: Self::V) -> Self::V;

    fn hsum(a: Self::V) -> f32;
    /// `[hsum(a[0]), .., hsum(a[3])]`. The x86 tiers share the shuffles and adds of the four
    /// reductions (`dot` kernels end every output with one, so at small `k` they cost as much
    /// as the FMAs).
    #[inline(always)]
    fn hsum4(a: [Self::V; 4]) -> [f32; 4] {
        a.map(Self::hsum)
    }
    fn hmax(a: Self::V) -> f32;

    /// Dropout keep decisions for the `LANES` counters `i, i + 1, …` (wrapping) of stream
    /// `seed`: lane `j` is `scale` where `rng::bits(seed, i + j) >> 40 >= thresh`, else 0. With
    /// `thresh = rng::keep_threshold(p)` that is exactly `rng::uniform_f32(seed, i + j) >= p`.
    /// `None` (this default): the tier has no vector generator and dropout runs the scalar
    /// reference loop. The x86 tiers mix 8 or 4 counters per instruction; `wide` (the portable
    /// tier) has no 64-bit multiply, and drawing lane by lane into memory to reload a vector
    /// stalls on store forwarding (Zen 4, 32768 floats: 62-80 µs against the reference's
    /// 53-58).
    #[inline(always)]
    fn dropout_keep(seed: u64, i: u64, thresh: u64, scale: f32) -> Option<Self::V> {
        let _ = (seed, i, thresh, scale);
        None
    }

    /// Hint that the cache line holding `p` will be read soon (into L1). Never faults. A
    /// no-op by default: only the AVX-512 tier was measured to gain from it (the AVX2 tier was
    /// tuned on Zen 3 without it, and the portable tier has no prefetch in `wide`).
    #[inline(always)]
    fn prefetch(_p: *const f32) {}

    /// Transpose an 8×8 block: `dst[c·ldd + r] = src[r·lds + c]` for `r < rows`, `c < 8`,
    /// where rows `rows..8` of the source read as zero and only `rows` floats of each of the 8
    /// destination rows are written. x86 tiers override this with shuffles.
    #[inline(always)]
    unsafe fn transpose8(src: *const f32, lds: usize, rows: usize, dst: *mut f32, ldd: usize) {
        unsafe {
            for r in 0..rows {
                for c in 0..8 {
                    *dst.add(c * ldd + r) = *src.add(r * lds + c);
                }
            }
        }
    }
}

/// Load `n ≤ LANES` floats (full or partial).
#[inline(always)]
pub(crate) unsafe fn load<S: Simd>(p: *const f32, n: usize) -> S::V {
    unsafe {
        if n >= S::LANES {
            S::loadu(p)
        } else {
            S::load_n(p, n)
        }
    }
}

/// Store `n ≤ LANES` floats (full or partial).
#[inline(always)]
pub(crate) unsafe fn store<S: Simd>(p: *mut f32, v: S::V, n: usize) {
    unsafe {
        if n >= S::LANES {
            S::storeu(p, v)
        } else {
            S::store_n(p, v, n)
        }
    }
}

/// Apply `f` lane-wise over `y[i] = f(x[i])` for `i < n`, full vectors then one partial tail.
#[inline(always)]
pub(crate) unsafe fn map1<S: Simd, F: math::VecFn<S>>(y: *mut f32, x: *const f32, n: usize, f: F) {
    unsafe {
        let mut i = 0;
        while i + S::LANES <= n {
            S::storeu(y.add(i), f.f(S::loadu(x.add(i))));
            i += S::LANES;
        }
        if i < n {
            S::store_n(y.add(i), f.f(S::load_n(x.add(i), n - i)), n - i);
        }
    }
}
