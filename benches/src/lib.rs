//! neurite's kernel benchmarks: the logic behind `neurite bench kernels [--json] [--threads N]
//! [--quick]` (call [`run_kernel_bench`], then [`print_report`] or `serde_json`), the
//! `neurite-kernel-bench` binary used by `benches/compare/kernels.sh`, and helpers shared with
//! the criterion benches in `benches/benches/`.
//!
//! What it measures, all in one run so ratios are meaningful on a shared, drifting machine:
//! - this machine's FP32 peak: a register-only FMA loop (AVX-512 or AVX2 intrinsics on x86-64,
//!   NEON `fmla` on aarch64; 24 independent accumulators), one thread and all threads at once;
//! - GEMM GFLOP/s on square 64..2048 and MLP shapes (batch 1, 32, 128, 512; widths 16..1024;
//!   forward `x·Wᵀ` with the fused bias+ReLU epilogue and both backward products), with % of
//!   the measured peak and the ratio against `matrixmultiply` timed in the same run, at one
//!   thread and all threads;
//! - the fused kernels (activations, softmax + cross-entropy, row sums, dropout, Adam) against
//!   the scalar reference tier;
//! - a full training step (forward, backward, Adam) of 784-256-128-10 at batch 128, and of
//!   64-100-10 at batch 32 (the default model, one hidden layer of 100, on the digits data).
//!
//! Timing: each measurement is the median over `repeats` batches of calls, each batch sized to
//! take about `batch` (after a warm-up). One-thread measurements use the calling thread's CPU
//! time (`CLOCK_THREAD_CPUTIME_ID`, Linux), so time slices lost to other tenants of a shared
//! machine do not count against either side; multi-thread measurements use wall time. The
//! compare script times numpy and PyTorch with the same clock (`time.thread_time`).

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
use std::hint::black_box;
use std::time::{Duration, Instant};

