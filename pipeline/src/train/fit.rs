//! The training loop: epochs of shuffled mini-batches on the training device, validation
//! metrics, callbacks, a resumable checkpoint after every epoch, and the final bundle.
//!
//! The training data stays on the device for the whole run: each batch is gathered there by
//! row indices and its loss is written into a device buffer; only the per-epoch losses, the
//! validation outputs for the logged metrics, and checkpoints cross to the host.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use neurite_engine::backend;
use neurite_engine::nn::{BiasInit, Init, LayerSpec, Mlp, MlpSpec};
use neurite_engine::{
    DType, Device, DeviceRequest, Loss, Optimizer, Shape, SliceMut, Tape, Tensor, clip_grad_norm,
};
use neurite_kernels::rng::Rng;
use serde_json::{Value, json};

use super::callbacks::{
    Callback, CallbackContext, EarlyStopping, EpochLogger, ModelCheckpoint, ReduceLrOnPlateau,
    TerminateOnNan, resolve_mode,
};
use super::checkpoint::{self, CHECKPOINT_FORMAT, TrainState};
use super::data::{DeviceData, ExplicitSplits, PrepareOptions, Prepared, prepare};
use super::evaluate;
use crate::bundle::{Bundle, EpochRecord, Head, Manifest, TrainingInfo};
use crate::config::{HiddenLayer, TrainConfig};
use crate::data::target::TargetEncoder;
use crate::error::{Error, Result};
use crate::experiments::{Experiments, RunStatus};
use crate::registry::Registry;

pub const LAST_CHECKPOINT: &str = "last.ckpt";

/// Where a run reads and writes, and what it continues from.
pub struct TrainEnv<'a> {
    pub registry: &'a Registry,
    /// Per-epoch CSV/JSONL logs (`None`: no log files).
    pub logs_dir: Option<PathBuf>,
    /// Experiment records (`None`: not recorded).
    pub experiments_dir: Option<PathBuf>,
    /// Continue the newest interrupted run of this model from its last checkpoint.
    pub resume: bool,
    /// Incremental training: continue from `name@version`'s weights and optimizer state.
    pub from: Option<String>,
    /// Mix this fraction of an earlier data file into the training split.
    pub replay: Option<(PathBuf, f64)>,
    pub extra_callbacks: Vec<Box<dyn Callback + 'a>>,
    /// Set (e.g. by a SIGINT handler) to stop after the current batch.
    pub interrupt: Option<&'a AtomicBool>,
    /// Train on these rows instead of the seeded split (cross-validation folds of
    /// `neurite tune`); not kept for `--resume`.
    pub splits: Option<ExplicitSplits>,
    /// Recorded as the manifest's `tuning` section.
    pub tuning: Option<Value>,
}

impl<'a> TrainEnv<'a> {
    pub fn new(registry: &'a Registry) -> Self {
        TrainEnv {
            registry,
            logs_dir: None,
            experiments_dir: None,
            resume: false,
            from: None,
            replay: None,
            extra_callbacks: Vec::new(),
            interrupt: None,
            splits: None,
            tuning: None,
        }
    }
}

pub struct TrainOutcome {
    pub manifest: Manifest,
    pub dir: PathBuf,
    /// Why training stopped before the epoch limit, if it did.
    pub stopped: Option<String>,
    pub resumed_from_epoch: Option<usize>,
}

/// The MLP for a configuration and an output width.
pub fn build_spec(
    input_dim: usize,
    hidden: &[HiddenLayer],
    init: Init,
    bias_init: BiasInit,
    out_dim: usize,
) -> MlpSpec {
    let mut layers = Vec::new();
    for h in hidden {
        layers.push(LayerSpec::Linear {
            units: h.units,
            bias: !h.batch_norm,
            init,
            bias_init,
        });
        if h.batch_norm {
            layers.push(LayerSpec::BatchNorm {
                eps: 1e-5,
                momentum: 0.1,
            });
        }
        layers.push(LayerSpec::Activation {
            activation: h.activation,
        });
        if h.dropout > 0.0 {
            layers.push(LayerSpec::Dropout { rate: h.dropout });
        }
    }
    layers.push(LayerSpec::Linear {
        units: out_dim,
        bias: true,
        init,
        bias_init,
    });
    MlpSpec { input_dim, layers }
}

fn git_commit() -> String {
    option_env!("NEURITE_GIT_COMMIT")
        .unwrap_or("unknown")
        .to_string()
}

