//! Running a study: create or join it, run trials on worker threads until the budget, the
//! timeout or an interrupt, then register the best trial's model.
//!
//! Parallelism: `W` worker threads each run one trial at a time, and the kernels get
//! ⌊cores / W⌋ threads each (process-wide, [`neurite_kernels::set_num_threads`]), so the
//! process never runs more compute threads than cores. The default `W` is the core count on
//! the CPU (small networks gain little from threaded kernels; independent trials scale
//! almost perfectly) and 1 on a GPU (trials there share one device). Several processes, on
//! one machine or many, cooperate through the study folder (see [`super::study`]).
//!
//! A timeout stops new trials from starting; running ones finish. An interrupt stops the
//! running trials after their current batch; their claims die with the process and `--resume`
//! reruns them.
//!
//! The best trial's model is registered by one process: the configuration is trained once
//! more with the base settings (checkpoints included) into the user's registry, under the
//! model name, with the study, trial, objective and hyperparameters in the manifest's
//! `tuning` section. Training is deterministic for a seed, so with the validation split this
//! is the trial's model exactly; with cross-validation it is the configuration refitted on
//! the usual training split.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use super::objective::{DataInfo, Objective, TrialEnd, inspect};
use super::pruners::Pruner;
use super::samplers::{self, SampleContext, SamplerSettings};
use super::settings::{TuneSettings, TuneSource, metric_names, resolve_metric};
use super::space::{Space, default_space};
use super::study::{
    FinalClaim, FinalModel, Next, STUDY_FORMAT, Study, StudyMeta, TrialRecord, now,
};
use crate::config::{Layered, TrainConfig};
use crate::error::{Error, Result};
use crate::registry::Registry;
use crate::train::{TrainEnv, train};

const WORKER_STACK: usize = 64 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Start a new study (an existing one is an error).
    New,
    /// Continue an existing study.
    Resume,
    /// Join the study, creating it if it does not exist yet (for several processes started
    /// at once, e.g. a Kubernetes Indexed Job).
    Worker,
}

/// What to tune (used when the study is created; a joined study keeps its own).
pub struct Setup {
    pub base: Layered,
    pub settings: TuneSettings,
    /// Where the settings came from (for messages).
    pub source: Option<TuneSource>,
    pub model_name: String,
}

pub struct TuneRequest<'a> {
    pub study_dir: PathBuf,
    pub study_name: String,
    /// The CSV (default: the study's).
    pub data: Option<PathBuf>,
    pub setup: Setup,
    pub mode: Mode,
    /// A new trial budget for an existing study.
    pub trials: Option<usize>,
    pub registry: &'a Registry,
    /// Logs and run records of the registered model's training.
    pub logs_dir: Option<PathBuf>,
    pub experiments_dir: Option<PathBuf>,
    pub interrupt: Option<&'a AtomicBool>,
    pub events: &'a (dyn Fn(Event<'_>) + Sync),
}

pub enum Event<'a> {
    /// The study is open: created by this process or joined.
    Opened {
        meta: &'a StudyMeta,
        created: bool,
        finished: usize,
        workers: usize,
    },
    TrialDone {
        rec: &'a TrialRecord,
        finished: usize,
        budget: usize,
        best: Option<&'a TrialRecord>,
    },
    Registering {
        trial: &'a TrialRecord,
    },
}

pub struct TuneOutcome {
    pub meta: StudyMeta,
    pub trials: Vec<TrialRecord>,
    pub best: Option<TrialRecord>,
    pub model: Option<FinalModel>,
    /// `timeout` or `interrupted`, when the study stopped before its budget.
    pub stopped: Option<String>,
    /// Trials this process ran to the end (kept or not).
    pub ran: usize,
}

/// The objective is measured on the validation split, so a study holds it out whatever its
/// size (training alone gives a split under `data.min_validation_rows` back to training).
fn keep_validation(l: &mut Layered) -> Result<()> {
    l.push::<TrainConfig>(
        serde_json::json!({"data": {"min_validation_rows": 0}}),
        "neurite tune (its objective needs the validation split)",
    )
}

