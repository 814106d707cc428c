//! The UI's read-only JSON API: `/api/config`, `/api/models`, `/api/models/{m}[/versions/{v}]`
//! (a model dashboard with its charts), `/api/experiments` (every trained version compared).
//!
//! Dashboards show what the model folder holds: the manifest (metrics, training facts), and,
//! when present, `evaluation.json` (confusion matrix, ROC/PR curves, predicted-vs-actual) and
//! `history.jsonl` (per-epoch training log). A missing file shows as "not available".

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::charts::{self, Series, XyOptions};
use crate::error::{Result, ServeError};
use crate::http_util::{Response, ok_json};
use crate::live::read_history;
use crate::protocol::{outputs_json, schema_json};
use crate::state::AppState;
use crate::store::{ModelEntry, VersionSel};

pub const EVALUATION_FILE: &str = "evaluation.json";
pub const HISTORY_FILE: &str = "history.jsonl";

pub fn config(state: &AppState) -> Response {
    ok_json(&json!({
        "title": state.ui.title,
        "charts": state.ui.dashboard.charts,
        "auth_required": state.api_key.is_some(),
        "version": env!("CARGO_PKG_VERSION"),
        "mode": format!("{:?}", state.mode).to_lowercase(),
    }))
}

fn read_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn manifest(dir: &Path) -> Option<Value> {
    read_json(&dir.join(neurite_pipeline::bundle::MANIFEST_FILE))
}

fn version_summary(k: u32, dir: &Path, served: bool) -> Value {
    let m = manifest(dir).unwrap_or(Value::Null);
    json!({
        "version": k,
        "served": served,
        "created": m.get("created"),
        "task": m.get("task"),
        "metrics": m.get("metrics"),
        "training": m.get("training"),
    })
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServeError::Internal(e.to_string()))
}

pub async fn models(state: &AppState) -> Result<Response> {
    let snap = state.store.snapshot();
    let mut out = Vec::new();
    for (name, e) in &snap.models {
        let default = e.default_version();
        let hot = default
            .and_then(|k| e.versions.get(&k))
            .and_then(|s| s.get());
        let served = e.served_versions();
        let slots: Vec<(u32, std::path::PathBuf, bool)> = e
            .versions
            .values()
            .map(|s| (s.version, s.dir.clone(), served.contains(&s.version)))
            .collect();
        let versions = blocking(move || {
            slots
                .iter()
                .rev()
                .map(|(k, d, s)| version_summary(*k, d, *s))
                .collect::<Vec<_>>()
        })
        .await?;
        let (requests, errors, rows) = state.metrics.totals_for(name);
        out.push(json!({
            "name": name,
            "default_version": default,
            "aliases": e.aliases,
            "pin": pin_text(e),
            "schema": hot.as_ref().map(|m| schema_json(m)),
            "outputs": hot.as_ref().map(|m| outputs_json(m)),
            "versions": versions,
            "serving": {"requests": requests, "errors": errors, "rows": rows},
        }));
    }
    Ok(ok_json(&json!({ "models": out })))
}

fn pin_text(e: &ModelEntry) -> Option<String> {
    e.pin.as_ref().map(|p| match p {
        VersionSel::Number(k) => format!("v{k}"),
        VersionSel::Alias(a) => a.clone(),
        VersionSel::Default => String::new(),
    })
}

struct Chart {
    id: &'static str,
    title: String,
    svg: Option<String>,
    note: Option<String>,
}

impl Chart {
    fn json(&self) -> Value {
        json!({"id": self.id, "title": self.title, "svg": self.svg, "note": self.note})
    }
}

fn unavailable(id: &'static str, title: &str, why: &str) -> Chart {
    Chart {
        id,
        title: title.to_string(),
        svg: None,
        note: Some(format!("not available: {why}")),
    }
}

fn nums(v: Option<&Value>) -> Vec<f64> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
        .unwrap_or_default()
}