fn copy_from_host(t: &mut Tensor, data: &[f32]) -> Result<()> {
    match t.view_mut() {
        SliceMut::F32(s) => s.copy_from_slice(data),
        SliceMut::F64(s) => s.iter_mut().zip(data).for_each(|(d, &v)| *d = v as f64),
        SliceMut::Cuda(mut c) => c.copy_from_host(data)?,
    }
    Ok(())
}

/// Train on the CSV at `path` with `cfg` and save a new model version.
pub fn train(path: &Path, cfg: &TrainConfig, mut env: TrainEnv) -> Result<TrainOutcome> {
    let started = Instant::now();
    let name = cfg.name.clone().unwrap_or_else(|| {
        path.file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("model")
            .to_string()
    });
    crate::registry::validate_name(&name)?;

    // Resume: the newest reserved-but-unfinished version of this model with a checkpoint.
    let mut cfg = cfg.clone();
    let mut resume_from: Option<(u32, PathBuf)> = None;
    if env.resume {
        let found = env
            .registry
            .incomplete(&name)?
            .into_iter()
            .rev()
            .find(|(_, d)| d.join("checkpoints").join(LAST_CHECKPOINT).exists());
        let Some((k, dir)) = found else {
            return Err(Error::Config(format!(
                "nothing to resume: model {name:?} has no interrupted run with a checkpoint"
            )));
        };
        let bytes = neurite_engine::io::read_file(&dir.join("checkpoints").join(LAST_CHECKPOINT))?;
        let (_, meta) = neurite_engine::io::read_tensors(&bytes, "checkpoint")?;
        let state: TrainState = meta
            .get("neurite_checkpoint")
            .and_then(|j| serde_json::from_str(j).ok())
            .ok_or_else(|| Error::Manifest {
                path: dir.clone(),
                detail: "unreadable checkpoint state".into(),
            })?;
        // The run continues with its own configuration, whatever the flags say now.
        cfg = serde_json::from_value(state.config.clone())
            .map_err(|e| Error::Config(format!("checkpoint configuration: {e}")))?;
        let ex = &state.extra;
        if let Some(f) = ex["from"].as_str() {
            env.from = Some(f.to_string());
        }
        if let (Some(p), Some(fr)) = (ex["replay_path"].as_str(), ex["replay_fraction"].as_f64()) {
            env.replay = Some((PathBuf::from(p), fr));
        }
        resume_from = Some((k, dir));
    }

    let device = cfg.training.device.parse::<DeviceRequest>()?.resolve()?;
    let parent = env
        .from
        .as_deref()
        .map(|r| env.registry.load(r))
        .transpose()?;
    let popts = PrepareOptions {
        parent: parent.as_ref(),
        replay: env.replay.as_ref().map(|(p, f)| (p.as_path(), *f)),
        splits: env.splits.as_ref(),
    };
    let data = prepare(path, &cfg, device, &popts)?;

    // Model and optimizer.
    let out_dim = data.head.output_dim(&data.target);
    let mut model = match &parent {
        Some(p) => p.model.to_device(device)?,
        None => {
            let spec = build_spec(
                data.pre.n_features(),
                &cfg.model.hidden_layers,
                cfg.model.init,
                cfg.model.bias_init,
                out_dim,
            );
            Mlp::new(spec, cfg.training.seed, DType::F32, device)?
        }
    };
    let mut opt = Optimizer::new(cfg.optimizer, &model.params)?;
    if let Some(p) = &parent {
        load_optimizer_state(&p.dir, &mut opt)?;
    }

    // The version folder (checkpoints live in it while training).
    let (version, dir) = match &resume_from {
        Some((k, d)) => (*k, d.clone()),
        None => env.registry.reserve(&name)?,
    };
    let ckpt_dir = dir.join("checkpoints");
    std::fs::create_dir_all(&ckpt_dir).map_err(|e| Error::io(&ckpt_dir, e))?;

    // Monitored quantity.
    let has_val = data.val.is_some();
    let auto_monitor = if data.t_val.n_rows() >= crate::prepare::MIN_MONITORED_VALIDATION_ROWS {
        "val_loss"
    } else {
        "loss"
    };
    let resolve = |m: &str| -> Result<String> {
        let m = if m == "auto" { auto_monitor } else { m };
        if m.starts_with("val_") && !has_val {
            return Err(Error::Config(format!(
                "monitor {m:?} needs a validation split (data.validation_fraction > 0)"
            )));
        }
        Ok(m.to_string())
    };
    let es = &cfg.callbacks.early_stopping;

    let mut callbacks: Vec<Box<dyn Callback + '_>> = Vec::new();
    if cfg.callbacks.terminate_on_nan {
        callbacks.push(Box::new(TerminateOnNan));
    }
    if let Some(r) = &cfg.callbacks.reduce_lr_on_plateau {
        let m = resolve(&r.monitor)?;
        callbacks.push(Box::new(ReduceLrOnPlateau::new(
            &m,
            resolve_mode(&r.mode, &m),
            r.factor as f64,
            r.patience,
            r.min_delta,
            r.cooldown,
            r.min_lr as f64,
        )));
    }
    let mut es_index = None;
    if es.enabled {
        // A disabled callback's monitor is not checked: it asks for no validation split.
        let es_monitor = resolve(&es.monitor)?;
        let is_val = es_monitor.starts_with("val_");
        let patience = es.patience.unwrap_or(if is_val { 20 } else { 10 });
        let min_delta = es.min_delta.unwrap_or(if is_val { 0.0 } else { 1e-4 });
        let restore = es.restore_best_weights.unwrap_or(false);
        es_index = Some(callbacks.len());
        callbacks.push(Box::new(EarlyStopping::new(
            &es_monitor,
            resolve_mode(&es.mode, &es_monitor),
            patience,
            min_delta,
            restore,
        )));
    }
    let mc = &cfg.callbacks.model_checkpoint;
    if mc.enabled {
        let m = resolve(&mc.monitor)?;
        callbacks.push(Box::new(ModelCheckpoint::new(
            &m,
            resolve_mode(&mc.mode, &m),
            mc.save_best_only,
            mc.every_n_epochs,
        )));
    }

    // Run identity and records.
    let mut state = TrainState {
        format: CHECKPOINT_FORMAT,
        epoch: 0,
        step: 0,
        lr_scale: 1.0,
        opt_step: 0,
        history: Vec::new(),
        callbacks: Default::default(),
        run_id: format!(
            "{}-{name}-v{version}",
            chrono::Utc::now().format("%Y%m%d-%H%M%S")
        ),
        data_sha256: data.sha256.clone(),
        config: serde_json::to_value(&cfg).map_err(|e| Error::Config(e.to_string()))?,
        version,
        extra: json!({
            "from": env.from,
            "replay_path": env.replay.as_ref().map(|(p, _)| p.display().to_string()),
            "replay_fraction": env.replay.as_ref().map(|(_, f)| *f),
        }),
    };
    let mut resumed_from_epoch = None;
    if let Some((_, d)) = &resume_from {
        let (st, snaps) = checkpoint::load(
            &d.join("checkpoints").join(LAST_CHECKPOINT),
            &mut model,
            &mut opt,
        )?;
        if st.data_sha256 != data.sha256 {
            return Err(Error::Config(format!(
                "{} changed since the interrupted run (sha256 {} now, {} then); start a new run instead of --resume",
                path.display(),
                &data.sha256[..12],
                &st.data_sha256[..12.min(st.data_sha256.len())]
            )));
        }
        for cb in callbacks.iter_mut() {
            cb.restore(
                st.callbacks.get(cb.name()).unwrap_or(&Value::Null),
                &st.history,
            )?;
            if let Some(m) = snaps.get(cb.name()) {
                cb.restore_snapshot(m.clone());
            }
        }
        resumed_from_epoch = Some(st.epoch);
        state = st;
    }
    let experiment = cfg.experiment.clone().unwrap_or_else(|| name.clone());
    let exps = env
        .experiments_dir
        .as_ref()
        .map(|d| Experiments::new(d.clone()));
    let run_dir = match &exps {
        Some(e) => Some(e.start(
            &experiment,
            &state.run_id,
            &name,
            version,
            path,
            &state.config,
            resumed_from_epoch.is_some(),
        )?),
        None => None,
    };
    if let Some(d) = &env.logs_dir {
        callbacks.push(Box::new(EpochLogger::new(d, &state.run_id)));
    }
    if let Some(d) = &run_dir {
        callbacks.push(Box::new(EpochLogger::new(d, "metrics")));
    }
    let n_builtin = callbacks.len();
    callbacks.append(&mut env.extra_callbacks);
    if resumed_from_epoch.is_some() {
        for cb in callbacks.iter_mut().skip(n_builtin) {
            cb.restore(&Value::Null, &state.history)?;
        }
        // Loggers rewrite their files from the checkpoint's history.
        for cb in callbacks.iter_mut().filter(|c| c.name() == "epoch_logger") {
            cb.restore(&Value::Null, &state.history)?;
        }
    }

    let result = fit_loop(
        &cfg,
        &data,
        &mut model,
        &mut opt,
        &mut callbacks,
        &mut state,
        &ckpt_dir,
        env.interrupt,
    );
    let stopped = match result {
        Ok(s) => s,
        Err(e) => {
            if let (Some(ex), Some(_)) = (&exps, &run_dir) {
                let status = if matches!(e, Error::Interrupted { .. }) {
                    RunStatus::Interrupted
                } else {
                    RunStatus::Failed
                };
                let _ = ex.finish(
                    &experiment,
                    &state.run_id,
                    status,
                    None,
                    Some(&e.to_string()),
                    started.elapsed().as_secs_f64(),
                );
            }
            return Err(e);
        }
    };
    for cb in callbacks.iter_mut() {
        cb.on_train_end(&mut model)?;
    }
    let best_epoch = es_index
        .and_then(|_| {
            state
                .callbacks
                .get("early_stopping")
                .and_then(|s| s["best_epoch"].as_u64())
                .map(|e| e as usize)
        })
        .filter(|&e| e > 0)
        .unwrap_or(state.epoch);

    // Final metrics, the bundle, and the records.
    let cpu_model = model.to_device(Device::Cpu)?;
    let mut manifest = Manifest {
        format_version: crate::bundle::FORMAT_VERSION,
        name: name.clone(),
        version,
        task: data.task,
        preprocessor: data.pre.clone(),
        target: data.target.clone(),
        architecture: model.arch.spec.clone(),
        loss: data.loss,
        metrics: Default::default(),
        training: TrainingInfo {
            data_path: path.display().to_string(),
            data_sha256: data.sha256.clone(),
            rows_total: data.rows_total,
            rows_train: data.t_train.n_rows(),
            rows_validation: data.t_val.n_rows(),
            rows_test: data.t_test.n_rows(),
            epochs_run: state.epoch,
            best_epoch,
            batch_size: cfg.training.batch_size,
            optimizer: cfg.optimizer,
            seed: cfg.training.seed,
            device: device.to_string(),
            duration_secs: 0.0,
        },
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        neurite_version: env!("CARGO_PKG_VERSION").to_string(),
        head: Some(data.head),
        config: state.config.clone(),
        history: state.history.clone(),
        parent: parent
            .as_ref()
            .map(|p| format!("{}@v{}", p.manifest.name, p.manifest.version)),
        git_commit: git_commit(),
        experiment: Some(experiment.clone()),
        run_id: Some(state.run_id.clone()),
        data: data.report.clone(),
        tuning: env.tuning.clone(),
    };
    let bundle = Bundle {
        manifest: manifest.clone(),
        model: cpu_model.clone(),
        dir: dir.clone(),
    };
    for (split, t) in [("validation", &data.t_val), ("test", &data.t_test)] {
        if t.n_rows() > 0 {
            manifest
                .metrics
                .insert(split.to_string(), evaluate::score(&bundle, t)?);
        }
    }
    if data.t_test.n_rows() > 0 {
        evaluate::write_evaluation(&bundle, &data.t_test, "test", &dir)?;
    }
    manifest.training.duration_secs = started.elapsed().as_secs_f64();
    save_optimizer_state(&dir, &opt)?;
    env.registry.finalize(&manifest, &cpu_model, &dir)?;
    let _ = std::fs::remove_file(ckpt_dir.join(LAST_CHECKPOINT));
    if let Some(ex) = &exps {
        ex.finish(
            &experiment,
            &state.run_id,
            RunStatus::Finished,
            Some(&manifest),
            None,
            manifest.training.duration_secs,
        )?;
    }
    Ok(TrainOutcome {
        manifest,
        dir,
        stopped,
        resumed_from_epoch,
    })
}

