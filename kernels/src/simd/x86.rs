//! x86-64 tiers of [`Simd`]: `Avx512` (AVX-512F, 16 lanes) and `Avx2` (AVX2 + FMA, 8 lanes).
//!
//! Every method is `#[inline(always)]` and wraps one or a few intrinsics; it must only run
//! inlined into a function compiled with the matching `#[target_feature]` (see `super`).
//! The 8×8 transpose used by GEMM packing is AVX (256-bit) code shared by both tiers.
//! Tested through every kernel test (`kernels/tests/*.rs` force each tier with `*_isa`);
//! benched by `neurite bench kernels` / `benches/benches/*.rs`.

use core::arch::x86_64::*;

use super::Simd;

#[derive(Clone, Copy)]
pub(crate) struct Avx512;
#[derive(Clone, Copy)]
pub(crate) struct Avx2;

#[inline(always)]
fn tail_mask16(n: usize) -> __mmask16 {
    ((1u32 << n) - 1) as __mmask16
}

// Dropout's counter-based generator (`crate::rng::bits`) eight or four 64-bit lanes at a time,
// for `Simd::dropout_keep`. AVX-512F and AVX2 have no 64-bit low multiply (that is AVX-512DQ),
// so `z·c mod 2⁶⁴` is built from three 32×32→64 products:
// `lo(z)·lo(c) + ((hi(z)·lo(c) + lo(z)·hi(c)) << 32)`.

/// `j·K2` for lane `j`: added to `(i + 1)·K2` it gives counter `i + j`'s term `(i + j + 1)·K2`.
const LANE_K2: [u64; 8] = {
    let mut a = [0u64; 8];
    let mut j = 0;
    while j < 8 {
        a[j] = (j as u64).wrapping_mul(crate::rng::K2);
        j += 1;
    }
    a
};

#[inline(always)]
unsafe fn mul64_512(z: __m512i, c: u64) -> __m512i {
    unsafe {
        let lo = _mm512_set1_epi64(c as i64);
        let hi = _mm512_set1_epi64((c >> 32) as i64);
        let ll = _mm512_mul_epu32(z, lo);
        let cross = _mm512_add_epi64(
            _mm512_mul_epu32(_mm512_srli_epi64::<32>(z), lo),
            _mm512_mul_epu32(z, hi),
        );
        _mm512_add_epi64(ll, _mm512_slli_epi64::<32>(cross))
    }
}

/// `rng::bits(seed, ·) >> 40` for the eight counters whose `(counter + 1)·K2` are `ck2`, with
/// `sk1 = seed·K1` in every lane.
#[inline(always)]
unsafe fn bits24_512(sk1: __m512i, ck2: __m512i) -> __m512i {
    unsafe {
        let z = _mm512_xor_si512(sk1, ck2);
        let z = mul64_512(
            _mm512_xor_si512(z, _mm512_srli_epi64::<30>(z)),
            crate::rng::M1,
        );
        let z = mul64_512(
            _mm512_xor_si512(z, _mm512_srli_epi64::<27>(z)),
            crate::rng::M2,
        );
        _mm512_srli_epi64::<40>(_mm512_xor_si512(z, _mm512_srli_epi64::<31>(z)))
    }
}

#[inline(always)]
unsafe fn mul64_256(z: __m256i, c: u64) -> __m256i {
    unsafe {
        let lo = _mm256_set1_epi64x(c as i64);
        let hi = _mm256_set1_epi64x((c >> 32) as i64);
        let ll = _mm256_mul_epu32(z, lo);
        let cross = _mm256_add_epi64(
            _mm256_mul_epu32(_mm256_srli_epi64::<32>(z), lo),
            _mm256_mul_epu32(z, hi),
        );
        _mm256_add_epi64(ll, _mm256_slli_epi64::<32>(cross))
    }
}

/// As `bits24_512`, four lanes.
#[inline(always)]
unsafe fn bits24_256(sk1: __m256i, ck2: __m256i) -> __m256i {
    unsafe {
        let z = _mm256_xor_si256(sk1, ck2);
        let z = mul64_256(
            _mm256_xor_si256(z, _mm256_srli_epi64::<30>(z)),
            crate::rng::M1,
        );
        let z = mul64_256(
            _mm256_xor_si256(z, _mm256_srli_epi64::<27>(z)),
            crate::rng::M2,
        );
        _mm256_srli_epi64::<40>(_mm256_xor_si256(z, _mm256_srli_epi64::<31>(z)))
    }
}

