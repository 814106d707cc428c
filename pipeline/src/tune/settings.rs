//! The study settings: a `tune:` section of a model config, or a tune file holding the same
//! keys at its top level, under the command-line flags. Read with the configuration layering
//! of [`crate::config`], so unknown keys are errors with their path and a suggestion.
//!
//! ```yaml
//! tune:
//!   metric: auto            # a validation metric (accuracy, f1_macro, r2, rmse, log_loss …)
//!   direction: auto         # minimize | maximize (auto: from the metric)
//!   sampler: tpe            # grid | random | tpe | gp
//!   trials: 30              # default: 30, or the grid size
//!   timeout_minutes: null
//!   cv: null                # k-fold cross-validation instead of the validation split
//!   workers: null           # trials at once in this process (default: the cores, 1 on a GPU)
//!   startup_trials: 10      # random trials before TPE/GP
//!   grid_points: 5          # grid values per continuous parameter
//!   pruner: {type: median, warmup_epochs: 10, startup_trials: 5}
//!   space: { … }            # see [`super::space`]; default: [`super::space::default_space`]
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::pruners::PrunerSettings;
use super::samplers;
use super::study::Direction;
use crate::config::{Layered, TUNE_SECTION, TrainConfig, read_tree};
use crate::error::{Error, Result};
use crate::task::Task;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TuneSettings {
    pub metric: String,
    pub direction: String,
    pub sampler: String,
    pub trials: Option<usize>,
    pub timeout_minutes: Option<f64>,
    pub cv: Option<usize>,
    pub workers: Option<usize>,
    pub startup_trials: usize,
    pub grid_points: usize,
    pub pruner: PrunerSettings,
    pub space: BTreeMap<String, Value>,
}

impl Default for TuneSettings {
    fn default() -> Self {
        TuneSettings {
            metric: "auto".into(),
            direction: "auto".into(),
            sampler: "tpe".into(),
            trials: None,
            timeout_minutes: None,
            cv: None,
            workers: None,
            startup_trials: 10,
            grid_points: 5,
            pruner: PrunerSettings::default(),
            space: BTreeMap::new(),
        }
    }
}

/// The wrapper that gives section errors their `tune.` path.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Section {
    tune: TuneSettings,
}

/// Where the settings come from: the file, and whether they are its `tune:` section.
#[derive(Clone, Debug)]
pub struct TuneSource {
    /// The settings tree (the section, or the whole tune file).
    pub tree: Value,
    pub origin: String,
    /// `tune` for a section of a model config, empty for a tune file.
    pub at: String,
    /// The file is a model config (its other keys are training settings).
    pub model_config: bool,
}

impl TuneSource {
    /// Read `--config FILE`: a model config with a `tune:` section, a tune file (its keys are
    /// study settings), or a plain model config (default study settings).
    pub fn read(path: &Path) -> Result<TuneSource> {
        let tree = read_tree(path)?;
        let origin = path.display().to_string();
        let Value::Object(m) = &tree else {
            return Err(Error::Config(format!("{origin}: expected a mapping")));
        };
        if let Some(t) = m.get(TUNE_SECTION) {
            return Ok(TuneSource {
                tree: if t.is_null() { json!({}) } else { t.clone() },
                origin,
                at: TUNE_SECTION.into(),
                model_config: true,
            });
        }
        let train_keys = serde_json::to_value(TrainConfig::default())
            .ok()
            .and_then(|v| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()))
            .unwrap_or_default();
        if m.keys().any(|k| train_keys.contains(k)) {
            Ok(TuneSource {
                tree: json!({}),
                origin,
                at: TUNE_SECTION.into(),
                model_config: true,
            })
        } else {
            Ok(TuneSource {
                tree,
                origin,
                at: String::new(),
                model_config: false,
            })
        }
    }

    /// The key path of a setting, for messages.
    pub fn path(&self, key: &str) -> String {
        if self.at.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.at)
        }
    }
}

