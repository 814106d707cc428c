//! `neurite train`

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, bail};
use clap::Args;
use neurite_pipeline::Registry;
use neurite_pipeline::train::{ProgressBar, TrainEnv, train};
use serde_json::json;

use super::Paths;
use super::flags::TrainFlags;

#[derive(Args)]
pub struct TrainArgs {
    /// CSV file with a header row.
    pub csv: PathBuf,
    #[command(flatten)]
    pub flags: TrainFlags,
    /// Continue the newest interrupted run of this model from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Incremental training: start from this model version's weights and optimizer state
    /// (keeps its architecture and preprocessing).
    #[arg(long, value_name = "NAME@VERSION")]
    pub from: Option<String>,
    /// With --from: a CSV of earlier data to replay alongside the new data.
    #[arg(long, requires = "from")]
    pub replay: Option<PathBuf>,
    /// Fraction of the replay file to mix in.
    #[arg(long, default_value_t = 0.2, requires = "replay")]
    pub replay_fraction: f64,
    /// Print one JSON object with the result on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub fn run(a: TrainArgs, paths: &Paths) -> Result<()> {
    let (mut cfg, _) = a
        .flags
        .resolve(&paths.global, paths.global_path.as_deref())?;
    if let Some(from) = &a.from {
        // An incremental run is a new version of the parent model unless named otherwise.
        if cfg.name.is_none() {
            cfg.name = Some(neurite_pipeline::ModelRef::parse(from)?.name);
        }
    } else if cfg.target.is_empty() && !a.resume {
        bail!("--target is required (or set `target:` in the config)");
    }
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupt: stopping after this batch (press Ctrl-C again to quit now)");
    });
    let registry = Registry::new(&paths.models);
    let mut env = TrainEnv::new(&registry);
    env.logs_dir = Some(paths.logs.clone());
    env.experiments_dir = Some(paths.experiments.clone());
    env.resume = a.resume;
    env.from = a.from.clone();
    env.replay = a.replay.clone().map(|p| (p, a.replay_fraction));
    env.interrupt = Some(&INTERRUPTED);
    if !a.quiet && !a.json {
        // The task may be inferred later: the bar picks the metric the epoch logs hold.
        env.extra_callbacks.push(Box::new(ProgressBar::new(None)));
    }
    let out = train(&a.csv, &cfg, env)?;
    let m = &out.manifest;
    super::data_args::print_warnings(&m.data.warnings);
    if a.json {
        let v = json!({
            "warnings": m.data.warnings,
            "rows_dropped_missing_target": m.data.rows_dropped_missing_target,
            "name": m.name,
            "version": m.version,
            "path": out.dir.display().to_string(),
            "task": m.task,
            "metrics": m.metrics,
            "epochs_run": m.training.epochs_run,
            "best_epoch": m.training.best_epoch,
            "duration_secs": m.training.duration_secs,
            "device": m.training.device,
            "run_id": m.run_id,
            "parent": m.parent,
            "stopped": out.stopped,
            "resumed_from_epoch": out.resumed_from_epoch,
        });
        println!("{v}");
        return Ok(());
    }
    if let Some(e) = out.resumed_from_epoch {
        println!("resumed from the checkpoint after epoch {e}");
    }
    if let Some(why) = &out.stopped {
        println!("{why}");
    }
    println!(
        "trained {}@v{} ({:?}, {} epochs, best epoch {}, {:.2}s on {}) -> {}",
        m.name,
        m.version,
        m.task,
        m.training.epochs_run,
        m.training.best_epoch,
        m.training.duration_secs,
        m.training.device,
        out.dir.display()
    );
    if let Some(test) = m.metrics.get("test") {
        for k in [
            "accuracy",
            "balanced_accuracy",
            "f1_macro",
            "roc_auc",
            "roc_auc_ovr",
            "subset_accuracy",
            "f1_micro",
            "r2",
            "mae",
            "rmse",
        ] {
            if let Some(v) = test.get(k).and_then(|v| v.as_f64()) {
                println!("test {k}: {v:.4}");
            }
        }
    }
    Ok(())
}
