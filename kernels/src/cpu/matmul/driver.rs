//! The GEMM driver: path choice (k = 0, no-packing small paths, packed), cache blocking,
//! threading, and the per-thread packing workspace. Tier-independent: it calls the tier's
//! `#[target_feature]` entry points through the [`Tier`] table.
//! Shapes and semantics: `super` (module docs). Tested by `kernels/tests/matmul.rs` (serial
//! and threaded, every path: k = 0, direct, dot, packed, in-place operands, large strides);
//! benched by `benches/benches/gemm.rs` and `neurite bench kernels`.

use std::cell::Cell;

use super::kernel::Block;
use super::parallel_threshold;
use crate::cpu::activation::Activation;
use crate::threads;

/// One GEMM call in raw form (validated by `super::check_shapes`).
#[derive(Clone, Copy)]
pub(crate) struct Gemm {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: *const f32,
    pub rsa: usize,
    pub csa: usize,
    pub b: *const f32,
    pub rsb: usize,
    pub csb: usize,
    pub c: *mut f32,
    pub ldc: usize,
    pub beta: bool,
    pub bias: *const f32,
    pub act: Activation,
}

unsafe impl Send for Gemm {}
unsafe impl Sync for Gemm {}

type PackFn = unsafe fn(usize, usize, *const f32, usize, usize, *mut f32);
type GemmFn = unsafe fn(&Gemm);

/// One packed microkernel: its shape and its packing/compute entry points.
pub(crate) struct Kern {
    /// Microkernel rows (A panel height) and columns (B panel width).
    pub mr: usize,
    pub nr: usize,
    pub pack_a: PackFn,
    pub pack_b: PackFn,
    pub macro_tiles: unsafe fn(&Block, usize, usize),
    /// Read A (when `rsa == 1`) / B (when `csb == 1`) in place instead of packing them.
    pub a_in_place: bool,
    pub b_in_place: bool,
    /// Read row-major A (`csa == 1`) in place too: the microkernel broadcasts from `MR` row
    /// pointers instead of a transposed copy.
    pub a_rows_in_place: bool,
}

/// A tier's GEMM: microkernels, cache blocking, and its `#[target_feature]` entry points.
pub(crate) struct Tier {
    /// The main microkernel (two or more vectors wide).
    pub wide: Kern,
    /// A one-vector-wide, taller microkernel for narrow outputs (`n ≤ narrow.nr`).
    pub narrow: Kern,
    /// k block (packed panels are `kc` deep) and n block (a packed B block is `kc × nc`).
    pub kc: usize,
    pub nc: usize,
    /// Read an operand in place only while its k-step stride is below this many floats
    /// (see `packed`).
    pub in_place_max_stride: usize,
    /// Use the no-packing paths when `m` is at most this (`direct` also when `k` is at most
    /// `direct_max_k`: packing cannot pay off over so few k-steps).
    pub direct_max_m: usize,
    pub direct_max_k: usize,
    /// Run outputs at most `narrow_direct.0` wide through the no-packing kernel
    /// `narrow_direct.1` on one thread, B packed first when its rows are not contiguous: with a
    /// single column panel every packed A panel is used once, so packing A (a transpose for
    /// row-major A) costs as much as the FMAs.
    pub narrow_direct: Option<(usize, GemmFn)>,
    pub dot_max_m: usize,
    /// `(max m, min k)`: on one thread, `x·Wᵀ` with `dot_max_m < m ≤ max m` and `k ≥ min k`
    /// takes `dot` too (a tier whose shortest packed instance wastes rows there).
    pub dot_long_k: Option<(usize, usize)>,
    /// Run `x·Wᵀ` outputs at most this wide through `dot_narrow` at any `m` (0: never).
    pub dot_max_n: usize,
    pub direct: GemmFn,
    pub dot: GemmFn,
    /// `dot` for `n ≤ dot_max_n`, its row block sized for `n`.
    pub dot_narrow: GemmFn,
    pub epilogue: unsafe fn(*mut f32, usize, usize, usize, *const f32, Activation),
}

