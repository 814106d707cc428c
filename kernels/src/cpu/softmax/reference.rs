//! Reference softmax family (generic over `f32`/`f64`), max-subtracted for stability.

use crate::real::Real;

fn row_max<T: Real>(r: &[T]) -> T {
    r.iter()
        .copied()
        .fold(r[0], |m, v| if v > m { v } else { m })
}

pub fn softmax_forward<T: Real>(y: &mut [T], x: &[T], rows: usize, cols: usize) {
    if cols == 0 {
        return;
    }
    for i in 0..rows {
        let xr = &x[i * cols..(i + 1) * cols];
        let yr = &mut y[i * cols..(i + 1) * cols];
        let m = row_max(xr);
        let mut s = T::ZERO;
        for (o, &v) in yr.iter_mut().zip(xr) {
            *o = (v - m).exp();
            s += *o;
        }
        let inv = T::ONE / s;
        for o in yr.iter_mut() {
            *o *= inv;
        }
    }
}

pub fn softmax_backward<T: Real>(
    dx: &mut [T],
    y: &[T],
    dy: &[T],
    rows: usize,
    cols: usize,
    acc: bool,
) {
    for i in 0..rows {
        let r = i * cols..(i + 1) * cols;
        let (yr, dyr) = (&y[r.clone()], &dy[r.clone()]);
        let mut dot = T::ZERO;
        for j in 0..cols {
            dot += yr[j] * dyr[j];
        }
        let dxr = &mut dx[r];
        for j in 0..cols {
            let g = yr[j] * (dyr[j] - dot);
            dxr[j] = if acc { dxr[j] + g } else { g };
        }
    }
}

pub fn logsumexp<T: Real>(r: &[T]) -> T {
    let m = row_max(r);
    let mut s = T::ZERO;
    for &v in r {
        s += (v - m).exp();
    }
    m + s.ln()
}

pub fn log_softmax_forward<T: Real>(y: &mut [T], x: &[T], rows: usize, cols: usize) {
    if cols == 0 {
        return;
    }
    for i in 0..rows {
        let xr = &x[i * cols..(i + 1) * cols];
        let lse = logsumexp(xr);
        for (o, &v) in y[i * cols..(i + 1) * cols].iter_mut().zip(xr) {
            *o = v - lse;
        }
    }
}

pub fn log_softmax_backward<T: Real>(
    dx: &mut [T],
    y: &[T],
    dy: &[T],
    rows: usize,
    cols: usize,
    acc: bool,
) {
    for i in 0..rows {
        let r = i * cols..(i + 1) * cols;
        let mut s = T::ZERO;
        for &g in &dy[r.clone()] {
            s += g;
        }
        for j in r {
            let g = dy[j] - y[j].exp() * s;
            dx[j] = if acc { dx[j] + g } else { g };
        }
    }
}

pub fn softmax_cross_entropy_forward<T: Real>(
    loss: &mut [T],
    probs: &mut [T],
    logits: &[T],
    targets: &[T],
    rows: usize,
    cols: usize,
) {
    softmax_forward(probs, logits, rows, cols);
    for i in 0..rows {
        let xr = &logits[i * cols..(i + 1) * cols];
        let t = targets[i].to_f64() as usize;
        loss[i] = logsumexp(xr) - xr[t];
    }
}

pub fn softmax_cross_entropy_backward<T: Real>(
    dlogits: &mut [T],
    probs: &[T],
    targets: &[T],
    dloss: &[T],
    rows: usize,
    cols: usize,
    acc: bool,
) {
    for i in 0..rows {
        let t = targets[i].to_f64() as usize;
        for j in 0..cols {
            let k = i * cols + j;
            let onehot = if j == t { T::ONE } else { T::ZERO };
            let g = dloss[i] * (probs[k] - onehot);
            dlogits[k] = if acc { dlogits[k] + g } else { g };
        }
    }
}
