//! Reference dropout (generic over `f32`/`f64`).

use crate::real::Real;
use crate::rng;

pub fn dropout_forward<T: Real>(
    y: &mut [T],
    mask: &mut [T],
    x: &[T],
    p: f32,
    seed: u64,
    offset: u64,
) {
    let scale = if p < 1.0 {
        T::from_f64(1.0 / (1.0 - p as f64))
    } else {
        T::ZERO
    };
    for i in 0..y.len() {
        let keep = rng::uniform_f32(seed, offset + i as u64) >= p;
        mask[i] = if keep { scale } else { T::ZERO };
        y[i] = x[i] * mask[i];
    }
}

pub fn dropout_backward<T: Real>(dx: &mut [T], mask: &[T], dy: &[T], acc: bool) {
    for i in 0..dx.len() {
        let g = dy[i] * mask[i];
        dx[i] = if acc { dx[i] + g } else { g };
    }
}
