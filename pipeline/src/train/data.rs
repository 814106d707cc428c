//! Dataset preparation for training: read and split (through [`crate::prepare`], shared with
//! `neurite data prepare`), fit (or reuse) the preprocessing, choose the output head and loss,
//! compute per-row weights, and put the arrays on the device.

use std::path::Path;

use neurite_engine::{Device, Loss, Tensor};
use neurite_kernels::rng::Rng;

use crate::bundle::{Bundle, DataReport, Head};
use crate::config::{ClassWeights, TrainConfig};
use crate::data::Table;
use crate::data::config::DataConfig;
use crate::data::preprocess::Preprocessor;
use crate::data::target::TargetEncoder;
use crate::error::{Error, Result};
use crate::prepare::{SplitOptions, fit_target, prepare as read_and_split, read_options};
use crate::task::Task;

/// A split resident on the training device.
pub struct DeviceData {
    /// `[rows, features]`
    pub x: Tensor,
    /// `[rows, encoded target width]`
    pub y: Tensor,
    /// `[rows, 1]` per-row loss weights, when any are configured.
    pub w: Option<Tensor>,
    pub rows: usize,
}

pub struct Prepared {
    pub task: Task,
    pub head: Head,
    pub loss: Loss,
    pub pre: Preprocessor,
    pub target: TargetEncoder,
    pub train: DeviceData,
    /// Host copies of the training matrices, kept when augmentation redraws them each epoch.
    pub train_host: Option<(Vec<f32>, Vec<f32>)>,
    pub val: Option<DeviceData>,
    pub t_train: Table,
    pub t_val: Table,
    pub t_test: Table,
    pub rows_total: usize,
    pub rows_replayed: usize,
    pub sha256: String,
    pub report: DataReport,
}

/// Options beyond the config: incremental training from a parent, replay of old data, and
/// explicit splits.
#[derive(Default)]
pub struct PrepareOptions<'a> {
    pub parent: Option<&'a Bundle>,
    pub replay: Option<(&'a Path, f64)>,
    pub splits: Option<&'a ExplicitSplits>,
}

/// Rows to train, validate and test on, given instead of the seeded split. Indices count the
/// usable rows as [`crate::prepare::prepare`] returns them (rows with a missing target, and
/// with `drop_missing_rows` rows with a missing feature, removed), so the caller gets them
/// from the same function; `rows` is that count, checked so that a changed file or data
/// configuration cannot silently select other rows. The preprocessing is still fitted on the
/// training rows only.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExplicitSplits {
    pub rows: usize,
    pub train: Vec<usize>,
    pub validation: Vec<usize>,
    pub test: Vec<usize>,
}

impl ExplicitSplits {
    /// Check the splits against a table of `n` usable rows: indices in range, no row in two
    /// splits or twice in one, a non-empty training split.
    pub fn check(&self, n: usize, path: &Path) -> Result<()> {
        if self.rows != n {
            return Err(Error::InvalidData(format!(
                "{}: the splits were made for {} usable rows, the file now has {n}",
                path.display(),
                self.rows
            )));
        }
        if self.train.is_empty() {
            return Err(Error::InvalidData(format!(
                "{}: the training split is empty",
                path.display()
            )));
        }
        let mut seen = vec![false; n];
        for (name, part) in [
            ("train", &self.train),
            ("validation", &self.validation),
            ("test", &self.test),
        ] {
            for &i in part.iter() {
                if i >= n {
                    return Err(Error::InvalidData(format!(
                        "{}: {name} split row {i} is out of range ({n} usable rows)",
                        path.display()
                    )));
                }
                if std::mem::replace(&mut seen[i], true) {
                    return Err(Error::InvalidData(format!(
                        "{}: row {i} is in two splits (or twice in one)",
                        path.display()
                    )));
                }
            }
        }
        Ok(())
    }
}

