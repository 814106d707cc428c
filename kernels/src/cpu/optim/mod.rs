//! Optimizer updates over the flat parameter buffer: one pass updates the whole model.
//!
//! Shapes: `p` (parameters), `g` (gradients) and every state buffer have the same length n.
//! Semantics follow PyTorch's `torch.optim` exactly (documented per struct), so the golden test
//! against an independent numpy implementation (`engine/tests/golden/`) holds to 1e-5.
//!
//! SIMD tiers (`simd.rs`) for SGD and Adam/AdamW: the same operations in the same order as the
//! reference (no FMA contraction, correctly rounded `sqrt`/`/`), so every tier is bit-identical
//! to the reference. RMSprop uses the reference.
//!
//! Threads: an update of at least [`PARALLEL_MIN_PARAMS`] parameters is cut into contiguous
//! ranges of whole 16-float runs, one per kernel thread. Every element's update depends on that
//! element alone, so the result is the same for any thread count.
//!
//! Tested against `reference` in `kernels/tests/optim.rs` (every tier, one to three threads);
//! benched in `benches/benches/fused.rs` and `neurite bench kernels` (one and all threads).

pub mod reference;
mod simd;

use std::sync::OnceLock;

use super::check_isa;
use crate::isa::{self, Isa};
use crate::threads;

simd_tiers!(adam_t: fn(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], hp: AdamParams) => simd::adam);
simd_tiers!(sgd_t: fn(p: &mut [f32], g: &[f32], vel: &mut [f32], hp: SgdParams) => simd::sgd);

struct Table {
    adam: Option<adam_t::F>,
    sgd: Option<sgd_t::F>,
}

fn table_for(isa: Isa) -> Table {
    match isa {
        Isa::Reference => Table {
            adam: None,
            sgd: None,
        },
        t => {
            check_isa(t);
            Table {
                adam: Some(adam_t::pick(t)),
                sgd: Some(sgd_t::pick(t)),
            }
        }
    }
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| table_for(isa::active()))
}

/// Updates over at least this many parameters use the kernel threads. Zen 4, Adam, medians of
/// 1000 back-to-back calls, one → two threads: 8k parameters 2.9-4.0 → 3.0-4.1 µs (no gain),
/// 16k 5.8-6.0 → 5.0-5.3, 32k 10.9-11.3 → 7.5-7.7, 235k (6.6 MB of state) 80-81 → 46-62.
/// Set above the break-even because in a training step the other worker is often asleep and
/// waking it costs more than in a loop of updates.
pub const PARALLEL_MIN_PARAMS: usize = 1 << 15;

/// A raw pointer shared by the tasks of one update; each task touches its own range only.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    fn new_mut(s: &mut [T]) -> Self {
        Shared(s.as_mut_ptr())
    }

    /// For a buffer only ever read through [`Shared::range_ref`].
    fn new_ref(s: &[T]) -> Self {
        Shared(s.as_ptr() as *mut T)
    }

    /// Elements `lo..hi` of a buffer the update writes.
    ///
    /// # Safety
    /// The pointer came from a `&mut` buffer, `lo..hi` lies within it and no other live slice
    /// overlaps it.
    #[allow(clippy::mut_from_ref)]
    unsafe fn range(&self, lo: usize, hi: usize) -> &mut [T] {
        unsafe { std::slice::from_raw_parts_mut(self.0.add(lo), hi - lo) }
    }

    /// Elements `lo..hi` of a buffer the update only reads.
    ///
    /// # Safety
    /// `lo..hi` lies within the buffer.
    unsafe fn range_ref(&self, lo: usize, hi: usize) -> &[T] {
        unsafe { std::slice::from_raw_parts(self.0.add(lo), hi - lo) }
    }
}

/// Run `f(lo, hi)` over `0..n`: in one piece below [`PARALLEL_MIN_PARAMS`] or with one thread,
/// else in up to `threads` contiguous ranges of whole 16-float runs (whole 64-byte lines when
/// the buffers are so aligned).
fn for_ranges(n: usize, threads: usize, f: &(dyn Fn(usize, usize) + Sync)) {
    const RUN: usize = 16;
    let t = if n >= PARALLEL_MIN_PARAMS {
        threads.min(n / (PARALLEL_MIN_PARAMS / 2))
    } else {
        1
    };
    if t <= 1 {
        return f(0, n);
    }
    let runs = n.div_ceil(RUN);
    threads::par_for(t, &|i| {
        let (lo, hi) = threads::split(runs, t, i);
        let (lo, hi) = (lo * RUN, (hi * RUN).min(n));
        if lo < hi {
            f(lo, hi)
        }
    });
}

fn adam_with(
    t: &Table,
    threads: usize,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    hp: AdamParams,
) {
    let n = p.len();
    assert!(
        g.len() >= n && m.len() >= n && v.len() >= n,
        "adam_step: buffers shorter than p"
    );
    let (ps, gs, ms, vs) = (
        Shared::new_mut(p),
        Shared::new_ref(g),
        Shared::new_mut(m),
        Shared::new_mut(v),
    );
    for_ranges(n, threads, &|lo, hi| {
        // SAFETY: every buffer holds n elements (checked), the ranges are disjoint, `g` is only
        // read.
        let (p, g, m, v) = unsafe {
            (
                ps.range(lo, hi),
                gs.range_ref(lo, hi),
                ms.range(lo, hi),
                vs.range(lo, hi),
            )
        };
        match t.adam {
            // SAFETY: lengths equal; supported tier.
            Some(f) => unsafe { f(p, g, m, v, hp) },
            None => reference::adam_step(p, g, m, v, hp),
        }
    });
}