const OPTIMIZER_FILE: &str = "optimizer.safetensors";

fn save_optimizer_state(dir: &Path, opt: &Optimizer) -> Result<()> {
    let mut entries = Vec::new();
    for (i, t) in opt.state().iter().enumerate() {
        entries.push((
            format!("state/{i}"),
            neurite_engine::io::HostTensor {
                shape: vec![t.numel()],
                data: t.to_vec_f32()?,
            },
        ));
    }
    // One metadata key (see `Bundle::write_files`): byte-identical files for a seed.
    let meta = std::collections::HashMap::from([(
        "neurite_optimizer".to_string(),
        json!({"optimizer": opt.spec.name(), "step": opt.step}).to_string(),
    )]);
    neurite_engine::io::atomic_write(
        &dir.join(OPTIMIZER_FILE),
        &neurite_engine::io::write_tensors(&entries, meta)?,
    )?;
    Ok(())
}

/// Continue a parent's optimizer state when it used the same optimizer (otherwise start fresh).
fn load_optimizer_state(dir: &Path, opt: &mut Optimizer) -> Result<()> {
    let p = dir.join(OPTIMIZER_FILE);
    let Ok(bytes) = std::fs::read(&p) else {
        return Ok(());
    };
    let (tensors, meta) = neurite_engine::io::read_tensors(&bytes, &p.display().to_string())?;
    let info: Value = meta
        .get("neurite_optimizer")
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or(Value::Null);
    if info["optimizer"].as_str() != Some(opt.spec.name()) {
        return Ok(());
    }
    let device = opt
        .state()
        .first()
        .map(|t| t.device())
        .unwrap_or(Device::Cpu);
    for (i, slot) in opt.state_mut().iter_mut().enumerate() {
        match tensors.get(&format!("state/{i}")) {
            Some(t) if t.data.len() == slot.numel() => {
                *slot = Tensor::from_slice(&t.data, slot.numel(), device)?
            }
            _ => {
                return Err(Error::Manifest {
                    path: p,
                    detail: "optimizer state does not match the model".into(),
                });
            }
        }
    }
    opt.step = info["step"].as_u64().unwrap_or(0);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn fit_loop(
    cfg: &TrainConfig,
    data: &Prepared,
    model: &mut Mlp,
    opt: &mut Optimizer,
    callbacks: &mut [Box<dyn Callback + '_>],
    state: &mut TrainState,
    ckpt_dir: &Path,
    interrupt: Option<&AtomicBool>,
) -> Result<Option<String>> {
    let t = &cfg.training;
    let train = &data.train;
    let device = train.x.device();
    let base_lr = cfg.optimizer.lr();
    let mut grads = model.params.zeros_like()?;
    let mut tape = Tape::new();
    let bs = t.batch_size.min(train.rows).max(1);
    let n_batches = train.rows.div_ceil(bs);
    let mut batch_losses = Tensor::zeros(Shape::new(&[n_batches]), DType::F32, device)?;
    let mut idx_bufs: Vec<Tensor> = Vec::new();
    let mut order: Vec<usize> = (0..train.rows).collect();
    let mut idx_host: Vec<f32> = Vec::with_capacity(bs);
    let epoch_rng = Rng::new(t.seed).fork(1);
    let has_bn = model
        .arch
        .spec
        .layers
        .iter()
        .any(|l| matches!(l, LayerSpec::BatchNorm { .. }));
    // On-the-fly augmentation redraws the training matrices each epoch (a pure function of
    // the seed and the epoch, so resumed runs see the same data).
    let augmenter = crate::augment::Augmenter::new(&cfg.data.augment, &data.pre, data.task, t.seed);
    let mut train_x_aug: Option<Tensor> = None;
    let mut train_y_aug: Option<Tensor> = None;
    for cb in callbacks.iter_mut() {
        cb.on_train_begin(t.epochs)?;
    }
    let mut stop: Option<String> = None;
    let resume_interval = std::time::Duration::from_millis(
        std::env::var("NEURITE_CHECKPOINT_INTERVAL_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000),
    );
    let mut last_resume = Instant::now();
    // ModelCheckpoint's epoch checkpoints go through the same throttle: an improvement every
    // few milliseconds (small data) would otherwise spend most of training writing files. The
    // newest requested checkpoint waits in memory and is written when the interval has passed
    // and when training ends.
    let mut last_epoch_ckpt: Option<Instant> = None;
    let mut pending: Option<PendingCheckpoint> = None;
    let keep = cfg.callbacks.model_checkpoint.keep_last.max(1);
    for epoch in state.epoch + 1..=t.epochs {
        let t0 = Instant::now();
        let scheduled = match &t.lr_schedule {
            Some(s) => s.lr_at(base_lr, epoch - 1, t.epochs),
            None => base_lr,
        };
        opt.lr = (scheduled as f64 * state.lr_scale) as f32;
        // Shuffle from the identity order each epoch so the order is a function of the epoch
        // alone (a resumed run sees exactly the same batches).
        for (i, o) in order.iter_mut().enumerate() {
            *o = i;
        }
        epoch_rng.fork(epoch as u64).shuffle(&mut order);
        if let (Some(a), Some((xh, yh))) = (&augmenter, &data.train_host) {
            let (xa, ya) = a.epoch(
                xh,
                yh,
                data.pre.n_features(),
                data.target.encoded_width(),
                epoch as u64,
            );
            match (&mut train_x_aug, &mut train_y_aug) {
                (Some(xt), Some(yt)) => {
                    copy_from_host(xt, &xa)?;
                    copy_from_host(yt, &ya)?;
                }
                _ => {
                    train_x_aug = Some(Tensor::from_slice(&xa, *train.x.shape(), device)?);
                    train_y_aug = Some(Tensor::from_slice(&ya, *train.y.shape(), device)?);
                }
            }
        }
        let (train_x, train_y) = match (&train_x_aug, &train_y_aug) {
            (Some(x), Some(y)) => (x, y),
            _ => (&train.x, &train.y),
        };
        backend::fill(batch_losses.view_mut(), 0.0)?;
        let mut batch_sizes: Vec<usize> = Vec::with_capacity(n_batches);
        for (b, chunk) in order.chunks(bs).enumerate() {
            if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
                return Err(Error::Interrupted { epoch: state.epoch });
            }
            let k = chunk.len();
            if k < 2 && has_bn {
                batch_sizes.push(0);
                continue;
            }
            batch_sizes.push(k);
            idx_host.clear();
            idx_host.extend(chunk.iter().map(|&i| i as f32));
            let slot = match idx_bufs.iter().position(|t| t.numel() == k) {
                Some(p) => p,
                None => {
                    idx_bufs.push(Tensor::zeros(Shape::new(&[k]), DType::F32, device)?);
                    idx_bufs.len() - 1
                }
            };
            copy_from_host(&mut idx_bufs[slot], &idx_host)?;
            state.step += 1;
            let Mlp {
                arch,
                params,
                buffers,
            } = &mut *model;
            let mut g = tape.graph(
                params,
                true,
                t.seed
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .wrapping_add(state.step),
            );
            let idx = &idx_bufs[slot];
            let xb = g.gather_rows(train_x, idx)?;
            let mut yb = g.gather_rows(train_y, idx)?;
            if data.loss == Loss::CrossEntropy {
                yb = g.reshape(yb, [k])?;
            }
            let wb = match &train.w {
                Some(w) => {
                    let v = g.gather_rows(w, idx)?;
                    Some(g.reshape(v, [k])?)
                }
                None => None,
            };
            let out = arch.forward(&mut g, xb, buffers)?;
            let loss = data.loss.forward(&mut g, out, yb, wb)?;
            backend::copy(
                batch_losses.storage_mut().slice_mut(b..b + 1),
                g.value(loss),
            )?;
            g.backward_fresh(loss, &mut grads)?;
            if let Some(c) = t.gradient_clip_norm {
                clip_grad_norm(&mut grads, c as f64)?;
            }
            opt.step(&mut model.params, &grads)?;
        }
        // Per-epoch host sync: the batch losses and the validation metrics.
        let losses = batch_losses.to_vec_f32()?;
        let nan_batch = losses
            .iter()
            .zip(&batch_sizes)
            .position(|(l, &k)| k > 0 && !l.is_finite())
            .map(|i| i + 1);
        let counted: usize = batch_sizes.iter().sum();
        let loss = losses
            .iter()
            .zip(&batch_sizes)
            .map(|(&l, &k)| l as f64 * k as f64)
            .sum::<f64>()
            / counted.max(1) as f64;
        let mut metrics = std::collections::BTreeMap::new();
        if let Some(v) = &data.val
            && loss.is_finite()
        {
            metrics = validation_metrics(model, v, data)?;
        }
        let record = EpochRecord {
            epoch,
            lr: opt.lr as f64,
            loss,
            metrics,
            seconds: t0.elapsed().as_secs_f64(),
        };
        state.history.push(record.clone());
        state.epoch = epoch;
        state.opt_step = opt.step;
        let mut save = false;
        let finite = loss.is_finite();
        for cb in callbacks.iter_mut() {
            // With a non-finite loss there are no validation metrics to monitor: only the
            // NaN guard runs.
            if !finite && cb.name() != "terminate_on_nan" {
                continue;
            }
            let mut ctx = CallbackContext {
                epoch,
                epochs: t.epochs,
                model,
                history: &state.history,
                lr_scale: &mut state.lr_scale,
                lr: opt.lr as f64,
                stop: &mut stop,
                save_checkpoint: &mut save,
                nan_batch,
            };
            cb.on_epoch_end(&mut ctx, &record)?;
        }
        if !finite {
            let batch = nan_batch
                .map(|b| format!(", batch {b}"))
                .unwrap_or_default();
            let why = stop
                .take()
                .unwrap_or_else(|| format!("the loss became {loss} at epoch {epoch}{batch}"));
            return Err(Error::InvalidData(format!("training stopped: {why}")));
        }
        // The resumable checkpoint, at most every RESUME_INTERVAL (resuming from any epoch
        // gives the same result), and an epoch checkpoint when ModelCheckpoint asks.
        state.callbacks = callbacks
            .iter()
            .map(|c| (c.name().to_string(), c.state()))
            .collect();
        let snaps: Vec<(&str, &Mlp)> = callbacks
            .iter()
            .filter_map(|c| c.snapshot().map(|m| (c.name(), m)))
            .collect();
        let last = stop.is_some() || epoch == t.epochs;
        if last || last_resume.elapsed() >= resume_interval {
            checkpoint::save(&ckpt_dir.join(LAST_CHECKPOINT), state, model, opt, &snaps)?;
            last_resume = Instant::now();
        }
        let due = last_epoch_ckpt.is_none_or(|t| t.elapsed() >= resume_interval);
        if save && (due || last) {
            let path = ckpt_dir.join(format!("epoch-{epoch:04}.ckpt"));
            checkpoint::save(&path, state, model, opt, &snaps)?;
            prune_checkpoints(ckpt_dir, keep)?;
            last_epoch_ckpt = Some(Instant::now());
            pending = None;
        } else if save {
            // Only the fields that change per epoch: the history is append-only (its length
            // is kept, a copy per epoch is quadratic in the epochs) and the configuration,
            // run id and data hash are the run's own, filled in from the live state when the
            // checkpoint is written (cloning the configuration tree every epoch showed up as
            // a few per cent of a small dataset's training in `perf`).
            pending = Some(PendingCheckpoint {
                epoch,
                history_len: state.history.len(),
                state: TrainState {
                    format: state.format,
                    epoch: state.epoch,
                    step: state.step,
                    lr_scale: state.lr_scale,
                    opt_step: state.opt_step,
                    history: Vec::new(),
                    callbacks: state.callbacks.clone(),
                    run_id: String::new(),
                    data_sha256: String::new(),
                    config: Value::Null,
                    version: state.version,
                    extra: Value::Null,
                },
                model: model.clone(),
                opt: opt.clone(),
                snapshots: snaps
                    .iter()
                    .map(|(n, m)| (n.to_string(), (*m).clone()))
                    .collect(),
            });
        } else if (due || last)
            && let Some(p) = pending.take()
        {
            p.write(ckpt_dir, keep, state)?;
            last_epoch_ckpt = Some(Instant::now());
        }
        if stop.is_some() {
            break;
        }
    }
    if let Some(p) = pending.take() {
        p.write(ckpt_dir, keep, state)?;
    }
    Ok(stop)
}

/// An epoch checkpoint ModelCheckpoint asked for, waiting for the write throttle.
struct PendingCheckpoint {
    epoch: usize,
    /// The state at that epoch without its history (the first `history_len` records of the
    /// run's history) and without the run's constant fields (taken from the live state).
    state: TrainState,
    history_len: usize,
    model: Mlp,
    opt: Optimizer,
    snapshots: Vec<(String, Mlp)>,
}

impl PendingCheckpoint {
    fn write(mut self, dir: &Path, keep: usize, live: &TrainState) -> Result<()> {
        let history = &live.history;
        self.state.history = history[..self.history_len.min(history.len())].to_vec();
        self.state.run_id = live.run_id.clone();
        self.state.data_sha256 = live.data_sha256.clone();
        self.state.config = live.config.clone();
        self.state.extra = live.extra.clone();
        let snaps: Vec<(&str, &Mlp)> = self
            .snapshots
            .iter()
            .map(|(n, m)| (n.as_str(), m))
            .collect();
        let path = dir.join(format!("epoch-{:04}.ckpt", self.epoch));
        checkpoint::save(&path, &self.state, &self.model, &self.opt, &snaps)?;
        prune_checkpoints(dir, keep)
    }
}

fn prune_checkpoints(dir: &Path, keep: usize) -> Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("epoch-") && n.ends_with(".ckpt"))
        })
        .collect();
    files.sort();
    while files.len() > keep {
        let f = files.remove(0);
        std::fs::remove_file(&f).map_err(|e| Error::io(&f, e))?;
    }
    Ok(())
}

