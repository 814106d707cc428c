//! GEMM, portable tier: `wide::f32x8` (SSE2 pairs on baseline x86-64, NEON pairs on aarch64).
//!
//! Microkernel 4×16 (`MR × NV·LANES`), cache blocks KC = 256, NC = 512; no-packing
//! paths: `direct` 4×8 for m ≤ 4, `dot` 2×4 for m ≤ 4.
//! Everything here is a thin wrapper (no `#[target_feature]`: `wide` is compiled for the
//! build target) around the generic code in
//! `kernel.rs`/`pack.rs`; the parameters were tuned with `benches/benches/gemm.rs` on the
//! 2-core AVX-512 machine (see `benches/RESULTS.md`).
//! Tested by `kernels/tests/matmul.rs` (this tier forced through `matmul_forward_isa`).

use super::kernel::{self, Block};
use super::pack;
use super::{Gemm, Tier};
use crate::cpu::activation::Activation;
use crate::simd::portable::Portable as S;

const MR: usize = 4;
const NV: usize = 2;
const NR: usize = NV * 8;

unsafe fn pack_a(kc: usize, rows: usize, a: *const f32, rsa: usize, csa: usize, dst: *mut f32) {
    unsafe { pack::pack_a::<S, MR>(kc, rows, a, rsa, csa, dst) }
}

unsafe fn pack_b(kc: usize, cols: usize, b: *const f32, rsb: usize, csb: usize, dst: *mut f32) {
    unsafe { pack::pack_b::<S, NR>(kc, cols, b, rsb, csb, dst) }
}

unsafe fn macro_tiles(blk: &Block, lo: usize, hi: usize) {
    unsafe { kernel::macro_tiles::<S, MR, NV>(blk, lo, hi) }
}

unsafe fn direct(g: &Gemm) {
    unsafe { kernel::direct::<S, 4, 1>(g) }
}

unsafe fn dot(g: &Gemm) {
    unsafe { kernel::dot::<S, 2, 4>(g) }
}

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
