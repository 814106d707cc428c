//! Classification metrics (single-label with `k` classes, and multi-label).
//! Labels are class indices `0..k`; probabilities are `rows × k` row-major.
//! Zero divisions (a class never predicted or never present) give 0, scikit-learn's default.

use serde_json::{Map, Value, json};

use super::curves;

/// Fraction of equal labels (`accuracy_score`).
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> f64 {
    if y_true.is_empty() {
        return f64::NAN;
    }
    y_true.iter().zip(y_pred).filter(|(a, b)| a == b).count() as f64 / y_true.len() as f64
}

/// `k × k` counts, rows = true class, columns = predicted class (`confusion_matrix`).
pub fn confusion_matrix(y_true: &[usize], y_pred: &[usize], k: usize) -> Vec<Vec<u64>> {
    let mut m = vec![vec![0u64; k]; k];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        if t < k && p < k {
            m[t][p] += 1;
        }
    }
    m
}

fn div(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

fn f1(p: f64, r: f64) -> f64 {
    div(2.0 * p * r, p + r)
}

/// Per-class precision, recall, F1 and support (`precision_recall_fscore_support`).
#[derive(Clone, Debug, PartialEq)]
pub struct PerClass {
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    pub f1: Vec<f64>,
    pub support: Vec<u64>,
    /// Per-class true positives, predicted counts (tp + fp), and true counts (tp + fn).
    tp: Vec<f64>,
    pred: Vec<f64>,
}

impl PerClass {
    pub fn from_counts(tp: Vec<f64>, pred: Vec<f64>, truth: Vec<f64>) -> PerClass {
        let precision: Vec<f64> = tp.iter().zip(&pred).map(|(&t, &p)| div(t, p)).collect();
        let recall: Vec<f64> = tp.iter().zip(&truth).map(|(&t, &s)| div(t, s)).collect();
        let f1 = precision
            .iter()
            .zip(&recall)
            .map(|(&p, &r)| f1(p, r))
            .collect();
        let support = truth.iter().map(|&s| s as u64).collect();
        PerClass {
            precision,
            recall,
            f1,
            support,
            tp,
            pred,
        }
    }

    pub fn from_confusion(cm: &[Vec<u64>]) -> PerClass {
        let k = cm.len();
        let tp: Vec<f64> = (0..k).map(|c| cm[c][c] as f64).collect();
        let pred: Vec<f64> = (0..k)
            .map(|c| (0..k).map(|t| cm[t][c]).sum::<u64>() as f64)
            .collect();
        let truth: Vec<f64> = (0..k).map(|c| cm[c].iter().sum::<u64>() as f64).collect();
        PerClass::from_counts(tp, pred, truth)
    }

    /// `(precision, recall, f1)` averaged: `macro` (unweighted mean over classes), `micro`
    /// (from pooled counts) or `weighted` (by support).
    pub fn average(&self, how: Average) -> (f64, f64, f64) {
        let k = self.precision.len() as f64;
        match how {
            Average::Macro => (
                self.precision.iter().sum::<f64>() / k,
                self.recall.iter().sum::<f64>() / k,
                self.f1.iter().sum::<f64>() / k,
            ),
            Average::Weighted => {
                let total: f64 = self.support.iter().map(|&s| s as f64).sum();
                let w = |v: &[f64]| {
                    div(
                        v.iter()
                            .zip(&self.support)
                            .map(|(x, &s)| x * s as f64)
                            .sum::<f64>(),
                        total,
                    )
                };
                (w(&self.precision), w(&self.recall), w(&self.f1))
            }
            Average::Micro => {
                let tp: f64 = self.tp.iter().sum();
                let pred: f64 = self.pred.iter().sum();
                let truth: f64 = self.support.iter().map(|&s| s as f64).sum();
                let (p, r) = (div(tp, pred), div(tp, truth));
                (p, r, f1(p, r))
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Average {
    Macro,
    Micro,
    Weighted,
}

/// Mean per-class recall over the classes present in `y_true` (`balanced_accuracy_score`).
pub fn balanced_accuracy(y_true: &[usize], y_pred: &[usize], k: usize) -> f64 {
    let per = PerClass::from_confusion(&confusion_matrix(y_true, y_pred, k));
    let present: Vec<f64> = per
        .recall
        .iter()
        .zip(&per.support)
        .filter(|(_, s)| **s > 0)
        .map(|(r, _)| *r)
        .collect();
    present.iter().sum::<f64>() / present.len().max(1) as f64
}

/// Mean negative log-likelihood of the true class (`log_loss`): probabilities are clipped to
/// `[ε, 1 − ε]`, ε the machine epsilon of their type (f32 here), and not renormalized.
pub fn log_loss(y_true: &[usize], proba: &[f32], k: usize) -> f64 {
    let eps = f32::EPSILON;
    let n = y_true.len();
    let s: f64 = y_true
        .iter()
        .enumerate()
        .map(|(i, &t)| -(proba[i * k + t].clamp(eps, 1.0 - eps) as f64).ln())
        .sum();
    s / n as f64
}

/// scikit-learn's `classification_report` text (2 digits).
pub fn classification_report(labels: &[String], y_true: &[usize], y_pred: &[usize]) -> String {
    let per = PerClass::from_confusion(&confusion_matrix(y_true, y_pred, labels.len()));
    let digits = 2;
    let width = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max("weighted avg".len())
        .max(digits);
    let mut out = format!("{:>width$} ", "");
    for h in ["precision", "recall", "f1-score", "support"] {
        out.push_str(&format!(" {h:>9}"));
    }
    out.push_str("\n\n");
    let row = |name: &str, p: f64, r: f64, f: f64, s: u64| {
        format!("{name:>width$}  {p:>9.2} {r:>9.2} {f:>9.2} {s:>9}\n")
    };
    for (c, label) in labels.iter().enumerate() {
        out.push_str(&row(
            label,
            per.precision[c],
            per.recall[c],
            per.f1[c],
            per.support[c],
        ));
    }
    out.push('\n');
    let total: u64 = per.support.iter().sum();
    out.push_str(&format!(
        "{:>width$}  {:>9} {:>9} {:>9.2} {:>9}\n",
        "accuracy",
        "",
        "",
        accuracy(y_true, y_pred),
        total
    ));
    for (name, how) in [
        ("macro avg", Average::Macro),
        ("weighted avg", Average::Weighted),
    ] {
        let (p, r, f) = per.average(how);
        out.push_str(&row(name, p, r, f, total));
    }
    out
}

/// Every single-label metric, as a JSON map for manifests and reports. `proba` may be empty
/// (then log-loss, ROC AUC and average precision are omitted).
pub fn classification_summary(
    labels: &[String],
    y_true: &[usize],
    y_pred: &[usize],
    proba: &[f32],
) -> Map<String, Value> {
    let k = labels.len();
    let cm = confusion_matrix(y_true, y_pred, k);
    let per = PerClass::from_confusion(&cm);
    let mut m = Map::new();
    m.insert("accuracy".into(), json!(accuracy(y_true, y_pred)));
    m.insert(
        "balanced_accuracy".into(),
        json!(balanced_accuracy(y_true, y_pred, k)),
    );
    for (name, how) in [
        ("macro", Average::Macro),
        ("micro", Average::Micro),
        ("weighted", Average::Weighted),
    ] {
        let (p, r, f) = per.average(how);
        m.insert(format!("precision_{name}"), json!(p));
        m.insert(format!("recall_{name}"), json!(r));
        m.insert(format!("f1_{name}"), json!(f));
    }
    if proba.len() == y_true.len() * k && !y_true.is_empty() {
        m.insert("log_loss".into(), json!(log_loss(y_true, proba, k)));
        let present: Vec<bool> = (0..k).map(|c| y_true.contains(&c)).collect();
        if k == 2 {
            let yb: Vec<bool> = y_true.iter().map(|&t| t == 1).collect();
            let s: Vec<f64> = proba.chunks(2).map(|r| r[1] as f64).collect();
            if present.iter().all(|&p| p) {
                m.insert("roc_auc".into(), json!(curves::roc_auc(&yb, &s)));
                m.insert(
                    "average_precision".into(),
                    json!(curves::average_precision(&yb, &s)),
                );
            }
        } else if present.iter().all(|&p| p) {
            m.insert(
                "roc_auc_ovr".into(),
                json!(curves::roc_auc_ovr(y_true, proba, k, Average::Macro)),
            );
            m.insert(
                "roc_auc_ovr_weighted".into(),
                json!(curves::roc_auc_ovr(y_true, proba, k, Average::Weighted)),
            );
        }
    }
    let per_class: Vec<Value> = (0..k)
        .map(|c| json!({"label": labels[c], "precision": per.precision[c], "recall": per.recall[c], "f1": per.f1[c], "support": per.support[c]}))
        .collect();
    m.insert("per_class".into(), Value::Array(per_class));
    m.insert("confusion_matrix".into(), json!(cm));
    m
}

/// Multi-label metrics: `y_true`, `y_pred` are `rows × labels` 0/1 indicators. Per-label
/// precision/recall/F1 plus micro/macro/weighted/samples averages, subset accuracy (exact
/// match) and Hamming loss.
pub fn multilabel_summary(names: &[String], y_true: &[u8], y_pred: &[u8]) -> Map<String, Value> {
    let l = names.len();
    let rows = y_true.len() / l.max(1);
    let (mut tp, mut pred, mut truth) = (vec![0.0; l], vec![0.0; l], vec![0.0; l]);
    let (mut exact, mut wrong) = (0usize, 0usize);
    let (mut sp, mut sr, mut sf) = (0.0, 0.0, 0.0);
    for r in 0..rows {
        let (t, p) = (&y_true[r * l..(r + 1) * l], &y_pred[r * l..(r + 1) * l]);
        let (mut rtp, mut rp, mut rt) = (0.0, 0.0, 0.0);
        for j in 0..l {
            let (a, b) = (t[j] != 0, p[j] != 0);
            if a && b {
                tp[j] += 1.0;
                rtp += 1.0;
            }
            if b {
                pred[j] += 1.0;
                rp += 1.0;
            }
            if a {
                truth[j] += 1.0;
                rt += 1.0;
            }
            if a != b {
                wrong += 1;
            }
        }
        if t.iter().zip(p).all(|(a, b)| (*a != 0) == (*b != 0)) {
            exact += 1;
        }
        let (p_, r_) = (div(rtp, rp), div(rtp, rt));
        sp += p_;
        sr += r_;
        sf += f1(p_, r_);
    }
    let per = PerClass::from_counts(tp, pred, truth);
    let mut m = Map::new();
    m.insert(
        "subset_accuracy".into(),
        json!(div(exact as f64, rows as f64)),
    );
    m.insert(
        "hamming_loss".into(),
        json!(div(wrong as f64, (rows * l) as f64)),
    );
    for (name, how) in [
        ("macro", Average::Macro),
        ("micro", Average::Micro),
        ("weighted", Average::Weighted),
    ] {
        let (p, r, f) = per.average(how);
        m.insert(format!("precision_{name}"), json!(p));
        m.insert(format!("recall_{name}"), json!(r));
        m.insert(format!("f1_{name}"), json!(f));
    }
    let n = rows.max(1) as f64;
    m.insert("precision_samples".into(), json!(sp / n));
    m.insert("recall_samples".into(), json!(sr / n));
    m.insert("f1_samples".into(), json!(sf / n));
    let per_label: Vec<Value> = (0..l)
        .map(|j| json!({"label": names[j], "precision": per.precision[j], "recall": per.recall[j], "f1": per.f1[j], "support": per.support[j]}))
        .collect();
    m.insert("per_label".into(), Value::Array(per_label));
    m
}