fn sgd_with(t: &Table, threads: usize, p: &mut [f32], g: &[f32], vel: &mut [f32], hp: SgdParams) {
    let n = p.len();
    let momentum = hp.momentum != 0.0;
    assert!(
        g.len() >= n && (!momentum || vel.len() >= n),
        "sgd_step: buffers shorter than p"
    );
    let (ps, gs, vs) = (Shared::new_mut(p), Shared::new_ref(g), Shared::new_mut(vel));
    for_ranges(n, threads, &|lo, hi| {
        // SAFETY: as in `adam_with`; velocity (only touched with momentum) is only cut then.
        let (p, g, vel) = unsafe {
            (
                ps.range(lo, hi),
                gs.range_ref(lo, hi),
                if momentum {
                    vs.range(lo, hi)
                } else {
                    &mut [][..]
                },
            )
        };
        match t.sgd {
            // SAFETY: lengths checked; supported tier.
            Some(f) => unsafe { f(p, g, vel, hp) },
            None => reference::sgd_step(p, g, vel, hp),
        }
    });
}

/// As [`sgd_step`] on an explicit tier.
pub fn sgd_step_isa(isa: Isa, p: &mut [f32], g: &[f32], velocity: &mut [f32], hp: SgdParams) {
    sgd_step_isa_threads(isa, threads::num_threads(), p, g, velocity, hp)
}

/// As [`sgd_step_isa`] with an explicit thread budget (1 = serial).
pub fn sgd_step_isa_threads(
    isa: Isa,
    threads: usize,
    p: &mut [f32],
    g: &[f32],
    velocity: &mut [f32],
    hp: SgdParams,
) {
    sgd_with(&table_for(isa), threads, p, g, velocity, hp)
}

/// SGD: `g += wd·p; v = μ·v + g; g = nesterov ? g + μ·v : v; p −= lr·g` (`v = g` when μ = 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdParams {
    pub lr: f32,
    pub momentum: f32,
    pub nesterov: bool,
    pub weight_decay: f32,
}

/// Adam / AdamW. `decoupled == false`: L2 (`g += wd·p`, Adam); `true`: `p −= lr·wd·p` first
/// (AdamW). `step` is the 1-based step number used for bias correction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamParams {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub decoupled: bool,
    pub step: u64,
}

/// RMSprop: `g += wd·p; s = α·s + (1−α)·g²; u = g/(√s + ε); b = μ·b + u (if μ > 0); p −= lr·(b or u)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmspropParams {
    pub lr: f32,
    pub alpha: f32,
    pub eps: f32,
    pub momentum: f32,
    pub weight_decay: f32,
}

// p, g, velocity (n)
pub fn sgd_step(p: &mut [f32], g: &[f32], velocity: &mut [f32], hp: SgdParams) {
    sgd_with(table(), threads::num_threads(), p, g, velocity, hp)
}

// p, g, m, v (n)
pub fn adam_step(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], hp: AdamParams) {
    adam_with(table(), threads::num_threads(), p, g, m, v, hp)
}

// p, g, square_avg, momentum_buf (n)
pub fn rmsprop_step(p: &mut [f32], g: &[f32], sq: &mut [f32], buf: &mut [f32], hp: RmspropParams) {
    rmsprop_step_threads(threads::num_threads(), p, g, sq, buf, hp)
}

/// As [`rmsprop_step`] with an explicit thread budget (1 = serial).
pub fn rmsprop_step_threads(
    threads: usize,
    p: &mut [f32],
    g: &[f32],
    sq: &mut [f32],
    buf: &mut [f32],
    hp: RmspropParams,
) {
    let n = p.len();
    let momentum = hp.momentum > 0.0;
    assert!(
        g.len() >= n && sq.len() >= n && (!momentum || buf.len() >= n),
        "rmsprop_step: buffers shorter than p"
    );
    let (ps, gs, ss, bs) = (
        Shared::new_mut(p),
        Shared::new_ref(g),
        Shared::new_mut(sq),
        Shared::new_mut(buf),
    );
    for_ranges(n, threads, &|lo, hi| {
        // SAFETY: as in `adam_with`; `buf` (only touched with momentum) is only cut then.
        let (p, g, sq, buf) = unsafe {
            (
                ps.range(lo, hi),
                gs.range_ref(lo, hi),
                ss.range(lo, hi),
                if momentum {
                    bs.range(lo, hi)
                } else {
                    &mut [][..]
                },
            )
        };
        reference::rmsprop_step(p, g, sq, buf, hp)
    });
}

/// Σ g² in f64 (for clipping by global norm).
pub fn sum_squares(g: &[f32]) -> f64 {
    reference::sum_squares(g)
}

/// As [`adam_step`] on an explicit tier.
pub fn adam_step_isa(
    isa: Isa,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    hp: AdamParams,
) {
    adam_step_isa_threads(isa, threads::num_threads(), p, g, m, v, hp)
}

/// As [`adam_step_isa`] with an explicit thread budget (1 = serial).
pub fn adam_step_isa_threads(
    isa: Isa,
    threads: usize,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    hp: AdamParams,
) {
    adam_with(&table_for(isa), threads, p, g, m, v, hp)
}
