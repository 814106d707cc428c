//! How many threads the kernels may use, and the one parallel loop they use.
//!
//! The count is `set_num_threads(n)` if called (0 restores the default), else the environment
//! variable `NEURITE_THREADS` (read once), else rayon's global pool size (the core count).
//! Kernels only go parallel above a measured size threshold (see each family), and split work
//! so that every output element is computed by exactly one task in a fixed order: results are
//! bit-identical for any thread count (no split-K reductions).
//!
//! [`par_for`] recurses with `rayon::join` (jobs live on the stack), so a parallel kernel call
//! does not allocate per call. A program that runs its kernels from one thread (a training loop)
//! should call [`init_pool`] first thing in `main`: that thread then works in the pool itself.
//! Tested by `kernels/tests/matmul.rs` (`deterministic_across_threads`, threaded cases) and
//! `engine/tests/no_alloc.rs` (no per-call allocation).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

static OVERRIDE: AtomicUsize = AtomicUsize::new(0);
static DEFAULT: OnceLock<usize> = OnceLock::new();

/// The number of threads kernels may use (≥ 1).
pub fn num_threads() -> usize {
    match OVERRIDE.load(Ordering::Relaxed) {
        0 => *DEFAULT.get_or_init(|| {
            std::env::var("NEURITE_THREADS")
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .filter(|&n| n > 0)
                .unwrap_or_else(rayon::current_num_threads)
                .max(1)
        }),
        n => n,
    }
}

/// Set the thread count for subsequent kernel calls (process-wide); 0 restores the default.
pub fn set_num_threads(n: usize) {
    OVERRIDE.store(n, Ordering::Relaxed);
}

/// Build rayon's global pool (its default size: `RAYON_NUM_THREADS` or the core count) with the
/// calling thread as one of its workers. Call it once at the start of `main`, on the thread that
/// will run the kernels, before anything uses rayon; returns `false`, changing nothing, when the
/// global pool already exists.
///
/// Why: a `rayon::join` from a thread outside the pool hands the whole join to the pool and
/// sleeps until it is done (two hand-overs per parallel kernel call, and one more thread than
/// cores); from a worker it runs one half itself and only the other half changes thread. Zen 4,
/// two threads (`benches/RESULTS.md`): training step 784-256-128-10 at batch 128, median of
/// 1000 steps in three alternating processes each, 1.02-1.06 ms → 0.87-0.94 ms; square GEMM,
/// two runs each, 128: 102-117 → 192-194 GFLOP/s, 512: 105-183 → 205-211. Below the GEMM
/// threshold the other worker is often still asleep when the half it would take is ready, and
/// the calling thread runs both halves itself: no gain there, but no loss either (without
/// this, forcing two threads onto a 32³ product took 20 µs a call).
///
/// Not for servers whose requests run on other threads (an async runtime's workers): the
/// calling thread only takes pool jobs while it waits inside a rayon call, so the pool would
/// have one working thread fewer for them.
pub fn init_pool() -> bool {
    rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global()
        .is_ok()
}

/// Run `f(i)` for every `i` in `0..tasks`, on up to `tasks` rayon workers.
pub(crate) fn par_for(tasks: usize, f: &(dyn Fn(usize) + Sync)) {
    fn go(lo: usize, hi: usize, f: &(dyn Fn(usize) + Sync)) {
        if hi - lo == 1 {
            f(lo);
        } else {
            let mid = lo + (hi - lo) / 2;
            rayon::join(|| go(lo, mid, f), || go(mid, hi, f));
        }
    }
    match tasks {
        0 => {}
        1 => f(0),
        _ => go(0, tasks, f),
    }
}

/// Split `0..n` into `parts` contiguous ranges (the first ones one longer); range `i`.
pub(crate) fn split(n: usize, parts: usize, i: usize) -> (usize, usize) {
    let q = n / parts;
    let r = n % parts;
    let lo = i * q + i.min(r);
    let hi = lo + q + usize::from(i < r);
    (lo, hi)
}
