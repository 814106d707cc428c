//! GEMM, AVX2+FMA tier: `__m256` intrinsics (8 lanes, 16 ymm registers).
//!
//! Microkernels: wide 6×16 (12 ymm accumulators + 2 B + 1 broadcast) and narrow 12×8 for
//! n ≤ 8. Cache blocks KC = 256, NC = 512. No-packing paths: `direct` 4×16 for m ≤ 6 or
//! k ≤ 16, and on one thread for n ≤ 16 (B packed first when its rows are not contiguous;
//! 128→10 forward at batch 128: 18 → 39-43 GFLOP/s on Zen 3), `dot` 4×3 for m ≤ 4;
//! `dot_narrow` (rows × outputs) 6×1, 4×2, 3×3, 2×4 for `x·Wᵀ` with n ≤ 4 at any m (sized
//! to the 16 ymm registers; on Zen 3, batch 128: 128→1 27-34 GFLOP/s, 7-8x `matrixmultiply`,
//! 128→3 41-58, 4.6-4.8x).
//! Operands are read in place only below a 256-float k-step stride (Zen 3 loses 25-40% with
//! in-place B at 256-512-float strides, where the AVX-512 machine still gained), except
//! row-major A, which is read in place at any stride that is not a multiple of 4 KiB (`AROWS`;
//! each row is read contiguously along k). Zen 3, one thread, best / 25th percentile of 600
//! interleaved calls, batch 128: 784→256 forward 87.7 / 78.8 GFLOP/s against 80.9 / 76.0
//! packed, 256→128 forward 87.6 / 85.1 against 80.0 / 78.5, dx = dy·W 784 wide 85.9 / 81.2
//! against 83.7 / 79.3; 64→64 forward 80.3 / 79.4 against 67.7 / 67.4 (200 calls). Rows 4 KiB
//! apart share their L1 sets and lost up to 15% in place, so they stay packed. (Also enabled
//! on the AVX-512 tier, measured on Zen 4; not on the portable one, where SSE2 showed no
//! difference.)
//! Everything here is a thin wrapper around the generic code in `kernel.rs` / `pack.rs`;
//! parameters were chosen with `benches/benches/gemm.rs` on the 2-core AVX-512 machine and
//! checked on a 2-core Zen 3 (AVX2 only) machine (see `benches/RESULTS.md`). Tested by
//! `kernels/tests/matmul.rs` (this tier forced through `matmul_forward_isa`); benched by
//! `neurite bench kernels`.

use super::driver::Kern;
use super::kernel::{self, Block};
use super::pack;
use super::{Gemm, Tier};
use crate::cpu::activation::Activation;
use crate::simd::x86::Avx2 as S;

/// Read row-major A in place (see the header).
const AROWS: bool = true;
const MR: usize = 6;
const NV: usize = 2;
const NR: usize = NV * 8;
/// The narrow kernel: `NMR × LANES`, for outputs at most one vector wide.
const NMR: usize = 12;
const NNR: usize = 8;

#[target_feature(enable = "avx2,fma")]
unsafe fn pack_a(kc: usize, rows: usize, a: *const f32, rsa: usize, csa: usize, dst: *mut f32) {
    unsafe { pack::pack_a::<S, MR>(kc, rows, a, rsa, csa, dst) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn pack_b(kc: usize, cols: usize, b: *const f32, rsb: usize, csb: usize, dst: *mut f32) {
    unsafe { pack::pack_b::<S, NR>(kc, cols, b, rsb, csb, dst) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn macro_tiles(blk: &Block, lo: usize, hi: usize) {
    unsafe { kernel::macro_tiles::<S, MR, NV>(blk, lo, hi) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn pack_a_narrow(
    kc: usize,
    rows: usize,
    a: *const f32,
    rsa: usize,
    csa: usize,
    dst: *mut f32,
) {
    unsafe { pack::pack_a::<S, NMR>(kc, rows, a, rsa, csa, dst) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn pack_b_narrow(
    kc: usize,
    cols: usize,
    b: *const f32,
    rsb: usize,
    csb: usize,
    dst: *mut f32,
) {
    unsafe { pack::pack_b::<S, NNR>(kc, cols, b, rsb, csb, dst) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn macro_tiles_narrow(blk: &Block, lo: usize, hi: usize) {
    unsafe { kernel::macro_tiles::<S, NMR, 1>(blk, lo, hi) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn direct(g: &Gemm) {
    unsafe { kernel::direct::<S, 4, 2>(g) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn dot(g: &Gemm) {
    unsafe { kernel::dot::<S, 4, 3>(g) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn dot_narrow(g: &Gemm) {
    unsafe {
        match g.n {
            1 => kernel::dot_narrow::<S, 6, 1>(g),
            2 => kernel::dot_narrow::<S, 4, 2>(g),
            3 => kernel::dot_narrow::<S, 3, 3>(g),
            _ => kernel::dot_narrow::<S, 2, 4>(g),
        }
    }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn epilogue(c: *mut f32, ldc: usize, m: usize, n: usize, bias: *const f32, act: Activation) {
    unsafe { kernel::epilogue_rows::<S>(c, ldc, m, n, bias, act) }
}

pub(crate) static TIER: Tier = Tier {
    wide: Kern {
        mr: MR,
        nr: NR,
        pack_a,
        pack_b,
        macro_tiles,
        a_in_place: true,
        b_in_place: true,
        a_rows_in_place: AROWS,
    },
    narrow: Kern {
        mr: NMR,
        nr: NNR,
        pack_a: pack_a_narrow,
        pack_b: pack_b_narrow,
        macro_tiles: macro_tiles_narrow,
        a_in_place: true,
        b_in_place: true,
        a_rows_in_place: AROWS,
    },
    kc: 256,
    nc: 512,
    in_place_max_stride: 256,
    direct_max_m: 6,
    direct_max_k: 16,
    narrow_direct: Some((NR, direct)),
    dot_max_m: 4,
    dot_long_k: None,
    dot_max_n: 4,
    dot_narrow,
    direct,
    dot,
    epilogue,
};
