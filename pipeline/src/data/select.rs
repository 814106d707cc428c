//! Feature selection fitted on the training split: variance threshold, correlation filter and
//! mutual information with the target.

use super::config::SelectionConfig;
use super::features::{bin_of, quantile_edges};
use super::stats;

/// The target of the training rows, for supervised selection.
#[derive(Clone, Debug)]
pub enum TargetValues {
    Classes(Vec<usize>),
    /// One regression target (the first, when there are several).
    Values(Vec<f64>),
}

/// Bins used to estimate mutual information.
const MI_BINS: usize = 10;

/// Discretize values: by distinct value when there are few, else into quantile bins.
fn discretize(x: &[f64]) -> (Vec<usize>, usize) {
    let s = stats::sorted(x);
    let mut distinct = s.clone();
    distinct.dedup();
    if distinct.len() <= MI_BINS {
        let codes = x
            .iter()
            .map(|v| distinct.partition_point(|d| d < v))
            .collect();
        return (codes, distinct.len().max(1));
    }
    let edges = quantile_edges(x, MI_BINS);
    (
        x.iter().map(|&v| bin_of(&edges, v)).collect(),
        edges.len() + 1,
    )
}

/// Mutual information (nats) between a feature and the target, from a joint histogram.
pub fn mutual_information(x: &[f64], y: &TargetValues) -> f64 {
    let (xc, kx) = discretize(x);
    let (yc, ky) = match y {
        TargetValues::Classes(c) => (c.clone(), c.iter().copied().max().map_or(1, |m| m + 1)),
        TargetValues::Values(v) => discretize(v),
    };
    let n = xc.len().min(yc.len());
    if n == 0 {
        return 0.0;
    }
    let mut joint = vec![0usize; kx * ky];
    let (mut px, mut py) = (vec![0usize; kx], vec![0usize; ky]);
    for i in 0..n {
        joint[xc[i] * ky + yc[i]] += 1;
        px[xc[i]] += 1;
        py[yc[i]] += 1;
    }
    let nf = n as f64;
    let mut mi = 0.0;
    for a in 0..kx {
        for b in 0..ky {
            let j = joint[a * ky + b];
            if j > 0 {
                let pj = j as f64 / nf;
                mi += pj * (pj / ((px[a] as f64 / nf) * (py[b] as f64 / nf))).ln();
            }
        }
    }
    mi.max(0.0)
}

/// Indices of the features kept, and a note per rule that removed some.
pub fn select(
    columns: &[Vec<f64>],
    names: &[String],
    y: Option<&TargetValues>,
    cfg: &SelectionConfig,
) -> (Vec<usize>, Vec<String>) {
    let mut keep: Vec<usize> = (0..columns.len()).collect();
    let mut notes = Vec::new();
    let mut note = |rule: &str, dropped: Vec<usize>| {
        if !dropped.is_empty() {
            let list: Vec<&str> = dropped.iter().map(|&i| names[i].as_str()).collect();
            notes.push(format!(
                "{rule} removed {} feature(s): {}",
                list.len(),
                list.join(", ")
            ));
        }
    };
    if let Some(t) = cfg.variance_threshold {
        let (k, d): (Vec<usize>, Vec<usize>) = keep
            .iter()
            .partition(|&&i| stats::variance(&columns[i]) > t);
        keep = k;
        note("variance threshold", d);
    }
    if let Some(t) = cfg.correlation_threshold {
        let mut kept: Vec<usize> = Vec::new();
        let mut dropped = Vec::new();
        for &i in &keep {
            if kept
                .iter()
                .any(|&j| stats::correlation(&columns[i], &columns[j]).abs() > t)
            {
                dropped.push(i);
            } else {
                kept.push(i);
            }
        }
        keep = kept;
        note("correlation filter", dropped);
    }
    if let (Some(k), Some(y)) = (cfg.mutual_info_k, y)
        && k < keep.len()
    {
        let mut scored: Vec<(f64, usize)> = keep
            .iter()
            .map(|&i| (mutual_information(&columns[i], y), i))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut k_idx: Vec<usize> = scored[..k].iter().map(|s| s.1).collect();
        k_idx.sort_unstable();
        let dropped = scored[k..].iter().map(|s| s.1).collect();
        keep = k_idx;
        note("mutual information (top k)", dropped);
    }
    (keep, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let a: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let b: Vec<f64> = a.iter().map(|v| 2.0 * v + 1.0).collect();
        let c = vec![3.0; 100];
        let noise: Vec<f64> = (0..100).map(|i| ((i * 37) % 11) as f64).collect();
        let names: Vec<String> = ["a", "b", "c", "noise"].map(String::from).to_vec();
        let cols = vec![a.clone(), b, c, noise.clone()];
        let cfg = SelectionConfig {
            variance_threshold: Some(0.0),
            correlation_threshold: Some(0.95),
            mutual_info_k: Some(1),
        };
        let y = TargetValues::Classes(a.iter().map(|&v| usize::from(v >= 50.0)).collect());
        let (keep, notes) = select(&cols, &names, Some(&y), &cfg);
        assert_eq!(keep, [0]);
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(mutual_information(&a, &y) > mutual_information(&noise, &y));
        let yr = TargetValues::Values(a.iter().map(|v| v * v).collect());
        assert!(mutual_information(&a, &yr) > 1.0);
    }
}