/// Run `g` on `tier` with up to `threads` threads.
///
/// # Safety
/// `g` describes memory valid for every access (see `super::check_shapes`), and this CPU
/// supports the tier.
pub(crate) unsafe fn gemm(tier: &Tier, g: &Gemm, threads: usize) {
    let (m, n, k) = (g.m, g.n, g.k);
    if m == 0 || n == 0 {
        return;
    }
    unsafe {
        if k == 0 {
            if !g.beta {
                for i in 0..m {
                    core::ptr::write_bytes(g.c.add(i * g.ldc), 0, n);
                }
            }
            if !g.bias.is_null() || g.act != Activation::Identity {
                (tier.epilogue)(g.c, g.ldc, m, n, g.bias, g.act);
            }
            return;
        }
        if g.csb == 1 && (m <= tier.direct_max_m || k <= tier.direct_max_k) {
            // Outputs one vector wide take the tier's narrow no-packing kernel (AVX-512: 12×16
            // instead of 6 rows of one vector in the 6×64 one, twice the FMAs per B load;
            // AVX2: the same kernel). Zen 4, one thread, 25th percentile: 512×16·16×16 55 → 63
            // GFLOP/s and 128×16·16×16 76 → 84 where A and C were allocated back to back (rows
            // at the same 4 KiB offsets), 89 → 88 at other offsets; 4×100·100×10 38 → 40.
            if let Some((max_n, direct)) = tier.narrow_direct
                && n <= max_n
            {
                return direct(g);
            }
            return (tier.direct)(g);
        }
        if g.csa == 1 && g.rsb == 1 && m <= tier.dot_max_m {
            return (tier.dot)(g);
        }
        let flops = 2 * m * n * k;
        let t = if flops >= parallel_threshold() {
            threads
        } else {
            1
        };
        if g.csa == 1 && g.rsb == 1 && n <= tier.dot_max_n {
            if t <= 1 {
                return (tier.dot_narrow)(g);
            }
            // Row slabs (rows are independent; W is read by every task from its own cache).
            let blocks = m.div_ceil(8);
            let t = t.min(blocks);
            return threads::par_for(t, &|i| {
                let (lo, hi) = threads::split(blocks, t, i);
                let (i0, i1) = (lo * 8, (hi * 8).min(m));
                let mut s = *g;
                s.m = i1 - i0;
                s.a = g.a.add(i0 * g.rsa);
                s.c = g.c.add(i0 * g.ldc);
                (tier.dot_narrow)(&s);
            });
        }
        if let Some((max_n, direct)) = tier.narrow_direct
            && t <= 1
            && n <= max_n
        {
            if g.csb == 1 {
                return direct(g);
            }
            // B packed as one panel of the narrowest kernel that holds `max_n` columns.
            let kern = if max_n <= tier.narrow.nr {
                &tier.narrow
            } else {
                &tier.wide
            };
            return with_workspace(k * kern.nr, |pb| {
                (kern.pack_b)(k, n, g.b, g.rsb, g.csb, pb);
                let mut s = *g;
                s.b = pb;
                s.rsb = kern.nr;
                s.csb = 1;
                direct(&s)
            });
        }
        if let Some((max_m, min_k)) = tier.dot_long_k
            && t <= 1
            && g.csa == 1
            && g.rsb == 1
            && m <= max_m
            && k >= min_k
        {
            return (tier.dot)(g);
        }
        let kern = if n <= tier.narrow.nr {
            &tier.narrow
        } else {
            &tier.wide
        };
        if t <= 1 {
            return packed(tier, kern, g);
        }
        // Split the output into slabs, one per task, over the dimension that gives the smaller
        // largest slab (tasks wait for the slowest); when both are within 1%, over the one
        // whose duplicated packing is cheaper (splitting n repacks A per task, splitting m
        // repacks B).
        let (mr, nr) = (kern.mr, kern.nr);
        if split_over_n(m, n, mr, nr, t) {
            let panels = n.div_ceil(nr);
            let t = t.min(panels);
            threads::par_for(t, &|i| {
                let (lo, hi) = threads::split(panels, t, i);
                let (j0, j1) = (lo * nr, (hi * nr).min(n));
                let mut s = *g;
                s.n = j1 - j0;
                s.b = g.b.add(j0 * g.csb);
                s.c = g.c.add(j0);
                if !g.bias.is_null() {
                    s.bias = g.bias.add(j0);
                }
                packed(tier, kern, &s);
            });
        } else {
            let panels = m.div_ceil(mr);
            let t = t.min(panels);
            threads::par_for(t, &|i| {
                let (lo, hi) = threads::split(panels, t, i);
                let (i0, i1) = (lo * mr, (hi * mr).min(m));
                let mut s = *g;
                s.m = i1 - i0;
                s.a = g.a.add(i0 * g.rsa);
                s.c = g.c.add(i0 * g.ldc);
                packed(tier, kern, &s);
            });
        }
    }
}