pub fn prepare(
    path: &Path,
    cfg: &TrainConfig,
    device: Device,
    opts: &PrepareOptions,
) -> Result<Prepared> {
    let targets: Vec<String> = match opts.parent {
        Some(p) => p.manifest.target.columns(),
        None => cfg.target.clone(),
    };
    if targets.is_empty() {
        return Err(Error::Config(
            "no target column: pass --target or set `target:` in the config".into(),
        ));
    }
    let task = match (opts.parent, cfg.task.as_str()) {
        (Some(p), _) => Some(p.manifest.task),
        (None, "auto") => None,
        (None, t) => {
            Some(Task::parse(t).ok_or_else(|| Error::Config(format!("unknown task {t:?}")))?)
        }
    };
    let (data_cfg, split) = data_and_split(cfg);
    let mut prep = read_and_split(path, &targets, task, &data_cfg, &split)?;
    if let Some(s) = opts.splits {
        s.check(prep.table.n_rows(), path)?;
        prep.train = s.train.clone();
        prep.validation = s.validation.clone();
        prep.test = s.test.clone();
    }
    let task = prep.task;
    let table = &prep.table;
    let sha256 = table.sha256.clone().unwrap_or_default();
    let (mut t_train, t_val, t_test) = (
        table.select_rows(&prep.train),
        table.select_rows(&prep.validation),
        table.select_rows(&prep.test),
    );

    // Replay: a seeded sample of earlier data joins the training split only.
    let mut rows_replayed = 0;
    if let Some((rpath, frac)) = opts.replay {
        if !(frac > 0.0 && frac <= 1.0) {
            return Err(Error::Config(format!(
                "--replay-fraction must be in (0, 1], got {frac}"
            )));
        }
        let old = Table::read_csv_with(rpath, &read_options(&data_cfg)?)?;
        let mut idx: Vec<usize> = (0..old.n_rows()).collect();
        Rng::new(cfg.training.seed).fork(0xBEEF).shuffle(&mut idx);
        idx.truncate(((old.n_rows() as f64) * frac).round() as usize);
        rows_replayed = idx.len();
        t_train.append_rows(&old, &idx)?;
    }

    // Preprocessing: fitted on the training split only; an incremental run keeps its
    // parent's (same inputs, same scaling, same labels).
    let mut report = prep.report.clone();
    let (pre, target) = match opts.parent {
        Some(p) => (p.manifest.preprocessor.clone(), p.manifest.target.clone()),
        None => {
            let target = fit_target(task, &t_train, &targets)?;
            let y = target.values(&t_train)?;
            let (pre, notes) = Preprocessor::fit(&t_train, &prep.schema, &data_cfg, Some(&y))?;
            report.warnings.extend(notes);
            (pre, target)
        }
    };
    let head = match opts.parent {
        Some(p) => p.manifest.head(),
        None => choose_head(task, &target, &cfg.model.output_activation)?,
    };
    let loss = choose_loss(head, &cfg.loss, cfg.huber_delta)?;

    let class_w = class_weights(cfg, &target, &t_train)?;
    let weight_col = cfg.training.sample_weight_column.as_deref();
    let nf = pre.n_features();
    let width = target.encoded_width();
    let upload = |t: &Table, x: &[f32], y: &[f32]| -> Result<DeviceData> {
        let rows = t.n_rows();
        let w = row_weights(t, &target, y, class_w.as_deref(), weight_col)?;
        Ok(DeviceData {
            x: Tensor::from_slice(x, [rows, nf], device)?,
            y: Tensor::from_slice(y, [rows, width], device)?,
            w: w.map(|w| Tensor::from_slice(&w, [rows, 1], device))
                .transpose()?,
            rows,
        })
    };
    let (xtr, ytr) = (pre.transform(&t_train)?, target.encode(&t_train)?);
    let train = upload(&t_train, &xtr, &ytr)?;
    let augmenting = data_cfg.augment.noise.is_some() || data_cfg.augment.mixup.is_some();
    let train_host = augmenting.then_some((xtr, ytr));
    let val = if t_val.n_rows() > 0 {
        Some(upload(
            &t_val,
            &pre.transform(&t_val)?,
            &target.encode(&t_val)?,
        )?)
    } else {
        None
    };
    Ok(Prepared {
        task,
        head,
        loss,
        pre,
        target,
        train,
        train_host,
        val,
        t_train,
        t_val,
        t_test,
        rows_total: table.n_rows(),
        rows_replayed,
        sha256,
        report,
    })
}

/// The data options training reads with (the sample-weight column dropped: it is neither a
/// feature nor a target) and the seeded split.
pub(crate) fn data_and_split(cfg: &TrainConfig) -> (DataConfig, SplitOptions) {
    let mut data_cfg = cfg.data.clone();
    if let Some(w) = &cfg.training.sample_weight_column
        && !data_cfg.drop.contains(w)
    {
        data_cfg.drop.push(w.clone());
    }
    // A callback that names a validation metric asks for the split whatever its size.
    let cb = &cfg.callbacks;
    let named_val = [
        cb.early_stopping
            .enabled
            .then_some(&cb.early_stopping.monitor),
        cb.model_checkpoint
            .enabled
            .then_some(&cb.model_checkpoint.monitor),
        cb.reduce_lr_on_plateau.as_ref().map(|r| &r.monitor),
    ]
    .into_iter()
    .flatten()
    .any(|m| m.starts_with("val_"));
    let split = SplitOptions {
        test_fraction: data_cfg.test_fraction,
        validation_fraction: data_cfg.validation_fraction,
        min_validation_rows: if named_val {
            0
        } else {
            data_cfg.min_validation_rows
        },
        seed: cfg.training.seed,
    };
    (data_cfg, split)
}

