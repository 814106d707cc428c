//! SIMD bodies of the softmax family (generic over [`Simd`]): softmax forward and the fused
//! softmax + cross-entropy forward (one pass for max, one for `exp` + sum, one scale) and
//! backward (`dx (+)= dl·(p − onehot)`, the target element fixed up exactly in scalar).
//! Rows narrower than a vector use masked loads/stores.
//! Tested in `kernels/tests/softmax.rs`; benched in `benches/benches/fused.rs`.

use crate::simd::{Simd, load, math, store};

/// Row max (scalar tail so padding lanes never count).
#[inline(always)]
unsafe fn row_max<S: Simd>(x: *const f32, cols: usize) -> f32 {
    unsafe {
        let mut m = *x;
        let mut j = 0;
        if cols >= S::LANES {
            let mut mv = S::loadu(x);
            j = S::LANES;
            while j + S::LANES <= cols {
                mv = S::max(S::loadu(x.add(j)), mv);
                j += S::LANES;
            }
            m = S::hmax(mv);
        }
        for t in j..cols {
            let v = *x.add(t);
            if v > m {
                m = v;
            }
        }
        m
    }
}

/// `e = exp(x − m)` written to `y`, returns Σ e.
#[inline(always)]
unsafe fn exp_store_sum<S: Simd>(y: *mut f32, x: *const f32, cols: usize, m: f32) -> f32 {
    unsafe {
        let mv = S::splat(m);
        let mut sv = S::zero();
        let mut j = 0;
        while j + S::LANES <= cols {
            let e = math::exp::<S>(S::sub(S::loadu(x.add(j)), mv));
            S::storeu(y.add(j), e);
            sv = S::add(sv, e);
            j += S::LANES;
        }
        if j < cols {
            let w = cols - j;
            let e = math::exp::<S>(S::sub(S::load_n(x.add(j), w), mv));
            S::store_n(y.add(j), e, w);
            // reload: lanes past the row read as 0
            sv = S::add(sv, S::load_n(y.add(j), w));
        }
        S::hsum(sv)
    }
}

#[inline(always)]
unsafe fn scale_row<S: Simd>(y: *mut f32, cols: usize, c: f32) {
    unsafe {
        let cv = S::splat(c);
        let mut j = 0;
        while j < cols {
            let w = (cols - j).min(S::LANES);
            store::<S>(y.add(j), S::mul(load::<S>(y.add(j), w), cv), w);
            j += S::LANES;
        }
    }
}

// y (rows×cols) = softmax(x) per row
#[inline(always)]
pub(crate) unsafe fn softmax_forward<S: Simd>(y: &mut [f32], x: &[f32], rows: usize, cols: usize) {
    unsafe {
        for r in 0..rows {
            let (xr, yr) = (x.as_ptr().add(r * cols), y.as_mut_ptr().add(r * cols));
            let m = row_max::<S>(xr, cols);
            let s = exp_store_sum::<S>(yr, xr, cols, m);
            scale_row::<S>(yr, cols, 1.0 / s);
        }
    }
}

// loss (rows), probs (rows×cols) from logits (rows×cols), targets (rows)
#[inline(always)]
pub(crate) unsafe fn xent_forward<S: Simd>(
    loss: &mut [f32],
    probs: &mut [f32],
    logits: &[f32],
    targets: &[f32],
    rows: usize,
    cols: usize,
) {
    unsafe {
        for r in 0..rows {
            let (xr, pr) = (
                logits.as_ptr().add(r * cols),
                probs.as_mut_ptr().add(r * cols),
            );
            let m = row_max::<S>(xr, cols);
            let s = exp_store_sum::<S>(pr, xr, cols, m);
            scale_row::<S>(pr, cols, 1.0 / s);
            let t = targets[r] as usize;
            // loss = logsumexp(x) − x_t = m + ln Σ e − x_t
            loss[r] = (m + s.ln()) - *xr.add(t);
        }
    }
}

// dlogits (rows×cols) (+)= dloss_r · (probs − onehot(targets))
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn xent_backward<S: Simd>(
    dlogits: &mut [f32],
    probs: &[f32],
    targets: &[f32],
    dloss: &[f32],
    rows: usize,
    cols: usize,
    acc: bool,
) {
    unsafe {
        for r in 0..rows {
            let (dr, pr) = (
                dlogits.as_mut_ptr().add(r * cols),
                probs.as_ptr().add(r * cols),
            );
            let t = targets[r] as usize;
            let dl = dloss[r];
            let old_t = *dr.add(t);
            let dv = S::splat(dl);
            let mut j = 0;
            while j < cols {
                let w = (cols - j).min(S::LANES);
                let mut g = S::mul(dv, load::<S>(pr.add(j), w));
                if acc {
                    g = S::add(load::<S>(dr.add(j), w), g);
                }
                store::<S>(dr.add(j), g, w);
                j += S::LANES;
            }
            // the target element exactly as the reference: dl · (p − 1)
            let g = dl * (*pr.add(t) - 1.0);
            *dr.add(t) = if acc { old_t + g } else { g };
        }
    }
}
