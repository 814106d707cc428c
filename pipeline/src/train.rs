//! Training from a CSV file: split, fit preprocessing on the training part, train an MLP with
//! Adam and early stopping on a validation split, evaluate on the held-out test split, save a
//! versioned bundle.
//!
//! The training data lives on the training device for the whole run: each batch is gathered
//! there from the resident matrix by row indices, and the loss is accumulated there too, so only
//! the per-epoch loss and metrics cross back to the host.

use std::path::Path;
use std::time::Instant;

use neurite_engine::backend;
use neurite_engine::nn::{ActivationSpec, Init, LayerSpec, Mlp, MlpSpec};
use neurite_engine::{
    DType, Device, Loss, Optimizer, OptimizerSpec, Shape, SliceMut, Tape, Tensor,
};
use neurite_kernels::rng::Rng;
use serde_json::{Map, Value, json};

use crate::augment::Augmenter;
use crate::bundle::{Bundle, Manifest, Predictions, TrainingInfo};
use crate::data::Table;
use crate::data::config::DataConfig;
use crate::data::preprocess::{Preprocessor, TargetEncoder};
use crate::error::{Error, Result};
use crate::metrics;
use crate::prepare::{SplitOptions, prepare};
use crate::registry::Registry;
use crate::task::Task;

/// Options of one training run; [`TrainOptions::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    pub targets: Vec<String>,
    /// Registry name; defaults to the CSV file's stem.
    pub name: Option<String>,
    pub task: Option<Task>,
    pub hidden: Vec<usize>,
    pub activation: ActivationSpec,
    pub dropout: f32,
    pub epochs: usize,
    pub batch_size: usize,
    pub optimizer: OptimizerSpec,
    /// When to stop before `epochs`; see [`StopRule`].
    pub stop: StopRule,
    /// Epochs without improvement before stopping (`None`: 20 for validation loss, 10 for
    /// training loss, as in Keras examples and scikit-learn's `n_iter_no_change`).
    pub patience: Option<usize>,
    pub test_fraction: f64,
    /// Fraction of the training part held out for validation (early stopping).
    pub validation_fraction: f64,
    pub seed: u64,
    pub device: Device,
    /// Reading, column types, missing values, scaling, encoding, feature engineering and
    /// selection, on-the-fly augmentation.
    pub data: DataConfig,
}

impl TrainOptions {
    pub fn new(targets: Vec<String>) -> TrainOptions {
        TrainOptions {
            targets,
            name: None,
            task: None,
            hidden: vec![128, 64],
            activation: ActivationSpec::Relu,
            dropout: 0.0,
            epochs: 200,
            batch_size: 32,
            optimizer: OptimizerSpec::adam(1e-3),
            stop: StopRule::Auto,
            patience: None,
            test_fraction: 0.2,
            validation_fraction: 0.1,
            seed: 42,
            device: Device::Cpu,
            data: DataConfig::default(),
        }
    }

    fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::Config("epochs must be at least 1".into()));
        }
        if self.batch_size == 0 {
            return Err(Error::Config("batch size must be at least 1".into()));
        }
        if !(0.0..0.9).contains(&self.test_fraction)
            || !(0.0..0.9).contains(&self.validation_fraction)
        {
            return Err(Error::Config(
                "test and validation fractions must be in [0, 0.9)".into(),
            ));
        }
        if self.hidden.contains(&0) {
            return Err(Error::Config(
                "hidden layer sizes must be at least 1".into(),
            ));
        }
        self.optimizer.validate()?;
        self.data.validate()?;
        Ok(())
    }
}

/// Early stopping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopRule {
    /// Validation loss when the validation split has at least [`MIN_VALIDATION_ROWS`] rows,
    /// otherwise training loss: a handful of validation rows makes their loss too noisy to
    /// choose an epoch by (on iris, 12 rows picked epoch 7 and 80% test accuracy; the
    /// training-loss rule reaches 100%).
    Auto,
    /// Keras `EarlyStopping(monitor="val_loss", restore_best_weights=True)`.
    ValidationLoss,
    /// scikit-learn's MLP rule: stop when the training loss has not improved by more than
    /// 1e-4 for `patience` epochs; keep the last weights.
    TrainingLoss,
    /// Run every epoch.
    Never,
}

pub const MIN_VALIDATION_ROWS: usize = 30;

/// One epoch's log line.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochLog {
    pub epoch: usize,
    pub epochs: usize,
    pub loss: f64,
    pub val_loss: Option<f64>,
    /// `accuracy` (classification) or `r2` (regression) on the validation split.
    pub val_metric: Option<(String, f64)>,
}

