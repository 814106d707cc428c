//! Reference optimizer updates (generic over `f32`/`f64`), PyTorch semantics.

use super::{AdamParams, RmspropParams, SgdParams};
use crate::real::Real;

pub fn sgd_step<T: Real>(p: &mut [T], g: &[T], velocity: &mut [T], hp: SgdParams) {
    let lr = T::from_f64(hp.lr as f64);
    let mu = T::from_f64(hp.momentum as f64);
    let wd = T::from_f64(hp.weight_decay as f64);
    for i in 0..p.len() {
        let mut gi = g[i] + wd * p[i];
        if hp.momentum != 0.0 {
            velocity[i] = mu * velocity[i] + gi;
            gi = if hp.nesterov {
                gi + mu * velocity[i]
            } else {
                velocity[i]
            };
        }
        p[i] -= lr * gi;
    }
}

pub fn adam_step<T: Real>(p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], hp: AdamParams) {
    let lr = T::from_f64(hp.lr as f64);
    let b1 = T::from_f64(hp.beta1 as f64);
    let b2 = T::from_f64(hp.beta2 as f64);
    let eps = T::from_f64(hp.eps as f64);
    let wd = T::from_f64(hp.weight_decay as f64);
    let t = hp.step.max(1) as i32;
    // PyTorch's arrangement: the bias corrections fold into two scalars, leaving one square
    // root and one division per element (`p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps)`).
    let bc1 = T::ONE - b1.powi(t);
    let bc2 = T::ONE - b2.powi(t);
    let step_size = lr / bc1;
    let inv_sqrt_bc2 = T::ONE / bc2.sqrt();
    for i in 0..p.len() {
        let mut gi = g[i];
        if hp.decoupled {
            p[i] -= lr * wd * p[i];
        } else {
            gi += wd * p[i];
        }
        m[i] = b1 * m[i] + (T::ONE - b1) * gi;
        v[i] = b2 * v[i] + (T::ONE - b2) * gi * gi;
        let denom = v[i].sqrt() * inv_sqrt_bc2 + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

pub fn rmsprop_step<T: Real>(p: &mut [T], g: &[T], sq: &mut [T], buf: &mut [T], hp: RmspropParams) {
    let lr = T::from_f64(hp.lr as f64);
    let alpha = T::from_f64(hp.alpha as f64);
    let eps = T::from_f64(hp.eps as f64);
    let mu = T::from_f64(hp.momentum as f64);
    let wd = T::from_f64(hp.weight_decay as f64);
    for i in 0..p.len() {
        let gi = g[i] + wd * p[i];
        sq[i] = alpha * sq[i] + (T::ONE - alpha) * gi * gi;
        let u = gi / (sq[i].sqrt() + eps);
        if hp.momentum > 0.0 {
            buf[i] = mu * buf[i] + u;
            p[i] -= lr * buf[i];
        } else {
            p[i] -= lr * u;
        }
    }
}

pub fn sum_squares<T: Real>(g: &[T]) -> f64 {
    g.iter().map(|&x| x.to_f64() * x.to_f64()).sum()
}
