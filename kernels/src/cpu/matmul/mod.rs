//! GEMM: `C (m×n) = act(A (m×k) · B (k×n) [+ C] [+ bias])`.
//!
//! Shapes and layout: `A` and `B` are [`MatRef`]s with arbitrary row/column strides, so `x·Wᵀ`
//! (W stored `[out, in]`) and `xᵀ·dy` need no copy: pass `w.t()` / `x.t()`. `C` is row-major
//! with row stride `ldc` (column stride 1).
//!
//! Accumulate (beta) semantics, documented once: `accumulate == false` overwrites C (C is never
//! read, so it may hold garbage or NaN), `accumulate == true` adds `A·B` to the existing C. The
//! epilogue is applied last, to the final value: `C = act(A·B + beta·C + bias)`, bias broadcast
//! over rows (one value per column). `k == 0` gives `C = act(beta·C + bias)`.
//!
//! Implementation (BLIS style, `kernel.rs` generic over the [`crate::simd::Simd`] tiers):
//! - packed path: k is cut into `KC` blocks and n into `NC` blocks (even sizes); per block,
//!   operands whose k-steps are not contiguous runs are packed into `MR`-tall / `NR`-wide
//!   panels (`pack.rs`: 8×8 shuffle transposes for row-major A and for `Wᵀ`), while A with
//!   unit row stride (`xᵀ`) and row-major B are read in place below 4 KiB strides (only a
//!   partial last panel is packed); on the AVX2 and AVX-512 tiers row-major A (`x`, `dy`) is
//!   read in place too, the microkernel broadcasting from `MR` row pointers instead of a
//!   transposed copy (Zen 3, AVX2: batch-128 784→256 forward 81 → 88 GFLOP/s best of 600
//!   calls, 64→64 68 → 80; Zen 4, AVX-512: 105 → 108, 64→64 93 → 101; strides that are
//!   multiples of 4 KiB stay packed). Every `MR × NR` tile runs the
//!   register-blocked microkernel, A panel in L1, B streaming from L2; edge tiles run
//!   smaller instances (rows in steps of 4, one vector) instead of computing padding; bias
//!   and activation are applied in registers on the last k block. A packed A with more than
//!   one column block is packed once per k block (up to 1024 rows at a time) and reused
//!   across the column blocks, and a C of 1 MiB or more has each tile's rows prefetched
//!   before its k loop (AVX-512 tier; the others have no prefetch). Zen 4, 25th percentile:
//!   square 1024 94.8 → 99.4 GFLOP/s, 1536 91.7 → 100.1, 2048 94.3 → 99.2. Tiers
//!   (`avx512.rs`, `avx2.rs`, `portable.rs`): AVX-512 12×32 (24 zmm accumulators) and 24×16
//!   for n ≤ 16, AVX2 6×16 and 12×8, portable 4×16 and 4×8.
//! - no-packing paths for small shapes: `direct` (row-major B, `m` ≤ MR or `k` ≤ 16:
//!   broadcast A in place, load B rows in place; outputs one vector wide take the tier's
//!   narrow `direct` kernel) and `dot` (A and B both contiguous along k,
//!   i.e. `x·Wᵀ`, `m` ≤ 4, on the AVX-512 tier also m = 5-6 at k ≥ 256 on one thread: dot
//!   products vectorised along k — small-batch inference); the same
//!   layout with `n` ≤ 4 at any `m` takes `dot_narrow` (one- to four-unit output heads, where a
//!   broadcast kernel would fill `n` of its lanes: 128→1 forward 4-10x, 128→3 1.5-4x, see
//!   `benches/RESULTS.md`), one thread per slab of rows above the threshold.
//! - threads: above [`parallel_threshold`] (default [`PARALLEL_MIN_FLOPS`]) the output is
//!   split into `num_threads()` slabs of whole panels (over the dimension whose largest slab is
//!   smaller; within 1%, over n when `m < n`, else over m) and each runs the serial algorithm
//!   on its own slab with its own packing buffers; every element is computed
//!   by one task in the same k order, so the result does not depend on the thread count.
//! - packing buffers live in a per-thread workspace that only grows, so steady-state calls do
//!   not allocate.
//! - measured (`benches/RESULTS.md`, 2-vCPU Zen 4, peak 117 GFLOP/s per core): 88-95% of peak
//!   on MLP layers at batch 128-512, 87% at n = 1024.
//!
//! Tested against [`reference::matmul_forward`] in `kernels/tests/matmul.rs` on awkward sizes,
//! transposed operands, accumulate on/off, with/without epilogue, every ISA tier, serial and
//! threaded (plus proptest shapes); benched in `benches/benches/gemm.rs` and
//! `neurite bench kernels` (`neurite_benches::run_kernel_bench`).

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod driver;
mod kernel;
mod pack;
mod portable;
pub mod reference;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::cpu::activation::{self, Activation};
use crate::isa::{self, Isa};
use crate::real::Real;
use crate::threads;