/// Merge defaults < the file < `flags` (a sparse settings tree) and check the values.
pub fn load(src: Option<&TuneSource>, flags: Value) -> Result<TuneSettings> {
    let in_section = src.is_some_and(|s| !s.at.is_empty());
    let s: TuneSettings = if in_section {
        let mut l = Layered::new(&Section::default())?;
        if let Some(s) = src {
            l.push::<Section>(json!({ TUNE_SECTION: s.tree }), &s.origin)?;
        }
        l.push::<Section>(json!({ TUNE_SECTION: flags }), "command line")?;
        l.build::<Section>("tune settings")?.tune
    } else {
        let mut l = Layered::new(&TuneSettings::default())?;
        if let Some(s) = src {
            l.push::<TuneSettings>(s.tree.clone(), &s.origin)?;
        }
        l.push::<TuneSettings>(flags, "command line")?;
        l.build("tune settings")?
    };
    let at = |k: &str| match src {
        Some(s) => format!("{}: {}", s.origin, s.path(k)),
        None => k.to_string(),
    };
    let bad = |k: &str, m: String| Err(Error::Config(format!("{}: {m}", at(k))));
    if !samplers::KINDS.contains(&s.sampler.as_str()) {
        return bad(
            "sampler",
            format!(
                "unknown sampler {:?} ({})",
                s.sampler,
                samplers::KINDS.join(", ")
            ),
        );
    }
    if !["auto", "minimize", "maximize"].contains(&s.direction.as_str()) {
        return bad(
            "direction",
            format!("expected auto, minimize or maximize, got {:?}", s.direction),
        );
    }
    if s.trials == Some(0) {
        return bad("trials", "must be at least 1".into());
    }
    if let Some(k) = s.cv
        && k < 2
    {
        return bad(
            "cv",
            format!("cross-validation needs at least 2 folds, got {k}"),
        );
    }
    if s.workers == Some(0) {
        return bad("workers", "must be at least 1".into());
    }
    if let Some(t) = s.timeout_minutes
        && (t.is_nan() || t <= 0.0)
    {
        return bad("timeout_minutes", format!("must be > 0, got {t}"));
    }
    if s.grid_points == 0 {
        return bad("grid_points", "must be at least 1".into());
    }
    s.pruner.validate(&at("pruner"))?;
    Ok(s)
}

/// The command-line flags of `neurite tune` as a settings layer.
pub fn flags_layer(
    metric: Option<&str>,
    sampler: Option<&str>,
    trials: Option<usize>,
    timeout_minutes: Option<f64>,
    cv: Option<usize>,
    workers: Option<usize>,
) -> Value {
    let mut m = Map::new();
    if let Some(v) = metric {
        m.insert("metric".into(), json!(v));
    }
    if let Some(v) = sampler {
        m.insert("sampler".into(), json!(v));
    }
    if let Some(v) = trials {
        m.insert("trials".into(), json!(v));
    }
    if let Some(v) = timeout_minutes {
        m.insert("timeout_minutes".into(), json!(v));
    }
    if let Some(v) = cv {
        m.insert("cv".into(), json!(v));
    }
    if let Some(v) = workers {
        m.insert("workers".into(), json!(v));
    }
    Value::Object(m)
}

/// The metrics a task reports on a split (what `metric:` may name), from the metrics module
/// itself so the list never drifts from what training computes.
pub fn metric_names(task: Task, classes: usize, targets: &[String]) -> Vec<String> {
    use crate::metrics::{classification, regression};
    let m = match task {
        Task::Classification => {
            let k = classes.max(2);
            let labels: Vec<String> = (0..k).map(|i| i.to_string()).collect();
            let y: Vec<usize> = (0..k).collect();
            let proba = vec![1.0 / k as f32; k * k];
            classification::classification_summary(&labels, &y, &y, &proba)
        }
        Task::Multilabel => {
            let l = targets.len().max(1);
            classification::multilabel_summary(targets, &vec![1; l], &vec![1; l])
        }
        Task::Regression => {
            let k = targets.len().max(1);
            regression::regression_report(targets, &vec![1.0; k], &vec![1.0; k])
        }
    };
    m.into_iter()
        .filter(|(_, v)| v.is_number())
        .map(|(k, _)| k)
        .collect()
}