/// Whether `t` tasks split an `m × n` output over n (panels `nr` wide) rather than over m
/// (panels `mr` tall). Zen 4, two threads, median GFLOP/s: the weight gradient 256×128·128×784
/// (`dyᵀ·x`) 163 → 184 over m (the n split gave 13 and 12 panels of 32 columns, 416 against 368);
/// 128×256·256×128 `x·Wᵀ` 180 → 203 over n (the m split gave 72 and 56 rows); the training step
/// 784-256-128-10, 25th percentile 0.956-0.979 → 0.826-0.844 ms.
fn split_over_n(m: usize, n: usize, mr: usize, nr: usize, t: usize) -> bool {
    // The longest run of whole panels a task gets from `threads::split`.
    let largest = |len: usize, unit: usize| {
        let panels = len.div_ceil(unit);
        (panels.div_ceil(t.min(panels)) * unit).min(len)
    };
    let (slab_n, slab_m) = (largest(n, nr) * m, largest(m, mr) * n);
    if slab_n * 100 < slab_m * 99 {
        true
    } else if slab_m * 100 < slab_n * 99 {
        false
    } else {
        m < n
    }
}

/// Even block sizes: `ceil(total / ceil(total / max))`, rounded up to `align`.
fn even_block(total: usize, max: usize, align: usize) -> usize {
    let blocks = total.div_ceil(max);
    total
        .div_ceil(blocks)
        .next_multiple_of(align)
        .min(total.next_multiple_of(align))
}

/// Rows of A packed at once when each A panel would otherwise be packed again for every column
/// block (see `packed`): a `1024 × kc` block is 1 MiB at KC = 256. Measured on Zen 4 (square
/// 2048): 512, 1024 and whole-A blocks within 2% of each other.
const A_BLOCK_ROWS: usize = 1024;

/// Prefetch each tile's C rows before its k loop once C reaches this many floats (1 MiB, beyond
/// a 1 MiB L2: Zen 4, Skylake-SP): the tile's rows arrive while it computes instead of stalling
/// its store. Below it C stays cache-resident and the prefetches only cost issue slots.
const PREFETCH_C_MIN: usize = 1 << 18;