pub(crate) use driver::{Gemm, Tier};

/// A strided read-only matrix: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a, T: Copy> MatRef<'a, T> {
    /// A dense row-major `rows × cols` matrix.
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        MatRef {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose, as a view (no copy).
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    #[inline(always)]
    pub fn at(&self, i: usize, j: usize) -> T {
        self.data[i * self.rs + j * self.cs]
    }

    /// Smallest slice length that holds every element (0 for an empty matrix).
    /// Panics if the extent overflows `usize` (the GEMM relies on this bound for soundness).
    pub fn required_len(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1)
                .checked_mul(self.rs)
                .and_then(|r| (self.cols - 1).checked_mul(self.cs).map(|c| (r, c)))
                .and_then(|(r, c)| r.checked_add(c))
                .and_then(|x| x.checked_add(1))
                .expect("matrix extent overflows usize")
        }
    }
}

/// What happens to each output element after the product: `act(value + bias[col])`.
#[derive(Clone, Copy, Debug)]
pub struct Epilogue<'a, T> {
    pub bias: Option<&'a [T]>,
    pub act: Activation,
}

impl<T> Default for Epilogue<'_, T> {
    fn default() -> Self {
        Epilogue {
            bias: None,
            act: Activation::Identity,
        }
    }
}

impl<'a, T> Epilogue<'a, T> {
    pub fn none() -> Self {
        Epilogue {
            bias: None,
            act: Activation::Identity,
        }
    }
    pub fn bias(bias: &'a [T]) -> Self {
        Epilogue {
            bias: Some(bias),
            act: Activation::Identity,
        }
    }
    pub fn bias_act(bias: Option<&'a [T]>, act: Activation) -> Self {
        Epilogue { bias, act }
    }
    pub fn is_none(&self) -> bool {
        self.bias.is_none() && self.act == Activation::Identity
    }
}

/// `f32` GEMM on the active ISA tier. See the module docs for the exact semantics.
// c (m×n, row stride ldc), a (m×k), b (k×n)
pub fn matmul_forward(
    c: &mut [f32],
    ldc: usize,
    a: MatRef<'_, f32>,
    b: MatRef<'_, f32>,
    accumulate: bool,
    epi: Epilogue<'_, f32>,
) {
    let imp = *ACTIVE.get_or_init(|| imp_for(isa::active()));
    run(imp, c, ldc, a, b, accumulate, epi, threads::num_threads())
}

/// As [`matmul_forward`], on an explicit tier (tests and benchmarks). Panics if this CPU cannot
/// run `isa` (see [`Isa::supported`]).
pub fn matmul_forward_isa(
    isa: Isa,
    c: &mut [f32],
    ldc: usize,
    a: MatRef<'_, f32>,
    b: MatRef<'_, f32>,
    accumulate: bool,
    epi: Epilogue<'_, f32>,
) {
    matmul_forward_isa_threads(isa, threads::num_threads(), c, ldc, a, b, accumulate, epi)
}

/// As [`matmul_forward_isa`] with an explicit thread budget (1 = serial).
#[allow(clippy::too_many_arguments)]
pub fn matmul_forward_isa_threads(
    isa: Isa,
    threads: usize,
    c: &mut [f32],
    ldc: usize,
    a: MatRef<'_, f32>,
    b: MatRef<'_, f32>,
    accumulate: bool,
    epi: Epilogue<'_, f32>,
) {
    assert!(
        isa.is_supported(),
        "ISA tier {isa} is not supported by this CPU"
    );
    run(imp_for(isa), c, ldc, a, b, accumulate, epi, threads.max(1))
}