use neurite_engine::nn::{ActivationSpec, BiasInit, Init, LayerSpec, Mlp, MlpSpec};
use neurite_engine::{DType, Device, Loss, Optimizer, OptimizerSpec, Tape, Tensor};
use neurite_kernels::Isa;
use neurite_kernels::cpu::activation::{self as act, Activation};
use neurite_kernels::cpu::matmul::{self, Epilogue, MatRef};
use neurite_kernels::cpu::optim::{self, AdamParams};
use neurite_kernels::cpu::{dropout, reduce, softmax};
use serde::{Deserialize, Serialize};

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Fewer shapes and shorter timing (a smoke run: about 10-20 s).
    pub quick: bool,
    /// The "all threads" count (default: the kernels' thread count, i.e. the core count).
    pub threads: Option<usize>,
    /// Only GEMM/fused/train entries whose name contains this.
    pub filter: Option<String>,
    /// Skip the GEMM squares above this size (e.g. 1024 to save time).
    pub max_square: usize,
    /// Time everything on the wall clock (thread-scaling comparisons); by default one-thread
    /// figures use thread CPU time (see the module docs).
    pub wall: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            quick: false,
            threads: None,
            filter: None,
            max_square: 2048,
            wall: false,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    pub cpu: String,
    pub logical_cpus: usize,
    pub isa: String,
    pub features: Vec<String>,
    pub threads_all: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Peak {
    /// Register-only FMA loop, one thread: the best of the AVX-512 and AVX2 loops (the NEON
    /// loop on aarch64).
    pub gflops_1t: f64,
    /// The same loop on every thread at once (sum).
    pub gflops_all: f64,
    /// AVX2 (256-bit) FMA loop, one thread, for reference (0 where not available).
    pub gflops_avx2_1t: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GemmResult {
    pub name: String,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// `nn`, `nt` (B = Wᵀ), `tn` (A = xᵀ).
    pub layout: String,
    pub epilogue: String,
    pub threads: usize,
    pub neurite_gflops: f64,
    pub pct_peak: f64,
    pub matrixmultiply_gflops: f64,
    pub ratio_vs_matrixmultiply: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FusedResult {
    pub name: String,
    pub elements: usize,
    pub neurite_us: f64,
    pub reference_us: f64,
    pub speedup_vs_reference: f64,
    pub gb_per_s: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainResult {
    pub name: String,
    pub threads: usize,
    pub step_ms: f64,
    pub samples_per_s: f64,
    pub gflops: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchReport {
    pub machine: Machine,
    pub peak: Peak,
    pub gemm: Vec<GemmResult>,
    pub fused: Vec<FusedResult>,
    pub train: Vec<TrainResult>,
    pub notes: Vec<String>,
}

// ---- timing ------------------------------------------------------------------------------------

/// Which clock a measurement reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Wall time (`Instant`).
    Wall,
    /// This thread's CPU time (Linux `CLOCK_THREAD_CPUTIME_ID`; wall time elsewhere).
    ThreadCpu,
}

impl Clock {
    /// Seconds on this clock since an arbitrary origin.
    pub fn now(self) -> f64 {
        match self {
            Clock::Wall => {
                static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
                T0.get_or_init(Instant::now).elapsed().as_secs_f64()
            }
            Clock::ThreadCpu => thread_cpu_seconds(),
        }
    }

    /// The clock for a measurement on `threads` threads (`wall` forces wall time).
    pub fn for_threads(threads: usize, wall: bool) -> Clock {
        if threads <= 1 && !wall {
            Clock::ThreadCpu
        } else {
            Clock::Wall
        }
    }
}

#[cfg(target_os = "linux")]
fn thread_cpu_seconds() -> f64 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clk: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut t = Timespec { sec: 0, nsec: 0 };
    // SAFETY: a valid out-pointer for the libc call.
    unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.sec as f64 + t.nsec as f64 * 1e-9
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_seconds() -> f64 {
    Clock::Wall.now()
}

/// Median seconds per call of `f` on `clock`, over `repeats` batches each about `batch` long.
pub fn time_median(mut f: impl FnMut(), clock: Clock, batch: Duration, repeats: usize) -> f64 {
    let n = calibrate(&mut f, clock, batch);
    let mut v: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let t = clock.now();
            for _ in 0..n {
                f();
            }
            (clock.now() - t) / n as f64
        })
        .collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Warm up and return how many calls take about `batch`.
fn calibrate(f: &mut dyn FnMut(), clock: Clock, batch: Duration) -> usize {
    let t0 = clock.now();
    f();
    let mut calls = 1usize;
    while clock.now() - t0 < batch.as_secs_f64() / 4.0 {
        f();
        calls += 1;
    }
    let per = (clock.now() - t0) / calls as f64;
    ((batch.as_secs_f64() / per.max(1e-9)) as usize).clamp(1, 10_000_000)
}

/// Median seconds per call of `f` and of `g`, measured interleaved (batch of `f`, batch of `g`,
/// repeated), so a change of machine load hits both sides of a ratio alike.
pub fn time_pair(
    mut f: impl FnMut(),
    mut g: impl FnMut(),
    (cf, cg): (Clock, Clock),
    batch: Duration,
    repeats: usize,
) -> (f64, f64) {
    let nf = calibrate(&mut f, cf, batch);
    let ng = calibrate(&mut g, cg, batch);
    let mut vf = Vec::with_capacity(repeats);
    let mut vg = Vec::with_capacity(repeats);
    for _ in 0..repeats.max(1) {
        let t = cf.now();
        for _ in 0..nf {
            f();
        }
        vf.push((cf.now() - t) / nf as f64);
        let t = cg.now();
        for _ in 0..ng {
            g();
        }
        vg.push((cg.now() - t) / ng as f64);
    }
    vf.sort_by(|a, b| a.total_cmp(b));
    vg.sort_by(|a, b| a.total_cmp(b));
    (vf[vf.len() / 2], vg[vg.len() / 2])
}

fn timing(opts: &BenchOptions) -> (Duration, usize) {
    if opts.quick {
        (Duration::from_millis(25), 3)
    } else {
        (Duration::from_millis(60), 7)
    }
}

// ---- FMA peak ----------------------------------------------------------------------------------

/// GFLOP/s of a register-only FMA loop on one thread (`Isa::Avx512` or `Isa::Avx2` on x86-64,
/// `Isa::Portable` (NEON) on aarch64; other tiers return 0), timed on `clock`.
pub fn fma_peak_gflops(isa: Isa, iters: u64, clock: Clock) -> f64 {
    if !isa.is_supported() {
        return 0.0;
    }
    let t = clock.now();
    let lanes = unsafe { fma_loop(isa, iters) };
    let s = clock.now() - t;
    (iters as f64 * 24.0 * lanes as f64 * 2.0) / s / 1e9
}

#[cfg(target_arch = "x86_64")]
unsafe fn fma_loop(isa: Isa, iters: u64) -> usize {
    unsafe {
        match isa {
            Isa::Avx512 => fma512(iters),
            Isa::Avx2 => fma256(iters),
            _ => 0,
        }
    }
}

#[cfg(target_arch = "aarch64")]
unsafe fn fma_loop(isa: Isa, iters: u64) -> usize {
    match isa {
        Isa::Portable => fma_neon(iters),
        _ => 0,
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
unsafe fn fma_loop(_isa: Isa, _iters: u64) -> usize {
    0
}

/// NEON is part of the aarch64 baseline, so no `target_feature` gate: 24 chains of 128-bit
/// `fmla` cover four FMA pipes of latency 4 (Neoverse V1/V2, Graviton 3/4) with room to spare.
#[cfg(target_arch = "aarch64")]
fn fma_neon(iters: u64) -> usize {
    use std::arch::aarch64::*;
    unsafe {
        let mut acc = [vdupq_n_f32(0.0); 24];
        for (i, a) in acc.iter_mut().enumerate() {
            *a = vdupq_n_f32(i as f32 * 1e-3);
        }
        let x = vdupq_n_f32(black_box(0.999_999));
        let y = vdupq_n_f32(black_box(1e-7));
        for _ in 0..iters {
            for a in acc.iter_mut() {
                // a + y·x: the accumulator is the addend, so each chain carries one dependency.
                *a = vfmaq_f32(*a, y, x);
            }
        }
        let mut s = vdupq_n_f32(0.0);
        for a in acc {
            s = vaddq_f32(s, a);
        }
        black_box(vaddvq_f32(s));
    }
    4
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fma512(iters: u64) -> usize {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_set1_ps(0.0); 24];
    for (i, a) in acc.iter_mut().enumerate() {
        *a = _mm512_set1_ps(i as f32 * 1e-3);
    }
    let x = _mm512_set1_ps(black_box(0.999_999));
    let y = _mm512_set1_ps(black_box(1e-7));
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = _mm512_fmadd_ps(*a, x, y);
        }
    }
    let mut s = _mm512_setzero_ps();
    for a in acc {
        s = _mm512_add_ps(s, a);
    }
    black_box(_mm512_reduce_add_ps(s));
    16
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma256(iters: u64) -> usize {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_ps(0.0); 12];
    for (i, a) in acc.iter_mut().enumerate() {
        *a = _mm256_set1_ps(i as f32 * 1e-3);
    }
    let x = _mm256_set1_ps(black_box(0.999_999));
    let y = _mm256_set1_ps(black_box(1e-7));
    // 2 × 12 = 24 FMAs per iteration, like the 512-bit loop.
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = _mm256_fmadd_ps(*a, x, y);
        }
        for a in acc.iter_mut() {
            *a = _mm256_fmadd_ps(*a, x, y);
        }
    }
    let mut s = _mm256_setzero_ps();
    for a in acc {
        s = _mm256_add_ps(s, a);
    }
    let mut out = [0f32; 8];
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), s) };
    black_box(out);
    8
}

