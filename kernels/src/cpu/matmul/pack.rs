//! GEMM packing (generic over [`Simd`]): copy a block of A into `MR`-tall panels and a block of
//! B into `NR`-wide panels, k-major, zero-padded to full panels, so the microkernel reads both
//! with unit stride and never needs an edge case.
//!
//! Layouts handled: the side whose elements are already contiguous per k-step (A with
//! `rsa == 1`, i.e. `xᵀ`; B with `csb == 1`, row-major) is a straight copy; the other side
//! (row-major A; B with `rsb == 1`, i.e. `Wᵀ`) is transposed in 8×8 blocks (AVX shuffles on
//! the x86 tiers); any other strides fall back to a scalar gather.
//!
//! Tested through the GEMM tests (`kernels/tests/matmul.rs`: every layout × awkward sizes);
//! benched as part of `benches/benches/gemm.rs`.

use crate::simd::Simd;

/// Pack one A panel: rows `0..rows` (≤ MR) of `a` (strides `rsa`, `csa`), k-steps `0..kc`,
/// into `dst[p·MR + i]`, zero-padding rows `rows..MR`.
#[inline(always)]
pub(crate) unsafe fn pack_a<S: Simd, const MR: usize>(
    kc: usize,
    rows: usize,
    a: *const f32,
    rsa: usize,
    csa: usize,
    dst: *mut f32,
) {
    unsafe {
        if rows < MR {
            core::ptr::write_bytes(dst, 0, kc * MR);
        }
        if rsa == 1 {
            // Column-major / transposed A: each k-step is `rows` contiguous floats.
            if rows == MR {
                for p in 0..kc {
                    let (s, d) = (a.add(p * csa), dst.add(p * MR));
                    for i in 0..MR {
                        *d.add(i) = *s.add(i);
                    }
                }
            } else {
                for p in 0..kc {
                    copy_short::<S>(a.add(p * csa), dst.add(p * MR), rows);
                }
            }
        } else if csa == 1 {
            // Row-major A: transpose 8×8 blocks.
            let kc8 = kc / 8 * 8;
            let mut i = 0;
            while i < rows {
                let r = (rows - i).min(8);
                let mut p = 0;
                while p < kc8 {
                    S::transpose8(a.add(i * rsa + p), rsa, r, dst.add(p * MR + i), MR);
                    p += 8;
                }
                for p in kc8..kc {
                    for ii in i..i + r {
                        *dst.add(p * MR + ii) = *a.add(ii * rsa + p);
                    }
                }
                i += 8;
            }
        } else {
            for p in 0..kc {
                for i in 0..rows {
                    *dst.add(p * MR + i) = *a.add(i * rsa + p * csa);
                }
            }
        }
    }
}

/// Pack one B panel: columns `0..cols` (≤ NR) of `b`, k-steps `0..kc`, into `dst[p·NR + j]`,
/// zero-padding columns `cols..NR`.
#[inline(always)]
pub(crate) unsafe fn pack_b<S: Simd, const NR: usize>(
    kc: usize,
    cols: usize,
    b: *const f32,
    rsb: usize,
    csb: usize,
    dst: *mut f32,
) {
    unsafe {
        if cols < NR {
            core::ptr::write_bytes(dst, 0, kc * NR);
        }
        if csb == 1 {
            if cols == NR {
                for p in 0..kc {
                    let src = b.add(p * rsb);
                    let d = dst.add(p * NR);
                    let mut j = 0;
                    while j < NR {
                        S::storeu(d.add(j), S::loadu(src.add(j)));
                        j += S::LANES;
                    }
                }
            } else {
                for p in 0..kc {
                    copy_short::<S>(b.add(p * rsb), dst.add(p * NR), cols);
                }
            }
        } else if rsb == 1 {
            // Transposed B (e.g. Wᵀ with W row-major): each column is contiguous along k.
            let kc8 = kc / 8 * 8;
            let mut j = 0;
            while j < cols {
                let r = (cols - j).min(8);
                let mut p = 0;
                while p < kc8 {
                    S::transpose8(b.add(j * csb + p), csb, r, dst.add(p * NR + j), NR);
                    p += 8;
                }
                for p in kc8..kc {
                    for jj in j..j + r {
                        *dst.add(p * NR + jj) = *b.add(jj * csb + p);
                    }
                }
                j += 8;
            }
        } else {
            for p in 0..kc {
                for j in 0..cols {
                    *dst.add(p * NR + j) = *b.add(p * rsb + j * csb);
                }
            }
        }
    }
}

/// Copy `n` floats with vector loads/stores (no `memcpy` call for these short runs).
#[inline(always)]
unsafe fn copy_short<S: Simd>(src: *const f32, dst: *mut f32, n: usize) {
    unsafe {
        let mut j = 0;
        while j + S::LANES <= n {
            S::storeu(dst.add(j), S::loadu(src.add(j)));
            j += S::LANES;
        }
        if j < n {
            S::store_n(dst.add(j), S::load_n(src.add(j), n - j), n - j);
        }
    }
}
