//! End-to-end tests of the `neurite` binary: training quality on the shipped datasets,
//! reproducibility, prediction, and clear errors (never a panic) on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Run neurite from the repository root (for `data/…` paths) with a global config that puts
/// logs and experiment records next to `models`, so tests never write into the repository.
fn neurite(models: &Path, args: &[&str]) -> Output {
    let side = models.parent().unwrap_or(models).join(format!(
        "{}-side",
        models.file_name().and_then(|n| n.to_str()).unwrap_or("m")
    ));
    std::fs::create_dir_all(&side).unwrap();
    let cfg = side.join("neurite.yaml");
    let yaml = format!(
        "paths:\n  models: {}\n  logs: {}\n  experiments: {}\n",
        models.display(),
        side.join("logs").display(),
        side.join("experiments").display()
    );
    std::fs::write(&cfg, yaml).unwrap();
    Command::new(env!("CARGO_BIN_EXE_neurite"))
        .current_dir(root())
        .env("NEURITE_CONFIG", &cfg)
        .arg("--models-dir")
        .arg(models)
        .args(args)
        .output()
        .expect("run neurite")
}

fn train_json(models: &Path, csv: &str, target: &str, extra: &[&str]) -> Value {
    let mut args = vec!["train", csv, "--target", target, "--json"];
    args.extend_from_slice(extra);
    let out = neurite(models, &args);
    assert!(
        out.status.success(),
        "train failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

fn test_metric(v: &Value, name: &str) -> f64 {
    v["metrics"]["test"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("no test metric {name} in {v}"))
}

#[test]
fn shipped_datasets_reach_their_targets_with_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path();
    let iris = test_metric(&train_json(m, "data/iris.csv", "species", &[]), "accuracy");
    assert!(iris >= 0.93, "iris accuracy {iris}");
    let bc = test_metric(
        &train_json(m, "data/breast_cancer.csv", "diagnosis", &[]),
        "accuracy",
    );
    assert!(bc >= 0.95, "breast_cancer accuracy {bc}");
    let digits = test_metric(&train_json(m, "data/digits.csv", "digit", &[]), "accuracy");
    assert!(digits >= 0.95, "digits accuracy {digits}");
    let diab = test_metric(
        &train_json(m, "data/diabetes.csv", "progression", &[]),
        "r2",
    );
    assert!(diab >= 0.40, "diabetes r2 {diab}");
    let lin = train_json(m, "data/linnerud.csv", "weight,waist,pulse", &[]);
    assert_eq!(lin["task"], "regression");
    for t in ["weight", "waist", "pulse"] {
        assert!(
            lin["metrics"]["test"][format!("r2_{t}")].is_number(),
            "no r2_{t} in {lin}"
        );
    }
}

#[test]
fn same_seed_gives_bit_identical_weights() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path();
    for _ in 0..2 {
        train_json(
            m,
            "data/wine.csv",
            "cultivar",
            &["--seed", "7", "--epochs", "30"],
        );
    }
    let a = std::fs::read(m.join("wine/v1/weights.safetensors")).unwrap();
    let b = std::fs::read(m.join("wine/v2/weights.safetensors")).unwrap();
    assert_eq!(a, b, "two trainings with the same seed differ");
    train_json(
        m,
        "data/wine.csv",
        "cultivar",
        &["--seed", "8", "--epochs", "30"],
    );
    let c = std::fs::read(m.join("wine/v3/weights.safetensors")).unwrap();
    assert_ne!(a, c, "a different seed gave the same weights");
}

#[test]
fn predict_writes_labels_and_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path();
    train_json(m, "data/iris.csv", "species", &["--epochs", "50"]);
    let outf = dir.path().join("pred.csv");
    let out = neurite(
        m,
        &[
            "predict",
            "--model",
            "iris@1",
            "data/iris.csv",
            "--output",
            outf.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&outf).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "species,proba_setosa,proba_versicolor,proba_virginica"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 150);
    for r in &rows {
        let f: Vec<&str> = r.split(',').collect();
        assert!(["setosa", "versicolor", "virginica"].contains(&f[0]));
        let s: f64 = f[1..].iter().map(|p| p.parse::<f64>().unwrap()).sum();
        assert!((s - 1.0).abs() < 1e-4, "probabilities sum to {s}");
    }
    // Regression prints one column per target, in original units.
    train_json(
        m,
        "data/linnerud.csv",
        "weight,waist,pulse",
        &["--epochs", "20"],
    );
    let out = neurite(m, &["predict", "--model", "linnerud", "data/linnerud.csv"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("weight,waist,pulse\n"), "{text}");
    assert_eq!(text.lines().count(), 21);
}

