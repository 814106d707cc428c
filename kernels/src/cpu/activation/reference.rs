//! Reference activations (generic over `f32`/`f64`): the oracle for the SIMD tiers and CUDA.

use super::Activation;
use crate::real::Real;

const INV_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

#[inline]
pub fn apply<T: Real>(act: Activation, x: T) -> T {
    match act {
        Activation::Identity => x,
        Activation::Relu => {
            if x > T::ZERO {
                x
            } else {
                T::ZERO
            }
        }
        Activation::LeakyRelu(a) => {
            if x > T::ZERO {
                x
            } else {
                T::from_f64(a as f64) * x
            }
        }
        Activation::Elu(a) => {
            if x > T::ZERO {
                x
            } else {
                T::from_f64(a as f64) * (x.exp() - T::ONE)
            }
        }
        Activation::Gelu => {
            let half = T::from_f64(0.5);
            half * x * (T::ONE + (x * T::from_f64(INV_SQRT_2)).erf())
        }
        Activation::Sigmoid => sigmoid(x),
        Activation::Tanh => x.tanh(),
    }
}

/// Numerically stable logistic function.
#[inline]
pub fn sigmoid<T: Real>(x: T) -> T {
    if x >= T::ZERO {
        T::ONE / (T::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::ONE + e)
    }
}

/// f'(x) given the input `x` and the output `y = f(x)`.
#[inline]
pub fn derivative<T: Real>(act: Activation, x: T, y: T) -> T {
    match act {
        Activation::Identity => T::ONE,
        Activation::Relu => {
            if y > T::ZERO {
                T::ONE
            } else {
                T::ZERO
            }
        }
        Activation::LeakyRelu(a) => {
            // y > 0 exactly when x > 0 (alpha ≥ 0); at x == 0 use the left slope like PyTorch.
            if y > T::ZERO {
                T::ONE
            } else {
                T::from_f64(a as f64)
            }
        }
        Activation::Elu(a) => {
            if y > T::ZERO {
                T::ONE
            } else {
                y + T::from_f64(a as f64)
            }
        }
        Activation::Gelu => {
            let cdf = T::from_f64(0.5) * (T::ONE + (x * T::from_f64(INV_SQRT_2)).erf());
            let pdf = T::from_f64(INV_SQRT_2PI) * (-(x * x) * T::from_f64(0.5)).exp();
            cdf + x * pdf
        }
        Activation::Sigmoid => y * (T::ONE - y),
        Activation::Tanh => T::ONE - y * y,
    }
}

// y (n) = f(x (n))
pub fn activation_forward<T: Real>(act: Activation, y: &mut [T], x: &[T]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = apply(act, v);
    }
}

pub fn activation_inplace<T: Real>(act: Activation, v: &mut [T]) {
    for o in v.iter_mut() {
        *o = apply(act, *o);
    }
}

// dx (n) (+)= dy · f'(x), y = f(x)
pub fn activation_backward<T: Real>(
    act: Activation,
    dx: &mut [T],
    x: &[T],
    y: &[T],
    dy: &[T],
    accumulate: bool,
) {
    let needs_x = act.backward_needs_input();
    for i in 0..dx.len() {
        let xi = if needs_x { x[i] } else { T::ZERO };
        let g = dy[i] * derivative(act, xi, y[i]);
        if accumulate {
            dx[i] += g;
        } else {
            dx[i] = g;
        }
    }
}

/// Fused Linear+activation backward (the oracle of `activation::bias_act_backward`), over
/// `rows × cols` row-major: `dpre (+)= dy·f′(x, y)`, `dbias (+)= Σ_rows dy·f′(x, y)` (the new
/// contribution only). `x` is read only for activations that need it (GELU).
#[allow(clippy::too_many_arguments)]
pub fn bias_act_backward<T: Real>(
    act: Activation,
    dpre: &mut [T],
    dbias: &mut [T],
    x: &[T],
    y: &[T],
    dy: &[T],
    rows: usize,
    cols: usize,
    acc_dpre: bool,
    acc_dbias: bool,
) {
    let needs_x = act.backward_needs_input();
    for (j, db) in dbias.iter_mut().enumerate().take(cols) {
        let mut s = T::ZERO;
        for i in 0..rows {
            let k = i * cols + j;
            let xi = if needs_x { x[k] } else { T::ZERO };
            let g = dy[k] * derivative(act, xi, y[k]);
            s += g;
            dpre[k] = if acc_dpre { dpre[k] + g } else { g };
        }
        *db = if acc_dbias { *db + s } else { s };
    }
}
