//! Reference GEMM: the triple loop, accumulated in `f64`-free plain order (k innermost).
//! The oracle for every fast GEMM tier; also the `f64` GEMM of the engine (gradient checks).

use super::{Epilogue, MatRef, apply_epilogue};
use crate::real::Real;

// c (m×n, row stride ldc) = act(a (m×k) · b (k×n) [+ c] + bias)
pub fn matmul_forward<T: Real>(
    c: &mut [T],
    ldc: usize,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    accumulate: bool,
    epi: Epilogue<'_, T>,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    for i in 0..m {
        for j in 0..n {
            let mut s = T::ZERO;
            for p in 0..k {
                s += a.at(i, p) * b.at(p, j);
            }
            let dst = &mut c[i * ldc + j];
            *dst = if accumulate { *dst + s } else { s };
        }
    }
    apply_epilogue(c, ldc, m, n, epi);
}
