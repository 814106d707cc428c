//! Reference elementwise kernels (generic over `f32`/`f64`).

use super::{BinaryOp, Broadcast, UnaryOp};
use crate::real::Real;

#[inline]
pub fn unary_apply<T: Real>(op: UnaryOp, x: T) -> T {
    match op {
        UnaryOp::Neg => -x,
        UnaryOp::Exp => x.exp(),
        UnaryOp::Log => x.ln(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Scale(c) => T::from_f64(c) * x,
        UnaryOp::AddScalar(c) => x + T::from_f64(c),
        UnaryOp::Abs => x.abs(),
        UnaryOp::Square => x * x,
    }
}

#[inline]
fn unary_grad<T: Real>(op: UnaryOp, x: T, y: T) -> T {
    match op {
        UnaryOp::Neg => -T::ONE,
        UnaryOp::Exp => y,
        UnaryOp::Log => T::ONE / x,
        UnaryOp::Sqrt => T::from_f64(0.5) / y,
        UnaryOp::Scale(c) => T::from_f64(c),
        UnaryOp::AddScalar(_) => T::ONE,
        // sign(x), with 0 at 0 like PyTorch
        UnaryOp::Abs => {
            if x > T::ZERO {
                T::ONE
            } else if x < T::ZERO {
                -T::ONE
            } else {
                T::ZERO
            }
        }
        UnaryOp::Square => T::from_f64(2.0) * x,
    }
}

pub fn unary_forward<T: Real>(op: UnaryOp, y: &mut [T], x: &[T]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = unary_apply(op, v);
    }
}

pub fn unary_backward<T: Real>(op: UnaryOp, dx: &mut [T], x: &[T], y: &[T], dy: &[T], acc: bool) {
    for i in 0..dx.len() {
        let g = dy[i] * unary_grad(op, x[i], y[i]);
        if acc {
            dx[i] += g;
        } else {
            dx[i] = g;
        }
    }
}

#[inline]
fn bidx(bc: Broadcast, i: usize, j: usize, cols: usize) -> usize {
    match bc {
        Broadcast::None => i * cols + j,
        Broadcast::Row => j,
        Broadcast::Col => i,
        Broadcast::Scalar => 0,
    }
}

#[inline]
fn binary_apply<T: Real>(op: BinaryOp, a: T, b: T) -> T {
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
    }
}

pub fn binary_forward<T: Real>(
    op: BinaryOp,
    out: &mut [T],
    a: &[T],
    b: &[T],
    rows: usize,
    cols: usize,
    bc: Broadcast,
) {
    for i in 0..rows {
        for j in 0..cols {
            let k = i * cols + j;
            out[k] = binary_apply(op, a[k], b[bidx(bc, i, j, cols)]);
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn binary_backward<T: Real>(
    op: BinaryOp,
    da: Option<(&mut [T], bool)>,
    db: Option<(&mut [T], bool)>,
    a: &[T],
    b: &[T],
    dy: &[T],
    rows: usize,
    cols: usize,
    bc: Broadcast,
) {
    if let Some((da, acc)) = da {
        for i in 0..rows {
            for j in 0..cols {
                let k = i * cols + j;
                let bv = b[bidx(bc, i, j, cols)];
                let g = match op {
                    BinaryOp::Add | BinaryOp::Sub => dy[k],
                    BinaryOp::Mul => dy[k] * bv,
                    BinaryOp::Div => dy[k] / bv,
                };
                if acc {
                    da[k] += g;
                } else {
                    da[k] = g;
                }
            }
        }
    }
    if let Some((db, acc)) = db {
        if !acc {
            db[..bc.b_len(rows, cols)].fill(T::ZERO);
        }
        for i in 0..rows {
            for j in 0..cols {
                let k = i * cols + j;
                let bi = bidx(bc, i, j, cols);
                let bv = b[bi];
                let g = match op {
                    BinaryOp::Add => dy[k],
                    BinaryOp::Sub => -dy[k],
                    BinaryOp::Mul => dy[k] * a[k],
                    BinaryOp::Div => -dy[k] * a[k] / (bv * bv),
                };
                db[bi] += g;
            }
        }
    }
}

pub fn axpy<T: Real>(y: &mut [T], alpha: T, x: &[T]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o += alpha * v;
    }
}

pub fn axpby<T: Real>(y: &mut [T], alpha: T, x: &[T], beta: T) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = alpha * v + beta * *o;
    }
}

pub fn transpose<T: Real>(out: &mut [T], x: &[T], rows: usize, cols: usize) {
    // Blocked so both sides stay in cache for large matrices.
    const B: usize = 32;
    for i0 in (0..rows).step_by(B) {
        for j0 in (0..cols).step_by(B) {
            for i in i0..(i0 + B).min(rows) {
                for j in j0..(j0 + B).min(cols) {
                    out[j * rows + i] = x[i * cols + j];
                }
            }
        }
    }
}

pub fn gather_rows<T: Real>(out: &mut [T], src: &[T], idx: &[T], cols: usize) {
    for (r, &i) in idx.iter().enumerate() {
        let i = i.to_f64() as usize;
        out[r * cols..(r + 1) * cols].copy_from_slice(&src[i * cols..(i + 1) * cols]);
    }
}

pub fn scal<T: Real>(y: &mut [T], alpha: T) {
    for v in y.iter_mut() {
        *v *= alpha;
    }
}
