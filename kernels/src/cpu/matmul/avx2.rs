//! GEMM, AVX2+FMA tier: `__m256` intrinsics (8 lanes, 16 ymm registers): 12 accumulators.
//!
//! Microkernel 6×16 (`MR × NV·LANES`), cache blocks KC = 256, NC = 512; no-packing
//! paths: `direct` 4×16 for m ≤ 4, `dot` 4×3 for m ≤ 4.
//! Everything here is a thin `#[target_feature]` wrapper around the generic code in
//! `kernel.rs`/`pack.rs`; the parameters were tuned with `benches/benches/gemm.rs` on the
//! 2-core AVX-512 machine (see `benches/RESULTS.md`).
//! Tested by `kernels/tests/matmul.rs` (this tier forced through `matmul_forward_isa`).

use super::kernel::{self, Block};
use super::pack;
use super::{Gemm, Tier};
use crate::cpu::activation::Activation;
use crate::simd::x86::Avx2 as S;

const MR: usize = 6;
const NV: usize = 2;
const NR: usize = NV * 8;

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
unsafe fn direct(g: &Gemm) {
    unsafe { kernel::direct::<S, 4, 2>(g) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn dot(g: &Gemm) {
    unsafe { kernel::dot::<S, 4, 3>(g) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn epilogue(c: *mut f32, ldc: usize, m: usize, n: usize, bias: *const f32, act: Activation) {
    unsafe { kernel::epilogue_rows::<S>(c, ldc, m, n, bias, act) }
}

pub(crate) static TIER: Tier = Tier {
    mr: MR,
    nr: NR,
    kc: 256,
    nc: 512,
    direct_max_m: 4,
    dot_max_m: 4,
    pack_a,
    pack_b,
    macro_tiles,
    direct,
    dot,
    epilogue,
};
