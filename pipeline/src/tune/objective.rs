//! One trial: the base configuration with the trial's hyperparameters, trained with a pruning
//! callback, scored on the validation split — or k times on cross-validation folds, scored by
//! the mean over folds. The trainer fits the preprocessing on each fold's training rows only,
//! so no statistic of a validation fold leaks into its model.
//!
//! Trial models go to a scratch registry inside the study folder and are deleted afterwards:
//! the user's registry only receives the best trial's model (see [`super::runner`]).

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::pruners::Pruner;
use super::space::Space;
use super::study::{Claim, Study, TrialRecord, TrialState, now};
use crate::bundle::EpochRecord;
use crate::config::{Layered, TrainConfig};
use crate::data::split::k_fold;
use crate::error::{Error, Result};
use crate::prepare::prepare;
use crate::registry::Registry;
use crate::task::Task;
use crate::train::{Callback, CallbackContext, ExplicitSplits, TrainEnv, train};

/// What the study needs to know about its data before the first trial.
pub struct DataInfo {
    pub sha256: String,
    pub rows: usize,
    pub task: Task,
    /// Classes of a classification target.
    pub classes: usize,
    pub validation_rows: usize,
    /// Cross-validation folds over the training and validation rows (the test rows stay out).
    pub folds: Option<Vec<ExplicitSplits>>,
}

/// Read and split the data as training will, and cut the folds.
pub fn inspect(path: &Path, cfg: &TrainConfig, cv: Option<usize>) -> Result<DataInfo> {
    let task = match cfg.task.as_str() {
        "auto" => None,
        t => Some(Task::parse(t).ok_or_else(|| Error::Config(format!("unknown task {t:?}")))?),
    };
    let (data_cfg, split) = crate::train::data::data_and_split(cfg);
    if cfg.target.is_empty() {
        return Err(Error::Config(
            "no target column: pass --target or set `target:` in the config".into(),
        ));
    }
    let p = prepare(path, &cfg.target, task, &data_cfg, &split)?;
    let n = p.table.n_rows();
    let classes = p
        .classes
        .as_ref()
        .map(|c| c.iter().copied().max().map_or(0, |m| m + 1))
        .unwrap_or_else(|| {
            if p.task == Task::Classification {
                crate::prepare::fit_target(p.task, &p.table, &cfg.target)
                    .map(|t| t.n_outputs())
                    .unwrap_or(2)
            } else {
                0
            }
        });
    let folds = match cv {
        None => None,
        Some(k) => {
            let pool: Vec<usize> = p.train.iter().chain(&p.validation).copied().collect();
            if pool.len() < 2 * k {
                return Err(Error::InvalidData(format!(
                    "{}: {} training rows are too few for {k}-fold cross-validation",
                    path.display(),
                    pool.len()
                )));
            }
            let cls: Option<Vec<usize>> = p
                .classes
                .as_ref()
                .map(|c| pool.iter().map(|&i| c[i]).collect());
            Some(
                k_fold(pool.len(), k, cfg.training.seed, cls.as_deref())
                    .into_iter()
                    .map(|(tr, va)| ExplicitSplits {
                        rows: n,
                        train: tr.iter().map(|&i| pool[i]).collect(),
                        validation: va.iter().map(|&i| pool[i]).collect(),
                        test: p.test.clone(),
                    })
                    .collect(),
            )
        }
    };
    Ok(DataInfo {
        sha256: p.table.sha256.clone().unwrap_or_default(),
        rows: n,
        task: p.task,
        classes,
        validation_rows: p.validation.len(),
        folds,
    })
}

pub struct Objective<'a> {
    pub study: &'a Study,
    pub space: &'a Space,
    pub base: &'a Layered,
    pub data: &'a Path,
    pub folds: Option<&'a [ExplicitSplits]>,
    pub pruner: &'a Pruner,
    pub metric: &'a str,
    pub interrupt: Option<&'a AtomicBool>,
}

pub enum TrialEnd {
    Recorded(Box<TrialRecord>),
    /// Stopped by an interrupt: no result.
    Interrupted,
}

/// Reports the monitored value each epoch and stops the trial when the pruner says so.
struct PruneCallback<'a> {
    study: &'a Study,
    pruner: &'a Pruner,
    claim: &'a Claim,
    monitor: String,
    curve: &'a RefCell<Vec<(usize, f64)>>,
    pruned: &'a RefCell<Option<String>>,
}