#[inline(always)]
unsafe fn transpose8_avx(src: *const f32, lds: usize, rows: usize, dst: *mut f32, ldd: usize) {
    unsafe {
        let ld = |r: usize| {
            if r < rows {
                _mm256_loadu_ps(src.add(r * lds))
            } else {
                _mm256_setzero_ps()
            }
        };
        let (r0, r1, r2, r3) = (ld(0), ld(1), ld(2), ld(3));
        let (r4, r5, r6, r7) = (ld(4), ld(5), ld(6), ld(7));
        let t0 = _mm256_unpacklo_ps(r0, r1);
        let t1 = _mm256_unpackhi_ps(r0, r1);
        let t2 = _mm256_unpacklo_ps(r2, r3);
        let t3 = _mm256_unpackhi_ps(r2, r3);
        let t4 = _mm256_unpacklo_ps(r4, r5);
        let t5 = _mm256_unpackhi_ps(r4, r5);
        let t6 = _mm256_unpacklo_ps(r6, r7);
        let t7 = _mm256_unpackhi_ps(r6, r7);
        let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        let o = [
            _mm256_permute2f128_ps::<0x20>(s0, s4),
            _mm256_permute2f128_ps::<0x20>(s1, s5),
            _mm256_permute2f128_ps::<0x20>(s2, s6),
            _mm256_permute2f128_ps::<0x20>(s3, s7),
            _mm256_permute2f128_ps::<0x31>(s0, s4),
            _mm256_permute2f128_ps::<0x31>(s1, s5),
            _mm256_permute2f128_ps::<0x31>(s2, s6),
            _mm256_permute2f128_ps::<0x31>(s3, s7),
        ];
        if rows == 8 {
            for (c, v) in o.into_iter().enumerate() {
                _mm256_storeu_ps(dst.add(c * ldd), v);
            }
        } else if rows == 4 {
            for (c, v) in o.into_iter().enumerate() {
                _mm_storeu_ps(dst.add(c * ldd), _mm256_castps256_ps128(v));
            }
        } else {
            for (c, v) in o.into_iter().enumerate() {
                store_part256(dst.add(c * ldd), v, rows);
            }
        }
    }
}

/// Store the first `n` (< 8) lanes of `v` with 128/64/32-bit stores. Not `vmaskmovps`: AMD
/// runs that store as microcode, about 17 cycles each on Zen 3 against about 3 for these
/// (measured; it made row-major A packing 18% of a 512³ GEMM there).
#[inline(always)]
unsafe fn store_part256(p: *mut f32, v: __m256, n: usize) {
    unsafe {
        let (mut q, mut n) = (p, n);
        let mut x = _mm256_castps256_ps128(v);
        if n >= 4 {
            _mm_storeu_ps(q, x);
            x = _mm256_extractf128_ps::<1>(v);
            q = q.add(4);
            n -= 4;
        }
        if n >= 2 {
            _mm_store_sd(q as *mut f64, _mm_castps_pd(x));
            x = _mm_movehl_ps(x, x);
            q = q.add(2);
            n -= 2;
        }
        if n == 1 {
            _mm_store_ss(q, x);
        }
    }
}

#[inline(always)]
fn mask8(n: usize) -> __m256i {
    const M: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];
    unsafe { _mm256_loadu_si256(M.as_ptr().add(8 - n) as *const __m256i) }
}

impl Simd for Avx512 {
    #[inline(always)]
    fn prefetch(p: *const f32) {
        // SAFETY: a prefetch is a hint; it never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
    }

    const LANES: usize = 16;
    type V = __m512;
    type M = __mmask16;