/// The peak on the widest FMA tier: best of a few one-thread runs, then all threads at once.
pub fn measure_peak(threads: usize) -> Peak {
    let isa = if Isa::Avx512.is_supported() {
        Isa::Avx512
    } else if cfg!(target_arch = "aarch64") {
        Isa::Portable
    } else {
        Isa::Avx2
    };
    let iters = 4_000_000;
    let avx2 = (0..3)
        .map(|_| fma_peak_gflops(Isa::Avx2, iters, Clock::ThreadCpu))
        .fold(0.0, f64::max);
    // The peak is the best of both widths: on cores that split 512-bit FMAs into two 256-bit
    // halves (AMD Zen 4) the AVX2 loop is as fast, and sometimes reads faster under load.
    let one = (0..5)
        .map(|_| fma_peak_gflops(isa, iters, Clock::ThreadCpu))
        .fold(avx2, f64::max);
    let all = if threads > 1 {
        (0..3)
            .map(|_| {
                std::thread::scope(|s| {
                    let hs: Vec<_> = (0..threads)
                        .map(|_| s.spawn(|| fma_peak_gflops(isa, iters, Clock::Wall)))
                        .collect();
                    hs.into_iter().map(|h| h.join().unwrap_or(0.0)).sum::<f64>()
                })
            })
            .fold(0.0, f64::max)
    } else {
        one
    };
    Peak {
        gflops_1t: one,
        gflops_all: all,
        gflops_avx2_1t: avx2,
    }
}

// ---- GEMM ----------------------------------------------------------------------------------

/// One GEMM benchmark shape: `C (m×n) = op(A) (m×k) · op(B) (k×n)`.
#[derive(Clone, Debug)]
pub struct GemmShape {
    pub name: String,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// A stored transposed (`xᵀ`), B stored transposed (`Wᵀ`, W row-major `[n, k]`).
    pub ta: bool,
    pub tb: bool,
    /// Apply the fused bias + ReLU epilogue (the engine's Linear+ReLU forward).
    pub epilogue: bool,
}

impl GemmShape {
    fn new(name: impl Into<String>, m: usize, k: usize, n: usize, ta: bool, tb: bool) -> Self {
        GemmShape {
            name: name.into(),
            m,
            k,
            n,
            ta,
            tb,
            epilogue: false,
        }
    }
    pub fn layout(&self) -> &'static str {
        match (self.ta, self.tb) {
            (false, false) => "nn",
            (false, true) => "nt",
            (true, false) => "tn",
            (true, true) => "tt",
        }
    }
    pub fn flops(&self) -> f64 {
        2.0 * self.m as f64 * self.n as f64 * self.k as f64
    }
}