fn curve_chart(
    id: &'static str,
    title: &str,
    eval: Option<&Value>,
    key: &str,
    (xk, yk, score): (&str, &str, &str),
    (xl, yl): (&str, &str),
    diagonal: bool,
) -> Chart {
    let Some(curves) = eval.and_then(|e| e.get(key)).and_then(Value::as_array) else {
        return unavailable(id, title, &format!("no \"{key}\" in {EVALUATION_FILE}"));
    };
    let series: Vec<Series> = curves
        .iter()
        .map(|c| {
            let class = c.get("class").map(value_text).unwrap_or_default();
            let name = match c.get(score).and_then(Value::as_f64) {
                Some(s) => format!("{class} ({score} {s:.3})"),
                None => class,
            };
            let (x, y) = (nums(c.get(xk)), nums(c.get(yk)));
            Series {
                name,
                points: x.into_iter().zip(y).collect(),
            }
        })
        .collect();
    Chart {
        id,
        title: title.to_string(),
        svg: Some(charts::xy(
            title,
            &series,
            &XyOptions {
                x_label: xl.into(),
                y_label: yl.into(),
                diagonal,
                x_range: Some((0.0, 1.0)),
                y_range: Some((0.0, 1.0)),
                ..XyOptions::default()
            },
        )),
        note: None,
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Training-curve charts from per-epoch records: losses in one chart, other metrics in another.
pub fn history_charts(title_prefix: &str, history: &[Map<String, Value>]) -> Vec<(String, String)> {
    let mut loss: Vec<Series> = Vec::new();
    let mut other: Vec<Series> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for rec in history {
        for (k, v) in rec {
            if k != "epoch" && v.is_number() && !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    for k in keys {
        let points: Vec<(f64, f64)> = history
            .iter()
            .filter_map(|r| Some((r.get("epoch")?.as_f64()?, r.get(&k)?.as_f64()?)))
            .collect();
        if k == "time" || k.ends_with("_secs") || k.ends_with("_time") || k == "lr" {
            continue;
        }
        let s = Series {
            name: k.clone(),
            points,
        };
        if k.contains("loss") {
            loss.push(s);
        } else {
            other.push(s);
        }
    }
    let mut out = Vec::new();
    let opt = |y: &str| XyOptions {
        x_label: "epoch".into(),
        y_label: y.into(),
        ..XyOptions::default()
    };
    if !loss.is_empty() {
        let t = format!("{title_prefix}loss");
        out.push((t.clone(), charts::xy(&t, &loss, &opt("loss"))));
    }
    if !other.is_empty() {
        let t = format!("{title_prefix}metrics");
        out.push((t.clone(), charts::xy(&t, &other, &opt("value"))));
    }
    out
}

/// The per-epoch records of a model's `model.json` (`history`), when it has any.
fn manifest_history(dir: &Path) -> Option<Vec<Map<String, Value>>> {
    let m = read_json(&dir.join("model.json"))?;
    let h: Vec<Map<String, Value>> = m
        .get("history")?
        .as_array()?
        .iter()
        .filter_map(|r| r.as_object().cloned())
        .collect();
    (!h.is_empty()).then_some(h)
}

fn dashboard_charts(state: &AppState, dir: &Path, classification: bool) -> Vec<Chart> {
    let eval = read_json(&dir.join(EVALUATION_FILE));
    let eval = eval.as_ref();
    let mut out = Vec::new();
    for id in crate::ui_config::CHARTS {
        if !state.ui.shows(id) {
            continue;
        }
        match id {
            "training_curves" => {
                // The manifest's `history` (what `neurite train` records), else history.jsonl.
                let hist = manifest_history(dir).or_else(|| read_history(&dir.join(HISTORY_FILE)));
                let charts = hist
                    .as_ref()
                    .map(|h| history_charts("training ", h))
                    .unwrap_or_default();
                if charts.is_empty() {
                    out.push(unavailable(
                        "training_curves",
                        "training curves",
                        &format!("no training history in model.json or {HISTORY_FILE}"),
                    ));
                }
                for (t, svg) in charts {
                    out.push(Chart {
                        id: "training_curves",
                        title: t,
                        svg: Some(svg),
                        note: None,
                    });
                }
            }
            "confusion_matrix" if classification => {
                let cm = eval.and_then(|e| e.get("confusion_matrix"));
                let labels: Vec<String> = cm
                    .and_then(|c| c.get("labels"))
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(value_text).collect())
                    .unwrap_or_default();
                let matrix: Vec<Vec<f64>> = cm
                    .and_then(|c| c.get("matrix"))
                    .and_then(Value::as_array)
                    .map(|rows| rows.iter().map(|r| nums(Some(r))).collect())
                    .unwrap_or_default();
                if labels.is_empty() || matrix.len() != labels.len() {
                    out.push(unavailable(
                        "confusion_matrix",
                        "confusion matrix",
                        &format!("no \"confusion_matrix\" in {EVALUATION_FILE}"),
                    ));
                } else {
                    out.push(Chart {
                        id: "confusion_matrix",
                        title: "confusion matrix".into(),
                        svg: Some(charts::heatmap(
                            "confusion matrix",
                            "actual",
                            "predicted",
                            &labels,
                            &matrix,
                        )),
                        note: None,
                    });
                }
            }
            "roc_curve" if classification => out.push(curve_chart(
                "roc_curve",
                "ROC curve",
                eval,
                "roc",
                ("fpr", "tpr", "auc"),
                ("false positive rate", "true positive rate"),
                true,
            )),
            "pr_curve" if classification => out.push(curve_chart(
                "pr_curve",
                "precision-recall curve",
                eval,
                "pr",
                ("recall", "precision", "average_precision"),
                ("recall", "precision"),
                false,
            )),
            "predicted_vs_actual" if !classification => {
                let pva = eval
                    .and_then(|e| e.get("predicted_vs_actual"))
                    .and_then(Value::as_array);
                match pva {
                    None => out.push(unavailable(
                        "predicted_vs_actual",
                        "predicted vs actual",
                        &format!("no \"predicted_vs_actual\" in {EVALUATION_FILE}"),
                    )),
                    Some(items) => {
                        let series: Vec<Series> = items
                            .iter()
                            .map(|it| Series {
                                name: it.get("target").map(value_text).unwrap_or_default(),
                                points: nums(it.get("actual"))
                                    .into_iter()
                                    .zip(nums(it.get("predicted")))
                                    .collect(),
                            })
                            .collect();
                        out.push(Chart {
                            id: "predicted_vs_actual",
                            title: "predicted vs actual".into(),
                            svg: Some(charts::xy(
                                "predicted vs actual",
                                &series,
                                &XyOptions {
                                    x_label: "actual".into(),
                                    y_label: "predicted".into(),
                                    scatter: true,
                                    diagonal: true,
                                    ..XyOptions::default()
                                },
                            )),
                            note: None,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

pub async fn model(
    state: &std::sync::Arc<AppState>,
    name: &str,
    sel: &VersionSel,
) -> Result<Response> {
    let m = state.store.get(name, sel).await?;
    let dir = m.bundle.dir.clone();
    let classification = m.classes().is_some();
    let st = state.clone();
    let (man, charts) = blocking(move || {
        let man = manifest(&dir).unwrap_or(Value::Null);
        let charts: Vec<Value> = dashboard_charts(&st, &dir, classification)
            .iter()
            .map(Chart::json)
            .collect();
        (man, charts)
    })
    .await?;
    Ok(ok_json(&json!({
        "name": m.name,
        "version": m.version,
        "task": man.get("task"),
        "created": man.get("created"),
        "metrics": man.get("metrics"),
        "training": man.get("training"),
        "architecture": man.get("architecture"),
        "schema": schema_json(&m),
        "outputs": outputs_json(&m),
        "show_metrics_table": state.ui.shows("metrics_table"),
        "charts": charts,
    })))
}

fn arch_text(a: Option<&Value>) -> String {
    let Some(layers) = a.and_then(|a| a.get("layers")).and_then(Value::as_array) else {
        return String::new();
    };
    let mut parts = Vec::new();
    for l in layers {
        match l.get("type").and_then(Value::as_str) {
            Some("linear") => parts.push(l.get("units").map(value_text).unwrap_or_default()),
            Some("activation") => {
                if let Some(a) = l.get("activation") {
                    let n = a.get("name").or(a.get("kind")).map(value_text);
                    parts.push(n.unwrap_or_else(|| value_text(a)));
                }
            }
            Some(other) => parts.push(other.to_string()),
            None => {}
        }
    }
    parts.join("-")
}

pub async fn experiments(state: &AppState) -> Result<Response> {
    let snap = state.store.snapshot();
    let slots: Vec<(String, u32, std::path::PathBuf)> = snap
        .models
        .values()
        .flat_map(|e| {
            e.versions
                .values()
                .map(|s| (e.name.clone(), s.version, s.dir.clone()))
        })
        .collect();
    let (runs, charts) = blocking(move || {
        let mut runs = Vec::new();
        let mut by_metric: std::collections::BTreeMap<String, (Vec<String>, Vec<f64>)> =
            Default::default();
        for (name, k, dir) in &slots {
            let m = manifest(dir).unwrap_or(Value::Null);
            let t = m.get("training");
            let test = m.get("metrics").and_then(|x| x.get("test"));
            let run = format!("{name}@v{k}");
            for key in ["accuracy", "r2"] {
                if let Some(v) = test.and_then(|t| t.get(key)).and_then(Value::as_f64) {
                    let e = by_metric.entry(key.to_string()).or_default();
                    e.0.push(run.clone());
                    e.1.push(v);
                }
            }
            runs.push(json!({
                "run": run,
                "model": name,
                "version": k,
                "task": m.get("task"),
                "created": m.get("created"),
                "architecture": arch_text(m.get("architecture")),
                "optimizer": t.and_then(|t| t.get("optimizer")),
                "batch_size": t.and_then(|t| t.get("batch_size")),
                "epochs_run": t.and_then(|t| t.get("epochs_run")),
                "best_epoch": t.and_then(|t| t.get("best_epoch")),
                "seed": t.and_then(|t| t.get("seed")),
                "duration_secs": t.and_then(|t| t.get("duration_secs")),
                "rows_train": t.and_then(|t| t.get("rows_train")),
                "metrics": m.get("metrics"),
            }));
        }
        let charts: Vec<Value> = by_metric
            .iter()
            .map(|(k, (labels, vals))| {
                let title = format!("test {k} by run");
                json!({"id": format!("compare_{k}"), "title": title,
                       "svg": charts::bars(&title, k, labels, vals)})
            })
            .collect();
        (runs, charts)
    })
    .await?;
    Ok(ok_json(&json!({"runs": runs, "charts": charts})))
}