impl Callback for PruneCallback<'_> {
    fn name(&self) -> &'static str {
        "tune_pruner"
    }
    fn on_epoch_end(&mut self, ctx: &mut CallbackContext, logs: &EpochRecord) -> Result<()> {
        let Some(v) = logs.get(&self.monitor) else {
            return Ok(());
        };
        let (id, epoch) = (self.claim.id, ctx.epoch);
        self.curve.borrow_mut().push((epoch, v));
        let curve = self.curve.borrow();
        if self.pruner.is_rung(id, epoch) {
            self.study.write_progress(self.claim, &curve)?;
        }
        if ctx.stop.is_none() && self.pruner.due(id, epoch) {
            let others = self.study.trials()?;
            if let Some(why) = self.pruner.prune(id, epoch, &curve, &others) {
                *ctx.stop = Some(why.clone());
                *self.pruned.borrow_mut() = Some(why);
            }
        }
        Ok(())
    }
}

impl Objective<'_> {
    /// The trial's training configuration (scratch name, no epoch checkpoints).
    fn config(&self, claim: &Claim) -> Result<TrainConfig> {
        let params = claim.params.clone().unwrap_or_default();
        let mut cfg = self
            .space
            .config(&params, self.base, &format!("trial {}", claim.id))?;
        cfg.name = Some(format!("t{:06}", claim.id));
        cfg.experiment = None;
        cfg.callbacks.model_checkpoint.enabled = false;
        Ok(cfg)
    }

    pub fn run(&self, claim: &Claim) -> Result<TrialEnd> {
        let t0 = Instant::now();
        let mut rec = TrialRecord::new(claim.id, claim.params.clone().unwrap_or_default());
        rec.attempt = format!("{}:{}", claim.generation, claim.nonce);
        let work = self.study.work_dir(claim);
        let result = self.train_folds(claim, &work, &mut rec);
        let _ = std::fs::remove_dir_all(&work);
        rec.duration_secs = t0.elapsed().as_secs_f64();
        rec.finished = Some(now());
        match result {
            Ok(()) => {}
            Err(Error::Interrupted { .. }) => return Ok(TrialEnd::Interrupted),
            Err(e) => {
                rec.state = TrialState::Failed;
                rec.value = None;
                rec.message = Some(e.to_string());
            }
        }
        Ok(TrialEnd::Recorded(Box::new(rec)))
    }

    fn train_folds(&self, claim: &Claim, work: &Path, rec: &mut TrialRecord) -> Result<()> {
        let cfg = self.config(claim)?;
        let registry = Registry::new(work);
        let folds: Vec<Option<&ExplicitSplits>> = match self.folds {
            Some(f) => f.iter().map(Some).collect(),
            None => vec![None],
        };
        let curve = RefCell::new(Vec::new());
        let pruned = RefCell::new(None);
        let mut tests = Vec::new();
        for (i, fold) in folds.into_iter().enumerate() {
            let mut env = TrainEnv::new(&registry);
            env.splits = fold.cloned();
            env.interrupt = self.interrupt;
            if i == 0 && self.pruner.enabled() {
                env.extra_callbacks.push(Box::new(PruneCallback {
                    study: self.study,
                    pruner: self.pruner,
                    claim,
                    monitor: self.pruner.settings.monitor(),
                    curve: &curve,
                    pruned: &pruned,
                }));
            }
            let out = train(self.data, &cfg, env)?;
            rec.epochs_run += out.manifest.training.epochs_run;
            if i == 0 {
                rec.intermediate = curve.borrow().clone();
                if rec.intermediate.is_empty() {
                    // No pruning: keep the curve anyway (the report draws it).
                    rec.intermediate =
                        monitored(&out.manifest.history, &self.pruner.settings.monitor());
                }
            }
            if let Some(why) = pruned.borrow().clone() {
                rec.state = TrialState::Pruned;
                rec.message = Some(why);
                return Ok(());
            }
            let split = |s: &str| {
                out.manifest
                    .metrics
                    .get(s)
                    .and_then(|m| m.get(self.metric))
                    .and_then(|v| v.as_f64())
            };
            let v = split("validation")
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    Error::InvalidData(format!(
                        "the validation metric {:?} was not computed (validation rows: {})",
                        self.metric, out.manifest.training.rows_validation
                    ))
                })?;
            rec.fold_values.push(v);
            if let Some(t) = split("test") {
                tests.push(t);
            }
        }
        let n = rec.fold_values.len() as f64;
        rec.value = Some(rec.fold_values.iter().sum::<f64>() / n);
        rec.test_value =
            (!tests.is_empty()).then(|| tests.iter().sum::<f64>() / tests.len() as f64);
        if self.folds.is_none() {
            rec.fold_values.clear();
        }
        rec.state = TrialState::Complete;
        Ok(())
    }
}

fn monitored(history: &[EpochRecord], key: &str) -> Vec<(usize, f64)> {
    history
        .iter()
        .filter_map(|h| h.get(key).map(|v| (h.epoch, v)))
        .collect()
}
