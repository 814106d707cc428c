//! ROC and precision-recall curves, scikit-learn's algorithms (`roc_curve` with
//! `drop_intermediate=True`, `precision_recall_curve`, `average_precision_score`, `auc`).

use super::classification::Average;

/// False and true positives at each distinct score threshold, scores descending
/// (scikit-learn's `_binary_clf_curve`).
fn binary_clf_curve(y: &[bool], score: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut idx: Vec<usize> = (0..y.len()).collect();
    // Stable descending sort; NaN scores sort last.
    idx.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let (mut fps, mut tps, mut thr) = (Vec::new(), Vec::new(), Vec::new());
    let (mut tp, mut fp) = (0.0, 0.0);
    for (pos, &i) in idx.iter().enumerate() {
        if y[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last_of_group = pos + 1 == idx.len() || score[idx[pos + 1]] != score[i];
        if last_of_group {
            tps.push(tp);
            fps.push(fp);
            thr.push(score[i]);
        }
    }
    (fps, tps, thr)
}

#[derive(Clone, Debug, PartialEq)]
pub struct RocCurve {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    /// Descending; the first is +∞ (no sample predicted positive).
    pub thresholds: Vec<f64>,
}

pub fn roc_curve(y: &[bool], score: &[f64]) -> RocCurve {
    let (mut fps, mut tps, mut thr) = binary_clf_curve(y, score);
    if fps.len() > 2 {
        // Drop thresholds whose point is collinear with its neighbours.
        let n = fps.len();
        let keep: Vec<usize> = (0..n)
            .filter(|&i| {
                i == 0 || i == n - 1 || {
                    let d2f = fps[i + 1] - 2.0 * fps[i] + fps[i - 1];
                    let d2t = tps[i + 1] - 2.0 * tps[i] + tps[i - 1];
                    d2f != 0.0 || d2t != 0.0
                }
            })
            .collect();
        fps = keep.iter().map(|&i| fps[i]).collect();
        tps = keep.iter().map(|&i| tps[i]).collect();
        thr = keep.iter().map(|&i| thr[i]).collect();
    }
    fps.insert(0, 0.0);
    tps.insert(0, 0.0);
    thr.insert(0, f64::INFINITY);
    let (fl, tl) = (*fps.last().unwrap_or(&0.0), *tps.last().unwrap_or(&0.0));
    let norm = |v: &[f64], d: f64| {
        v.iter()
            .map(|x| if d > 0.0 { x / d } else { f64::NAN })
            .collect()
    };
    RocCurve {
        fpr: norm(&fps, fl),
        tpr: norm(&tps, tl),
        thresholds: thr,
    }
}

/// Area under a curve by the trapezoidal rule (`auc`), for monotonic `x`.
pub fn auc(x: &[f64], y: &[f64]) -> f64 {
    let mut a = 0.0;
    for i in 1..x.len() {
        a += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0;
    }
    if x.len() > 1 && x[x.len() - 1] < x[0] {
        -a
    } else {
        a
    }
}

/// Binary ROC AUC (`roc_auc_score`).
pub fn roc_auc(y: &[bool], score: &[f64]) -> f64 {
    let c = roc_curve(y, score);
    auc(&c.fpr, &c.tpr)
}

/// One-vs-rest ROC AUC over `k` classes, macro or prevalence-weighted
/// (`roc_auc_score(multi_class="ovr")`).
pub fn roc_auc_ovr(y_true: &[usize], proba: &[f32], k: usize, how: Average) -> f64 {
    let n = y_true.len() as f64;
    let mut total = 0.0;
    let mut wsum = 0.0;
    for c in 0..k {
        let yb: Vec<bool> = y_true.iter().map(|&t| t == c).collect();
        let s: Vec<f64> = proba.chunks(k).map(|r| r[c] as f64).collect();
        let a = roc_auc(&yb, &s);
        let w = match how {
            Average::Weighted => yb.iter().filter(|&&b| b).count() as f64 / n,
            _ => 1.0 / k as f64,
        };
        total += w * a;
        wsum += w;
    }
    total / wsum
}

#[derive(Clone, Debug, PartialEq)]
pub struct PrCurve {
    /// Ends with 1.
    pub precision: Vec<f64>,
    /// Decreasing; ends with 0.
    pub recall: Vec<f64>,
    /// Increasing.
    pub thresholds: Vec<f64>,
}

pub fn precision_recall_curve(y: &[bool], score: &[f64]) -> PrCurve {
    let (fps, tps, thr) = binary_clf_curve(y, score);
    let tl = *tps.last().unwrap_or(&0.0);
    let mut precision: Vec<f64> = tps
        .iter()
        .zip(&fps)
        .map(|(&t, &f)| if t + f > 0.0 { t / (t + f) } else { 0.0 })
        .collect();
    let mut recall: Vec<f64> = tps
        .iter()
        .map(|&t| if tl == 0.0 { 1.0 } else { t / tl })
        .collect();
    let mut thresholds = thr;
    precision.reverse();
    recall.reverse();
    thresholds.reverse();
    precision.push(1.0);
    recall.push(0.0);
    PrCurve {
        precision,
        recall,
        thresholds,
    }
}

/// `Σ (R_n − R_{n−1}) P_n` (`average_precision_score`).
pub fn average_precision(y: &[bool], score: &[f64]) -> f64 {
    let c = precision_recall_curve(y, score);
    let mut s = 0.0;
    for i in 1..c.recall.len() {
        s -= (c.recall[i] - c.recall[i - 1]) * c.precision[i - 1];
    }
    s
}