/// The GEMM table: squares, the named MLP shapes, and forward/backward of MLP layers
/// at batch 1, 32, 128, 512 and widths 16..1024, plus 1- and 3-unit output heads (binary
/// classification, regression, 3-class) in the full table.
pub fn gemm_shapes(opts: &BenchOptions) -> Vec<GemmShape> {
    let mut v = Vec::new();
    let squares: &[usize] = if opts.quick {
        &[64, 256, 1024]
    } else {
        &[64, 128, 256, 512, 1024, 2048]
    };
    for &s in squares.iter().filter(|&&s| s <= opts.max_square) {
        v.push(GemmShape::new(format!("square {s}"), s, s, s, false, false));
    }
    // The named shapes (M×K · K×N), as the engine runs them.
    let named = [
        ("mlp fwd 128x784·784x256 (x·Wᵀ)", 128, 784, 256, false, true),
        ("mlp fwd 128x256·256x128 (x·Wᵀ)", 128, 256, 128, false, true),
        ("mlp fwd 128x128·128x10 (x·Wᵀ)", 128, 128, 10, false, true),
        ("mlp 784x128·128x256 (xᵀ·dy)", 784, 128, 256, true, false),
        (
            "mlp 128x784·784x256 (row-major B)",
            128,
            784,
            256,
            false,
            false,
        ),
        (
            "mlp 128x128·128x10 (row-major B)",
            128,
            128,
            10,
            false,
            false,
        ),
    ];
    for (name, m, k, n, ta, tb) in named {
        let mut s = GemmShape::new(name, m, k, n, ta, tb);
        s.epilogue = name.contains("fwd");
        v.push(s);
    }
    let batches: &[usize] = if opts.quick {
        &[1, 128]
    } else {
        &[1, 32, 128, 512]
    };
    let layers: &[(usize, usize)] = if opts.quick {
        &[(784, 256), (256, 128), (128, 10), (64, 64)]
    } else {
        &[
            (784, 256),
            (256, 128),
            (128, 10),
            (128, 1),
            (128, 3),
            (16, 16),
            (64, 64),
            (256, 256),
            (1024, 1024),
        ]
    };
    for &b in batches {
        for &(i, o) in layers {
            // forward: y (b×o) = x (b×i) · Wᵀ, W stored [o, i]
            let mut f = GemmShape::new(format!("b{b} {i}->{o} fwd x·Wᵀ"), b, i, o, false, true);
            f.epilogue = true;
            v.push(f);
            if b == 1 {
                continue;
            }
            // dx (b×i) = dy (b×o) · W (o×i)
            v.push(GemmShape::new(
                format!("b{b} {i}->{o} bwd dx=dy·W"),
                b,
                o,
                i,
                false,
                false,
            ));
            // dW (o×i) = dyᵀ (o×b) · x (b×i)
            v.push(GemmShape::new(
                format!("b{b} {i}->{o} bwd dW=dyᵀ·x"),
                o,
                b,
                i,
                true,
                false,
            ));
        }
    }
    if let Some(f) = &opts.filter {
        v.retain(|s| s.name.contains(f.as_str()));
    }
    v
}

/// Operands of one shape, stored as the engine stores them.
pub struct GemmData {
    pub a: Vec<f32>,
    pub b: Vec<f32>,
    pub c: Vec<f32>,
    pub bias: Vec<f32>,
}

impl GemmData {
    pub fn new(s: &GemmShape) -> GemmData {
        let fill = |n: usize, seed: u64| -> Vec<f32> {
            let mut r = neurite_kernels::rng::Rng::new(seed);
            (0..n).map(|_| (r.next_f64() * 2.0 - 1.0) as f32).collect()
        };
        GemmData {
            a: fill(s.m * s.k, 1),
            b: fill(s.k * s.n, 2),
            c: vec![0.0; s.m * s.n],
            bias: fill(s.n, 3),
        }
    }
    pub fn a_view(&self, s: &GemmShape) -> MatRef<'_, f32> {
        if s.ta {
            MatRef::row_major(&self.a, s.k, s.m).t()
        } else {
            MatRef::row_major(&self.a, s.m, s.k)
        }
    }
    pub fn b_view(&self, s: &GemmShape) -> MatRef<'_, f32> {
        if s.tb {
            MatRef::row_major(&self.b, s.n, s.k).t()
        } else {
            MatRef::row_major(&self.b, s.k, s.n)
        }
    }
}

/// One neurite GEMM call for `s` on `isa` with `threads`.
pub fn run_neurite_gemm(s: &GemmShape, d: &mut GemmData, isa: Isa, threads: usize) {
    let GemmData { a, b, c, bias } = d;
    let (av, bv) = (
        if s.ta {
            MatRef::row_major(a, s.k, s.m).t()
        } else {
            MatRef::row_major(a, s.m, s.k)
        },
        if s.tb {
            MatRef::row_major(b, s.n, s.k).t()
        } else {
            MatRef::row_major(b, s.k, s.n)
        },
    );
    let epi = if s.epilogue {
        Epilogue::bias_act(Some(&bias[..]), Activation::Relu)
    } else {
        Epilogue::none()
    };
    matmul::matmul_forward_isa_threads(isa, threads, c, s.n, av, bv, false, epi);
}

