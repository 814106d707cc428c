//! Registry: distinct versions under concurrency, crash safety, aliases, load validation.

use std::path::{Path, PathBuf};

use neurite_pipeline::config::TrainConfig;
use neurite_pipeline::train::{TrainEnv, train};
use neurite_pipeline::{Bundle, Registry};

fn iris() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("data/iris.csv")
}

fn train_iris(reg: &Registry, epochs: usize) -> u32 {
    let mut c = TrainConfig {
        target: vec!["species".into()],
        ..Default::default()
    };
    c.training.epochs = epochs;
    train(&iris(), &c, TrainEnv::new(reg))
        .unwrap()
        .manifest
        .version
}

#[test]
fn concurrent_trainings_get_distinct_versions() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let root = root.clone();
            std::thread::spawn(move || train_iris(&Registry::new(root), 3))
        })
        .collect();
    let mut versions: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    versions.sort();
    assert_eq!(versions, vec![1, 2, 3, 4]);
    assert_eq!(
        Registry::new(&root).versions("iris").unwrap(),
        vec![1, 2, 3, 4]
    );
}

#[test]
fn crash_leftovers_are_invisible_and_state_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::new(dir.path());
    train_iris(&reg, 2);
    reg.promote("iris@1", "production").unwrap();
    let base = dir.path().join("iris");
    // What a crash mid-save leaves: a hidden temp folder with a partial file, and a version
    // folder that never got its manifest.
    std::fs::create_dir_all(base.join(".tmp-999-1")).unwrap();
    std::fs::write(base.join(".tmp-999-1/weights.safetensors"), b"partial").unwrap();
    std::fs::create_dir_all(base.join("v7")).unwrap();
    std::fs::write(base.join("v7/weights.safetensors"), b"partial").unwrap();
    // A temp file an interrupted atomic write of aliases.json leaves behind.
    std::fs::write(base.join(".aliases.json.tmp.1.2"), b"{\"production\": 9").unwrap();
    assert_eq!(reg.versions("iris").unwrap(), vec![1]);
    assert_eq!(reg.aliases("iris").unwrap().get("production"), Some(&1));
    assert_eq!(reg.load("iris@production").unwrap().manifest.version, 1);
    // The next run reserves a number past every folder, finished or not.
    let k = train_iris(&reg, 2);
    assert_eq!(k, 8);
    assert_eq!(reg.versions("iris").unwrap(), vec![1, 8]);
}

#[test]
fn aliases_promote_and_roll_back_as_a_stack() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::new(dir.path());
    for _ in 0..3 {
        train_iris(&reg, 2);
    }
    reg.promote("iris@1", "production").unwrap();
    assert_eq!(reg.promote("iris@v2", "production").unwrap(), (2, Some(1)));
    assert_eq!(reg.promote("iris@3", "production").unwrap(), (3, Some(2)));
    assert_eq!(reg.rollback("iris", "production").unwrap(), (3, 2));
    assert_eq!(reg.rollback("iris", "production").unwrap(), (2, 1));
    assert!(
        reg.rollback("iris", "production").is_err(),
        "nothing before v1"
    );
    assert_eq!(reg.load("iris@production").unwrap().manifest.version, 1);
    let hist = reg.alias_history("iris").unwrap();
    assert_eq!(hist.len(), 5);
    assert_eq!(hist.iter().filter(|e| e.action == "rollback").count(), 2);
    assert!(
        reg.promote("iris@1", "3").is_err(),
        "an alias that reads as a version"
    );
    assert!(reg.promote("iris@9", "x").is_err(), "unknown version");
    assert!(
        reg.remove("iris@production", false).is_err(),
        "aliased version"
    );
    reg.remove("iris@3", false).unwrap();
    assert_eq!(reg.versions("iris").unwrap(), vec![1, 2]);
    let e = reg.load("iris@nope").unwrap_err().to_string();
    assert!(e.contains("aliases: production"), "{e}");
}

#[test]
fn loading_validates_everything() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::new(dir.path());
    train_iris(&reg, 2);
    let v1 = dir.path().join("iris/v1");
    let fresh = || {
        let d = tempfile::tempdir().unwrap();
        for f in ["model.json", "weights.safetensors"] {
            std::fs::copy(v1.join(f), d.path().join(f)).unwrap();
        }
        d
    };
    // truncated weights
    let d = fresh();
    let w = std::fs::read(d.path().join("weights.safetensors")).unwrap();
    std::fs::write(d.path().join("weights.safetensors"), &w[..w.len() - 100]).unwrap();
    let e = Bundle::load(d.path()).unwrap_err().to_string();
    assert!(
        e.contains("weights.safetensors") && e.contains("invalid weights file"),
        "{e}"
    );
    // corrupt weights
    std::fs::write(d.path().join("weights.safetensors"), b"garbage").unwrap();
    assert!(Bundle::load(d.path()).is_err());
    // a manifest from a newer format version
    let d = fresh();
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("model.json")).unwrap()).unwrap();
    m["format_version"] = serde_json::json!(999);
    std::fs::write(d.path().join("model.json"), m.to_string()).unwrap();
    let e = Bundle::load(d.path()).unwrap_err().to_string();
    assert!(e.contains("format version 999 is newer"), "{e}");
    // architecture and weights disagree (shape mismatch)
    let d = fresh();
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("model.json")).unwrap()).unwrap();
    m["architecture"]["layers"][0]["units"] = serde_json::json!(7);
    std::fs::write(d.path().join("model.json"), m.to_string()).unwrap();
    let e = Bundle::load(d.path()).unwrap_err().to_string();
    assert!(e.contains("shape"), "{e}");
    // a manifest that is not JSON
    let d = fresh();
    std::fs::write(d.path().join("model.json"), b"{").unwrap();
    let e = Bundle::load(d.path()).unwrap_err().to_string();
    assert!(
        e.contains("model.json") && e.contains("invalid model manifest"),
        "{e}"
    );
}
