//! Regression metrics per output and averaged over outputs (scikit-learn's
//! `multioutput="uniform_average"`).

use serde_json::{Map, Value, json};

/// Coefficient of determination of one output (scikit-learn's `r2_score`: 1 − SS_res/SS_tot;
/// a constant target gives 1 for a perfect fit and 0 otherwise).
pub fn r2(y_true: &[f64], y_pred: &[f64]) -> f64 {
    let n = y_true.len() as f64;
    let mean = y_true.iter().sum::<f64>() / n;
    let ss_tot: f64 = y_true.iter().map(|y| (y - mean).powi(2)).sum();
    let ss_res: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(y, p)| (y - p).powi(2))
        .sum();
    if ss_tot == 0.0 {
        return if ss_res == 0.0 { 1.0 } else { 0.0 };
    }
    1.0 - ss_res / ss_tot
}

pub fn rmse(y_true: &[f64], y_pred: &[f64]) -> f64 {
    (y_true
        .iter()
        .zip(y_pred)
        .map(|(y, p)| (y - p).powi(2))
        .sum::<f64>()
        / y_true.len() as f64)
        .sqrt()
}

pub fn mae(y_true: &[f64], y_pred: &[f64]) -> f64 {
    y_true
        .iter()
        .zip(y_pred)
        .map(|(y, p)| (y - p).abs())
        .sum::<f64>()
        / y_true.len() as f64
}

pub fn mse(y_true: &[f64], y_pred: &[f64]) -> f64 {
    y_true
        .iter()
        .zip(y_pred)
        .map(|(y, p)| (y - p).powi(2))
        .sum::<f64>()
        / y_true.len() as f64
}

/// Mean absolute percentage error as a fraction (`mean_absolute_percentage_error`: the
/// denominator is `max(|y|, f64::EPSILON)`).
pub fn mape(y_true: &[f64], y_pred: &[f64]) -> f64 {
    y_true
        .iter()
        .zip(y_pred)
        .map(|(y, p)| (y - p).abs() / y.abs().max(f64::EPSILON))
        .sum::<f64>()
        / y_true.len() as f64
}

type MetricFn = fn(&[f64], &[f64]) -> f64;

const METRICS: [(&str, MetricFn); 5] = [
    ("r2", r2),
    ("mae", mae),
    ("rmse", rmse),
    ("mse", mse),
    ("mape", mape),
];

/// Regression metrics per output (`r2_<name>`, …, when there are several outputs) and averaged
/// over outputs (`r2`, `mae`, `rmse`, `mse`, `mape`). Matrices are `rows × k`.
pub fn regression_report(names: &[String], y_true: &[f32], y_pred: &[f32]) -> Map<String, Value> {
    let k = names.len().max(1);
    let col = |m: &[f32], j: usize| -> Vec<f64> { m.chunks(k).map(|r| r[j] as f64).collect() };
    let mut out = Map::new();
    let mut sums = [0.0f64; METRICS.len()];
    for (j, name) in names.iter().enumerate() {
        let (t, p) = (col(y_true, j), col(y_pred, j));
        for (m, (metric, f)) in METRICS.iter().enumerate() {
            let v = f(&t, &p);
            sums[m] += v;
            if names.len() > 1 {
                out.insert(format!("{metric}_{name}"), json!(v));
            }
        }
    }
    for (m, (metric, _)) in METRICS.iter().enumerate() {
        out.insert((*metric).to_string(), json!(sums[m] / k as f64));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        let t = [3.0, -0.5, 2.0, 7.0];
        let p = [2.5, 0.0, 2.0, 8.0];
        // scikit-learn: r2_score = 0.9486081370449679, rmse = 0.6123724356957945
        assert!((r2(&t, &p) - 0.948_608_137_044_967_9).abs() < 1e-12);
        assert!((rmse(&t, &p) - 0.612_372_435_695_794_5).abs() < 1e-12);
        assert!((mae(&t, &p) - 0.5).abs() < 1e-12);
    }
}