/// One `matrixmultiply::sgemm` call for `s` (the epilogue, when asked, as a separate pass, as
/// any unfused BLAS user would).
pub fn run_matrixmultiply(s: &GemmShape, d: &mut GemmData) {
    let av = d.a_view(s);
    let bv = d.b_view(s);
    let (ap, bp) = (av.data.as_ptr(), bv.data.as_ptr());
    let (ars, acs, brs, bcs) = (av.rs, av.cs, bv.rs, bv.cs);
    unsafe {
        matrixmultiply::sgemm(
            s.m,
            s.k,
            s.n,
            1.0,
            ap,
            ars as isize,
            acs as isize,
            bp,
            brs as isize,
            bcs as isize,
            0.0,
            d.c.as_mut_ptr(),
            s.n as isize,
            1,
        );
    }
    if s.epilogue {
        for row in d.c.chunks_mut(s.n) {
            for (v, b) in row.iter_mut().zip(&d.bias) {
                *v = (*v + b).max(0.0);
            }
        }
    }
}

fn bench_gemm(opts: &BenchOptions, peak: &Peak, threads_all: usize) -> Vec<GemmResult> {
    let (batch, repeats) = timing(opts);
    let isa = neurite_kernels::isa::active();
    let mut out = Vec::new();
    for s in gemm_shapes(opts) {
        let mut d = GemmData::new(&s);
        let mut d2 = GemmData::new(&s);
        let flops = s.flops();
        let mut thread_counts = vec![1];
        if threads_all > 1 {
            thread_counts.push(threads_all);
        }
        for t in thread_counts {
            let (ne, mm) = time_pair(
                || run_neurite_gemm(&s, &mut d, isa, t),
                || run_matrixmultiply(&s, &mut d2),
                (
                    Clock::for_threads(t, opts.wall),
                    Clock::for_threads(1, opts.wall),
                ),
                batch,
                repeats,
            );
            let mm_gf = flops / mm / 1e9;
            let gf = flops / ne / 1e9;
            let pk = if t == 1 {
                peak.gflops_1t
            } else {
                peak.gflops_all
            };
            out.push(GemmResult {
                name: s.name.clone(),
                m: s.m,
                k: s.k,
                n: s.n,
                layout: s.layout().into(),
                epilogue: if s.epilogue { "bias+relu" } else { "none" }.into(),
                threads: t,
                neurite_gflops: gf,
                pct_peak: 100.0 * gf / pk.max(1e-9),
                matrixmultiply_gflops: mm_gf,
                ratio_vs_matrixmultiply: gf / mm_gf,
            });
        }
    }
    out
}

// ---- fused kernels ---------------------------------------------------------------------------