    #[inline(always)]
    unsafe fn loadu(p: *const f32) -> __m512 {
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn storeu(p: *mut f32, v: __m512) {
        unsafe { _mm512_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f32, n: usize) -> __m512 {
        unsafe { _mm512_maskz_loadu_ps(tail_mask16(n), p) }
    }
    #[inline(always)]
    unsafe fn store_n(p: *mut f32, v: __m512, n: usize) {
        unsafe { _mm512_mask_storeu_ps(p, tail_mask16(n), v) }
    }
    #[inline(always)]
    fn splat(x: f32) -> __m512 {
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    fn zero() -> __m512 {
        unsafe { _mm512_setzero_ps() }
    }
    #[inline(always)]
    fn add(a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    fn div(a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_div_ps(a, b) }
    }
    #[inline(always)]
    fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn fnma(a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fnmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn max(a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_max_ps(a, b) }
    }
    #[inline(always)]
    fn min(a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_min_ps(a, b) }
    }
    #[inline(always)]
    fn abs(a: __m512) -> __m512 {
        unsafe { _mm512_abs_ps(a) }
    }
    #[inline(always)]
    fn sqrt(a: __m512) -> __m512 {
        unsafe { _mm512_sqrt_ps(a) }
    }
    #[inline(always)]
    fn round(a: __m512) -> __m512 {
        unsafe { _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a) }
    }
    #[inline(always)]
    fn ldexp(y: __m512, n: __m512) -> __m512 {
        unsafe { _mm512_scalef_ps(y, n) }
    }
    #[inline(always)]
    fn copysign(a: __m512, s: __m512) -> __m512 {
        unsafe {
            let sign = _mm512_set1_epi32(i32::MIN);
            // (|a| & !sign) | (s & sign)
            _mm512_castsi512_ps(_mm512_ternarylogic_epi32::<0xD8>(
                _mm512_castps_si512(a),
                _mm512_castps_si512(s),
                sign,
            ))
        }
    }
    #[inline(always)]
    fn gt(a: __m512, b: __m512) -> __mmask16 {
        unsafe { _mm512_cmp_ps_mask::<_CMP_GT_OQ>(a, b) }
    }
    #[inline(always)]
    fn lt(a: __m512, b: __m512) -> __mmask16 {
        unsafe { _mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b) }
    }
    #[inline(always)]
    fn select(m: __mmask16, t: __m512, f: __m512) -> __m512 {
        unsafe { _mm512_mask_blend_ps(m, f, t) }
    }
    #[inline(always)]
    fn hsum(a: __m512) -> f32 {
        unsafe {
            let lo = _mm512_castps512_ps256(a);
            let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a)));
            hsum256(_mm256_add_ps(lo, hi))
        }
    }
    #[inline(always)]
    fn hsum4(a: [__m512; 4]) -> [f32; 4] {
        unsafe { hsum4_256(fold512(a[0]), fold512(a[1]), fold512(a[2]), fold512(a[3])) }
    }
    #[inline(always)]
    fn dropout_keep(seed: u64, i: u64, thresh: u64, scale: f32) -> Option<__m512> {
        use crate::rng::{K1, K2};
        unsafe {
            let sk1 = _mm512_set1_epi64(seed.wrapping_mul(K1) as i64);
            let c0 = _mm512_set1_epi64(i.wrapping_add(1).wrapping_mul(K2) as i64);
            let a = _mm512_add_epi64(c0, _mm512_loadu_si512(LANE_K2.as_ptr().cast()));
            let b = _mm512_add_epi64(a, _mm512_set1_epi64(8u64.wrapping_mul(K2) as i64));
            let t = _mm512_set1_epi64(thresh as i64);
            let ka = _mm512_cmpge_epu64_mask(bits24_512(sk1, a), t);
            let kb = _mm512_cmpge_epu64_mask(bits24_512(sk1, b), t);
            let k = ka as u16 | (kb as u16) << 8;
            Some(_mm512_maskz_mov_ps(k, _mm512_set1_ps(scale)))
        }
    }
    #[inline(always)]
    fn hmax(a: __m512) -> f32 {
        unsafe {
            let lo = _mm512_castps512_ps256(a);
            let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a)));
            hmax256(_mm256_max_ps(lo, hi))
        }
    }
    #[inline(always)]
    unsafe fn transpose8(src: *const f32, lds: usize, rows: usize, dst: *mut f32, ldd: usize) {
        unsafe { transpose8_avx(src, lds, rows, dst, ldd) }
    }
}

#[inline(always)]
unsafe fn hsum256(v: __m256) -> f32 {
    unsafe {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }
}

/// The two 256-bit halves of `v` added.
#[inline(always)]
unsafe fn fold512(v: __m512) -> __m256 {
    unsafe {
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
        _mm256_add_ps(_mm512_castps512_ps256(v), hi)
    }
}

/// The two 128-bit halves of `v` added.
#[inline(always)]
unsafe fn fold256(v: __m256) -> __m128 {
    unsafe { _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v)) }
}

