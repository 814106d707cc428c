//! Reference batch normalisation (generic over `f32`/`f64`).

use crate::real::Real;

#[allow(clippy::too_many_arguments)]
pub fn batchnorm_forward_train<T: Real>(
    y: &mut [T],
    mean: &mut [T],
    var: &mut [T],
    x: &[T],
    gamma: &[T],
    beta: &[T],
    rows: usize,
    cols: usize,
    eps: f32,
) {
    let n = T::from_f64(rows as f64);
    let eps = T::from_f64(eps as f64);
    for j in 0..cols {
        let mut s = T::ZERO;
        for i in 0..rows {
            s += x[i * cols + j];
        }
        let mu = s / n;
        let mut ss = T::ZERO;
        for i in 0..rows {
            let d = x[i * cols + j] - mu;
            ss += d * d;
        }
        let v = ss / n;
        mean[j] = mu;
        var[j] = v;
        let inv = T::ONE / (v + eps).sqrt();
        for i in 0..rows {
            let k = i * cols + j;
            y[k] = gamma[j] * (x[k] - mu) * inv + beta[j];
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn batchnorm_forward_eval<T: Real>(
    y: &mut [T],
    x: &[T],
    gamma: &[T],
    beta: &[T],
    running_mean: &[T],
    running_var: &[T],
    rows: usize,
    cols: usize,
    eps: f32,
) {
    let eps = T::from_f64(eps as f64);
    for j in 0..cols {
        let inv = T::ONE / (running_var[j] + eps).sqrt();
        let (g, b, mu) = (gamma[j], beta[j], running_mean[j]);
        for i in 0..rows {
            let k = i * cols + j;
            y[k] = g * (x[k] - mu) * inv + b;
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn batchnorm_backward<T: Real>(
    mut dx: Option<(&mut [T], bool)>,
    mut dgamma: Option<(&mut [T], bool)>,
    mut dbeta: Option<(&mut [T], bool)>,
    x: &[T],
    mean: &[T],
    var: &[T],
    gamma: &[T],
    dy: &[T],
    rows: usize,
    cols: usize,
    eps: f32,
) {
    let n = T::from_f64(rows as f64);
    let eps = T::from_f64(eps as f64);
    for j in 0..cols {
        let inv = T::ONE / (var[j] + eps).sqrt();
        let mut sdy = T::ZERO;
        let mut sdyx = T::ZERO;
        for i in 0..rows {
            let k = i * cols + j;
            let xhat = (x[k] - mean[j]) * inv;
            sdy += dy[k];
            sdyx += dy[k] * xhat;
        }
        if let Some((db, acc)) = dbeta.as_mut() {
            db[j] = if *acc { db[j] + sdy } else { sdy };
        }
        if let Some((dg, acc)) = dgamma.as_mut() {
            dg[j] = if *acc { dg[j] + sdyx } else { sdyx };
        }
        if let Some((dxs, acc)) = dx.as_mut() {
            let c = gamma[j] * inv / n;
            for i in 0..rows {
                let k = i * cols + j;
                let xhat = (x[k] - mean[j]) * inv;
                let g = c * (n * dy[k] - sdy - xhat * sdyx);
                dxs[k] = if *acc { dxs[k] + g } else { g };
            }
        }
    }
}