fn bench_fused(opts: &BenchOptions, threads_all: usize) -> Vec<FusedResult> {
    let (batch, repeats) = timing(opts);
    let isa = neurite_kernels::isa::active();
    let mut out = Vec::new();
    let mut rng = neurite_kernels::rng::Rng::new(4);
    let mut randv = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| (rng.next_f64() * 6.0 - 3.0) as f32)
            .collect()
    };
    // `threads`: the neurite side's thread count (the reference runs on one).
    let mut push_t = |name: String,
                      elements: usize,
                      bytes: usize,
                      threads: usize,
                      fast: &mut dyn FnMut(),
                      slow: &mut dyn FnMut()| {
        if opts
            .filter
            .as_ref()
            .is_some_and(|f| !name.contains(f.as_str()))
        {
            return;
        }
        let cpu = (
            Clock::for_threads(threads, opts.wall),
            Clock::for_threads(1, opts.wall),
        );
        let (t_fast, t_ref) = time_pair(fast, slow, cpu, batch, repeats);
        out.push(FusedResult {
            name,
            elements,
            neurite_us: t_fast * 1e6,
            reference_us: t_ref * 1e6,
            speedup_vs_reference: t_ref / t_fast,
            gb_per_s: bytes as f64 / t_fast / 1e9,
        });
    };
    let mut push =
        |name: String,
         elements: usize,
         bytes: usize,
         fast: &mut dyn FnMut(),
         slow: &mut dyn FnMut()| push_t(name, elements, bytes, 1, fast, slow);
    let n = 128 * 256;
    let x = randv(n);
    let dy = randv(n);
    let mut y = vec![0.0f32; n];
    let mut dx = vec![0.0f32; n];
    let acts = [
        Activation::Relu,
        Activation::LeakyRelu(0.01),
        Activation::Gelu,
        Activation::Sigmoid,
        Activation::Tanh,
    ];
    for a in acts {
        let xs = x.clone();
        let mut y2 = y.clone();
        push(
            format!("{} fwd 128x256", a.name()),
            n,
            8 * n,
            &mut || act::activation_forward_isa(isa, a, &mut y, &xs),
            &mut || act::activation_forward_isa(Isa::Reference, a, &mut y2, &xs),
        );
        let yv = y.clone();
        let mut dx2 = dx.clone();
        push(
            format!("{} bwd 128x256", a.name()),
            n,
            16 * n,
            &mut || act::activation_backward_isa(isa, a, &mut dx, &xs, &yv, &dy, false),
            &mut || act::activation_backward_isa(Isa::Reference, a, &mut dx2, &xs, &yv, &dy, false),
        );
    }
    for (rows, cols) in [(128usize, 10usize), (512, 1000)] {
        let logits = randv(rows * cols);
        let targets: Vec<f32> = (0..rows).map(|i| (i % cols) as f32).collect();
        let mut loss = vec![0.0f32; rows];
        let mut probs = vec![0.0f32; rows * cols];
        let mut loss2 = loss.clone();
        let mut probs2 = probs.clone();
        push(
            format!("softmax+xent fwd {rows}x{cols}"),
            rows * cols,
            8 * rows * cols,
            &mut || {
                softmax::softmax_cross_entropy_forward_isa(
                    isa, &mut loss, &mut probs, &logits, &targets, rows, cols,
                )
            },
            &mut || {
                softmax::softmax_cross_entropy_forward_isa(
                    Isa::Reference,
                    &mut loss2,
                    &mut probs2,
                    &logits,
                    &targets,
                    rows,
                    cols,
                )
            },
        );
        let dl = vec![1.0 / rows as f32; rows];
        let mut g = vec![0.0f32; rows * cols];
        let mut g2 = g.clone();
        push(
            format!("softmax+xent bwd {rows}x{cols}"),
            rows * cols,
            8 * rows * cols,
            &mut || {
                softmax::softmax_cross_entropy_backward_isa(
                    isa, &mut g, &probs, &targets, &dl, rows, cols, false,
                )
            },
            &mut || {
                softmax::softmax_cross_entropy_backward_isa(
                    Isa::Reference,
                    &mut g2,
                    &probs,
                    &targets,
                    &dl,
                    rows,
                    cols,
                    false,
                )
            },
        );
    }
    {
        let (rows, cols) = (128usize, 256usize);
        let xs = randv(rows * cols);
        let mut o = vec![0.0f32; cols];
        let mut o2 = o.clone();
        push(
            format!("column sums (bias grad) {rows}x{cols}"),
            rows * cols,
            4 * rows * cols,
            &mut || reduce::sum_forward_isa(isa, &mut o, &xs, 1, rows, cols, 1.0, false),
            &mut || {
                reduce::sum_forward_isa(Isa::Reference, &mut o2, &xs, 1, rows, cols, 1.0, false)
            },
        );
        let mut r = vec![0.0f32; rows];
        let mut r2 = r.clone();
        push(
            format!("row sums {rows}x{cols}"),
            rows * cols,
            4 * rows * cols,
            &mut || reduce::sum_forward_isa(isa, &mut r, &xs, rows, cols, 1, 1.0, false),
            &mut || {
                reduce::sum_forward_isa(Isa::Reference, &mut r2, &xs, rows, cols, 1, 1.0, false)
            },
        );
    }
    {
        let xs = randv(n);
        let mut yy = vec![0.0f32; n];
        let mut mask = vec![0.0f32; n];
        let mut yy2 = yy.clone();
        let mut mask2 = mask.clone();
        push(
            "dropout fwd 128x256 p=0.1".into(),
            n,
            12 * n,
            &mut || dropout::dropout_forward_isa(isa, &mut yy, &mut mask, &xs, 0.1, 7, 0),
            &mut || {
                dropout::dropout_forward_isa(Isa::Reference, &mut yy2, &mut mask2, &xs, 0.1, 7, 0)
            },
        );
    }
    {
        let np = 235_146; // 784-256-128-10
        let g = randv(np);
        let mut p = randv(np);
        let mut m = vec![0.0f32; np];
        let mut v = vec![0.0f32; np];
        let (mut p2, mut m2, mut v2) = (p.clone(), m.clone(), v.clone());
        let hp = AdamParams {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            decoupled: true,
            step: 10,
        };
        push(
            format!("adamw step {np} params"),
            np,
            28 * np,
            &mut || optim::adam_step_isa_threads(isa, 1, &mut p, &g, &mut m, &mut v, hp),
            &mut || {
                optim::adam_step_isa_threads(Isa::Reference, 1, &mut p2, &g, &mut m2, &mut v2, hp)
            },
        );
        if threads_all > 1 {
            push_t(
                format!("adamw step {np} params, {threads_all} threads"),
                np,
                28 * np,
                threads_all,
                &mut || {
                    optim::adam_step_isa_threads(isa, threads_all, &mut p, &g, &mut m, &mut v, hp)
                },
                &mut || {
                    optim::adam_step_isa_threads(
                        Isa::Reference,
                        1,
                        &mut p2,
                        &g,
                        &mut m2,
                        &mut v2,
                        hp,
                    )
                },
            );
        }
    }
    out
}

// ---- training step -------------------------------------------------------------------------------

