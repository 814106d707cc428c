//! Training on explicit row splits (what `neurite tune --cv` uses for its folds): exactly
//! the given rows are trained, validated and tested on, and bad splits are refused.

use std::path::PathBuf;

use neurite_pipeline::Registry;
use neurite_pipeline::config::TrainConfig;
use neurite_pipeline::train::{ExplicitSplits, TrainEnv, train};

fn iris() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/iris.csv")
}

fn cfg() -> TrainConfig {
    let mut c = TrainConfig {
        target: vec!["species".into()],
        ..Default::default()
    };
    c.training.epochs = 3;
    c
}

#[test]
fn explicit_splits_select_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::new(dir.path());
    // Every third row validates, rows 0..15 test, the rest train.
    let test: Vec<usize> = (0..15).collect();
    let validation: Vec<usize> = (15..150).filter(|i| i % 3 == 0).collect();
    let train_rows: Vec<usize> = (15..150).filter(|i| i % 3 != 0).collect();
    let mut env = TrainEnv::new(&reg);
    env.splits = Some(ExplicitSplits {
        rows: 150,
        train: train_rows.clone(),
        validation: validation.clone(),
        test: test.clone(),
    });
    let out = train(&iris(), &cfg(), env).unwrap();
    let t = &out.manifest.training;
    assert_eq!(
        (t.rows_train, t.rows_validation, t.rows_test),
        (train_rows.len(), validation.len(), test.len())
    );
    // Rows 0..15 of iris are all setosa: the test confusion matrix has one populated row.
    let cm = &out.manifest.metrics["test"]["confusion_matrix"];
    let populated = cm
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.as_array().unwrap().iter().any(|v| v.as_u64() != Some(0)))
        .count();
    assert_eq!(populated, 1, "{cm}");
    // The default split would have given other counts.
    let out = train(&iris(), &cfg(), TrainEnv::new(&reg)).unwrap();
    assert_ne!(out.manifest.training.rows_test, test.len());
}

#[test]
fn bad_explicit_splits_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::new(dir.path());
    let try_splits = |s: ExplicitSplits| {
        let mut env = TrainEnv::new(&reg);
        env.splits = Some(s);
        train(&iris(), &cfg(), env).err().map(|e| e.to_string())
    };
    let ok = ExplicitSplits {
        rows: 150,
        train: (0..100).collect(),
        validation: (100..120).collect(),
        test: (120..150).collect(),
    };
    let e = try_splits(ExplicitSplits {
        rows: 149,
        ..ok.clone()
    })
    .unwrap();
    assert!(e.contains("made for 149 usable rows"), "{e}");
    let e = try_splits(ExplicitSplits {
        test: vec![150],
        ..ok.clone()
    })
    .unwrap();
    assert!(e.contains("row 150 is out of range"), "{e}");
    let e = try_splits(ExplicitSplits {
        validation: vec![5],
        ..ok.clone()
    })
    .unwrap();
    assert!(e.contains("row 5 is in two splits"), "{e}");
    let e = try_splits(ExplicitSplits {
        train: vec![],
        ..ok
    })
    .unwrap();
    assert!(e.contains("training split is empty"), "{e}");
}
