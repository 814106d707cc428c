//! Scoring a bundle on a table, and `evaluation.json`: the curves and points reports and
//! dashboards draw (confusion matrix, ROC and PR curves per class, predicted vs actual).
//!
//! `evaluation.json` (in the model version folder; the format `neurite serve`'s dashboards read,
//! documented in serve/README.md):
//! ```json
//! {"split": "test", "rows": 30, "task": "classification",
//!  "confusion_matrix": {"labels": ["a", "b"], "matrix": [[10, 0], [1, 9]]},
//!  "roc": [{"class": "b", "fpr": [..], "tpr": [..], "auc": 0.98}],
//!  "pr": [{"class": "b", "recall": [..], "precision": [..], "average_precision": 0.97}],
//!  "predicted_vs_actual": [{"target": "y", "actual": [..], "predicted": [..]}]}
//! ```
//! Binary problems get one ROC/PR entry (the positive class); multi-class and multi-label one
//! per class or label; regression at most 2,000 points per target.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::bundle::{Bundle, Predictions};
use crate::data::Table;
use crate::data::preprocess::raw_matrix;
use crate::data::target::TargetEncoder;
use crate::error::{Error, Result};
use crate::metrics::{classification, curves, regression};

/// Metrics of a bundle on a table holding the targets.
pub fn score(bundle: &Bundle, table: &Table) -> Result<Map<String, Value>> {
    let pred = bundle.predict_table(table)?;
    let m = &bundle.manifest;
    Ok(match (&m.target, &pred) {
        (TargetEncoder::Classes { labels, .. }, Predictions::Classes { class, proba, .. }) => {
            let truth: Vec<usize> = m
                .target
                .encode(table)?
                .iter()
                .map(|&v| v as usize)
                .collect();
            classification::classification_summary(labels, &truth, class, proba)
        }
        (TargetEncoder::Regression { columns, .. }, Predictions::Values { values, .. }) => {
            let truth = raw_matrix(table, columns)?;
            regression::regression_report(columns, &truth, values)
        }
        (TargetEncoder::Multilabel { columns }, Predictions::Labels { decision, .. }) => {
            let truth: Vec<u8> = m.target.encode(table)?.iter().map(|&v| v as u8).collect();
            let pred: Vec<u8> = decision.iter().map(|&b| u8::from(b)).collect();
            classification::multilabel_summary(columns, &truth, &pred)
        }
        _ => {
            return Err(Error::InvalidData(
                "prediction kind does not match the model's task".into(),
            ));
        }
    })
}

fn curve_entries(label: &str, y: &[bool], s: &[f64]) -> (Value, Value) {
    let roc = curves::roc_curve(y, s);
    let pr = curves::precision_recall_curve(y, s);
    let auc = curves::auc(&roc.fpr, &roc.tpr);
    (
        json!({"class": label, "fpr": roc.fpr, "tpr": roc.tpr, "auc": auc}),
        json!({"class": label, "precision": pr.precision, "recall": pr.recall, "average_precision": curves::average_precision(y, s)}),
    )
}

/// The evaluation data of `bundle` on `table` as JSON.
pub fn evaluation(bundle: &Bundle, table: &Table, split: &str) -> Result<Value> {
    let pred = bundle.predict_table(table)?;
    let m = &bundle.manifest;
    let mut out = json!({"split": split, "rows": table.n_rows(), "task": m.task});
    match (&m.target, &pred) {
        (TargetEncoder::Classes { labels, .. }, Predictions::Classes { class, proba, .. }) => {
            let k = labels.len();
            let truth: Vec<usize> = m
                .target
                .encode(table)?
                .iter()
                .map(|&v| v as usize)
                .collect();
            out["confusion_matrix"] = json!({"labels": labels, "matrix": classification::confusion_matrix(&truth, class, k)});
            let classes: Vec<usize> = if k == 2 { vec![1] } else { (0..k).collect() };
            let (mut rocs, mut prs) = (Vec::new(), Vec::new());
            for c in classes {
                let y: Vec<bool> = truth.iter().map(|&t| t == c).collect();
                if !y.iter().any(|&b| b) || y.iter().all(|&b| b) {
                    continue;
                }
                let s: Vec<f64> = proba.chunks(k).map(|r| r[c] as f64).collect();
                let (roc, pr) = curve_entries(&labels[c], &y, &s);
                rocs.push(roc);
                prs.push(pr);
            }
            out["roc"] = Value::Array(rocs);
            out["pr"] = Value::Array(prs);
        }
        (TargetEncoder::Multilabel { columns }, Predictions::Labels { proba, .. }) => {
            let l = columns.len();
            let truth = m.target.encode(table)?;
            let (mut rocs, mut prs) = (Vec::new(), Vec::new());
            for (j, name) in columns.iter().enumerate() {
                let y: Vec<bool> = truth.chunks(l).map(|r| r[j] >= 0.5).collect();
                if !y.iter().any(|&b| b) || y.iter().all(|&b| b) {
                    continue;
                }
                let s: Vec<f64> = proba.chunks(l).map(|r| r[j] as f64).collect();
                let (roc, pr) = curve_entries(name, &y, &s);
                rocs.push(roc);
                prs.push(pr);
            }
            out["roc"] = Value::Array(rocs);
            out["pr"] = Value::Array(prs);
        }
        (TargetEncoder::Regression { columns, .. }, Predictions::Values { values, .. }) => {
            let k = columns.len();
            let truth = raw_matrix(table, columns)?;
            let step = (table.n_rows() / 2000).max(1);
            let series: Vec<Value> = (0..k)
                .map(|j| {
                    let t: Vec<f32> = truth.chunks(k).step_by(step).map(|r| r[j]).collect();
                    let p: Vec<f32> = values.chunks(k).step_by(step).map(|r| r[j]).collect();
                    json!({"target": columns[j], "actual": t, "predicted": p})
                })
                .collect();
            out["predicted_vs_actual"] = Value::Array(series);
        }
        _ => {
            return Err(Error::InvalidData(
                "prediction kind does not match the model's task".into(),
            ));
        }
    }
    Ok(out)
}

/// Write `evaluation.json` into the version folder.
pub fn write_evaluation(bundle: &Bundle, table: &Table, split: &str, dir: &Path) -> Result<()> {
    let v = evaluation(bundle, table, split)?;
    let bytes = serde_json::to_vec(&v).map_err(|e| Error::Config(e.to_string()))?;
    neurite_engine::io::atomic_write(&dir.join("evaluation.json"), &bytes)?;
    Ok(())
}