/// Four horizontal sums, each added in exactly `hsum256`'s order (`s = lo + hi`, then
/// `(s0 + s2) + (s1 + s3)`), so a result does not depend on whether it was reduced alone or
/// with three others (the `dot` kernels reduce full blocks four at a time and partial ones
/// singly, and which rows form a partial block depends on the thread count). The shuffles
/// of the last two steps are shared: 17 instructions instead of 24.
#[inline(always)]
unsafe fn hsum4_256(a: __m256, b: __m256, c: __m256, d: __m256) -> [f32; 4] {
    unsafe {
        let (a, b, c, d) = (fold256(a), fold256(b), fold256(c), fold256(d));
        // [a0+a2, b0+b2, a1+a3, b1+b3] and the same for c, d.
        let ab = _mm_add_ps(_mm_unpacklo_ps(a, b), _mm_unpackhi_ps(a, b));
        let cd = _mm_add_ps(_mm_unpacklo_ps(c, d), _mm_unpackhi_ps(c, d));
        let s = _mm_add_ps(_mm_movelh_ps(ab, cd), _mm_movehl_ps(cd, ab));
        let mut out = [0.0f32; 4];
        _mm_storeu_ps(out.as_mut_ptr(), s);
        out
    }
}

#[inline(always)]
unsafe fn hmax256(v: __m256) -> f32 {
    unsafe {
        let s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_max_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }
}

impl Simd for Avx2 {
    const LANES: usize = 8;
    type V = __m256;
    type M = __m256;

