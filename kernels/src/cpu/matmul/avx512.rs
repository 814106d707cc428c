//! GEMM, AVX-512F tier: `__m512` intrinsics (16 lanes, 32 zmm registers).
//!
//! Microkernels: wide 12×32 (24 zmm accumulators: enough independent FMA chains to cover the
//! FMA latency on two pipes, with 2 B loads and 12 broadcasts per k-step) and narrow 24×16
//! for n ≤ 16 (e.g. a 10-class output layer). Cache blocks KC = 256 (a 12×256 A panel stays
//! in L1), NC = 512 (a 256×512 packed B block stays in L2). No-packing paths: `direct` 6×64
//! for m ≤ 12 or k ≤ 16; `direct` 12×16 on one thread for n ≤ 16 (B packed first when its
//! rows are not contiguous; 128→10 forward at batch 128: 41 → 63-70 GFLOP/s on the Intel
//! AVX-512 machine, where 8 and 16 rows measured 3-8% lower); `dot` 4×6 for m ≤ 4, and on one
//! thread for `x·Wᵀ` with m = 5-6 and k ≥ 256 (`dot_long_k`: the 12-row kernel's shortest
//! instance, 8 rows, wastes 2-3 of them; Zen 4, 25th percentile of 1000 interleaved calls,
//! packed → `dot`: 6×784·784×256 46.6 → 64.0 GFLOP/s, 5×784 39.0 → 55.0, 6×1024·1024×1024
//! 41.0 → 56.2, 6×256·256×128 47.2 → 58.5; at k = 128 even and at k = 64 −16%, m = 7 −13%;
//! on two threads the packed path's split is faster, 92.5 against 69.1);
//! `dot_narrow` (rows × outputs) 8×1, 8×2, 6×3, 4×4 for `x·Wᵀ` with n ≤ 4 at any m.
//! Row-major A (`x`, `dy`) is read in place (`AROWS`: the microkernel broadcasts from `MR` row
//! pointers) unless its rows are a multiple of 4 KiB apart. Zen 4, one thread, best / 25th
//! percentile of 300-400 interleaved calls against the packed A: batch 128 784→256 forward 108.2 /
//! 103.7 GFLOP/s against 105.4 / 101.8, 256→128 forward 106.1 / 104.6 against 102.5 / 100.7,
//! dx 784 wide 114.6 / 110.3 against 112.0 / 107.6, 64→64 forward 100.8 / 100.0 against
//! 93.4 / 92.7; the narrow 24×16 kernel on two threads (batch 2048 128→10) 118 / 115 against
//! 90 / 83. Rows 1024 or 2048 floats apart lost 5-7% in place, hence the exception. (Not
//! measured on the Intel AVX-512 machines.)
//! Everything here is a thin wrapper around the generic code in `kernel.rs` / `pack.rs`;
//! parameters were chosen with `benches/benches/gemm.rs` on the 2-core AVX-512 machine (see
//! `benches/RESULTS.md`). Tested by `kernels/tests/matmul.rs` (this tier forced through
//! `matmul_forward_isa`); benched by `neurite bench kernels`.

use super::driver::Kern;
use super::kernel::{self, Block};
use super::pack;
use super::{Gemm, Tier};
use crate::cpu::activation::Activation;
use crate::simd::x86::Avx512 as S;

/// Read row-major A in place (see the header).
const AROWS: bool = true;
const MR: usize = 12;
const NV: usize = 2;
const NR: usize = NV * 16;
/// The narrow kernel: `NMR × LANES`, for outputs at most one vector wide.
const NMR: usize = 24;
const NNR: usize = 16;
/// The narrow no-packing kernel: `DNR × LANES`.
const DNR: usize = 12;

#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn pack_a(kc: usize, rows: usize, a: *const f32, rsa: usize, csa: usize, dst: *mut f32) {
    unsafe { pack::pack_a::<S, MR>(kc, rows, a, rsa, csa, dst) }
}

#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn pack_b(kc: usize, cols: usize, b: *const f32, rsb: usize, csb: usize, dst: *mut f32) {
    unsafe { pack::pack_b::<S, NR>(kc, cols, b, rsb, csb, dst) }
}

#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn macro_tiles(blk: &Block, lo: usize, hi: usize) {
    unsafe { kernel::macro_tiles::<S, MR, NV>(blk, lo, hi) }
}

#[target_feature(enable = "avx512f,avx2,fma")]
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

#[target_feature(enable = "avx512f,avx2,fma")]
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

#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn macro_tiles_narrow(blk: &Block, lo: usize, hi: usize) {
    unsafe { kernel::macro_tiles::<S, NMR, 1>(blk, lo, hi) }
}

#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn direct(g: &Gemm) {
    unsafe { kernel::direct::<S, 6, 4>(g) }
}

#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn direct_narrow(g: &Gemm) {
    unsafe { kernel::direct::<S, DNR, 1>(g) }
}

#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn dot(g: &Gemm) {
    unsafe { kernel::dot::<S, 4, 6>(g) }
}

#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn dot_narrow(g: &Gemm) {
    unsafe {
        match g.n {
            1 => kernel::dot_narrow::<S, 8, 1>(g),
            2 => kernel::dot_narrow::<S, 8, 2>(g),
            3 => kernel::dot_narrow::<S, 6, 3>(g),
            _ => kernel::dot_narrow::<S, 4, 4>(g),
        }
    }
}

#[target_feature(enable = "avx512f,avx2,fma")]
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
    in_place_max_stride: 1024,
    direct_max_m: 12,
    direct_max_k: 16,
    narrow_direct: Some((NNR, direct_narrow)),
    dot_max_m: 4,
    dot_long_k: Some((6, 256)),
    dot_max_n: 4,
    dot_narrow,
    direct,
    dot,
    epilogue,
};
