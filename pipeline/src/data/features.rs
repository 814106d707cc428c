//! Feature engineering: log and Yeo-Johnson transforms, quantile binning, polynomial and
//! interaction terms. Each is fitted on the training split and stored in the preprocessor.

use serde::{Deserialize, Serialize};

use super::stats;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PowerTransform {
    /// `sign(x)·ln(1 + |x|)`: a log that is defined for every value, so a negative value at
    /// inference cannot fail.
    Log,
    /// Yeo-Johnson with a fitted λ (defined for every real value).
    YeoJohnson { lambda: f64 },
}

impl PowerTransform {
    pub fn apply(&self, x: f64) -> f64 {
        match self {
            PowerTransform::Log => x.signum() * x.abs().ln_1p(),
            PowerTransform::YeoJohnson { lambda } => yeo_johnson(x, *lambda),
        }
    }

    /// Fit Yeo-Johnson's λ on `v` by maximum likelihood (golden-section search on [−5, 5]).
    pub fn fit_yeo_johnson(v: &[f64]) -> PowerTransform {
        let ll = |l: f64| -> f64 {
            let t: Vec<f64> = v.iter().map(|&x| yeo_johnson(x, l)).collect();
            let var = stats::variance(&t);
            if var.is_nan() || var <= 0.0 || !var.is_finite() {
                return f64::NEG_INFINITY;
            }
            let n = v.len() as f64;
            -n / 2.0 * var.ln()
                + (l - 1.0) * v.iter().map(|x| x.signum() * x.abs().ln_1p()).sum::<f64>()
        };
        let (mut a, mut b) = (-5.0f64, 5.0f64);
        let g = (5f64.sqrt() - 1.0) / 2.0;
        let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
        let (mut fc, mut fd) = (ll(c), ll(d));
        for _ in 0..80 {
            if fc > fd {
                b = d;
                d = c;
                fd = fc;
                c = b - g * (b - a);
                fc = ll(c);
            } else {
                a = c;
                c = d;
                fc = fd;
                d = a + g * (b - a);
                fd = ll(d);
            }
        }
        let lambda = (a + b) / 2.0;
        PowerTransform::YeoJohnson {
            lambda: if lambda.is_finite() { lambda } else { 1.0 },
        }
    }
}

pub fn yeo_johnson(x: f64, l: f64) -> f64 {
    const EPS: f64 = 1e-12;
    if x >= 0.0 {
        if l.abs() < EPS {
            x.ln_1p()
        } else {
            ((x + 1.0).powf(l) - 1.0) / l
        }
    } else if (l - 2.0).abs() < EPS {
        -(-x).ln_1p()
    } else {
        -((1.0 - x).powf(2.0 - l) - 1.0) / (2.0 - l)
    }
}

/// Interior edges of `n` quantile bins (scikit-learn's `KBinsDiscretizer(strategy="quantile")`
/// without its empty bins).
pub fn quantile_edges(v: &[f64], n: usize) -> Vec<f64> {
    let s = stats::sorted(v);
    let mut edges: Vec<f64> = (1..n)
        .map(|k| stats::percentile_sorted(&s, 100.0 * k as f64 / n as f64))
        .collect();
    edges.dedup_by(|a, b| (*a - *b).abs() < 1e-8);
    edges
}

/// The bin of `x`: how many edges are at or below it.
pub fn bin_of(edges: &[f64], x: f64) -> usize {
    edges.partition_point(|&e| e <= x)
}

/// The index lists of polynomial terms over `n` inputs: degree 2 gives `x_i·x_j` (i ≤ j, or
/// i < j for interactions only); degree 3 adds the triple products.
pub fn polynomial_terms(n: usize, degree: usize, interaction_only: bool) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for i in 0..n {
        for j in i..n {
            if interaction_only && j == i {
                continue;
            }
            out.push(vec![i, j]);
        }
    }
    if degree >= 3 {
        for i in 0..n {
            for j in i..n {
                for k in j..n {
                    if interaction_only && (j == i || k == j) {
                        continue;
                    }
                    out.push(vec![i, j, k]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transforms() {
        assert_eq!(PowerTransform::Log.apply(0.0), 0.0);
        assert!((PowerTransform::Log.apply(-(std::f64::consts::E - 1.0)) + 1.0).abs() < 1e-12);
        assert!((yeo_johnson(3.0, 1.0) - 3.0).abs() < 1e-12);
        assert!((yeo_johnson(-3.0, 1.0) + 3.0).abs() < 1e-12);
        // A right-skewed sample gets λ < 1 (compressing the tail).
        let v: Vec<f64> = (0..200).map(|i| ((i as f64) / 20.0).exp()).collect();
        match PowerTransform::fit_yeo_johnson(&v) {
            PowerTransform::YeoJohnson { lambda } => assert!(lambda < 0.5, "{lambda}"),
            _ => unreachable!(),
        }
        let e = quantile_edges(&[1.0, 2.0, 3.0, 4.0, 5.0], 2);
        assert_eq!(e, [3.0]);
        assert_eq!((bin_of(&e, 2.9), bin_of(&e, 3.0)), (0, 1));
        assert_eq!(polynomial_terms(3, 2, false).len(), 6);
        assert_eq!(polynomial_terms(3, 2, true).len(), 3);
        assert_eq!(polynomial_terms(3, 3, true).len(), 4);
    }
}