    #[inline(always)]
    unsafe fn loadu(p: *const f32) -> __m256 {
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn storeu(p: *mut f32, v: __m256) {
        unsafe { _mm256_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f32, n: usize) -> __m256 {
        unsafe { _mm256_maskload_ps(p, mask8(n)) }
    }
    #[inline(always)]
    unsafe fn store_n(p: *mut f32, v: __m256, n: usize) {
        unsafe { store_part256(p, v, n) }
    }
    #[inline(always)]
    fn splat(x: f32) -> __m256 {
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    fn zero() -> __m256 {
        unsafe { _mm256_setzero_ps() }
    }
    #[inline(always)]
    fn add(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    fn div(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_div_ps(a, b) }
    }
    #[inline(always)]
    fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn fnma(a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fnmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn max(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_max_ps(a, b) }
    }
    #[inline(always)]
    fn min(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_min_ps(a, b) }
    }
    #[inline(always)]
    fn abs(a: __m256) -> __m256 {
        unsafe { _mm256_andnot_ps(_mm256_set1_ps(-0.0), a) }
    }
    #[inline(always)]
    fn sqrt(a: __m256) -> __m256 {
        unsafe { _mm256_sqrt_ps(a) }
    }
    #[inline(always)]
    fn round(a: __m256) -> __m256 {
        unsafe { _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a) }
    }
    #[inline(always)]
    fn ldexp(y: __m256, n: __m256) -> __m256 {
        unsafe {
            // Two factors 2^n1 · 2^n2 with n1 = floor(n/2), so each exponent stays normal.
            let n1 = _mm256_floor_ps(_mm256_mul_ps(n, _mm256_set1_ps(0.5)));
            let n2 = _mm256_sub_ps(n, n1);
            let bias = _mm256_set1_epi32(127);
            let p1 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
                _mm256_cvtps_epi32(n1),
                bias,
            )));
            let p2 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
                _mm256_cvtps_epi32(n2),
                bias,
            )));
            _mm256_mul_ps(_mm256_mul_ps(y, p1), p2)
        }
    }
    #[inline(always)]
    fn copysign(a: __m256, s: __m256) -> __m256 {
        unsafe {
            let sign = _mm256_set1_ps(-0.0);
            _mm256_or_ps(_mm256_andnot_ps(sign, a), _mm256_and_ps(sign, s))
        }
    }
    #[inline(always)]
    fn gt(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_cmp_ps::<_CMP_GT_OQ>(a, b) }
    }
    #[inline(always)]
    fn lt(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_cmp_ps::<_CMP_LT_OQ>(a, b) }
    }
    #[inline(always)]
    fn select(m: __m256, t: __m256, f: __m256) -> __m256 {
        unsafe { _mm256_blendv_ps(f, t, m) }
    }
    #[inline(always)]
    fn hsum(a: __m256) -> f32 {
        unsafe { hsum256(a) }
    }
    #[inline(always)]
    fn hsum4(a: [__m256; 4]) -> [f32; 4] {
        unsafe { hsum4_256(a[0], a[1], a[2], a[3]) }
    }
    #[inline(always)]
    fn dropout_keep(seed: u64, i: u64, thresh: u64, scale: f32) -> Option<__m256> {
        use crate::rng::{K1, K2};
        unsafe {
            let sk1 = _mm256_set1_epi64x(seed.wrapping_mul(K1) as i64);
            let c0 = _mm256_set1_epi64x(i.wrapping_add(1).wrapping_mul(K2) as i64);
            let a = _mm256_add_epi64(c0, _mm256_loadu_si256(LANE_K2.as_ptr().cast()));
            let b = _mm256_add_epi64(a, _mm256_set1_epi64x(4u64.wrapping_mul(K2) as i64));
            // Both sides are below 2^24 + 1, so the signed compare is exact: v > thresh - 1.
            let t = _mm256_set1_epi64x(thresh as i64 - 1);
            let ka = _mm256_cmpgt_epi64(bits24_256(sk1, a), t);
            let kb = _mm256_cmpgt_epi64(bits24_256(sk1, b), t);
            // The low halves of the 64-bit lane masks, a's in lanes 0-3 and b's in lanes 4-7.
            let idx = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
            let m = _mm256_blend_epi32::<0b1111_0000>(
                _mm256_permutevar8x32_epi32(ka, idx),
                _mm256_permutevar8x32_epi32(kb, idx),
            );
            Some(_mm256_and_ps(_mm256_castsi256_ps(m), _mm256_set1_ps(scale)))
        }
    }
    #[inline(always)]
    fn hmax(a: __m256) -> f32 {
        unsafe { hmax256(a) }
    }
    #[inline(always)]
    unsafe fn transpose8(src: *const f32, lds: usize, rows: usize, dst: *mut f32, ldd: usize) {
        unsafe { transpose8_avx(src, lds, rows, dst, ldd) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[target_feature(enable = "avx2,fma")]
    unsafe fn store_n_avx2(dst: &mut [f32], n: usize) {
        let v = _mm256_setr_ps(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0);
        unsafe { <Avx2 as Simd>::store_n(dst.as_mut_ptr().add(1), v, n) }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn transpose8_rows(src: &[f32], rows: usize, dst: &mut [f32], ldd: usize) {
        unsafe { transpose8_avx(src.as_ptr(), 8, rows, dst.as_mut_ptr(), ldd) }
    }

    /// The partial store writes lanes `0..n` and nothing before or after them.
    #[test]
    fn avx2_store_n_writes_exactly_n_lanes() {
        if !is_x86_feature_detected!("avx2") || !is_x86_feature_detected!("fma") {
            eprintln!("skipped: this CPU has no AVX2+FMA");
            return;
        }
        for n in 0..8 {
            let mut buf = [-1.0f32; 10];
            unsafe { store_n_avx2(&mut buf, n) };
            for (i, &x) in buf.iter().enumerate() {
                let want = if (1..=n).contains(&i) { i as f32 } else { -1.0 };
                assert_eq!(x, want, "n = {n}, slot {i}");
            }
        }
    }

    /// Transposing `rows` rows of an 8×8 block into columns of a `ldd`-wide panel writes
    /// exactly `rows` floats per column (the MR = 6 packing case included).
    #[test]
    fn transpose8_partial_rows() {
        if !is_x86_feature_detected!("avx2") || !is_x86_feature_detected!("fma") {
            eprintln!("skipped: this CPU has no AVX2+FMA");
            return;
        }
        let src: Vec<f32> = (0..64).map(|i| i as f32).collect();
        for rows in 1..=8 {
            for ldd in [rows, 6, 8, 12] {
                if ldd < rows {
                    continue;
                }
                let mut dst = vec![-1.0f32; 8 * ldd + 8];
                unsafe { transpose8_rows(&src, rows, &mut dst, ldd) };
                for c in 0..8 {
                    for r in 0..ldd {
                        let got = dst[c * ldd + r];
                        let want = if r < rows { src[r * 8 + c] } else { -1.0 };
                        assert_eq!(got, want, "rows {rows}, ldd {ldd}, column {c}, row {r}");
                    }
                }
                assert!(
                    dst[8 * ldd..].iter().all(|&x| x == -1.0),
                    "rows {rows}, ldd {ldd}: wrote past the panel"
                );
            }
        }
    }
}