fn rebuild_base(meta: &StudyMeta) -> Result<(Layered, TrainConfig)> {
    let mut l = Layered::new(&TrainConfig::default())?;
    l.push::<TrainConfig>(meta.base_config.clone(), "study.json (base_config)")?;
    keep_validation(&mut l)?;
    let cfg: TrainConfig = l.build("study base configuration")?;
    Ok((l, cfg))
}

/// The study metadata for a new study.
fn new_meta(req: &TuneRequest, data: &std::path::Path, info: &DataInfo) -> Result<StudyMeta> {
    let s = &req.setup;
    let base: TrainConfig = s.base.build("configuration")?;
    let (origin, at) = match &s.source {
        Some(src) => (src.origin.clone(), src.path("space")),
        None => ("defaults".to_string(), "space".to_string()),
    };
    let tree = if s.settings.space.is_empty() {
        default_space()
    } else {
        s.settings.space.clone()
    };
    let space = Space::parse(&tree, &origin, &at, &base)?;
    space.check(&s.base, &origin, &at)?;
    let where_ = |k: &str| match &s.source {
        Some(src) => format!("{}: {}", src.origin, src.path(k)),
        None => k.to_string(),
    };
    let names = metric_names(info.task, info.classes, &base.target);
    let (metric, direction) = resolve_metric(
        &s.settings.metric,
        &s.settings.direction,
        info.task,
        &names,
        &where_("metric"),
    )?;
    if s.settings.pruner.kind != "none" {
        let monitor = s.settings.pruner.monitor();
        let logged = [
            "loss",
            "val_loss",
            "val_accuracy",
            "val_binary_accuracy",
            "val_r2",
            "val_rmse",
        ];
        if !logged.contains(&monitor.as_str()) {
            return Err(Error::Config(format!(
                "{}: {monitor:?} is not logged every epoch (logged: {})",
                where_("pruner.monitor"),
                logged.join(", ")
            )));
        }
    }
    if s.settings.cv.is_none() && info.validation_rows == 0 {
        return Err(Error::Config(format!(
            "{}: the validation split is empty ({} usable rows); set data.validation_fraction > 0 or use --cv K",
            data.display(),
            info.rows
        )));
    }
    let sampler = SamplerSettings {
        kind: s.settings.sampler.clone(),
        seed: base.training.seed,
        startup_trials: s.settings.startup_trials,
        grid_points: s.settings.grid_points,
    };
    let mut trials = s.settings.trials.unwrap_or(30);
    if sampler.kind == "grid" {
        let size = samplers::grid::points(&space, sampler.grid_points)?.len();
        trials = s.settings.trials.map_or(size, |t| t.min(size));
    }
    let mut base_json = serde_json::to_value(&base).map_err(|e| Error::Config(e.to_string()))?;
    base_json["name"] = serde_json::Value::Null;
    Ok(StudyMeta {
        format: STUDY_FORMAT,
        name: req.study_name.clone(),
        created: now(),
        data_path: data.display().to_string(),
        data_sha256: info.sha256.clone(),
        rows: info.rows,
        target: base.target.clone(),
        task: info.task,
        metric,
        direction,
        sampler,
        pruner: s.settings.pruner.clone(),
        cv: s.settings.cv,
        trials,
        space: space.to_json(),
        base_config: base_json,
        model_name: s.model_name.clone(),
        neurite_version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

/// Run (or continue) a study.
pub fn run(mut req: TuneRequest) -> Result<TuneOutcome> {
    crate::registry::validate_name(&req.study_name)?;
    keep_validation(&mut req.setup.base)?;
    let dir = &req.study_dir;
    let exists = Study::exists(dir);
    match (req.mode, exists) {
        (Mode::New, true) => {
            let n = Study::open(dir)?.finished()?.len();
            return Err(Error::Config(format!(
                "study {:?} already exists at {} ({n} trials finished); continue it with --resume, or choose another --study",
                req.study_name,
                dir.display()
            )));
        }
        (Mode::Resume, false) => {
            return Err(Error::Config(format!(
                "nothing to resume: no study {:?} at {}",
                req.study_name,
                dir.display()
            )));
        }
        _ => {}
    }
    let (mut study, created) = if exists {
        (Study::open(dir)?, false)
    } else {
        let data = req.data.clone().ok_or_else(|| {
            Error::Config(format!(
                "no study {:?} at {}: give the CSV and --target to create it",
                req.study_name,
                dir.display()
            ))
        })?;
        let base: TrainConfig = req.setup.base.build("configuration")?;
        let info = inspect(&data, &base, req.setup.settings.cv)?;
        let meta = new_meta(&req, &data, &info)?;
        Study::create_or_open(dir, meta)?
    };
    if !created
        && let Some(n) = req.trials
        && n != study.meta.trials
    {
        study.set_budget(n)?;
    }
    let meta = study.meta.clone();
    let data = req
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(&meta.data_path));
    let (base, base_cfg) = rebuild_base(&meta)?;
    let info = inspect(&data, &base_cfg, meta.cv)?;
    if info.sha256 != meta.data_sha256 {
        return Err(Error::Config(format!(
            "{} is not the data of study {:?} (sha256 {} now, {} when the study was created)",
            data.display(),
            meta.name,
            &info.sha256[..12.min(info.sha256.len())],
            &meta.data_sha256[..12.min(meta.data_sha256.len())]
        )));
    }
    let space = Space::from_json(&meta.space, &base_cfg)?;
    let pruner = Pruner::new(&meta.pruner, base_cfg.training.epochs, meta.sampler.seed);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let on_cpu = base_cfg.training.device == "cpu";
    let workers = req
        .setup
        .settings
        .workers
        .unwrap_or(if on_cpu { cores } else { 1 })
        .clamp(1, meta.trials.max(1));
    neurite_kernels::set_num_threads((cores / workers).max(1));
    let finished = study.finished()?.len();
    (req.events)(Event::Opened {
        meta: &meta,
        created,
        finished,
        workers,
    });

    let deadline = req
        .setup
        .settings
        .timeout_minutes
        .and_then(|m| Duration::try_from_secs_f64(m * 60.0).ok())
        .and_then(|d| Instant::now().checked_add(d));
    let objective = Objective {
        study: &study,
        space: &space,
        base: &base,
        data: &data,
        folds: info.folds.as_deref(),
        pruner: &pruner,
        metric: &meta.metric,
        interrupt: req.interrupt,
    };
    let abort = AtomicBool::new(false);
    let interrupted = || req.interrupt.is_some_and(|f| f.load(Ordering::Relaxed));
    let timed_out = || deadline.is_some_and(|d| Instant::now() >= d);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let ran = std::sync::atomic::AtomicUsize::new(0);
    let hb_stop = AtomicBool::new(false);
    let progress = Mutex::new(());

    let worker = || -> Result<()> {
        let minimize = meta.direction.minimize();
        let mut sample = |id: u64, trials: &[TrialRecord]| {
            samplers::sample(
                &meta.sampler,
                &SampleContext {
                    space: &space,
                    trials,
                    id,
                    minimize,
                },
            )
        };
        loop {
            if abort.load(Ordering::Relaxed) || interrupted() || timed_out() {
                return Ok(());
            }
            let budget = study.budget()?;
            match study.claim_next(budget, &mut sample)? {
                Next::Claimed(c) => match objective.run(&c)? {
                    TrialEnd::Recorded(rec) => {
                        // Counted whether or not its result is the one kept: a trial run
                        // twice must show.
                        ran.fetch_add(1, Ordering::Relaxed);
                        if study.finish(&c, &rec)? {
                            let _g = progress.lock();
                            let all = study.finished()?;
                            let best = study.best(&all);
                            (req.events)(Event::TrialDone {
                                rec: &rec,
                                finished: all.len(),
                                budget,
                                best: best.as_ref(),
                            });
                        }
                    }
                    TrialEnd::Interrupted => {
                        study.release(&c);
                        return Ok(());
                    }
                },
                Next::Busy => std::thread::sleep(Duration::from_millis(300)),
                Next::Done => return Ok(()),
            }
        }
    };

    let fail = |e: Error| {
        abort.store(true, Ordering::Relaxed);
        if let Ok(mut f) = first_error.lock()
            && f.is_none()
        {
            *f = Some(e);
        }
    };
    let mut model = None;
    std::thread::scope(|s| {
        s.spawn(|| {
            // The heartbeat of this process's claims.
            let every = study.heartbeat_every();
            let mut last = Instant::now();
            while !hb_stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100).min(every));
                if last.elapsed() >= every {
                    study.heartbeat();
                    last = Instant::now();
                }
            }
        });
        let (fail, worker) = (&fail, &worker);
        let mut handles = Vec::new();
        for i in 0..workers {
            // Training wants more stack than a spawned thread's default 2 MiB (the main
            // thread has 8).
            let h = std::thread::Builder::new()
                .name(format!("tune-worker-{i}"))
                .stack_size(WORKER_STACK)
                .spawn_scoped(s, move || {
                    if let Err(e) = worker() {
                        fail(e);
                    }
                });
            match h {
                Ok(h) => handles.push(h),
                Err(e) => fail(Error::Config(format!("cannot start a worker thread: {e}"))),
            }
        }
        for h in handles {
            if h.join().is_err() {
                fail(Error::Config("a worker thread panicked".into()));
            }
        }
        if !abort.load(Ordering::Relaxed) && !interrupted() {
            match register(&req, &study, &space, &base, &data) {
                Ok(m) => model = m,
                Err(e) => {
                    if let Ok(mut f) = first_error.lock() {
                        *f = Some(e);
                    }
                }
            }
        }
        hb_stop.store(true, Ordering::Relaxed);
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    let trials = study.finished()?;
    let best = study.best(&trials);
    let stopped = if interrupted() {
        Some("interrupted".to_string())
    } else if trials.len() < study.budget()? && timed_out() {
        Some("timeout".to_string())
    } else {
        None
    };
    Ok(TuneOutcome {
        meta: study.meta.clone(),
        trials,
        best,
        model,
        stopped,
        ran: ran.into_inner(),
    })
}

/// Register the best trial's model (one process per best trial does it; the others wait for
/// it and read `final.json`).
fn register(
    req: &TuneRequest,
    study: &Study,
    space: &Space,
    base: &Layered,
    data: &std::path::Path,
) -> Result<Option<FinalModel>> {
    let trials = study.finished()?;
    let Some(best) = study.best(&trials) else {
        return Ok(None);
    };
    loop {
        match study.claim_final(best.id)? {
            FinalClaim::Done(f) => return Ok(Some(f)),
            FinalClaim::Wait => {
                if req.interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
                    return Ok(None);
                }
                std::thread::sleep(Duration::from_millis(300));
            }
            FinalClaim::Won(claim) => {
                (req.events)(Event::Registering { trial: &best });
                let meta = &study.meta;
                let mut cfg = space.config(&best.params, base, "best trial")?;
                cfg.name = Some(meta.model_name.clone());
                cfg.experiment = Some(meta.name.clone());
                let mut env = TrainEnv::new(req.registry);
                env.logs_dir = req.logs_dir.clone();
                env.experiments_dir = req.experiments_dir.clone();
                env.interrupt = req.interrupt;
                env.tuning = Some(json!({
                    "study": meta.name,
                    "trial": best.id,
                    "sampler": meta.sampler.kind,
                    "metric": meta.metric,
                    "direction": meta.direction,
                    "value": best.value,
                    "cv": meta.cv,
                    "params": best.params,
                }));
                let out = match train(data, &cfg, env) {
                    Ok(o) => o,
                    Err(e) => {
                        study.release(&claim);
                        return Err(e);
                    }
                };
                let f = FinalModel {
                    trial: best.id,
                    value: best.value.unwrap_or(f64::NAN),
                    name: out.manifest.name.clone(),
                    version: out.manifest.version,
                    path: out.dir.display().to_string(),
                    registered: now(),
                };
                study.finish_final(&claim, &f)?;
                return Ok(Some(f));
            }
        }
    }
}
