//! Evaluation metrics (the first set: accuracy; R², RMSE and MAE per output and averaged).

use serde_json::{Map, Value, json};

/// Fraction of equal labels.
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> f64 {
    if y_true.is_empty() {
        return f64::NAN;
    }
    y_true.iter().zip(y_pred).filter(|(a, b)| a == b).count() as f64 / y_true.len() as f64
}

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

/// Regression metrics per output (`r2_<name>`, …) and averaged over outputs (`r2`, `rmse`,
/// `mae`, scikit-learn's `multioutput="uniform_average"`). Matrices are `rows × k`.
pub fn regression_report(names: &[String], y_true: &[f32], y_pred: &[f32]) -> Map<String, Value> {
    let k = names.len().max(1);
    let col = |m: &[f32], j: usize| -> Vec<f64> { m.chunks(k).map(|r| r[j] as f64).collect() };
    let mut out = Map::new();
    let (mut r2s, mut rmses, mut maes) = (Vec::new(), Vec::new(), Vec::new());
    for (j, name) in names.iter().enumerate() {
        let (t, p) = (col(y_true, j), col(y_pred, j));
        let (a, b, c) = (r2(&t, &p), rmse(&t, &p), mae(&t, &p));
        if names.len() > 1 {
            out.insert(format!("r2_{name}"), json!(a));
            out.insert(format!("rmse_{name}"), json!(b));
            out.insert(format!("mae_{name}"), json!(c));
        }
        r2s.push(a);
        rmses.push(b);
        maes.push(c);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    out.insert("r2".into(), json!(mean(&r2s)));
    out.insert("rmse".into(), json!(mean(&rmses)));
    out.insert("mae".into(), json!(mean(&maes)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(accuracy(&[0, 1, 1, 2], &[0, 1, 2, 2]), 0.75);
        let t = [3.0, -0.5, 2.0, 7.0];
        let p = [2.5, 0.0, 2.0, 8.0];
        // scikit-learn: r2_score = 0.9486081370449679, rmse = 0.6123724356957945
        assert!((r2(&t, &p) - 0.948_608_137_044_967_9).abs() < 1e-12);
        assert!((rmse(&t, &p) - 0.612_372_435_695_794_5).abs() < 1e-12);
        assert!((mae(&t, &p) - 0.5).abs() < 1e-12);
    }
}