pub struct TrainOutcome {
    pub manifest: Manifest,
    pub dir: std::path::PathBuf,
    pub history: Vec<EpochLog>,
}

/// Dataset arrays on the training device.
struct DeviceData {
    x: Tensor,
    /// `[rows, 1]` class ids or `[rows, outputs]` standardized values.
    y: Tensor,
    rows: usize,
}

fn upload(
    x: &[f32],
    y: &[f32],
    rows: usize,
    f: usize,
    ycols: usize,
    device: Device,
) -> Result<DeviceData> {
    Ok(DeviceData {
        x: Tensor::from_slice(x, [rows, f], device)?,
        y: Tensor::from_slice(y, [rows, ycols], device)?,
        rows,
    })
}

fn copy_from_host(t: &mut Tensor, data: &[f32]) -> Result<()> {
    match t.view_mut() {
        SliceMut::F32(s) => s.copy_from_slice(data),
        SliceMut::F64(s) => s.iter_mut().zip(data).for_each(|(d, &v)| *d = v as f64),
        SliceMut::Cuda(mut c) => c.copy_from_host(data)?,
    }
    Ok(())
}

/// Train on the CSV at `path` and save the result in `registry`; `on_epoch` sees each epoch.
pub fn train_csv(
    path: &Path,
    opts: &TrainOptions,
    registry: &Registry,
    on_epoch: &mut dyn FnMut(&EpochLog),
) -> Result<TrainOutcome> {
    opts.validate()?;
    let started = Instant::now();
    let split = SplitOptions {
        test_fraction: opts.test_fraction,
        validation_fraction: opts.validation_fraction,
        seed: opts.seed,
    };
    let prep = prepare(path, &opts.targets, opts.task, &opts.data, &split)?;
    let task = prep.task;
    let table = &prep.table;
    let sha = table.sha256.clone().unwrap_or_default();
    let n = table.n_rows();
    let (t_train, t_val, t_test) = (
        table.select_rows(&prep.train),
        table.select_rows(&prep.validation),
        table.select_rows(&prep.test),
    );

    // Preprocessing fitted on the training part only.
    let target = match task {
        Task::Classification => TargetEncoder::fit_classes(&t_train, &opts.targets[0])?,
        Task::Regression => TargetEncoder::fit_regression(&t_train, &opts.targets)?,
    };
    let y_sel = target.values(&t_train)?;
    let (pre, notes) = Preprocessor::fit(&t_train, &prep.schema, &opts.data, Some(&y_sel))?;
    let mut data_report = prep.report.clone();
    data_report.warnings.extend(notes);
    let nf = pre.n_features();
    let out_dim = target.output_dim();
    let ycols = if task == Task::Classification {
        1
    } else {
        out_dim
    };
    let xtr = pre.transform(&t_train)?;
    let ytr = target.encode(&t_train)?;
    let mut train = upload(&xtr, &ytr, t_train.n_rows(), nf, ycols, opts.device)?;
    let augmenter = Augmenter::new(&opts.data.augment, &pre, task, opts.seed);
    let val = if t_val.n_rows() > 0 {
        Some(upload(
            &pre.transform(&t_val)?,
            &target.encode(&t_val)?,
            t_val.n_rows(),
            nf,
            ycols,
            opts.device,
        )?)
    } else {
        None
    };

    let loss_fn = match task {
        Task::Classification => Loss::CrossEntropy,
        Task::Regression => Loss::Mse,
    };
    let mut layers = Vec::new();
    for &h in &opts.hidden {
        layers.push(LayerSpec::Linear {
            units: h,
            bias: true,
            init: Init::Auto,
        });
        layers.push(LayerSpec::Activation {
            activation: opts.activation,
        });
        if opts.dropout > 0.0 {
            layers.push(LayerSpec::Dropout { rate: opts.dropout });
        }
    }
    layers.push(LayerSpec::Linear {
        units: out_dim,
        bias: true,
        init: Init::Auto,
    });
    let spec = MlpSpec {
        input_dim: nf,
        layers,
    };
    let mut model = Mlp::new(spec, opts.seed, DType::F32, opts.device)?;
    let mut opt = Optimizer::new(opts.optimizer, &model.params)?;
    let mut grads = model.params.zeros_like()?;
    let mut tape = Tape::new();
    let mut loss_acc = Tensor::zeros(Shape::new(&[1]), DType::F32, opts.device)?;
    let mut idx_bufs: Vec<Tensor> = Vec::new();
    let epoch_rng = Rng::new(opts.seed).fork(1);

    let rule = match opts.stop {
        StopRule::Auto if t_val.n_rows() >= MIN_VALIDATION_ROWS => StopRule::ValidationLoss,
        StopRule::Auto => StopRule::TrainingLoss,
        StopRule::ValidationLoss if val.is_none() => {
            return Err(Error::Config(
                "validation-loss early stopping needs a validation split".into(),
            ));
        }
        r => r,
    };
    let (patience, tol) = match rule {
        StopRule::ValidationLoss => (opts.patience.unwrap_or(20), 0.0),
        _ => (opts.patience.unwrap_or(10), 1e-4),
    };
    let mut history = Vec::new();
    // (monitored value, epoch, weights when restoring the best)
    let mut best: Option<(f64, usize, Option<Mlp>)> = None;
    let mut since_best = 0usize;
    let mut step: u64 = 0;
    let bs = opts.batch_size.min(train.rows);
    let mut order: Vec<usize> = (0..train.rows).collect();
    let mut idx_host: Vec<f32> = Vec::with_capacity(bs);
    for epoch in 1..=opts.epochs {
        if let Some(a) = &augmenter {
            let (xa, ya) = a.epoch(&xtr, &ytr, nf, ycols, epoch as u64);
            copy_from_host(&mut train.x, &xa)?;
            copy_from_host(&mut train.y, &ya)?;
        }
        let mut r = epoch_rng.fork(epoch as u64);
        r.shuffle(&mut order);
        backend::fill(loss_acc.view_mut(), 0.0)?;
        for chunk in order.chunks(bs) {
            // Batch norm needs two rows; a last batch of one row is skipped for it.
            if chunk.len() < 2 && train.rows >= 2 && has_batch_norm(&model) {
                continue;
            }
            idx_host.clear();
            idx_host.extend(chunk.iter().map(|&i| i as f32));
            let k = chunk.len();
            let slot = match idx_bufs.iter().position(|t| t.numel() == k) {
                Some(p) => p,
                None => {
                    idx_bufs.push(Tensor::zeros(Shape::new(&[k]), DType::F32, opts.device)?);
                    idx_bufs.len() - 1
                }
            };
            copy_from_host(&mut idx_bufs[slot], &idx_host)?;
            step += 1;
            let Mlp {
                arch,
                params,
                buffers,
            } = &mut model;
            let mut g = tape.graph(
                params,
                true,
                opts.seed.wrapping_mul(0x9E37_79B9).wrapping_add(step),
            );
            let xb = g.gather_rows(&train.x, &idx_bufs[slot])?;
            let mut yb = g.gather_rows(&train.y, &idx_bufs[slot])?;
            if task == Task::Classification {
                yb = g.reshape(yb, [k])?;
            }
            let out = arch.forward(&mut g, xb, buffers)?;
            let loss = loss_fn.forward(&mut g, out, yb, None)?;
            backend::axpby(loss_acc.view_mut(), k as f64, g.value(loss), 1.0)?;
            backend::fill(grads.view_mut(), 0.0)?;
            g.backward(loss, &mut grads)?;
            opt.step(&mut model.params, &grads)?;
        }
        let train_loss = loss_acc.to_scalar()? / train.rows as f64;
        if !train_loss.is_finite() {
            return Err(Error::InvalidData(format!(
                "training diverged at epoch {epoch} (loss {train_loss}); try a smaller learning rate"
            )));
        }
        let (val_loss, val_metric) = match &val {
            Some(v) => {
                let (l, m) = evaluate(&model, v, &target, loss_fn, &mut tape)?;
                (Some(l), Some(m))
            }
            None => (None, None),
        };
        let log = EpochLog {
            epoch,
            epochs: opts.epochs,
            loss: train_loss,
            val_loss,
            val_metric,
        };
        on_epoch(&log);
        history.push(log);
        let monitored = match rule {
            StopRule::ValidationLoss => val_loss.unwrap_or(train_loss),
            _ => train_loss,
        };
        if best.as_ref().is_none_or(|(b, _, _)| monitored < *b - tol) {
            let keep = (rule == StopRule::ValidationLoss).then(|| model.clone());
            best = Some((monitored, epoch, keep));
            since_best = 0;
        } else {
            since_best += 1;
            if rule != StopRule::Never && patience > 0 && since_best >= patience {
                break;
            }
        }
    }
    let epochs_run = history.len();
    let (best_epoch, model) = match best {
        Some((_, e, Some(m))) => (e, m),
        Some((_, e, None)) => (e, model),
        None => (epochs_run, model),
    };

    // Final metrics on validation and test, in the targets' original units.
    let name = match &opts.name {
        Some(n) => n.clone(),
        None => path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("model")
            .to_string(),
    };
    let mut manifest = Manifest {
        format_version: crate::bundle::FORMAT_VERSION,
        name,
        version: 0,
        task,
        preprocessor: pre,
        target,
        architecture: model.arch.spec.clone(),
        loss: loss_fn,
        metrics: Default::default(),
        training: TrainingInfo {
            data_path: path.display().to_string(),
            data_sha256: sha,
            rows_total: n,
            rows_train: t_train.n_rows(),
            rows_validation: t_val.n_rows(),
            rows_test: t_test.n_rows(),
            epochs_run,
            best_epoch,
            batch_size: opts.batch_size,
            optimizer: opts.optimizer,
            seed: opts.seed,
            device: opts.device.to_string(),
            duration_secs: 0.0,
        },
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        neurite_version: env!("CARGO_PKG_VERSION").to_string(),
        data: data_report,
    };
    let cpu_model = model.to_device(Device::Cpu)?;
    let bundle = Bundle {
        manifest: manifest.clone(),
        model: cpu_model.clone(),
        dir: Default::default(),
    };
    for (split, t) in [("validation", &t_val), ("test", &t_test)] {
        if t.n_rows() > 0 {
            manifest
                .metrics
                .insert(split.to_string(), score(&bundle, t)?);
        }
    }
    manifest.training.duration_secs = started.elapsed().as_secs_f64();
    let dir = registry.save(&mut manifest, &cpu_model)?;
    Ok(TrainOutcome {
        manifest,
        dir,
        history,
    })
}