/// A ReLU MLP with softmax cross-entropy and Adam, at one batch size: a ready-to-step training
/// loop (the one `engine/tests/no_alloc.rs` checks).
pub struct TrainBench {
    pub model: Mlp,
    pub opt: Optimizer,
    pub grads: Tensor,
    pub tape: Tape,
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    /// `[inputs, hidden..., classes]`.
    pub dims: Vec<usize>,
    pub batch: usize,
    pub step: u64,
}

/// The model: 784-256-128-10 (MNIST-sized).
pub const MNIST_MLP: [usize; 4] = [784, 256, 128, 10];
/// What `neurite train` builds by default (one hidden layer of 100, batch 32) on the shipped
/// digits dataset: 64 features, 10 classes.
pub const DIGITS_MLP: [usize; 3] = [64, 100, 10];

impl TrainBench {
    /// The 784-256-128-10 MLP at `batch`.
    pub fn new(batch: usize) -> TrainBench {
        TrainBench::mlp(&MNIST_MLP, batch)
    }

    /// A ReLU MLP with layer widths `dims` (`[inputs, hidden..., classes]`, at least two) at
    /// `batch`, random inputs and labels `i mod classes`.
    pub fn mlp(dims: &[usize], batch: usize) -> TrainBench {
        assert!(dims.len() >= 2, "an MLP needs inputs and outputs");
        let lin = |units| LayerSpec::Linear {
            units,
            bias: true,
            init: Init::Auto,
            bias_init: BiasInit::Zeros,
        };
        let mut layers = Vec::new();
        for (i, &units) in dims[1..].iter().enumerate() {
            if i > 0 {
                layers.push(LayerSpec::Activation {
                    activation: ActivationSpec::Relu,
                });
            }
            layers.push(lin(units));
        }
        let spec = MlpSpec {
            input_dim: dims[0],
            layers,
        };
        let model = Mlp::new(spec, 0, DType::F32, Device::Cpu).expect("model");
        let opt = Optimizer::new(OptimizerSpec::adam(1e-3), &model.params).expect("optimizer");
        let grads = model.params.zeros_like().expect("grads");
        let mut r = neurite_kernels::rng::Rng::new(11);
        let classes = dims[dims.len() - 1];
        let x = (0..batch * dims[0]).map(|_| r.next_f64() as f32).collect();
        let y = (0..batch).map(|i| (i % classes) as f32).collect();
        TrainBench {
            model,
            opt,
            grads,
            tape: Tape::new(),
            x,
            y,
            dims: dims.to_vec(),
            batch,
            step: 0,
        }
    }

    /// `mlp 784-256-128-10 relu, softmax-xent, adam, batch 128`.
    pub fn name(&self) -> String {
        let dims: Vec<String> = self.dims.iter().map(|d| d.to_string()).collect();
        format!(
            "mlp {} relu, softmax-xent, adam, batch {}",
            dims.join("-"),
            self.batch
        )
    }

    /// One step: forward, loss, backward, Adam. Returns nothing (the loss stays on the tape).
    pub fn step(&mut self) {
        let TrainBench {
            model,
            opt,
            grads,
            tape,
            x,
            y,
            dims,
            batch,
            step,
        } = self;
        *step += 1;
        {
            let Mlp {
                arch,
                params,
                buffers,
            } = model;
            let mut g = tape.graph(params, true, *step);
            // The batch is fixed across steps, so it is read in place (as `compare.py`'s
            // PyTorch step reuses one input tensor).
            let xv = g.input_shared(x, [*batch, dims[0]]).expect("x");
            let yv = g.input_shared(y, [*batch]).expect("y");
            let out = arch.forward(&mut g, xv, buffers).expect("forward");
            let loss = Loss::CrossEntropy
                .forward(&mut g, out, yv, None)
                .expect("loss");
            g.backward_fresh(loss, grads).expect("backward");
        }
        opt.step(&mut model.params, grads).expect("adam");
    }

    /// Forward + backward flops of one step: each layer's forward and weight-gradient
    /// products, and the input gradient of every layer but the first (the input needs none).
    pub fn flops(&self) -> f64 {
        let b = self.batch as f64;
        let layer = |w: &[usize]| 2.0 * b * w[0] as f64 * w[1] as f64;
        let fwd: f64 = self.dims.windows(2).map(layer).sum();
        let dx: f64 = self.dims.windows(2).skip(1).map(layer).sum();
        2.0 * fwd + dx
    }
}