/// Below this many flops (2·m·n·k) a GEMM runs on one thread by default: measured on the
/// 2-core AVX-512 machine (`benches/RESULTS.md`), a rayon fork/join costs a few microseconds.
pub const PARALLEL_MIN_FLOPS: usize = 2 * 96 * 96 * 96;

static PARALLEL_THRESHOLD: AtomicUsize = AtomicUsize::new(PARALLEL_MIN_FLOPS);

/// Override the flop threshold above which GEMM uses threads (tests use 0 to force the
/// threaded path on small shapes; benches use it to measure the crossover).
pub fn set_parallel_threshold(flops: usize) {
    PARALLEL_THRESHOLD.store(flops, Ordering::Relaxed);
}

/// The current flop threshold for threaded GEMM.
pub fn parallel_threshold() -> usize {
    PARALLEL_THRESHOLD.load(Ordering::Relaxed)
}

#[derive(Clone, Copy)]
enum Imp {
    Reference,
    Tier(&'static Tier),
}

static ACTIVE: OnceLock<Imp> = OnceLock::new();

fn imp_for(isa: Isa) -> Imp {
    match isa {
        Isa::Reference => Imp::Reference,
        Isa::Portable => Imp::Tier(&portable::TIER),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => Imp::Tier(&avx2::TIER),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => Imp::Tier(&avx512::TIER),
        #[cfg(not(target_arch = "x86_64"))]
        _ => Imp::Tier(&portable::TIER),
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    imp: Imp,
    c: &mut [f32],
    ldc: usize,
    a: MatRef<'_, f32>,
    b: MatRef<'_, f32>,
    accumulate: bool,
    epi: Epilogue<'_, f32>,
    threads: usize,
) {
    check_shapes(c, ldc, &a, &b, &epi);
    let Imp::Tier(tier) = imp else {
        return reference::matmul_forward(c, ldc, a, b, accumulate, epi);
    };
    let g = Gemm {
        m: a.rows,
        n: b.cols,
        k: a.cols,
        a: a.data.as_ptr(),
        rsa: a.rs,
        csa: a.cs,
        b: b.data.as_ptr(),
        rsb: b.rs,
        csb: b.cs,
        c: c.as_mut_ptr(),
        ldc,
        beta: accumulate,
        bias: epi.bias.map_or(core::ptr::null(), |s| s.as_ptr()),
        act: epi.act,
    };
    // SAFETY: `check_shapes` proved every strided access of A, B, bias and C stays inside its
    // slice, and `tier` is only reachable for tiers this CPU supports.
    unsafe { driver::gemm(tier, &g, threads) }
}

/// Slice-length checks that make the raw-pointer kernels sound (O(1), always on).
fn check_shapes<T: Copy>(c: &[T], ldc: usize, a: &MatRef<T>, b: &MatRef<T>, epi: &Epilogue<T>) {
    assert_eq!(a.cols, b.rows, "matmul: inner dimensions differ");
    assert!(
        a.data.len() >= a.required_len(),
        "matmul: A slice too short"
    );
    assert!(
        b.data.len() >= b.required_len(),
        "matmul: B slice too short"
    );
    let (m, n) = (a.rows, b.cols);
    if m > 0 && n > 0 {
        assert!(ldc >= n || m == 1, "matmul: ldc {ldc} smaller than n {n}");
        let c_need = (m - 1)
            .checked_mul(ldc)
            .and_then(|x| x.checked_add(n))
            .expect("matmul: C extent overflows usize");
        assert!(c.len() >= c_need, "matmul: C slice too short");
        if let Some(bias) = epi.bias {
            assert!(bias.len() >= n, "matmul: bias shorter than n");
        }
    }
}

/// `c[i, j] = act(c[i, j] + bias[j])` over an `m × n` block with row stride `ldc`.
pub fn apply_epilogue<T: Real>(c: &mut [T], ldc: usize, m: usize, n: usize, epi: Epilogue<'_, T>) {
    if epi.is_none() {
        return;
    }
    for i in 0..m {
        let row = &mut c[i * ldc..i * ldc + n];
        if let Some(bias) = epi.bias {
            for (v, &b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
        if epi.act != Activation::Identity {
            activation::reference::activation_inplace(epi.act, row);
        }
    }
}