fn has_batch_norm(model: &Mlp) -> bool {
    model
        .arch
        .spec
        .layers
        .iter()
        .any(|l| matches!(l, LayerSpec::BatchNorm { .. }))
}

/// Loss and the headline metric on a resident dataset (eval mode).
fn evaluate(
    model: &Mlp,
    data: &DeviceData,
    target: &TargetEncoder,
    loss_fn: Loss,
    tape: &mut Tape,
) -> Result<(f64, (String, f64))> {
    let logits = model.predict(&data.x)?;
    let loss = {
        let mut g = tape.graph(&model.params, false, 0);
        let out = g.input(&logits)?;
        let mut y = g.input(&data.y)?;
        if matches!(target, TargetEncoder::Classes { .. }) {
            y = g.reshape(y, [data.rows])?;
        }
        let l = loss_fn.forward(&mut g, out, y, None)?;
        g.to_vec_f64(l)?[0]
    };
    let pred = logits.to_vec_f32()?;
    let truth = data.y.to_vec_f32()?;
    let metric = match target {
        TargetEncoder::Classes { labels, .. } => {
            let k = labels.len();
            let p: Vec<usize> = pred.chunks(k).map(argmax).collect();
            let t: Vec<usize> = truth.iter().map(|&v| v as usize).collect();
            ("accuracy".to_string(), metrics::accuracy(&t, &p))
        }
        TargetEncoder::Regression { columns, .. } => {
            let k = columns.len();
            let col =
                |m: &[f32], j: usize| -> Vec<f64> { m.chunks(k).map(|r| r[j] as f64).collect() };
            let r2 = (0..k)
                .map(|j| metrics::r2(&col(&truth, j), &col(&pred, j)))
                .sum::<f64>()
                / k as f64;
            ("r2".to_string(), r2)
        }
    };
    Ok((loss, metric))
}

fn argmax(r: &[f32]) -> usize {
    r.iter()
        .enumerate()
        .fold(0, |b, (i, &p)| if p > r[b] { i } else { b })
}

/// Metrics of a bundle on a table holding the targets.
pub fn score(bundle: &Bundle, table: &Table) -> Result<Map<String, Value>> {
    let pred = bundle.predict_table(table)?;
    let m = &bundle.manifest;
    Ok(match (&m.target, &pred) {
        (TargetEncoder::Classes { .. }, Predictions::Classes { class, .. }) => {
            let truth: Vec<usize> = m
                .target
                .encode(table)?
                .iter()
                .map(|&v| v as usize)
                .collect();
            let mut out = Map::new();
            out.insert("accuracy".into(), json!(metrics::accuracy(&truth, class)));
            out
        }
        (TargetEncoder::Regression { columns, .. }, Predictions::Values { values, .. }) => {
            let truth = crate::data::preprocess::raw_matrix(table, columns)?;
            metrics::regression_report(columns, &truth, values)
        }
        _ => {
            return Err(Error::InvalidData(
                "prediction kind does not match the model's task".into(),
            ));
        }
    })
}