/// Validation loss and the task's headline metrics, computed from the validation outputs.
fn validation_metrics(
    model: &Mlp,
    v: &DeviceData,
    data: &Prepared,
) -> Result<std::collections::BTreeMap<String, f64>> {
    let out = model.predict(&v.x)?.to_vec_f32()?;
    let y = v.y.to_vec_f32()?;
    let n = v.rows.max(1) as f64;
    let mut m = std::collections::BTreeMap::new();
    let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
    match (data.head, &data.target) {
        (Head::Softmax, TargetEncoder::Classes { labels, .. }) => {
            let k = labels.len();
            let (mut loss, mut correct) = (0.0, 0usize);
            for (r, row) in out.chunks(k).enumerate() {
                let t = y[r] as usize;
                let mx = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
                let lse = mx + row.iter().map(|&z| (z as f64 - mx).exp()).sum::<f64>().ln();
                loss += lse - row[t] as f64;
                let arg = row
                    .iter()
                    .enumerate()
                    .fold(0, |b, (i, &p)| if p > row[b] { i } else { b });
                correct += usize::from(arg == t);
            }
            m.insert("val_loss".into(), loss / n);
            m.insert("val_accuracy".into(), correct as f64 / n);
        }
        (Head::Sigmoid, tgt) => {
            let (mut loss, mut correct) = (0.0, 0usize);
            for (&z, &t) in out.iter().zip(&y) {
                let (z, t) = (z as f64, t as f64);
                loss += z.max(0.0) - z * t + (-z.abs()).exp().ln_1p();
                correct += usize::from((sig(z) >= 0.5) == (t >= 0.5));
            }
            let cells = out.len().max(1) as f64;
            m.insert("val_loss".into(), loss / cells);
            let key = if matches!(tgt, TargetEncoder::Multilabel { .. }) {
                "val_binary_accuracy"
            } else {
                "val_accuracy"
            };
            m.insert(key.into(), correct as f64 / cells);
        }
        (_, TargetEncoder::Regression { columns, scaler }) => {
            let k = columns.len();
            let cells = (v.rows * k).max(1) as f64;
            let loss: f64 = out
                .iter()
                .zip(&y)
                .map(|(&p, &t)| {
                    let d = (p - t) as f64;
                    match data.loss {
                        Loss::Mae => d.abs(),
                        Loss::Huber { delta } => {
                            let dl = delta as f64;
                            if d.abs() <= dl {
                                0.5 * d * d
                            } else {
                                dl * (d.abs() - 0.5 * dl)
                            }
                        }
                        _ => d * d,
                    }
                })
                .sum::<f64>()
                / cells;
            m.insert("val_loss".into(), loss);
            let (mut pred, mut truth) = (out.clone(), y.clone());
            scaler.inverse_transform(&mut pred, k);
            scaler.inverse_transform(&mut truth, k);
            let col =
                |a: &[f32], j: usize| -> Vec<f64> { a.chunks(k).map(|r| r[j] as f64).collect() };
            let (mut r2, mut rmse) = (0.0, 0.0);
            for j in 0..k {
                r2 += crate::metrics::r2(&col(&truth, j), &col(&pred, j));
                rmse += crate::metrics::rmse(&col(&truth, j), &col(&pred, j));
            }
            m.insert("val_r2".into(), r2 / k as f64);
            m.insert("val_rmse".into(), rmse / k as f64);
        }
        _ => {}
    }
    Ok(m)
}
