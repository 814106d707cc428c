//! Scalers: `(x − offset) / scale` per column, fitted as scikit-learn's `StandardScaler`,
//! `MinMaxScaler` and `RobustScaler` are; statistics in f64.

use serde::{Deserialize, Serialize};

use super::config::ScalerKind;
use super::stats;

/// Standardization `(x − mean) / scale`, scikit-learn's `StandardScaler` (population standard
/// deviation; a constant column gets scale 1). Used for regression targets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StandardScaler {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

/// A near-zero spread means a constant column: scale 1, as scikit-learn does.
fn safe_scale(s: f64) -> f64 {
    if s.is_finite() && s > 1e-12 * (1.0 + s.abs()) {
        s
    } else {
        1.0
    }
}

impl StandardScaler {
    /// Fit on `x: rows × cols` row-major.
    pub fn fit(x: &[f32], rows: usize, cols: usize) -> StandardScaler {
        let mut mean = vec![0.0f64; cols];
        for r in 0..rows {
            for c in 0..cols {
                mean[c] += x[r * cols + c] as f64;
            }
        }
        for m in &mut mean {
            *m /= rows.max(1) as f64;
        }
        let mut var = vec![0.0f64; cols];
        for r in 0..rows {
            for c in 0..cols {
                let d = x[r * cols + c] as f64 - mean[c];
                var[c] += d * d;
            }
        }
        let scale = var
            .iter()
            .map(|v| safe_scale((v / rows.max(1) as f64).sqrt()))
            .collect();
        StandardScaler { mean, scale }
    }

    pub fn transform(&self, x: &mut [f32], cols: usize) {
        for row in x.chunks_exact_mut(cols) {
            for (c, v) in row.iter_mut().enumerate() {
                *v = ((*v as f64 - self.mean[c]) / self.scale[c]) as f32;
            }
        }
    }

    pub fn inverse_transform(&self, x: &mut [f32], cols: usize) {
        for row in x.chunks_exact_mut(cols) {
            for (c, v) in row.iter_mut().enumerate() {
                *v = (*v as f64 * self.scale[c] + self.mean[c]) as f32;
            }
        }
    }
}

/// Per-column `(x − offset) / scale`; columns that are not scaled have offset 0 and scale 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    pub kind: ScalerKind,
    pub offset: Vec<f64>,
    pub scale: Vec<f64>,
}

impl Scaler {
    /// Fit on columns given as f64 values (`columns[c]`), scaling only where `scaled[c]`.
    pub fn fit(kind: ScalerKind, columns: &[Vec<f64>], scaled: &[bool]) -> Scaler {
        let (offset, scale) = columns
            .iter()
            .zip(scaled)
            .map(|(v, &s)| if s { fit_one(kind, v) } else { (0.0, 1.0) })
            .unzip();
        Scaler {
            kind,
            offset,
            scale,
        }
    }

    pub fn identity(n: usize) -> Scaler {
        Scaler {
            kind: ScalerKind::None,
            offset: vec![0.0; n],
            scale: vec![1.0; n],
        }
    }

    #[inline]
    pub fn apply(&self, c: usize, v: f64) -> f64 {
        (v - self.offset[c]) / self.scale[c]
    }
}

/// (offset, scale) of one column.
pub fn fit_one(kind: ScalerKind, v: &[f64]) -> (f64, f64) {
    match kind {
        ScalerKind::None => (0.0, 1.0),
        ScalerKind::Standard => {
            let m = stats::mean(v);
            let m = if m.is_finite() { m } else { 0.0 };
            (m, safe_scale(stats::variance(v).sqrt()))
        }
        ScalerKind::Minmax => {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if lo.is_finite() {
                (lo, safe_scale(hi - lo))
            } else {
                (0.0, 1.0)
            }
        }
        ScalerKind::Robust => {
            let s = stats::sorted(v);
            if s.is_empty() {
                return (0.0, 1.0);
            }
            let iqr = stats::percentile_sorted(&s, 75.0) - stats::percentile_sorted(&s, 25.0);
            (stats::median_sorted(&s), safe_scale(iqr))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_scaler_matches_definition() {
        let x = [1.0f32, 10.0, 3.0, 10.0, 5.0, 10.0];
        let s = StandardScaler::fit(&x, 3, 2);
        assert_eq!(s.mean, vec![3.0, 10.0]);
        assert!((s.scale[0] - (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(s.scale[1], 1.0);
        let mut y = x;
        s.transform(&mut y, 2);
        s.inverse_transform(&mut y, 2);
        for (a, b) in x.iter().zip(&y) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn kinds() {
        let v = vec![1.0, 2.0, 3.0, 10.0];
        assert_eq!(fit_one(ScalerKind::Minmax, &v), (1.0, 9.0));
        // median 2.5, IQR 4.75 − 1.75 = 3
        assert_eq!(fit_one(ScalerKind::Robust, &v), (2.5, 3.0));
        assert_eq!(fit_one(ScalerKind::Standard, &[2.0, 2.0]), (2.0, 1.0));
        let s = Scaler::fit(ScalerKind::Minmax, &[v.clone(), v], &[true, false]);
        assert_eq!(s.apply(0, 10.0), 1.0);
        assert_eq!(s.apply(1, 10.0), 10.0);
    }
}
