//! GEMM, portable tier: `wide::f32x8` (SSE2 pairs on baseline x86-64, NEON pairs on aarch64).
//!
//! Microkernels: wide 4×16 and narrow 4×8 for n ≤ 8 (16 architectural xmm registers on SSE2:
//! no taller tiles). Cache blocks KC = 256, NC = 512. No-packing paths: `direct` 4×8 for
//! m ≤ 4 or k ≤ 16, `dot` 2×4 for m ≤ 4, `dot_narrow` (rows × outputs) 4×1, 3×2, 2×3, 2×4
//! for `x·Wᵀ` with n ≤ 4 at any m. No `#[target_feature]`: `wide` is compiled for the
//! build target.
//! Everything here is a thin wrapper around the generic code in `kernel.rs` / `pack.rs`;
//! parameters were chosen with `benches/benches/gemm.rs` on the 2-core AVX-512 machine (see
//! `benches/RESULTS.md`). Tested by `kernels/tests/matmul.rs` (this tier forced through
//! `matmul_forward_isa`); benched by `neurite bench kernels`.

use super::driver::Kern;
use super::kernel::{self, Block};
use super::pack;
use super::{Gemm, Tier};
use crate::cpu::activation::Activation;
use crate::simd::portable::Portable as S;

/// Row-major A is packed (reading it in place is measured only on the AVX2 tier, `avx2.rs`).
const AROWS: bool = false;
const MR: usize = 4;
const NV: usize = 2;
const NR: usize = NV * 8;
/// The narrow kernel: `NMR × LANES`, for outputs at most one vector wide.
const NMR: usize = 4;
const NNR: usize = 8;

unsafe fn pack_a(kc: usize, rows: usize, a: *const f32, rsa: usize, csa: usize, dst: *mut f32) {
    unsafe { pack::pack_a::<S, MR>(kc, rows, a, rsa, csa, dst) }
}

unsafe fn pack_b(kc: usize, cols: usize, b: *const f32, rsb: usize, csb: usize, dst: *mut f32) {
    unsafe { pack::pack_b::<S, NR>(kc, cols, b, rsb, csb, dst) }
}

unsafe fn macro_tiles(blk: &Block, lo: usize, hi: usize) {
    unsafe { kernel::macro_tiles::<S, MR, NV>(blk, lo, hi) }
}

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

unsafe fn macro_tiles_narrow(blk: &Block, lo: usize, hi: usize) {
    unsafe { kernel::macro_tiles::<S, NMR, 1>(blk, lo, hi) }
}

unsafe fn direct(g: &Gemm) {
    unsafe { kernel::direct::<S, 4, 1>(g) }
}

unsafe fn dot(g: &Gemm) {
    unsafe { kernel::dot::<S, 2, 4>(g) }
}

unsafe fn dot_narrow(g: &Gemm) {
    unsafe {
        match g.n {
            1 => kernel::dot_narrow::<S, 4, 1>(g),
            2 => kernel::dot_narrow::<S, 3, 2>(g),
            3 => kernel::dot_narrow::<S, 2, 3>(g),
            _ => kernel::dot_narrow::<S, 2, 4>(g),
        }
    }
}

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
    direct_max_m: 4,
    direct_max_k: 16,
    narrow_direct: None,
    dot_max_m: 4,
    dot_long_k: None,
    dot_max_n: 4,
    dot_narrow,
    direct,
    dot,
    epilogue,
};
