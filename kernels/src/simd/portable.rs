//! The portable tier of [`Simd`]: `wide::f32x8` (8 lanes). On baseline x86-64 that is two SSE2
//! registers (no FMA: `fma` is a multiply and an add); on aarch64 two NEON registers with FMA.
//! `wide` picks its instructions at build time, which is why the x86 tiers use intrinsics.
//! Tested through every kernel test (`kernels/tests/*.rs`, tier `portable`); benched by
//! `benches/benches/fused.rs` and `gemm.rs` with `NEURITE_ISA=portable`.

use wide::{f32x8, i32x8};

use super::Simd;

#[derive(Clone, Copy)]
pub(crate) struct Portable;

impl Simd for Portable {
    const LANES: usize = 8;
    type V = f32x8;
    type M = f32x8;

    #[inline(always)]
    unsafe fn loadu(p: *const f32) -> f32x8 {
        unsafe { f32x8::new(core::ptr::read_unaligned(p as *const [f32; 8])) }
    }
    #[inline(always)]
    unsafe fn storeu(p: *mut f32, v: f32x8) {
        unsafe { core::ptr::write_unaligned(p as *mut [f32; 8], v.to_array()) }
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f32, n: usize) -> f32x8 {
        let mut a = [0.0f32; 8];
        unsafe { core::ptr::copy_nonoverlapping(p, a.as_mut_ptr(), n.min(8)) };
        f32x8::new(a)
    }
    #[inline(always)]
    unsafe fn store_n(p: *mut f32, v: f32x8, n: usize) {
        let a = v.to_array();
        unsafe { core::ptr::copy_nonoverlapping(a.as_ptr(), p, n.min(8)) };
    }
    #[inline(always)]
    fn splat(x: f32) -> f32x8 {
        f32x8::splat(x)
    }
    #[inline(always)]
    fn zero() -> f32x8 {
        f32x8::ZERO
    }
    #[inline(always)]
    fn add(a: f32x8, b: f32x8) -> f32x8 {
        a + b
    }
    #[inline(always)]
    fn sub(a: f32x8, b: f32x8) -> f32x8 {
        a - b
    }
    #[inline(always)]
    fn mul(a: f32x8, b: f32x8) -> f32x8 {
        a * b
    }
    #[inline(always)]
    fn div(a: f32x8, b: f32x8) -> f32x8 {
        a / b
    }
    #[inline(always)]
    fn fma(a: f32x8, b: f32x8, c: f32x8) -> f32x8 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn fnma(a: f32x8, b: f32x8, c: f32x8) -> f32x8 {
        a.mul_neg_add(b, c)
    }
    #[inline(always)]
    fn max(a: f32x8, b: f32x8) -> f32x8 {
        // maxps semantics: b unless a > b (so a NaN in either lane yields b).
        a.simd_gt(b).select(a, b)
    }
    #[inline(always)]
    fn min(a: f32x8, b: f32x8) -> f32x8 {
        a.simd_lt(b).select(a, b)
    }
    #[inline(always)]
    fn abs(a: f32x8) -> f32x8 {
        a.abs()
    }
    #[inline(always)]
    fn sqrt(a: f32x8) -> f32x8 {
        a.sqrt()
    }
    #[inline(always)]
    fn round(a: f32x8) -> f32x8 {
        a.round()
    }
    #[inline(always)]
    fn ldexp(y: f32x8, n: f32x8) -> f32x8 {
        let n1 = (n * f32x8::splat(0.5)).floor();
        let n2 = n - n1;
        let p = |e: f32x8| -> f32x8 {
            let i: i32x8 = (e.round_int() + i32x8::splat(127)) << 23;
            wide::bytemuck::cast(i)
        };
        y * p(n1) * p(n2)
    }
    #[inline(always)]
    fn copysign(a: f32x8, s: f32x8) -> f32x8 {
        a.copysign(s)
    }
    #[inline(always)]
    fn gt(a: f32x8, b: f32x8) -> f32x8 {
        a.simd_gt(b)
    }
    #[inline(always)]
    fn lt(a: f32x8, b: f32x8) -> f32x8 {
        a.simd_lt(b)
    }
    #[inline(always)]
    fn select(m: f32x8, t: f32x8, f: f32x8) -> f32x8 {
        m.select(t, f)
    }
    #[inline(always)]
    fn hsum(a: f32x8) -> f32 {
        let v = a.to_array();
        ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]))
    }
    #[inline(always)]
    fn hmax(a: f32x8) -> f32 {
        a.to_array().into_iter().fold(f32::NEG_INFINITY, f32::max)
    }
}
