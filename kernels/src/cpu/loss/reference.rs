//! Reference elementwise losses (generic over `f32`/`f64`).

use super::RegressionLoss;
use crate::cpu::activation::reference::sigmoid;
use crate::real::Real;

pub fn regression_loss_forward<T: Real>(
    kind: RegressionLoss,
    out: &mut [T],
    pred: &[T],
    target: &[T],
) {
    for i in 0..out.len() {
        let d = pred[i] - target[i];
        out[i] = match kind {
            RegressionLoss::Mse => d * d,
            RegressionLoss::Mae => d.abs(),
            RegressionLoss::Huber(delta) => {
                let delta = T::from_f64(delta as f64);
                let a = d.abs();
                if a <= delta {
                    T::from_f64(0.5) * d * d
                } else {
                    delta * (a - T::from_f64(0.5) * delta)
                }
            }
        };
    }
}

pub fn regression_loss_backward<T: Real>(
    kind: RegressionLoss,
    dpred: &mut [T],
    pred: &[T],
    target: &[T],
    dy: &[T],
    acc: bool,
) {
    for i in 0..dpred.len() {
        let d = pred[i] - target[i];
        let sign = if d > T::ZERO {
            T::ONE
        } else if d < T::ZERO {
            -T::ONE
        } else {
            T::ZERO
        };
        let g = match kind {
            RegressionLoss::Mse => T::from_f64(2.0) * d,
            RegressionLoss::Mae => sign,
            RegressionLoss::Huber(delta) => {
                let delta = T::from_f64(delta as f64);
                if d.abs() <= delta { d } else { delta * sign }
            }
        } * dy[i];
        dpred[i] = if acc { dpred[i] + g } else { g };
    }
}

pub fn bce_with_logits_forward<T: Real>(out: &mut [T], x: &[T], t: &[T]) {
    for i in 0..out.len() {
        let xi = x[i];
        out[i] = xi.max(T::ZERO) - xi * t[i] + (-xi.abs()).exp().ln_1p();
    }
}

pub fn bce_with_logits_backward<T: Real>(dx: &mut [T], x: &[T], t: &[T], dy: &[T], acc: bool) {
    for i in 0..dx.len() {
        let g = dy[i] * (sigmoid(x[i]) - t[i]);
        dx[i] = if acc { dx[i] + g } else { g };
    }
}
