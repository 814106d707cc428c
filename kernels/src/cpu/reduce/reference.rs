//! Reference reductions (generic over `f32`/`f64`).

use crate::real::Real;

pub fn sum_forward<T: Real>(
    out: &mut [T],
    x: &[T],
    outer: usize,
    n: usize,
    inner: usize,
    scale: T,
    acc: bool,
) {
    for o in 0..outer {
        for i in 0..inner {
            let mut s = T::ZERO;
            for k in 0..n {
                s += x[(o * n + k) * inner + i];
            }
            let dst = &mut out[o * inner + i];
            *dst = if acc { *dst + scale * s } else { scale * s };
        }
    }
}

pub fn sum_backward<T: Real>(
    dx: &mut [T],
    dy: &[T],
    outer: usize,
    n: usize,
    inner: usize,
    scale: T,
    acc: bool,
) {
    for o in 0..outer {
        for k in 0..n {
            for i in 0..inner {
                let g = scale * dy[o * inner + i];
                let dst = &mut dx[(o * n + k) * inner + i];
                *dst = if acc { *dst + g } else { g };
            }
        }
    }
}

pub fn max_forward<T: Real>(
    out: &mut [T],
    argmax: &mut [T],
    x: &[T],
    outer: usize,
    n: usize,
    inner: usize,
) {
    for o in 0..outer {
        for i in 0..inner {
            let mut best = x[o * n * inner + i];
            let mut arg = 0usize;
            for k in 1..n {
                let v = x[(o * n + k) * inner + i];
                // A NaN wins, so NaN propagates like in numpy.
                if v > best || (v.to_f64().is_nan() && !best.to_f64().is_nan()) {
                    best = v;
                    arg = k;
                }
            }
            out[o * inner + i] = best;
            argmax[o * inner + i] = T::from_f64(arg as f64);
        }
    }
}

pub fn max_backward<T: Real>(
    dx: &mut [T],
    argmax: &[T],
    dy: &[T],
    outer: usize,
    n: usize,
    inner: usize,
    acc: bool,
) {
    if !acc {
        dx[..outer * n * inner].fill(T::ZERO);
    }
    for o in 0..outer {
        for i in 0..inner {
            let k = argmax[o * inner + i].to_f64() as usize;
            dx[(o * n + k) * inner + i] += dy[o * inner + i];
        }
    }
}
