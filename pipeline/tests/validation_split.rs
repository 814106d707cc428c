//! When training holds a validation split out: a tenth of the rest when that is at least
//! `data.min_validation_rows` (30), whatever its size when a callback monitors a `val_*` metric
//! by name, and never a split too small to monitor otherwise (its rows train).

use std::path::PathBuf;

use neurite_pipeline::Registry;
use neurite_pipeline::config::{ReduceLrConfig, TrainConfig};
use neurite_pipeline::train::{TrainEnv, train};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../data/{name}.csv"))
}

fn cfg(target: &str) -> TrainConfig {
    let mut c = TrainConfig {
        target: vec![target.into()],
        ..Default::default()
    };
    c.training.epochs = 2;
    c
}

/// (train, validation, test) rows and the metrics of the last epoch's log line.
fn rows(path: &str, c: &TrainConfig) -> (usize, usize, usize, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::new(dir.path());
    let out = train(&data(path), c, TrainEnv::new(&reg)).unwrap();
    let t = &out.manifest.training;
    let keys = out.manifest.history.last().map_or(Vec::new(), |h| {
        h.metrics.keys().cloned().collect::<Vec<String>>()
    });
    (t.rows_train, t.rows_validation, t.rows_test, keys)
}

#[test]
fn a_split_too_small_to_monitor_trains_instead() {
    // iris: 150 rows, 30 test; a tenth of the other 120 would be 12.
    let (tr, val, te, keys) = rows("iris", &cfg("species"));
    assert_eq!((tr, val, te), (120, 0, 30));
    assert!(!keys.iter().any(|k| k.starts_with("val_")), "{keys:?}");

    // Asked for by name: held out.
    let mut c = cfg("species");
    c.callbacks.early_stopping.monitor = "val_accuracy".into();
    let (tr, val, _, keys) = rows("iris", &c);
    assert_eq!((tr, val), (108, 12));
    assert!(keys.iter().any(|k| k == "val_loss"), "{keys:?}");

    let mut c = cfg("species");
    c.callbacks.reduce_lr_on_plateau = Some(ReduceLrConfig {
        monitor: "val_loss".into(),
        ..Default::default()
    });
    assert_eq!(rows("iris", &c).1, 12);

    // A disabled callback asks for nothing.
    let mut c = cfg("species");
    c.callbacks.early_stopping.enabled = false;
    c.callbacks.early_stopping.monitor = "val_accuracy".into();
    assert_eq!(rows("iris", &c).1, 0);

    // The threshold is a setting: 0 always holds the split out.
    let mut c = cfg("species");
    c.data.min_validation_rows = 0;
    assert_eq!(rows("iris", &c).1, 12);
    let mut c = cfg("species");
    c.data.min_validation_rows = 12;
    assert_eq!(rows("iris", &c).1, 12);
    c.data.min_validation_rows = 13;
    assert_eq!(rows("iris", &c).1, 0);
}

#[test]
fn a_split_large_enough_is_held_out() {
    // diabetes: 442 rows, 89 test; a tenth of the other 353 is 35.
    let (tr, val, te, keys) = rows("diabetes", &cfg("progression"));
    assert_eq!(tr + val + te, 442);
    assert!(val >= 30, "{val}");
    assert!(keys.iter().any(|k| k == "val_r2"), "{keys:?}");
}