/// A failing command: non-zero exit, the expected fragments in the message, no panic.
fn fails_with(models: &Path, args: &[&str], fragments: &[&str]) {
    let out = neurite(models, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    for f in fragments {
        assert!(err.contains(f), "{args:?}: expected {f:?} in {err:?}");
    }
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("models");
    let write = |name: &str, text: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    // missing target column: names the column and lists the available ones
    fails_with(
        &m,
        &["train", "data/iris.csv", "--target", "colour"],
        &["iris.csv", "no column named \"colour\"", "sepal_length"],
    );
    // non-numeric value in a numeric column: file, line and column
    let f = write("bad_value.csv", b"a,b,y\n1,2,x\n3,oops,y\n5,6,x\n7,8,y\n");
    fails_with(
        &m,
        &["train", &f, "--target", "y"],
        &["bad_value.csv:3", "\"b\"", "field 2", "oops"],
    );
    // empty file
    let f = write("empty.csv", b"");
    fails_with(&m, &["train", &f, "--target", "y"], &["empty.csv", "empty"]);
    // ragged rows
    let f = write("ragged.csv", b"a,b,y\n1,2,x\n3,4\n5,6,x\n");
    fails_with(
        &m,
        &["train", &f, "--target", "y"],
        &["ragged.csv:3", "expected 3 fields", "found 2"],
    );
    // missing file
    fails_with(
        &m,
        &["train", "data/nope.csv", "--target", "y"],
        &["data/nope.csv", "No such file"],
    );
    // unknown model name
    fails_with(
        &m,
        &["predict", "--model", "ghost", "data/iris.csv"],
        &["no model named \"ghost\""],
    );
    // invalid model reference cannot escape the registry
    fails_with(
        &m,
        &["predict", "--model", "../etc", "data/iris.csv"],
        &["invalid model name"],
    );
    // a single-class target
    let f = write("one_class.csv", b"a,y\n1,x\n2,x\n3,x\n4,x\n5,x\n");
    fails_with(
        &m,
        &["train", &f, "--target", "y", "--task", "classification"],
        &["single class"],
    );
    // invalid UTF-8
    let f = write("utf8.csv", b"a,y\n1,x\n\xff,y\n");
    fails_with(
        &m,
        &["train", &f, "--target", "y"],
        &["utf8.csv:3", "UTF-8"],
    );
    // predicting on a file without the model's feature columns
    train_json(&m, "data/iris.csv", "species", &["--epochs", "5"]);
    let f = write("nofeat.csv", b"x,y\n1,2\n");
    fails_with(
        &m,
        &["predict", "--model", "iris", &f],
        &["no column named \"sepal_length\""],
    );
    // a bad device request
    fails_with(
        &m,
        &[
            "train",
            "data/iris.csv",
            "--target",
            "species",
            "--device",
            "tpu",
        ],
        &["unknown device"],
    );
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("models");
    train_json(&m, "data/iris.csv", "species", &["--epochs", "2"]);
    // Close the pipe before the child writes its predictions.
    let mut child = Command::new(env!("CARGO_BIN_EXE_neurite"))
        .current_dir(root())
        .args([
            "--models-dir",
            m.to_str().unwrap(),
            "predict",
            "--model",
            "iris",
            "data/iris.csv",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

/// The two messy datasets (categories, booleans, dates, missing values, free text) train with
/// the defaults. Seed 42 gives penguins accuracy 1.000 and cars R² 0.895 (seeds 1-3: 1.0 and
/// 0.859-0.899).
#[test]
fn messy_datasets_train_with_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path();
    let p = train_json(m, "data/penguins_raw.csv", "Species", &[]);
    let acc = test_metric(&p, "accuracy");
    assert!(acc >= 0.95, "penguins accuracy {acc}");
    let w = p["warnings"].to_string();
    assert!(w.contains("Individual ID"), "{w}");
    let c = train_json(m, "data/cars.csv", "Miles_per_Gallon", &[]);
    let r2 = test_metric(&c, "r2");
    assert!(r2 >= 0.75, "cars r2 {r2}");
    assert_eq!(c["rows_dropped_missing_target"], 8);
    // Predicting from the raw file: rows with a missing target are fine for prediction.
    let out = neurite(m, &["predict", "--model", "cars", "data/cars.csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 407);
}

#[test]
fn data_commands_write_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("models");
    let d = dir.path().join("data");
    let ds = d.to_str().unwrap();
    let ok = |args: &[&str]| {
        let out = neurite(&m, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let out = ok(&[
        "data",
        "prepare",
        "data/penguins_raw.csv",
        "--target",
        "Species",
        "--name",
        "peng",
        "--data-dir",
        ds,
        "--folds",
        "5",
        "--json",
        "--missing-indicators",
    ]);
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = &s["rows"];
    let total = rows["train"].as_u64().unwrap()
        + rows["validation"].as_u64().unwrap()
        + rows["test"].as_u64().unwrap();
    assert_eq!(total, 344);
    for f in [
        "splits/peng/train.csv",
        "splits/peng/val.csv",
        "splits/peng/test.csv",
        "splits/peng/split.json",
        "splits/peng/folds.json",
        "processed/peng/train.csv",
        "processed/peng/preprocessor.json",
        "processed/peng/report.json",
    ] {
        assert!(d.join(f).is_file(), "missing {f}");
    }
    // Augment the training split: SMOTE balances the classes.
    let train = d.join("splits/peng/train.csv");
    let aug = d.join("augmented/peng_smote.csv");
    ok(&[
        "data",
        "augment",
        train.to_str().unwrap(),
        "--target",
        "Species",
        "--method",
        "smote",
        "-o",
        aug.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&aug).unwrap();
    let mut counts = std::collections::HashMap::new();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let col = rdr
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "Species")
        .unwrap();
    for r in rdr.records() {
        *counts.entry(r.unwrap()[col].to_string()).or_insert(0) += 1;
    }
    let v: Vec<i32> = counts.values().copied().collect();
    assert!(v.iter().all(|&c| c == v[0]), "{counts:?}");
    // Image augmentation of digits (8x8).
    let img = d.join("augmented/digits_image.csv");
    ok(&[
        "data",
        "augment",
        "data/digits.csv",
        "--target",
        "digit",
        "--method",
        "image",
        "--image-shape",
        "8x8",
        "--factor",
        "0.5",
        "-o",
        img.to_str().unwrap(),
    ]);
    let n = std::fs::read_to_string(&img).unwrap().lines().count();
    assert_eq!(n, 1 + 1797 + 899);
    // Synthetic data, then EDA with an HTML report and JSON.
    let syn = d.join("raw/syn.csv");
    ok(&[
        "data",
        "synth",
        "--rows",
        "500",
        "--features",
        "4",
        "--targets",
        "2",
        "-o",
        syn.to_str().unwrap(),
    ]);
    let html = dir.path().join("eda.html");
    let out = ok(&[
        "eda",
        syn.to_str().unwrap(),
        "--target",
        "y0",
        "--out",
        html.to_str().unwrap(),
        "--json",
    ]);
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["rows"], 500);
    assert_eq!(e["task"], "regression");
    let h = std::fs::read_to_string(&html).unwrap();
    assert!(h.contains("<svg") && h.contains("correlation"), "no charts");
    // Permutation importance of a trained model.
    train_json(&m, "data/iris.csv", "species", &["--epochs", "40"]);
    let out = ok(&[
        "features",
        "importance",
        "--model",
        "iris",
        "data/iris.csv",
        "--json",
    ]);
    let imp: Value = serde_json::from_slice(&out.stdout).unwrap();
    let top = imp["columns"][0]["column"].as_str().unwrap();
    assert!(top.starts_with("petal"), "{imp}");
}

#[test]
fn messy_input_gets_clear_errors_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("models");
    let write = |name: &str, text: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let f = write("quote.csv", b"a,y\n1,x\n2,\"y\n3,x\n");
    fails_with(
        &m,
        &["train", &f, "--target", "y"],
        &["quote.csv:3", "unterminated", "\"y\""],
    );
    let f = write("dup.csv", b"a,b,a\n1,2,3\n");
    fails_with(
        &m,
        &["train", &f, "--target", "b"],
        &["dup.csv", "duplicate column name \"a\"", "fields 1 and 3"],
    );
    let f = write("header.csv", b"a,b,y\n");
    fails_with(
        &m,
        &["train", &f, "--target", "y"],
        &["header.csv", "no data rows"],
    );
    // Semicolons and tabs are detected; a wrong --delimiter says what it saw.
    let mut s = String::from("a;b;y\n");
    for i in 0..40 {
        s.push_str(&format!("{};{},5;{}\n", i * 2, i % 7, ["p", "q"][i % 2]));
    }
    let f = write("semi.csv", s.as_bytes());
    train_json(&m, &f, "y", &["--epochs", "2"]);
    fails_with(
        &m,
        &["train", &f, "--target", "y", "--delimiter", ","],
        &["semi.csv:2", "found 2", "';'-delimited", "--delimiter"],
    );
    let f = write("tab.tsv", s.replace(';', "\t").as_bytes());
    train_json(&m, &f, "y", &["--epochs", "2"]);
    // A column that is entirely missing: a warning, and training goes on.
    let mut s = String::from("a,empty,y\n");
    for i in 0..40 {
        s.push_str(&format!("{},NA,{}\n", i * 3, ["p", "q"][i % 2]));
    }
    let f = write("empty_col.csv", s.as_bytes());
    let out = neurite(&m, &["train", &f, "--target", "y", "--epochs", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"empty\"") && err.contains("entirely missing"),
        "{err}"
    );
    // A typo in a numeric column: file, line and column, and how to mark it categorical.
    let f = write("typo.csv", b"a,y\n1,p\n2,q\n3o,p\n4,q\n5,p\n");
    fails_with(
        &m,
        &["train", &f, "--target", "y"],
        &[
            "typo.csv:4",
            "\"a\"",
            "\"3o\"",
            "--column-type a=categorical",
        ],
    );
    // An unknown --column-type and an unknown column in --drop.
    fails_with(
        &m,
        &[
            "train",
            "data/iris.csv",
            "--target",
            "species",
            "--column-type",
            "petal_width=colour",
        ],
        &["--column-type", "colour"],
    );
    fails_with(
        &m,
        &[
            "train",
            "data/iris.csv",
            "--target",
            "species",
            "--drop",
            "petals",
        ],
        &["no column named \"petals\""],
    );
}
