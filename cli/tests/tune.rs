//! `neurite tune` end to end: search-space errors, the JSON output and the registered model,
//! resume after a kill, several worker processes on one study, cross-validation, grid
//! coverage and the study report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::Ws;

impl Ws {
    fn study(&self, name: &str) -> PathBuf {
        self.path().join("experiments").join(name)
    }
}

/// The trial records of a study: id → (raw bytes, parsed).
fn records(study: &Path) -> BTreeMap<u64, (Vec<u8>, Value)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(study.join("trials")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if let Some(id) = name
            .strip_suffix(".json")
            .and_then(|s| s.parse::<u64>().ok())
        {
            let bytes = std::fs::read(&p).unwrap();
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(v["id"], id);
            out.insert(id, (bytes, v));
        }
    }
    out
}

fn leftovers(study: &Path) -> Vec<String> {
    std::fs::read_dir(study.join("trials"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        // Hidden `.tmp-*` files are what a killed process was writing: never read, swept
        // later by age.
        .filter(|n| !n.starts_with(".tmp-"))
        .filter(|n| !n.ends_with(".json") || n.contains("progress"))
        .collect()
}

const QUICK: [&str; 8] = [
    "data/iris.csv",
    "--target",
    "species",
    "--epochs",
    "25",
    "--workers",
    "1",
    "--json",
];

#[test]
fn invalid_search_spaces_name_the_key() {
    let w = Ws::new();
    let cases = [
        (
            "lr: {type: log_uniform, low: 0.1, high: 0.001}",
            "space.lr: low (0.1) is greater than high (0.001)",
        ),
        (
            "lr: {type: log_uniform, low: 0.0, high: 0.1}",
            "space.lr: a log scale needs positive bounds, got low = 0",
        ),
        (
            "learning_rat: {type: log_uniform, low: 0.001, high: 0.1}",
            "space.learning_rat: unknown hyperparameter `learning_rat`; did you mean `learning_rate`?",
        ),
        (
            "optimizer: {type: choice, values: []}",
            "space.optimizer.values: the choice list is empty",
        ),
    ];
    for (space, expected) in cases {
        let f = w.file("tune.yaml", &format!("space:\n  {space}\n"));
        let mut args = vec!["tune", "--config", f.as_str(), "--study", "bad"];
        args.extend_from_slice(&QUICK);
        let e = w.err(&args);
        assert!(
            e.contains(&format!("{f}: {expected}")),
            "expected {expected:?} in {e}"
        );
        assert!(!w.study("bad").exists(), "no study is created");
        // The same space as the `tune:` section of a model config.
        let m = w.file(
            "model.yaml",
            &format!("training: {{epochs: 5}}\ntune:\n  space:\n    {space}\n"),
        );
        let mut args = vec!["tune", "--config", m.as_str(), "--study", "bad"];
        args.extend_from_slice(&QUICK);
        let e = w.err(&args);
        assert!(
            e.contains(&format!("{m}: tune.{expected}")),
            "expected tune.{expected:?} in {e}"
        );
    }
    // A value that does not fit the configuration, and a study setting typo.
    let f = w.file(
        "tune.yaml",
        "space:\n  optimizer: {type: choice, values: [adam, adamm]}\n",
    );
    let e = w.err(&[
        "tune",
        "data/iris.csv",
        "--target",
        "species",
        "--config",
        &f,
    ]);
    assert!(e.contains("space.optimizer: the value \"adamm\""), "{e}");
    let f = w.file("tune.yaml", "samplr: tpe\n");
    let e = w.err(&[
        "tune",
        "data/iris.csv",
        "--target",
        "species",
        "--config",
        &f,
    ]);
    assert!(
        e.contains("samplr") && e.contains("did you mean `sampler`"),
        "{e}"
    );
    let e = w.err(&[
        "tune",
        "data/iris.csv",
        "--target",
        "species",
        "--sampler",
        "bayes",
    ]);
    assert!(e.contains("sampler") && e.contains("bayes"), "{e}");
}

#[test]
fn json_output_and_the_best_model_in_the_registry() {
    let w = Ws::new();
    let f = w.file(
        "tune.yaml",
        "pruner: {type: none}\nspace:\n  lr: {type: log_uniform, low: 1.0e-3, high: 3.0e-2}\n  \
         layers: {type: int, low: 1, high: 2}\n  units: {type: choice, values: [16, 32]}\n",
    );
    let mut args = vec![
        "tune", "--config", &f, "--study", "j", "--trials", "5", "--seed", "3", "--name",
        "irisbest",
    ];
    args.extend_from_slice(&QUICK);
    let out = w.json(&args);
    assert_eq!(out["study"], "j");
    assert_eq!(out["metric"], "accuracy");
    assert_eq!(out["direction"], "maximize");
    assert_eq!(out["sampler"], "tpe");
    assert_eq!(out["trials"]["budget"], 5);
    assert_eq!(out["trials"]["finished"], 5);
    assert_eq!(out["trials"]["complete"], 5);
    let best = &out["best"];
    let value = best["value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&value), "{out}");
    assert_eq!(best["model"]["name"], "irisbest");
    assert_eq!(best["model"]["version"], 1);
    // The best trial's value is the best of the records.
    let recs = records(&w.study("j"));
    let top = recs
        .values()
        .map(|(_, v)| v["value"].as_f64().unwrap())
        .fold(f64::MIN, f64::max);
    assert_eq!(value, top);
    // The registered model carries the hyperparameters, and they are what it was trained with.
    let dir = PathBuf::from(best["model"]["path"].as_str().unwrap());
    let m: Value = serde_json::from_slice(&std::fs::read(dir.join("model.json")).unwrap()).unwrap();
    let t = &m["tuning"];
    assert_eq!(t["study"], "j");
    assert_eq!(t["trial"], best["trial"]);
    assert_eq!(t["params"], best["params"]);
    let lr = best["params"]["lr"].as_f64().unwrap();
    assert!((m["config"]["optimizer"]["lr"].as_f64().unwrap() - lr).abs() < 1e-6 * lr.max(1.0));
    let layers = best["params"]["layers"].as_u64().unwrap() as usize;
    let hidden = m["config"]["model"]["hidden_layers"].as_array().unwrap();
    assert_eq!(hidden.len(), layers);
    for (k, h) in hidden.iter().enumerate() {
        assert_eq!(h["units"], best["params"][format!("units_{}", k + 1)]);
    }
    // Retraining the best configuration reproduces the trial (same seed, same split).
    assert_eq!(
        m["metrics"]["validation"]["accuracy"].as_f64().unwrap(),
        value
    );
    // Only the best model reached the user's registry.
    let models: Vec<String> = std::fs::read_dir(w.path().join("models"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(models, vec!["irisbest".to_string()]);
    // Starting the same study again is refused; resuming a finished one changes nothing.
    let e = w.err(&args);
    assert!(
        e.contains("already exists") && e.contains("--resume"),
        "{e}"
    );
    let again = w.json(&["tune", "--study", "j", "--resume", "--json"]);
    assert_eq!(again["best"], out["best"]);
    assert_eq!(again["trials"]["run_by_this_process"], 0);
    // The report.
    let html = w.path().join("j.html");
    let o = w.run(&["report", "--study", "j", "-o", html.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    for part in [
        "Study j",
        "best so far",
        "importance",
        "parallel coordinates",
        "irisbest@v1",
    ] {
        assert!(page.contains(part), "no {part:?} in the report");
    }
    assert!(page.matches("<svg").count() >= 5);
}

#[test]
fn resume_after_a_kill_loses_and_repeats_no_trial() {
    let w = Ws::new();
    let args = [
        "tune",
        "data/iris.csv",
        "--target",
        "species",
        "--study",
        "k",
        "--sampler",
        "random",
        "--trials",
        "8",
        "--epochs",
        "60",
        "--workers",
        "1",
        "--json",
    ];
    let mut child = w
        .cmd(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let study = w.study("k");
    let t0 = Instant::now();
    loop {
        let n = std::fs::read_dir(study.join("trials"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| {
                        let n = e.file_name().into_string().unwrap_or_default();
                        n.ends_with(".json") && !n.contains("progress")
                    })
                    .count()
            })
            .unwrap_or(0);
        if n >= 2 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(300), "no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the study finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = records(&study);
    assert!(before.len() >= 2 && before.len() < 8, "{}", before.len());
    // The claim of the trial that was running holds its parameters.
    let claims: Vec<Value> = std::fs::read_dir(study.join("trials"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().unwrap().contains(".claim."))
        .map(|e| serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap())
        .collect();
    assert!(claims.len() <= 1, "{claims:?}");
    assert!(!w.path().join("models").exists(), "nothing registered yet");

    // One worker, as before the kill: with more, the median pruner would see trials finish
    // in another order and could decide differently from the uninterrupted run below.
    let out = w.json(&[
        "tune",
        "--study",
        "k",
        "--resume",
        "--workers",
        "1",
        "--json",
    ]);
    assert_eq!(out["trials"]["finished"], 8);
    let after = records(&study);
    assert_eq!(
        after.keys().copied().collect::<Vec<_>>(),
        (0..8).collect::<Vec<u64>>()
    );
    for (id, (bytes, _)) in &before {
        assert!(
            after[id].0 == *bytes,
            "trial {id}, finished before the kill, was rerun or rewritten"
        );
    }
    assert_eq!(
        out["trials"]["run_by_this_process"].as_u64().unwrap() as usize,
        8 - before.len()
    );
    for c in &claims {
        let id = c["id"].as_u64().unwrap();
        assert_eq!(
            after[&id].1["params"], c["params"],
            "the killed trial keeps its parameters"
        );
    }
    // Random trials are a function of the seed and id: the resumed study has exactly the
    // trials of an uninterrupted one.
    let w2 = Ws::new();
    w2.json(&args);
    let clean = records(&w2.study("k"));
    for id in 0..8 {
        assert_eq!(after[&id].1["params"], clean[&id].1["params"], "trial {id}");
        assert_eq!(after[&id].1["value"], clean[&id].1["value"], "trial {id}");
    }
    assert!(leftovers(&study).is_empty(), "{:?}", leftovers(&study));
}

#[test]
fn two_worker_processes_share_one_study() {
    let w = Ws::new();
    let args = [
        "tune",
        "data/iris.csv",
        "--target",
        "species",
        "--study",
        "shared",
        "--sampler",
        "random",
        "--trials",
        "10",
        "--epochs",
        "30",
        "--workers",
        "1",
        "--worker",
        "--json",
    ];
    let a = w
        .cmd(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b = w
        .cmd(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (pa, pb) = (a.id(), b.id());
    let (oa, ob) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for o in [&oa, &ob] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (ja, jb): (Value, Value) = (
        serde_json::from_slice(&oa.stdout).unwrap(),
        serde_json::from_slice(&ob.stdout).unwrap(),
    );
    let recs = records(&w.study("shared"));
    assert_eq!(
        recs.keys().copied().collect::<Vec<_>>(),
        (0..10).collect::<Vec<u64>>()
    );
    for (id, (_, r)) in &recs {
        let pid = r["pid"].as_u64().unwrap() as u32;
        assert!(pid == pa || pid == pb, "trial {id} by {pid}");
    }
    let ran = ja["trials"]["run_by_this_process"].as_u64().unwrap()
        + jb["trials"]["run_by_this_process"].as_u64().unwrap();
    assert_eq!(ran, 10, "each trial run once");
    // One model registered, and both processes report it.
    let versions: Vec<String> = std::fs::read_dir(w.path().join("models/iris"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('v'))
        .collect();
    assert_eq!(versions, vec!["v1".to_string()]);
    assert_eq!(ja["best"], jb["best"]);
    assert_eq!(ja["best"]["model"]["version"], 1);
    assert!(leftovers(&w.study("shared")).is_empty());
}

#[test]
fn cross_validation_and_grid() {
    let w = Ws::new();
    let f = w.file(
        "tune.yaml",
        "sampler: grid\npruner: {type: none}\nspace:\n  batch_size: {type: choice, values: [16, 64]}\n  \
         activation: {type: choice, values: [relu, tanh]}\n",
    );
    let mut args = vec!["tune", "--config", &f, "--study", "g", "--cv", "3"];
    args.extend_from_slice(&QUICK);
    let out = w.json(&args);
    assert_eq!(out["trials"]["budget"], 4, "the grid size");
    let recs = records(&w.study("g"));
    let mut seen: Vec<String> = recs
        .values()
        .map(|(_, r)| r["params"].to_string())
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4, "every grid point once: {seen:?}");
    for (_, r) in recs.values() {
        let folds: Vec<f64> = r["fold_values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(folds.len(), 3);
        let mean = folds.iter().sum::<f64>() / 3.0;
        assert!((r["value"].as_f64().unwrap() - mean).abs() < 1e-12);
    }
}

#[test]
fn pruning_and_timeout() {
    let w = Ws::new();
    // Successive halving from epoch 2: a trial must be in the top third at epochs 2, 6, 18.
    let f = w.file(
        "tune.yaml",
        "sampler: random\npruner: {type: successive_halving, min_epochs: 2}\n",
    );
    let out = w.json(&[
        "tune",
        "data/iris.csv",
        "--target",
        "species",
        "--config",
        &f,
        "--study",
        "p",
        "--trials",
        "9",
        "--epochs",
        "40",
        "--workers",
        "1",
        "--json",
    ]);
    let pruned: Vec<Value> = records(&w.study("p"))
        .into_values()
        .map(|(_, r)| r)
        .filter(|r| r["state"] == "pruned")
        .collect();
    assert_eq!(
        out["trials"]["pruned"].as_u64().unwrap() as usize,
        pruned.len()
    );
    assert!(!pruned.is_empty(), "no trial was pruned");
    for r in &pruned {
        let stop = r["epochs_run"].as_u64().unwrap();
        assert!(
            [2, 6, 18].contains(&stop),
            "pruned at a rung, not at {stop}: {r}"
        );
        assert!(
            r["message"]
                .as_str()
                .unwrap()
                .contains("successive halving"),
            "{r}"
        );
        assert!(r["value"].is_null());
    }
    // A timeout of 0.01 minutes ends a long study early; the best finished trial is
    // registered and the study can be resumed.
    let out = w.json(&[
        "tune",
        "data/digits.csv",
        "--target",
        "digit",
        "--study",
        "t",
        "--trials",
        "200",
        "--timeout",
        "0.01",
        "--epochs",
        "30",
        "--workers",
        "1",
        "--json",
    ]);
    assert_eq!(out["stopped"], "timeout", "{out}");
    let n = out["trials"]["finished"].as_u64().unwrap();
    assert!((1..200).contains(&n), "{out}");
    assert_eq!(out["best"]["model"]["version"], 1, "{out}");
    let e = w.err(&["tune", "--resume"]);
    assert!(e.contains("--study"), "{e}");
}