fn bench_train(opts: &BenchOptions, threads_all: usize) -> Vec<TrainResult> {
    let (batch, repeats) = timing(opts);
    let mut out = Vec::new();
    let mut counts = vec![1];
    if threads_all > 1 {
        counts.push(threads_all);
    }
    let prev = neurite_kernels::num_threads();
    for (dims, b) in [(&MNIST_MLP[..], 128), (&DIGITS_MLP[..], 32)] {
        let name = TrainBench::mlp(dims, b).name();
        if opts
            .filter
            .as_ref()
            .is_some_and(|f| !name.contains(f.as_str()))
        {
            continue;
        }
        for &t in &counts {
            neurite_kernels::set_num_threads(t);
            let mut tb = TrainBench::mlp(dims, b);
            let s = time_median(
                || tb.step(),
                Clock::for_threads(t, opts.wall),
                batch * 3,
                repeats,
            );
            out.push(TrainResult {
                name: name.clone(),
                threads: t,
                step_ms: s * 1e3,
                samples_per_s: tb.batch as f64 / s,
                gflops: tb.flops() / s / 1e9,
            });
        }
    }
    neurite_kernels::set_num_threads(prev);
    out
}

// ---- report ----------------------------------------------------------------------------------------

pub fn machine(threads_all: usize) -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    Machine {
        cpu,
        logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        isa: neurite_kernels::isa::active().to_string(),
        features: neurite_kernels::isa::cpu_features()
            .into_iter()
            .map(String::from)
            .collect(),
        threads_all,
    }
}

/// Run everything `opts` asks for and return the report (prints progress to stderr).
pub fn run_kernel_bench(opts: &BenchOptions) -> BenchReport {
    let threads_all = opts
        .threads
        .unwrap_or_else(neurite_kernels::num_threads)
        .max(1);
    eprintln!("measuring FMA peak ...");
    let peak = measure_peak(threads_all);
    eprintln!("GEMM ...");
    let gemm = bench_gemm(opts, &peak, threads_all);
    eprintln!("fused kernels ...");
    let fused = bench_fused(opts, threads_all);
    eprintln!("training step ...");
    let train = bench_train(opts, threads_all);
    BenchReport {
        machine: machine(threads_all),
        peak,
        gemm,
        fused,
        train,
        notes: vec![
            format!(
                "medians, one-thread figures on {}, multi-thread on wall time; peers \
                 (matrixmultiply) timed interleaved in the same run",
                if opts.wall {
                    "wall time"
                } else {
                    "thread CPU time"
                }
            ),
            "matrixmultiply 0.3 is built with its default features: its kernel is picked at \
             run time (AVX-512 16x16 where the CPU has AVX-512F, else FMA; NEON on aarch64), \
             single-threaded (no `threading` feature), so its all-threads figure is its \
             one-thread figure"
                .into(),
        ],
    }
}

/// A human-readable table of `r`.
pub fn format_report(r: &BenchReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(
        s,
        "machine: {} ({} logical CPUs), tier {}, all-threads = {}",
        m.cpu, m.logical_cpus, m.isa, m.threads_all
    );
    let avx2 = if r.peak.gflops_avx2_1t > 0.0 {
        format!(" ({:.1} AVX2)", r.peak.gflops_avx2_1t)
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "FMA peak: {:.1} GFLOP/s one thread{avx2}, {:.1} all threads\n",
        r.peak.gflops_1t, r.peak.gflops_all
    );
    let _ = writeln!(
        s,
        "{:<38} {:>5} {:>5} {:>5} {:>3} {:>3} {:>9} {:>6} {:>9} {:>6}",
        "GEMM", "M", "K", "N", "lay", "thr", "GFLOP/s", "%peak", "mm GF/s", "vs mm"
    );
    for g in &r.gemm {
        let _ = writeln!(
            s,
            "{:<38} {:>5} {:>5} {:>5} {:>3} {:>3} {:>9.1} {:>5.0}% {:>9.1} {:>5.2}x",
            g.name,
            g.m,
            g.k,
            g.n,
            g.layout,
            g.threads,
            g.neurite_gflops,
            g.pct_peak,
            g.matrixmultiply_gflops,
            g.ratio_vs_matrixmultiply
        );
    }
    if !r.fused.is_empty() {
        let _ = writeln!(
            s,
            "\n{:<38} {:>9} {:>10} {:>10} {:>8} {:>7}",
            "fused kernel", "elements", "neurite µs", "scalar µs", "speedup", "GB/s"
        );
        for f in &r.fused {
            let _ = writeln!(
                s,
                "{:<38} {:>9} {:>10.2} {:>10.2} {:>7.1}x {:>7.1}",
                f.name,
                f.elements,
                f.neurite_us,
                f.reference_us,
                f.speedup_vs_reference,
                f.gb_per_s
            );
        }
    }
    if !r.train.is_empty() {
        let _ = writeln!(
            s,
            "\n{:<58} {:>3} {:>9} {:>10} {:>8}",
            "training step", "thr", "ms/step", "samples/s", "GFLOP/s"
        );
        for t in &r.train {
            let _ = writeln!(
                s,
                "{:<58} {:>3} {:>9.3} {:>10.0} {:>8.1}",
                t.name, t.threads, t.step_ms, t.samples_per_s, t.gflops
            );
        }
    }
    for n in &r.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

/// Print [`format_report`] to stdout.
pub fn print_report(r: &BenchReport) {
    print!("{}", format_report(r));
}