/// The objective metric and direction: `auto` is accuracy (classification), subset accuracy
/// (multi-label) or R² (regression); a `val_` prefix is accepted; losses and errors are
/// minimized, everything else maximized.
pub fn resolve_metric(
    metric: &str,
    direction: &str,
    task: Task,
    names: &[String],
    at: &str,
) -> Result<(String, Direction)> {
    let m = match metric {
        "auto" => match task {
            Task::Classification => "accuracy",
            Task::Multilabel => "subset_accuracy",
            Task::Regression => "r2",
        },
        m => m.strip_prefix("val_").unwrap_or(m),
    };
    let m = if m == "loss" && names.iter().any(|n| n == "log_loss") {
        "log_loss"
    } else {
        m
    };
    if !names.iter().any(|n| n == m) {
        let hint = names
            .iter()
            .map(|k| (strsim::jaro_winkler(m, k), k))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .filter(|(s, _)| *s > 0.75)
            .map(|(_, k)| format!("; did you mean `{k}`?"))
            .unwrap_or_default();
        return Err(Error::Config(format!(
            "{at}: metric {m:?} is not reported for a {} task{hint} (available: {})",
            format!("{task:?}").to_lowercase(),
            names.join(", ")
        )));
    }
    let lower_better = ["log_loss", "mae", "rmse", "mse", "mape", "hamming_loss"]
        .iter()
        .any(|k| m == *k || m.starts_with(&format!("{k}_")));
    let dir = match direction {
        "minimize" => Direction::Minimize,
        "maximize" => Direction::Maximize,
        _ if lower_better => Direction::Minimize,
        _ => Direction::Maximize,
    };
    Ok((m.to_string(), dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_layer_and_explain_mistakes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tune.yaml");
        std::fs::write(&f, "sampler: random\ntrials: 7\npruner: {type: hyperband}\nspace:\n  lr: {type: uniform, low: 0.1, high: 0.2}\n").unwrap();
        let src = TuneSource::read(&f).unwrap();
        assert!(!src.model_config);
        let s = load(
            Some(&src),
            flags_layer(None, None, Some(9), None, None, None),
        )
        .unwrap();
        assert_eq!((s.sampler.as_str(), s.trials), ("random", Some(9)));
        assert_eq!(s.pruner.kind, "hyperband");
        assert_eq!(s.pruner.reduction_factor, 3);

        let m = dir.path().join("model.yaml");
        std::fs::write(&m, "training: {epochs: 5}\ntune:\n  samplr: tpe\n").unwrap();
        let src = TuneSource::read(&m).unwrap();
        assert!(src.model_config);
        let e = load(Some(&src), json!({})).unwrap_err().to_string();
        assert!(
            e.contains("tune.samplr") && e.contains("did you mean `sampler`"),
            "{e}"
        );
        std::fs::write(&m, "tune:\n  sampler: bayes\n").unwrap();
        let e = load(Some(&TuneSource::read(&m).unwrap()), json!({}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("tune.sampler") && e.contains("bayes"), "{e}");
        std::fs::write(&f, "cv: 1\n").unwrap();
        let e = load(Some(&TuneSource::read(&f).unwrap()), json!({}))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(": cv: cross-validation needs at least 2 folds"),
            "{e}"
        );
    }

    #[test]
    fn metrics_and_directions() {
        let names = metric_names(Task::Classification, 3, &[]);
        assert!(names.contains(&"f1_macro".to_string()) && names.contains(&"log_loss".to_string()));
        let r = |m: &str| resolve_metric(m, "auto", Task::Classification, &names, "x");
        assert_eq!(r("auto").unwrap(), ("accuracy".into(), Direction::Maximize));
        assert_eq!(
            r("val_log_loss").unwrap(),
            ("log_loss".into(), Direction::Minimize)
        );
        let e = r("f1_macr").unwrap_err().to_string();
        assert!(e.contains("did you mean `f1_macro`"), "{e}");
        let reg = metric_names(Task::Regression, 0, &["y".into()]);
        let (m, d) = resolve_metric("rmse", "auto", Task::Regression, &reg, "x").unwrap();
        assert_eq!((m.as_str(), d), ("rmse", Direction::Minimize));
    }
}
