//! `neurite tune`

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, bail};
use clap::Args;
use neurite_pipeline::Registry;
use neurite_pipeline::tune::report::show;
use neurite_pipeline::tune::{
    self, Event, Mode, Setup, TrialRecord, TrialState, TuneRequest, TuneSource, settings,
};
use serde_json::json;

use super::Paths;
use super::flags::TrainFlags;

#[derive(Args)]
pub struct TuneArgs {
    /// CSV file with a header row (optional when joining an existing study).
    pub csv: Option<PathBuf>,
    /// Training settings as for `neurite train` (the base every trial starts from). `--config`
    /// may be a model config with a `tune:` section, or a tune file (search space and study
    /// settings at the top level).
    #[command(flatten)]
    pub flags: TrainFlags,
    /// The validation metric to optimize (default: accuracy, subset accuracy or R²), e.g.
    /// f1_macro, log_loss, rmse.
    #[arg(long)]
    pub metric: Option<String>,
    /// grid, random, tpe or gp.
    #[arg(long)]
    pub sampler: Option<String>,
    /// Trial budget (default 30, or the grid size).
    #[arg(long)]
    pub trials: Option<usize>,
    /// Stop starting trials after this many minutes.
    #[arg(long, value_name = "MINUTES")]
    pub timeout: Option<f64>,
    /// Study name: files under <experiments>/<study>/ (default: <model name>-tune).
    #[arg(long)]
    pub study: Option<String>,
    /// K-fold cross-validation instead of the validation split.
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,
    /// Trials run at once by this process (default: the cores; 1 on a GPU).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Continue an existing study.
    #[arg(long, conflicts_with = "worker")]
    pub resume: bool,
    /// Join the study (creating it if needed), e.g. one of several processes or pods sharing
    /// the study folder.
    #[arg(long)]
    pub worker: bool,
    /// Print one JSON object with the best trial on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress lines.
    #[arg(long, short)]
    pub quiet: bool,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub fn run(a: TuneArgs, paths: &Paths) -> Result<()> {
    // `--config` may be a tune file: then the training base has no model config.
    let source = a
        .flags
        .config
        .as_deref()
        .map(TuneSource::read)
        .transpose()?;
    let mut flags = a.flags.clone();
    if source.as_ref().is_some_and(|s| !s.model_config) {
        flags.config = None;
    }
    let (base_cfg, base) = flags.resolve(&paths.global, paths.global_path.as_deref())?;
    let layer = settings::flags_layer(
        a.metric.as_deref(),
        a.sampler.as_deref(),
        a.trials,
        a.timeout,
        a.cv,
        a.workers,
    );
    let tune_settings = settings::load(source.as_ref(), layer)?;
    let model_name = match (&base_cfg.name, &a.csv) {
        (Some(n), _) => n.clone(),
        (None, Some(csv)) => csv
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("model")
            .to_string(),
        (None, None) => "model".into(),
    };
    let study_name = a
        .study
        .clone()
        .unwrap_or_else(|| format!("{model_name}-tune"));
    let mode = match (a.resume, a.worker) {
        (true, _) => Mode::Resume,
        (_, true) => Mode::Worker,
        _ => Mode::New,
    };
    if a.csv.is_none() && a.study.is_none() {
        bail!("give the CSV file to tune on, or --study NAME to continue a study");
    }
    if mode == Mode::New && a.csv.is_none() {
        bail!("give the CSV file to tune on (or --resume / --worker to continue a study)");
    }
    if mode == Mode::New && base_cfg.target.is_empty() {
        bail!("--target is required (or set `target:` in the config)");
    }
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!(
            "\ninterrupt: stopping the running trials (continue with --resume; press Ctrl-C again to quit now)"
        );
    });

    let registry = Registry::new(&paths.models);
    let live = std::io::stderr().is_terminal();
    let quiet = a.quiet;
    let events = move |e: Event| {
        if quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        match e {
            Event::Opened {
                meta,
                created,
                finished,
                workers,
            } => {
                let _ = writeln!(
                    err,
                    "{} study {:?}: {} sampler, {} the validation {}{}, {} trials ({finished} done), {workers} worker{}",
                    if created { "new" } else { "joined" },
                    meta.name,
                    meta.sampler.kind,
                    if meta.direction.minimize() {
                        "minimize"
                    } else {
                        "maximize"
                    },
                    meta.metric,
                    meta.cv
                        .map(|k| format!(" ({k}-fold CV)"))
                        .unwrap_or_default(),
                    meta.trials,
                    if workers == 1 { "" } else { "s" },
                );
            }
            Event::TrialDone {
                rec,
                finished,
                budget,
                best,
            } => {
                let what = match rec.state {
                    TrialState::Complete => format!("{:.4}", rec.value.unwrap_or(f64::NAN)),
                    TrialState::Pruned => format!("pruned at epoch {}", rec.epochs_run),
                    _ => "failed".into(),
                };
                let best = best
                    .map(|b| format!("best {:.4} (trial {})", b.value.unwrap_or(f64::NAN), b.id))
                    .unwrap_or_else(|| "no complete trial yet".into());
                let line = format!("trial {finished}/{budget}: #{} {what} | {best}", rec.id);
                if live {
                    let _ = write!(err, "\r\x1b[2K{line}");
                } else {
                    let _ = writeln!(err, "{line}");
                }
                if rec.state == TrialState::Failed
                    && let Some(m) = &rec.message
                {
                    let _ = writeln!(
                        err,
                        "{}trial {} failed: {m}",
                        if live { "\n" } else { "" },
                        rec.id
                    );
                }
            }
            Event::Registering { trial } => {
                let _ = writeln!(
                    err,
                    "{}registering trial {}'s model",
                    if live { "\n" } else { "" },
                    trial.id
                );
            }
        }
    };
    let out = tune::run(TuneRequest {
        study_dir: paths.experiments.join(&study_name),
        study_name: study_name.clone(),
        data: a.csv.clone(),
        setup: Setup {
            base,
            settings: tune_settings,
            source,
            model_name,
        },
        mode,
        trials: a.trials,
        registry: &registry,
        logs_dir: Some(paths.logs.clone()),
        experiments_dir: Some(paths.experiments.clone()),
        interrupt: Some(&INTERRUPTED),
        events: &events,
    })?;
    let count = |s: TrialState| out.trials.iter().filter(|t| t.state == s).count();
    if a.json {
        let v = json!({
            "study": out.meta.name,
            "path": paths.experiments.join(&study_name).display().to_string(),
            "metric": out.meta.metric,
            "direction": out.meta.direction,
            "sampler": out.meta.sampler.kind,
            "trials": {
                "budget": out.meta.trials,
                "finished": out.trials.len(),
                "complete": count(TrialState::Complete),
                "pruned": count(TrialState::Pruned),
                "failed": count(TrialState::Failed),
                "run_by_this_process": out.ran,
            },
            "stopped": out.stopped,
            "best": out.best.as_ref().map(|b| json!({
                "trial": b.id,
                "value": b.value,
                "test_value": b.test_value,
                "params": b.params,
                "model": out.model.as_ref().filter(|m| m.trial == b.id).map(|m| json!({
                    "name": m.name,
                    "version": m.version,
                    "path": m.path,
                })),
            })),
        });
        println!("{v}");
    } else {
        print_table(&out.trials, out.meta.direction.minimize(), &out.meta.metric);
        match (&out.best, &out.model) {
            (Some(b), Some(m)) if m.trial == b.id => println!(
                "best: trial {} with validation {} {:.4} -> {}@v{} ({})",
                b.id,
                out.meta.metric,
                b.value.unwrap_or(f64::NAN),
                m.name,
                m.version,
                m.path
            ),
            (Some(b), _) => println!(
                "best: trial {} with validation {} {:.4} (its model is not registered yet)",
                b.id,
                out.meta.metric,
                b.value.unwrap_or(f64::NAN)
            ),
            (None, _) => {}
        }
        if let Some(s) = &out.stopped {
            println!(
                "stopped ({s}) after {} of {} trials; continue with --resume",
                out.trials.len(),
                out.meta.trials
            );
        }
    }
    if out.best.is_none() && out.stopped.is_none() {
        let why = out
            .trials
            .iter()
            .find_map(|t| t.message.clone())
            .map(|m| format!(" (first failure: {m})"))
            .unwrap_or_default();
        bail!("no trial completed{why}");
    }
    Ok(())
}

/// The ten best trials, then how many others there were.
fn print_table(trials: &[TrialRecord], minimize: bool, metric: &str) {
    let mut done: Vec<&TrialRecord> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && t.value.is_some())
        .collect();
    done.sort_by(|a, b| {
        let (x, y) = (a.value.unwrap_or(0.0), b.value.unwrap_or(0.0));
        if minimize {
            x.total_cmp(&y)
        } else {
            y.total_cmp(&x)
        }
        .then(a.id.cmp(&b.id))
    });
    println!(
        "{:>6}  {:>10}  {:>7}  hyperparameters",
        "trial", metric, "seconds"
    );
    for t in done.iter().take(10) {
        let params: Vec<String> = t
            .params
            .iter()
            .map(|(k, v)| format!("{k}={}", show(v)))
            .collect();
        println!(
            "{:>6}  {:>10.4}  {:>7.1}  {}",
            t.id,
            t.value.unwrap_or(f64::NAN),
            t.duration_secs,
            params.join(" ")
        );
    }
    let pruned = trials
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .count();
    let failed = trials
        .iter()
        .filter(|t| t.state == TrialState::Failed)
        .count();
    println!("{} complete, {pruned} pruned, {failed} failed", done.len());
}
