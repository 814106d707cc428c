//! neurite's metrics equal scikit-learn's on fixed predictions, to 1e-6
//! (fixtures: `fixtures/make_metric_fixtures.py` → `fixtures/metrics.json`).

use neurite_pipeline::metrics::classification::{
    Average, PerClass, balanced_accuracy, classification_report, confusion_matrix, log_loss,
    multilabel_summary,
};
use neurite_pipeline::metrics::curves::{
    average_precision, precision_recall_curve, roc_auc, roc_auc_ovr, roc_curve,
};
use neurite_pipeline::metrics::regression::{mae, mape, mse, r2, regression_report, rmse};
use neurite_pipeline::metrics::{accuracy, classification_summary};
use serde_json::Value;

fn fixture() -> Value {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metrics.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn f(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        v => v.as_f64().unwrap(),
    }
}

fn fv(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(f).collect()
}

fn uv(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn close(what: &str, got: f64, want: f64) {
    let ok = (got.is_infinite() && got == want) || (got - want).abs() <= 1e-6 * (1.0 + want.abs());
    assert!(ok, "{what}: neurite {got}, scikit-learn {want}");
}

fn close_all(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: lengths {} vs {}",
        got.len(),
        want.len()
    );
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        close(&format!("{what}[{i}]"), *g, *w);
    }
}

#[test]
fn multiclass_metrics_match_sklearn() {
    let fx = fixture();
    let m = &fx["multiclass"];
    let k = m["k"].as_u64().unwrap() as usize;
    let (yt, yp) = (uv(&m["y_true"]), uv(&m["y_pred"]));
    let proba: Vec<f32> = fv(&m["proba"]).iter().map(|&x| x as f32).collect();
    let labels: Vec<String> = m["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    close("accuracy", accuracy(&yt, &yp), f(&m["accuracy"]));
    close(
        "balanced_accuracy",
        balanced_accuracy(&yt, &yp, k),
        f(&m["balanced_accuracy"]),
    );
    let cm = confusion_matrix(&yt, &yp, k);
    let want_cm: Vec<Vec<u64>> = serde_json::from_value(m["confusion_matrix"].clone()).unwrap();
    assert_eq!(cm, want_cm);
    let per = PerClass::from_confusion(&cm);
    close_all(
        "precision",
        &per.precision,
        &fv(&m["per_class"]["precision"]),
    );
    close_all("recall", &per.recall, &fv(&m["per_class"]["recall"]));
    close_all("f1", &per.f1, &fv(&m["per_class"]["f1"]));
    for (name, how) in [
        ("macro", Average::Macro),
        ("micro", Average::Micro),
        ("weighted", Average::Weighted),
    ] {
        let (p, r, f1) = per.average(how);
        close(&format!("precision_{name}"), p, f(&m[name]["precision"][0]));
        close(&format!("recall_{name}"), r, f(&m[name]["recall"][0]));
        close(&format!("f1_{name}"), f1, f(&m[name]["f1"][0]));
    }
    close("log_loss", log_loss(&yt, &proba, k), f(&m["log_loss"]));
    close(
        "roc_auc_ovr_macro",
        roc_auc_ovr(&yt, &proba, k, Average::Macro),
        f(&m["roc_auc_ovr_macro"]),
    );
    close(
        "roc_auc_ovr_weighted",
        roc_auc_ovr(&yt, &proba, k, Average::Weighted),
        f(&m["roc_auc_ovr_weighted"]),
    );
    assert_eq!(
        classification_report(&labels, &yt, &yp),
        m["report"].as_str().unwrap()
    );
    let s = classification_summary(&labels, &yt, &yp, &proba);
    close(
        "summary f1_macro",
        s["f1_macro"].as_f64().unwrap(),
        f(&m["macro"]["f1"][0]),
    );
}

#[test]
fn binary_curves_match_sklearn() {
    let fx = fixture();
    let b = &fx["binary"];
    let y: Vec<bool> = uv(&b["y_true"]).iter().map(|&v| v == 1).collect();
    let s = fv(&b["score"]);
    close("roc_auc", roc_auc(&y, &s), f(&b["roc_auc"]));
    let roc = roc_curve(&y, &s);
    close_all("fpr", &roc.fpr, &fv(&b["roc_fpr"]));
    close_all("tpr", &roc.tpr, &fv(&b["roc_tpr"]));
    close_all("roc thresholds", &roc.thresholds, &fv(&b["roc_thresholds"]));
    let pr = precision_recall_curve(&y, &s);
    close_all("pr precision", &pr.precision, &fv(&b["pr_precision"]));
    close_all("pr recall", &pr.recall, &fv(&b["pr_recall"]));
    close_all("pr thresholds", &pr.thresholds, &fv(&b["pr_thresholds"]));
    close(
        "average_precision",
        average_precision(&y, &s),
        f(&b["average_precision"]),
    );
}

#[test]
fn multilabel_metrics_match_sklearn() {
    let fx = fixture();
    let m = &fx["multilabel"];
    let yt: Vec<u8> = uv(&m["y_true"]).iter().map(|&v| v as u8).collect();
    let yp: Vec<u8> = uv(&m["y_pred"]).iter().map(|&v| v as u8).collect();
    let names: Vec<String> = m["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    let s = multilabel_summary(&names, &yt, &yp);
    close(
        "subset_accuracy",
        s["subset_accuracy"].as_f64().unwrap(),
        f(&m["subset_accuracy"]),
    );
    close(
        "hamming_loss",
        s["hamming_loss"].as_f64().unwrap(),
        f(&m["hamming_loss"]),
    );
    for avg in ["macro", "micro", "weighted", "samples"] {
        for metric in ["precision", "recall", "f1"] {
            close(
                &format!("{metric}_{avg}"),
                s[&format!("{metric}_{avg}")].as_f64().unwrap(),
                f(&m[avg][metric][0]),
            );
        }
    }
    let per = s["per_label"].as_array().unwrap();
    for (j, row) in per.iter().enumerate() {
        for metric in ["precision", "recall", "f1"] {
            close(
                &format!("{metric}[{j}]"),
                row[metric].as_f64().unwrap(),
                f(&m["per_label"][metric][j]),
            );
        }
    }
}

#[test]
fn regression_metrics_match_sklearn() {
    let fx = fixture();
    let r = &fx["regression"];
    let names: Vec<String> = r["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    let yt: Vec<f32> = fv(&r["y_true"]).iter().map(|&x| x as f32).collect();
    let yp: Vec<f32> = fv(&r["y_pred"]).iter().map(|&x| x as f32).collect();
    type MetricFn = fn(&[f64], &[f64]) -> f64;
    let fns: [(&str, MetricFn); 5] = [
        ("r2", r2),
        ("mae", mae),
        ("mse", mse),
        ("rmse", rmse),
        ("mape", mape),
    ];
    for (j, _) in names.iter().enumerate() {
        let t: Vec<f64> = yt.chunks(2).map(|c| c[j] as f64).collect();
        let p: Vec<f64> = yp.chunks(2).map(|c| c[j] as f64).collect();
        for (name, func) in fns {
            close(&format!("{name}[{j}]"), func(&t, &p), fv(&r[name])[j]);
        }
    }
    let rep = regression_report(&names, &yt, &yp);
    for (name, _) in fns {
        close(
            &format!("{name} average"),
            rep[name].as_f64().unwrap(),
            f(&r[&format!("{name}_avg")]),
        );
        close(
            &format!("{name}_small"),
            rep[&format!("{name}_small")].as_f64().unwrap(),
            fv(&r[name])[1],
        );
    }
}
