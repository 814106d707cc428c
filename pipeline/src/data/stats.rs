//! Column statistics in f64, computed the way numpy and scikit-learn do (so fitted values match
//! theirs): population variance, linear-interpolation percentiles, smallest mode on ties.

/// Mean of the values (NaN for none).
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

/// Population variance (ddof = 0).
pub fn variance(v: &[f64]) -> f64 {
    let m = mean(v);
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64
}

/// Sort a copy, NaN removed.
pub fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    s.sort_by(f64::total_cmp);
    s
}

/// `q`-th percentile (0-100) of sorted values, numpy's default `linear` method including its
/// way of interpolating (`a + (b − a)·t` below t = ½, `b − (b − a)·(1 − t)` from ½ on).
pub fn percentile_sorted(s: &[f64], q: f64) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    let pos = q / 100.0 * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(s.len() - 1);
    let t = pos - lo as f64;
    let (a, b) = (s[lo], s[hi]);
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// Median as numpy computes it (mean of the two middle values for an even count).
pub fn median_sorted(s: &[f64]) -> f64 {
    let n = s.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Most frequent value; the smallest among ties (scipy's `mode`, scikit-learn's imputer).
pub fn mode(v: &[f64]) -> f64 {
    let s = sorted(v);
    let (mut best, mut best_n) = (f64::NAN, 0usize);
    let mut i = 0;
    while i < s.len() {
        let mut j = i;
        while j < s.len() && s[j] == s[i] {
            j += 1;
        }
        if j - i > best_n {
            best = s[i];
            best_n = j - i;
        }
        i = j;
    }
    best
}

/// Pearson correlation (0 when either side is constant).
pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa <= 0.0 || sbb <= 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

/// Correlation ratio η between a numeric column and class labels: the share of the column's
/// variance explained by the classes, square-rooted (0..1).
pub fn correlation_ratio(x: &[f64], classes: &[usize]) -> f64 {
    let k = classes.iter().copied().max().map_or(0, |m| m + 1);
    let (mut sum, mut n) = (vec![0.0; k], vec![0usize; k]);
    for (&v, &c) in x.iter().zip(classes) {
        sum[c] += v;
        n[c] += 1;
    }
    let m = mean(x);
    let between: f64 = (0..k)
        .filter(|&c| n[c] > 0)
        .map(|c| {
            let mc = sum[c] / n[c] as f64;
            n[c] as f64 * (mc - m) * (mc - m)
        })
        .sum();
    let total: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    if total <= 0.0 {
        0.0
    } else {
        (between / total).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_numpy() {
        let s = sorted(&[4.0, 1.0, f64::NAN, 3.0, 2.0]);
        assert_eq!(s, [1.0, 2.0, 3.0, 4.0]);
        // np.percentile([1,2,3,4], [25, 75]) = [1.75, 3.25]
        assert_eq!(percentile_sorted(&s, 25.0), 1.75);
        assert_eq!(percentile_sorted(&s, 75.0), 3.25);
        assert_eq!(median_sorted(&s), 2.5);
        assert_eq!(mode(&[3.0, 1.0, 3.0, 1.0, 2.0]), 1.0);
        assert_eq!(variance(&[1.0, 3.0]), 1.0);
        assert!(
            (correlation(&[1.0, 2.0, 3.0], &[2.0, 4.0, 7.0]) - 0.993_399_267_798_783).abs() < 1e-12
        );
        assert_eq!(correlation(&[1.0, 1.0], &[1.0, 2.0]), 0.0);
        assert!((correlation_ratio(&[1.0, 1.0, 5.0, 5.0], &[0, 0, 1, 1]) - 1.0).abs() < 1e-12);
    }
}
