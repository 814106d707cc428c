//! Training pipeline end to end: crash-safe resume, configuration layering, callbacks, heads,
//! experiments and incremental training.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{Ws, root};

/// The learning rate of every epoch, from a version's manifest (`name/vK`).
fn lr_history(w: &Ws, version: &str) -> Vec<f64> {
    let path = w.path().join(format!("models/{version}/model.json"));
    let m: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    m["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["lr"].as_f64().unwrap())
        .collect()
}

#[test]
fn killed_training_resumes_to_the_same_weights() {
    let args = [
        "train",
        "data/digits.csv",
        "--target",
        "digit",
        "--name",
        "dk",
        "--epochs",
        "25",
        "--seed",
        "3",
        "--json",
    ];
    // The uninterrupted reference.
    let a = Ws::new();
    a.json(&args);
    let reference = std::fs::read(a.path().join("models/dk/v1/weights.safetensors")).unwrap();

    // Start the same run, kill it after a few epochs (checkpoint after every epoch).
    let b = Ws::new();
    let mut child = b
        .cmd(&args)
        .env("NEURITE_CHECKPOINT_INTERVAL_MS", "0")
        .env("NEURITE_LOG_FLUSH_MS", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ckpt = b.path().join("models/dk/v1/checkpoints/last.ckpt");
    let logs = b.path().join("logs");
    let t0 = Instant::now();
    loop {
        let epochs = std::fs::read_dir(&logs)
            .ok()
            .and_then(|mut rd| {
                rd.find_map(|e| {
                    e.ok()
                        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
                })
            })
            .map(|e| {
                std::fs::read_to_string(e.path())
                    .unwrap_or_default()
                    .lines()
                    .count()
            })
            .unwrap_or(0);
        if epochs >= 6 && ckpt.exists() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "training made no progress"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run finished before it could be killed; make it longer"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !b.path().join("models/dk/v1/model.json").exists(),
        "a killed run must not look finished"
    );
    let runs = b.json(&["experiments", "list", "--json"]);
    assert_eq!(runs[0]["status"], "crashed", "{runs}");
    let versions = b.ok(&["models", "list"]);
    assert!(versions.contains("no models"), "{versions}");

    // Resume with nothing but the name: the configuration comes from the checkpoint.
    let out = b.json(&[
        "train",
        "data/digits.csv",
        "--name",
        "dk",
        "--resume",
        "--json",
    ]);
    assert!(out["resumed_from_epoch"].as_u64().unwrap() >= 6, "{out}");
    let resumed = std::fs::read(b.path().join("models/dk/v1/weights.safetensors")).unwrap();
    assert!(
        resumed == reference,
        "resumed weights differ from the uninterrupted run"
    );
    let runs = b.json(&["experiments", "list", "--json"]);
    assert_eq!(runs[0]["status"], "finished", "{runs}");
    assert_eq!(runs[0]["resumed"], 1);
    // Nothing left to resume.
    let e = b.err(&["train", "data/digits.csv", "--name", "dk", "--resume"]);
    assert!(e.contains("nothing to resume"), "{e}");
}

#[test]
fn configuration_layers_and_errors() {
    let w = Ws::new();
    let cfg = w.path().join("m.yaml");
    std::fs::write(
        &cfg,
        "training:\n  epochs: 7\n  batch_size: 16\noptimizer:\n  type: sgd\n  momentum: 0.9\n",
    )
    .unwrap();
    std::fs::write(
        w.path().join("neurite.yaml"),
        format!(
            "paths:\n  models: {0}/models\n  logs: {0}/logs\n  experiments: {0}/experiments\ntrain:\n  training:\n    seed: 5\n    epochs: 3\n",
            w.path().display()
        ),
    )
    .unwrap();
    let show = w.ok(&[
        "config",
        "show",
        "--config",
        cfg.to_str().unwrap(),
        "--batch-size",
        "8",
    ]);
    let line = |k: &str| {
        show.lines()
            .find(|l| l.starts_with(&format!("{k} =")))
            .unwrap_or_else(|| panic!("no {k} in {show}"))
            .to_string()
    };
    assert!(line("training.epochs").contains("= 7") && line("training.epochs").contains("m.yaml"));
    assert!(
        line("training.batch_size").contains("= 8")
            && line("training.batch_size").contains("command line")
    );
    assert!(
        line("training.seed").contains("= 5") && line("training.seed").contains("neurite.yaml")
    );
    assert!(line("training.device").contains("(default)"));
    assert!(line("optimizer.type").contains("\"sgd\""));
    // Unknown keys: file, key path and a suggestion.
    std::fs::write(&cfg, "training:\n  epoch: 7\n").unwrap();
    let e = w.err(&["config", "show", "--config", cfg.to_str().unwrap()]);
    assert!(
        e.contains("m.yaml") && e.contains("training.epoch") && e.contains("did you mean `epochs`"),
        "{e}"
    );
    std::fs::write(&cfg, "optimizer:\n  type: adam\n  learning_rate: 0.1\n").unwrap();
    let e = w.err(&[
        "train",
        "data/iris.csv",
        "--target",
        "species",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(
        e.contains("optimizer.learning_rate") && e.contains("known here"),
        "{e}"
    );
    // init writes a starter config that trains.
    let starter = w.path().join("starter.yaml");
    w.ok(&["init", "--out", starter.to_str().unwrap()]);
    assert!(
        std::fs::read_to_string(&starter)
            .unwrap()
            .contains("# neurite model configuration")
    );
    let e = w.err(&["init", "--out", starter.to_str().unwrap()]);
    assert!(e.contains("exists"), "{e}");
    let out = w.json(&[
        "train",
        "data/iris.csv",
        "--target",
        "species",
        "--config",
        starter.to_str().unwrap(),
        "--epochs",
        "2",
        "--json",
    ]);
    assert_eq!(out["epochs_run"], 2);
}

#[test]
fn callbacks_schedules_and_nan() {
    let w = Ws::new();
    let cfg = w.path().join("c.yaml");
    std::fs::write(
        &cfg,
        "training:\n  epochs: 12\n  lr_schedule: {type: step, step_size: 4, gamma: 0.5}\ncallbacks:\n  early_stopping: {enabled: false}\n",
    )
    .unwrap();
    w.json(&[
        "train",
        "data/wine.csv",
        "--target",
        "cultivar",
        "--config",
        cfg.to_str().unwrap(),
        "--lr",
        "0.01",
        "--json",
    ]);
    let lrs = lr_history(&w, "wine/v1");
    let want = [
        0.01, 0.01, 0.01, 0.01, 0.005, 0.005, 0.005, 0.005, 0.0025, 0.0025, 0.0025, 0.0025,
    ];
    for (g, w) in lrs.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{lrs:?}");
    }
    // Checkpoints: best only, keep the last 3.
    let ck: Vec<_> = std::fs::read_dir(w.path().join("models/wine/v1/checkpoints"))
        .unwrap()
        .collect();
    assert!(!ck.is_empty() && ck.len() <= 3, "{} checkpoints", ck.len());
    // Every 2 epochs, keep the last 3; with the write throttle off every request is written.
    let ck_cfg = w.path().join("ck.yaml");
    std::fs::write(
        &ck_cfg,
        "training:\n  epochs: 12\ncallbacks:\n  early_stopping: {enabled: false}\n  model_checkpoint: {save_best_only: false, every_n_epochs: 2, keep_last: 3}\n",
    )
    .unwrap();
    let names = |v: &str, interval: &str| -> Vec<String> {
        let o = w
            .cmd(&[
                "train",
                "data/wine.csv",
                "--target",
                "cultivar",
                "--config",
                ck_cfg.to_str().unwrap(),
            ])
            .env("NEURITE_CHECKPOINT_INTERVAL_MS", interval)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut n: Vec<String> =
            std::fs::read_dir(w.path().join(format!("models/wine/{v}/checkpoints")))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
        n.sort();
        n
    };
    assert_eq!(
        names("v2", "0"),
        ["epoch-0008.ckpt", "epoch-0010.ckpt", "epoch-0012.ckpt"]
    );
    // Throttled (an hour): the first request is written at once, the newest one at the end.
    assert_eq!(
        names("v3", "3600000"),
        ["epoch-0002.ckpt", "epoch-0012.ckpt"]
    );
    // ReduceLROnPlateau lowers the rate when the monitored loss stalls.
    std::fs::write(
        &cfg,
        "training:\n  epochs: 40\ncallbacks:\n  early_stopping: {enabled: false}\n  reduce_lr_on_plateau: {monitor: loss, patience: 2, factor: 0.5, min_delta: 10.0}\n",
    )
    .unwrap();
    w.json(&[
        "train",
        "data/wine.csv",
        "--target",
        "cultivar",
        "--config",
        cfg.to_str().unwrap(),
        "--json",
    ]);
    let lrs = lr_history(&w, "wine/v4");
    assert!(lrs.last().unwrap() < &(lrs[0] / 100.0), "{lrs:?}");
    // TerminateOnNaN names the epoch and the batch.
    let e = w.err(&[
        "train",
        "data/diabetes.csv",
        "--target",
        "progression",
        "--lr",
        "1e30",
        "--optimizer",
        "sgd",
        "--epochs",
        "5",
    ]);
    assert!(
        e.contains("NaN") && e.contains("epoch 1") && e.contains("batch"),
        "{e}"
    );
}

#[test]
fn binary_multilabel_and_weights() {
    let w = Ws::new();
    // Binary: one sigmoid output, ROC AUC reported.
    let out = w.json(&[
        "train",
        "data/breast_cancer.csv",
        "--target",
        "diagnosis",
        "--epochs",
        "30",
        "--class-weights",
        "balanced",
        "--json",
    ]);
    assert!(
        out["metrics"]["test"]["roc_auc"].as_f64().unwrap() > 0.95,
        "{out}"
    );
    let m: Value = serde_json::from_slice(
        &std::fs::read(w.path().join("models/breast_cancer/v1/model.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["head"], "sigmoid");
    assert_eq!(
        m["architecture"]["layers"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["units"],
        1
    );
    // Multi-label: several binary targets.
    let csv = w.path().join("ml.csv");
    let mut text = String::from("a,b,c,is_big,is_pos\n");
    let mut r = 7u64;
    for _ in 0..300 {
        let mut next = || {
            r = r
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((r >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0
        };
        let (a, b, c) = (next(), next(), next());
        text.push_str(&format!(
            "{a},{b},{c},{},{}\n",
            u8::from(a + b > 0.5),
            if c > 0.0 { "yes" } else { "no" }
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let out = w.json(&[
        "train",
        csv.to_str().unwrap(),
        "--target",
        "is_big,is_pos",
        "--epochs",
        "80",
        "--json",
    ]);
    assert_eq!(out["task"], "multilabel");
    assert!(
        out["metrics"]["test"]["subset_accuracy"].as_f64().unwrap() > 0.85,
        "{out}"
    );
    let pred = w.ok(&[
        "predict",
        "--model",
        "ml",
        csv.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    let first: Value = serde_json::from_str(pred.lines().next().unwrap()).unwrap();
    assert!(
        first["labels"].is_array() && first["probabilities"]["is_pos"].is_number(),
        "{first}"
    );
    // eval prints the same metrics as training recorded.
    let ev = w.json(&[
        "eval",
        "--model",
        "breast_cancer",
        "data/breast_cancer.csv",
        "--json",
    ]);
    assert!(ev["metrics"]["accuracy"].as_f64().unwrap() > 0.9);
    assert!(ev["metrics"]["confusion_matrix"].is_array());
}

#[test]
fn experiments_record_and_compare_runs() {
    let w = Ws::new();
    w.json(&[
        "train",
        "data/iris.csv",
        "--target",
        "species",
        "--experiment",
        "irx",
        "--epochs",
        "5",
        "--json",
    ]);
    w.json(&[
        "train",
        "data/iris.csv",
        "--target",
        "species",
        "--experiment",
        "irx",
        "--epochs",
        "5",
        "--lr",
        "0.01",
        "--json",
    ]);
    let runs = w.json(&["experiments", "list", "irx", "--json"]);
    assert_eq!(runs.as_array().unwrap().len(), 2);
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "finished")
    );
    let id = runs[1]["run_id"].as_str().unwrap().to_string();
    let show = w.json(&["experiments", "show", &id, "--json"]);
    assert_eq!(show["history"].as_array().unwrap().len(), 5);
    let cmp = w.ok(&["experiments", "compare", "--sort", "accuracy"]);
    assert!(
        cmp.contains("RUN") && cmp.contains("accuracy") && cmp.lines().count() == 4,
        "{cmp}"
    );
    // A failed run is recorded as failed.
    w.err(&[
        "train",
        "data/diabetes.csv",
        "--target",
        "progression",
        "--experiment",
        "bad",
        "--lr",
        "1e30",
        "--optimizer",
        "sgd",
        "--epochs",
        "3",
    ]);
    let runs = w.json(&["experiments", "list", "bad", "--json"]);
    assert_eq!(runs[0]["status"], "failed", "{runs}");
}

/// Split a CSV's data rows (seeded) into the named fractions; returns the file paths.
fn split_csv(src: &Path, dir: &Path, seed: u64, parts: &[(&str, f64)]) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(src).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let mut rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let mut r = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..rows.len()).rev() {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        rows.swap(i, (r % (i as u64 + 1)) as usize);
    }
    let mut start = 0;
    let mut out = Vec::new();
    for (k, (name, frac)) in parts.iter().enumerate() {
        let end = if k + 1 == parts.len() {
            rows.len()
        } else {
            start + (rows.len() as f64 * frac).round() as usize
        };
        let p = dir.join(format!("{name}.csv"));
        std::fs::write(&p, format!("{header}\n{}\n", rows[start..end].join("\n"))).unwrap();
        out.push(p);
        start = end;
    }
    out
}

#[test]
fn incremental_update_matches_training_from_scratch() {
    let w = Ws::new();
    let d = w.path();
    let files = split_csv(
        &root().join("data/digits.csv"),
        d,
        1,
        &[("test", 0.2), ("old", 0.4), ("new", 0.4)],
    );
    let (test, old, new) = (
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
        files[2].to_str().unwrap(),
    );
    let all = d.join("all.csv");
    let new_rows: String = std::fs::read_to_string(new)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&all, std::fs::read_to_string(old).unwrap() + &new_rows).unwrap();
    let cfg = d.join("inc.yaml");
    std::fs::write(&cfg, "data: {test_fraction: 0.0}\n").unwrap();
    let c = cfg.to_str().unwrap();

    let base = w.json(&[
        "train", old, "--target", "digit", "--name", "digits", "--config", c, "--json",
    ]);
    assert_eq!(base["version"], 1);
    // The update: the parent's weights, optimizer state and preprocessing, a fine-tuning
    // budget of 30 epochs, half of the old data replayed against forgetting.
    let upd = w.json(&[
        "train",
        new,
        "--from",
        "digits@1",
        "--replay",
        old,
        "--replay-fraction",
        "0.5",
        "--epochs",
        "30",
        "--config",
        c,
        "--json",
    ]);
    assert_eq!(upd["name"], "digits");
    assert_eq!(upd["version"], 2);
    assert_eq!(upd["parent"], "digits@v1");
    w.json(&[
        "train",
        all.to_str().unwrap(),
        "--target",
        "digit",
        "--name",
        "scratch",
        "--config",
        c,
        "--json",
    ]);
    let acc = |m: &str| {
        w.json(&["eval", "--model", m, test, "--json"])["metrics"]["accuracy"]
            .as_f64()
            .unwrap()
    };
    let (a_upd, a_scratch) = (acc("digits@2"), acc("scratch"));
    assert!(
        a_upd >= a_scratch - 0.01,
        "incremental {a_upd:.4} vs from scratch {a_scratch:.4}"
    );
    // Work done: rows per epoch × epochs (deterministic, unlike wall time on a shared machine).
    let m2: Value =
        serde_json::from_slice(&std::fs::read(d.join("models/digits/v2/model.json")).unwrap())
            .unwrap();
    let ms: Value =
        serde_json::from_slice(&std::fs::read(d.join("models/scratch/v1/model.json")).unwrap())
            .unwrap();
    let work = |m: &Value| {
        m["training"]["rows_train"].as_f64().unwrap()
            * m["training"]["epochs_run"].as_f64().unwrap()
    };
    assert!(
        work(&m2) < work(&ms),
        "update work {} vs scratch {}",
        work(&m2),
        work(&ms)
    );
    // The preprocessing is the parent's, unchanged.
    let m1: Value =
        serde_json::from_slice(&std::fs::read(d.join("models/digits/v1/model.json")).unwrap())
            .unwrap();
    assert_eq!(m1["preprocessor"], m2["preprocessor"]);
    assert_eq!(m1["target"], m2["target"]);
    // A class the parent never saw is an error naming it.
    let odd = d.join("odd.csv");
    let t = std::fs::read_to_string(new).unwrap();
    let mut lines: Vec<String> = t.lines().map(String::from).collect();
    let last = lines.len() - 1;
    let cut = lines[last].rfind(',').unwrap();
    lines[last] = format!("{},eleven", &lines[last][..cut]);
    std::fs::write(&odd, lines.join("\n") + "\n").unwrap();
    let e = w.err(&[
        "train",
        odd.to_str().unwrap(),
        "--from",
        "digits@1",
        "--config",
        c,
    ]);
    assert!(
        e.contains("eleven") && e.contains("not seen in training"),
        "{e}"
    );
}

#[test]
fn reports_render_charts_for_models_and_experiments() {
    let w = Ws::new();
    w.json(&[
        "train",
        "data/iris.csv",
        "--target",
        "species",
        "--experiment",
        "rep",
        "--epochs",
        "8",
        // Named, a validation monitor keeps iris's 12 validation rows (and its curves).
        "--early-stopping",
        "val_loss",
        "--json",
    ]);
    w.json(&[
        "train",
        "data/iris.csv",
        "--target",
        "species",
        "--experiment",
        "rep",
        "--epochs",
        "8",
        "--lr",
        "0.01",
        "--early-stopping",
        "val_loss",
        "--json",
    ]);
    w.json(&[
        "train",
        "data/diabetes.csv",
        "--target",
        "progression",
        "--epochs",
        "8",
        "--json",
    ]);
    let out = w.path().join("r.html");
    w.ok(&["report", "--model", "iris", "--out", out.to_str().unwrap()]);
    let html = std::fs::read_to_string(&out).unwrap();
    for part in [
        "<svg",
        "confusion matrix",
        "ROC curve",
        "precision-recall curve",
        "learning rate",
        "val_loss",
        "f1_macro",
    ] {
        assert!(html.contains(part), "iris report lacks {part:?}");
    }
    assert!(
        !html.contains("<script src") && !html.contains("<link"),
        "the report must be self-contained"
    );
    w.ok(&[
        "report",
        "--model",
        "diabetes@1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&out).unwrap();
    // diabetes holds a validation split out by default (35 rows).
    for part in ["predicted vs actual", "residuals", "r2", "<svg", "val_loss"] {
        assert!(html.contains(part), "diabetes report lacks {part:?}");
    }
    w.ok(&[
        "report",
        "--experiment",
        "rep",
        "--out",
        out.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(
        html.contains("Learning curves")
            && html.contains("optimizer.lr")
            && html.matches("<svg").count() >= 3,
        "experiment report"
    );
    let e = w.err(&["report", "--experiment", "nope"]);
    assert!(e.contains("no runs"), "{e}");
}