fn choose_head(task: Task, target: &TargetEncoder, requested: &str) -> Result<Head> {
    let classes = target.n_outputs();
    let head = match (requested, task) {
        ("auto", Task::Classification) if classes == 2 => Head::Sigmoid,
        ("auto", Task::Classification) => Head::Softmax,
        ("auto", Task::Multilabel) => Head::Sigmoid,
        ("auto", Task::Regression) => Head::Linear,
        (r, _) => Head::parse(r)
            .ok_or_else(|| Error::Config(format!("unknown output activation {r:?}")))?,
    };
    let ok = matches!(
        (head, task),
        (Head::Softmax, Task::Classification)
            | (Head::Sigmoid, Task::Multilabel)
            | (Head::Linear, Task::Regression)
    ) || (head == Head::Sigmoid && task == Task::Classification && classes == 2);
    if !ok {
        return Err(Error::Config(format!(
            "model.output_activation {requested:?} does not fit a {task:?} task{}",
            if task == Task::Classification {
                format!(" with {classes} classes (sigmoid is for two)")
            } else {
                String::new()
            }
        )));
    }
    Ok(head)
}

fn choose_loss(head: Head, requested: &str, delta: f32) -> Result<Loss> {
    let loss = match (requested, head) {
        ("auto", Head::Softmax) => Loss::CrossEntropy,
        ("auto", Head::Sigmoid) => Loss::BinaryCrossEntropy,
        ("auto", Head::Linear) => Loss::Mse,
        ("huber", _) => Loss::Huber { delta },
        (r, _) => Loss::parse(r).ok_or_else(|| Error::Config(format!("unknown loss {r:?}")))?,
    };
    let ok = match head {
        Head::Softmax => loss == Loss::CrossEntropy,
        Head::Sigmoid => loss == Loss::BinaryCrossEntropy,
        Head::Linear => matches!(loss, Loss::Mse | Loss::Mae | Loss::Huber { .. }),
    };
    if !ok {
        return Err(Error::Config(format!(
            "loss {} does not fit a {head:?} output",
            loss.name()
        )));
    }
    Ok(loss)
}

/// Per-class weights indexed by class id (single-label classification only).
fn class_weights(
    cfg: &TrainConfig,
    target: &TargetEncoder,
    t_train: &Table,
) -> Result<Option<Vec<f64>>> {
    let Some(cw) = &cfg.training.class_weights else {
        return Ok(None);
    };
    let TargetEncoder::Classes { labels, .. } = target else {
        return Err(Error::Config(
            "training.class_weights applies to single-label classification".into(),
        ));
    };
    let k = labels.len();
    Ok(Some(match cw {
        ClassWeights::Named(_) => {
            // scikit-learn's `compute_class_weight("balanced")`: n / (k · count).
            let ids = target.encode(t_train)?;
            let mut counts = vec![0usize; k];
            for &c in &ids {
                counts[c as usize] += 1;
            }
            counts
                .iter()
                .map(|&c| {
                    if c == 0 {
                        1.0
                    } else {
                        ids.len() as f64 / (k as f64 * c as f64)
                    }
                })
                .collect()
        }
        ClassWeights::Map(m) => {
            for key in m.keys() {
                if !labels.contains(key) {
                    return Err(Error::Config(format!(
                        "training.class_weights: unknown class {key:?} (classes: {})",
                        labels.join(", ")
                    )));
                }
            }
            labels
                .iter()
                .map(|l| m.get(l).copied().unwrap_or(1.0))
                .collect()
        }
    }))
}

fn row_weights(
    t: &Table,
    target: &TargetEncoder,
    y: &[f32],
    class_w: Option<&[f64]>,
    col: Option<&str>,
) -> Result<Option<Vec<f32>>> {
    if class_w.is_none() && col.is_none() {
        return Ok(None);
    }
    let mut w = vec![1.0f64; t.n_rows()];
    if let (Some(cw), TargetEncoder::Classes { .. }) = (class_w, target) {
        for (r, wr) in w.iter_mut().enumerate() {
            *wr *= cw[y[r] as usize];
        }
    }
    if let Some(c) = col {
        let vals = t.numeric_column(c)?;
        let ci = t.col_index(c)?;
        for (r, &v) in vals.iter().enumerate() {
            if v < 0.0 {
                return Err(t.cell_error(ci, r, format!("sample weight {v} is negative")));
            }
            w[r] *= v as f64;
        }
    }
    if w.iter().sum::<f64>() <= 0.0 {
        return Err(Error::InvalidData(format!(
            "{}: the sample weights sum to zero",
            t.path.display()
        )));
    }
    Ok(Some(w.into_iter().map(|v| v as f32).collect()))
}
