//! `neurite train`

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use neurite_engine::DeviceRequest;
use neurite_engine::nn::ActivationSpec;
use neurite_pipeline::Registry;
use neurite_pipeline::task::Task;
use neurite_pipeline::train::{EpochLog, StopRule, TrainOptions, train_csv};
use serde_json::json;

#[derive(Args)]
pub struct TrainArgs {
    /// CSV file with a header row.
    pub csv: PathBuf,
    /// Target column, or several comma-separated for multi-output regression.
    #[arg(long, short)]
    pub target: String,
    /// Registry name (default: the file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Maximum number of epochs (early stopping may end sooner).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Random seed (splits, initialisation, shuffling, dropout).
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Adam learning rate.
    #[arg(long)]
    pub lr: Option<f32>,
    /// Hidden layer sizes, e.g. 128,64.
    #[arg(long)]
    pub hidden: Option<String>,
    /// Hidden activation: relu, leaky_relu, elu, gelu, sigmoid, tanh.
    #[arg(long)]
    pub activation: Option<String>,
    /// Dropout rate after each hidden layer.
    #[arg(long)]
    pub dropout: Option<f32>,
    /// Early stopping: auto, val_loss, loss or none.
    #[arg(long, default_value = "auto")]
    pub early_stopping: String,
    /// Early-stopping patience in epochs.
    #[arg(long)]
    pub patience: Option<usize>,
    /// classification or regression (default: inferred from the target).
    #[arg(long)]
    pub task: Option<String>,
    /// cpu, cuda, cuda:N or auto.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Print one JSON object with the result on stdout.
    #[arg(long)]
    pub json: bool,
    /// No per-epoch output.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub data: super::data_args::DataArgs,
}

pub fn run(a: TrainArgs, models_dir: &Path) -> Result<()> {
    let targets = super::split_list(&a.target);
    if targets.is_empty() {
        bail!("--target needs at least one column name");
    }
    let mut o = TrainOptions::new(targets);
    o.data = a.data.to_config()?;
    o.name = a.name;
    if let Some(v) = a.epochs {
        o.epochs = v;
    }
    if let Some(v) = a.seed {
        o.seed = v;
    }
    if let Some(v) = a.batch_size {
        o.batch_size = v;
    }
    if let Some(lr) = a.lr {
        o.optimizer = neurite_engine::OptimizerSpec::adam(lr);
    }
    if let Some(h) = a.hidden {
        o.hidden = super::split_list(&h)
            .iter()
            .map(|s| {
                s.parse::<usize>()
                    .with_context(|| format!("--hidden: {s:?} is not a layer size"))
            })
            .collect::<Result<_>>()?;
    }
    if let Some(act) = a.activation {
        o.activation = ActivationSpec::parse(&act)
            .with_context(|| format!("--activation: unknown activation {act:?}"))?;
    }
    if let Some(d) = a.dropout {
        o.dropout = d;
    }
    o.patience = a.patience;
    o.stop = match a.early_stopping.as_str() {
        "auto" => StopRule::Auto,
        "val_loss" => StopRule::ValidationLoss,
        "loss" => StopRule::TrainingLoss,
        "none" | "off" => StopRule::Never,
        other => bail!("--early-stopping: expected auto, val_loss, loss or none, got {other:?}"),
    };
    if let Some(t) = a.task {
        o.task = Some(Task::parse(&t).with_context(|| {
            format!("--task: expected classification or regression, got {t:?}")
        })?);
    }
    let req: DeviceRequest = a.device.parse()?;
    o.device = req.resolve()?;

    let registry = Registry::new(models_dir);
    let show = !a.quiet && !a.json;
    let tty = std::io::stderr().is_terminal();
    let mut on_epoch = |l: &EpochLog| {
        if !show {
            return;
        }
        let mut line = format!("epoch {:>4}/{}  loss {:.5}", l.epoch, l.epochs, l.loss);
        if let Some(v) = l.val_loss {
            line.push_str(&format!("  val_loss {v:.5}"));
        }
        if let Some((name, v)) = &l.val_metric {
            line.push_str(&format!("  val_{name} {v:.4}"));
        }
        if tty {
            eprint!("\r{line}   ");
        } else {
            eprintln!("{line}");
        }
    };
    let out = train_csv(&a.csv, &o, &registry, &mut on_epoch)?;
    if show && tty {
        eprintln!();
    }
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
        });
        println!("{v}");
    } else {
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
            let mut keys: Vec<&String> = test.keys().collect();
            keys.sort();
            for k in keys {
                println!("test {k}: {:.4}", test[k].as_f64().unwrap_or(f64::NAN));
            }
        }
    }
    Ok(())
}