/// The serial packed algorithm: jc → pc → pack B (kc × nc) → for each MR-row panel of A:
/// pack it (unless read in place), run its row of tiles. When A is packed and there is more
/// than one column block, that order would pack every A panel once per column block (at
/// square 2048, rows 8 KiB apart, 6% of the time in `pack_a`); there it runs ic → pc → pack
/// the A block (up to `A_BLOCK_ROWS` × kc) → jc → pack B → all tiles of the block.
unsafe fn packed(tier: &Tier, kern: &Kern, g: &Gemm) {
    let (m, n, k) = (g.m, g.n, g.k);
    let (mr, nr) = (kern.mr, kern.nr);
    let kc_max = even_block(k, tier.kc, 8);
    let nc_max = even_block(n, tier.nc, nr);
    let b_len = nc_max.div_ceil(nr) * nr * kc_max;
    // Operands whose k-steps are already contiguous runs (A with unit row stride, i.e. `xᵀ`;
    // row-major B) are read in place, except a partial last panel, which is packed (zero
    // padding keeps the microkernel free of edge cases). Measured (benches/RESULTS.md): in
    // place wins 2-8% on Zen 4 (AVX-512 tier) while the k-step stride is under 1024 floats;
    // at 4 KiB strides (and beyond) each k-step lands in the same L1 sets and a new page, and
    // packing wins unless the panel is reused by few tiles. Zen 3 (AVX2 tier, 512 KiB L2)
    // already loses 25-40% at 1-2 KiB strides, hence the per-tier limit.
    let max_stride = tier.in_place_max_stride;
    let a_in_place = g.rsa == 1 && kern.a_in_place && (g.csa < max_stride || n <= 2 * nr);
    // Row-major A is read contiguously along each row, so large strides do not hurt, but
    // rows 4 KiB apart (or a multiple) share their L1 sets: packed there (measured on Zen 3:
    // 1024- and 2048-float strides lost 0-15% in place, 256 and 784 gained 3-18%; on Zen 4,
    // AVX-512 tier, 1024 and 2048 lost 5-7%, 64-784 gained 1-8%).
    let a_rows_in_place =
        !a_in_place && g.csa == 1 && kern.a_rows_in_place && !g.rsa.is_multiple_of(1024);
    let b_in_place = g.csb == 1 && kern.b_in_place && (g.rsb < max_stride || m <= 4 * mr);
    let a_once = !a_in_place && !a_rows_in_place && n > nc_max;
    let mc_max = if a_once {
        even_block(m, A_BLOCK_ROWS, mr)
    } else {
        mr
    };
    let a_len = mc_max * kc_max;
    let prefetch_c = m * g.ldc >= PREFETCH_C_MIN;
    with_workspace(a_len + b_len, |ws| unsafe {
        let (pa_buf, pb_buf) = (ws, ws.add(a_len));
        // The block of C rows `ic..ic + mc`, columns `jc..jc + nc`, k-steps `pc..pc + kc`: B
        // packed into NR panels (or only its partial last panel when read in place); the A
        // fields are the caller's to set.
        let block = |ic: usize, mc: usize, jc: usize, nc: usize, pc: usize, kc: usize| {
            // LOOP: pack B (kc × nc) into NR panels (or only its partial last panel)
            let b_src = |j: usize| g.b.add(pc * g.rsb + (jc + j) * g.csb);
            let (pb, b_ps, b_ks, pb_edge) = if b_in_place {
                let mut edge = core::ptr::null();
                if !nc.is_multiple_of(nr) {
                    let j = nc / nr * nr;
                    (kern.pack_b)(kc, nc - j, b_src(j), g.rsb, g.csb, pb_buf);
                    edge = pb_buf as *const f32;
                }
                (b_src(0), nr, g.rsb, edge)
            } else {
                for (jp, j) in (0..nc).step_by(nr).enumerate() {
                    let cols = (nc - j).min(nr);
                    (kern.pack_b)(kc, cols, b_src(j), g.rsb, g.csb, pb_buf.add(jp * nr * kc));
                }
                (pb_buf as *const f32, nr * kc, nr, core::ptr::null())
            };
            Block {
                pa: pa_buf,
                a_ps: 0,
                a_ks: mr,
                a_rs: 0,
                pa_edge: core::ptr::null(),
                pb,
                b_ps,
                b_ks,
                pb_edge,
                mc,
                nc,
                kc,
                c: g.c.add(ic * g.ldc + jc),
                ldc: g.ldc,
                beta: g.beta || pc > 0,
                last: pc + kc == k,
                bias: if g.bias.is_null() {
                    g.bias
                } else {
                    g.bias.add(jc)
                },
                act: g.act,
                prefetch_c,
            }
        };
        let a_src = |i: usize, pc: usize| g.a.add(i * g.rsa + pc * g.csa);
        if a_once {
            let mut ic = 0;
            while ic < m {
                let mc = (m - ic).min(mc_max);
                let mut pc = 0;
                while pc < k {
                    let kc = (k - pc).min(kc_max);
                    // LOOP: pack the A block (mc × kc) once for all its column blocks
                    for (ip, i) in (0..mc).step_by(mr).enumerate() {
                        let dst = pa_buf.add(ip * mr * kc);
                        (kern.pack_a)(kc, (mc - i).min(mr), a_src(ic + i, pc), g.rsa, g.csa, dst);
                    }
                    let mut jc = 0;
                    while jc < n {
                        let nc = (n - jc).min(nc_max);
                        let mut blk = block(ic, mc, jc, nc, pc, kc);
                        blk.a_ps = mr * kc;
                        (kern.macro_tiles)(&blk, 0, mc.div_ceil(mr) * nc.div_ceil(nr));
                        jc += nc;
                    }
                    pc += kc;
                }
                ic += mc;
            }
            return;
        }
        let mut jc = 0;
        while jc < n {
            let nc = (n - jc).min(nc_max);
            let mut pc = 0;
            while pc < k {
                let kc = (k - pc).min(kc_max);
                let mut blk = block(0, m, jc, nc, pc, kc);
                let np = nc.div_ceil(nr);
                if a_rows_in_place {
                    // Row-major A in place: the microkernel broadcasts from `mr` row
                    // pointers; a partial last panel re-reads its last row (not stored).
                    blk.pa = a_src(0, pc);
                    blk.a_ps = mr * g.rsa;
                    blk.a_ks = 1;
                    blk.a_rs = g.rsa;
                    (kern.macro_tiles)(&blk, 0, m.div_ceil(mr) * np);
                } else if a_in_place {
                    // A read in place (unit row stride); only a partial last panel is packed.
                    if !m.is_multiple_of(mr) {
                        let i = m / mr * mr;
                        (kern.pack_a)(kc, m - i, a_src(i, pc), g.rsa, g.csa, pa_buf);
                        blk.pa_edge = pa_buf;
                    }
                    blk.pa = a_src(0, pc);
                    blk.a_ps = mr;
                    blk.a_ks = g.csa;
                    (kern.macro_tiles)(&blk, 0, m.div_ceil(mr) * np);
                } else {
                    // LOOP: pack one MR × kc A panel, then run its row of tiles while the
                    // panel is still in L1 (packing all of A first sends it to L2 and back).
                    for (ip, i) in (0..m).step_by(mr).enumerate() {
                        (kern.pack_a)(kc, (m - i).min(mr), a_src(i, pc), g.rsa, g.csa, pa_buf);
                        (kern.macro_tiles)(&blk, ip * np, (ip + 1) * np);
                    }
                }
                pc += kc;
            }
            jc += nc;
        }
    });
}

thread_local! {
    static WORKSPACE: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Run `f` with a 64-byte-aligned scratch buffer of at least `len` floats, owned by this
/// thread and reused across calls (it only grows, so steady-state calls do not allocate).
fn with_workspace<R>(len: usize, f: impl FnOnce(*mut f32) -> R) -> R {
    // Taken out of the cell (not borrowed) so a nested call on the same thread (rayon work
    // stealing) just uses a fresh buffer instead of aliasing this one.
    let mut buf = WORKSPACE.with(|w| w.take());
    let need = len + 16;
    if buf.len() < need {
        buf = vec![0.0f32; need.next_power_of_two()];
    }
    let off = buf.as_ptr().align_offset(64);
    let r = f(unsafe { buf.as_mut_ptr().add(off) });
    WORKSPACE.with(|w| {
        // Keep the larger one if a nested call left its buffer behind.
        let other = w.take();
        w.set(if other.len() > buf.len() { other } else { buf });
    });
    r
}
