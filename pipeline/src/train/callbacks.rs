//! Training callbacks (Keras names and semantics) and the trait to write more.
//!
//! Every callback can save and restore its state (a JSON value, plus a weight snapshot for
//! early stopping), so a resumed run continues exactly where the interrupted one stopped.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use neurite_engine::nn::Mlp;
use serde_json::{Value, json};

use crate::bundle::EpochRecord;
use crate::error::{Error, Result};

/// What a callback sees and may change at the end of an epoch.
pub struct CallbackContext<'a> {
    /// The epoch just finished (1-based) and the configured total.
    pub epoch: usize,
    pub epochs: usize,
    pub model: &'a Mlp,
    pub history: &'a [EpochRecord],
    /// Multiplies the scheduled learning rate (ReduceLROnPlateau lowers it).
    pub lr_scale: &'a mut f64,
    /// The learning rate used this epoch.
    pub lr: f64,
    /// Set to stop training after this epoch, with the reason.
    pub stop: &'a mut Option<String>,
    /// Set to ask the trainer to write an epoch checkpoint now.
    pub save_checkpoint: &'a mut bool,
    /// The first batch (1-based) of this epoch whose loss was not finite.
    pub nan_batch: Option<usize>,
}

pub trait Callback {
    fn name(&self) -> &'static str;
    fn on_train_begin(&mut self, _epochs: usize) -> Result<()> {
        Ok(())
    }
    fn on_epoch_end(&mut self, ctx: &mut CallbackContext, logs: &EpochRecord) -> Result<()>;
    /// Called once at the end; may replace the final weights.
    fn on_train_end(&mut self, _model: &mut Mlp) -> Result<()> {
        Ok(())
    }
    /// State to checkpoint.
    fn state(&self) -> Value {
        Value::Null
    }
    /// Restore from a checkpoint (`history` is the run so far).
    fn restore(&mut self, _state: &Value, _history: &[EpochRecord]) -> Result<()> {
        Ok(())
    }
    /// A weight snapshot to checkpoint alongside the state.
    fn snapshot(&self) -> Option<&Mlp> {
        None
    }
    fn restore_snapshot(&mut self, _m: Mlp) {}
}

/// `min` or `max` for a monitored quantity: accuracy-like metrics and R² are maximized.
pub fn resolve_mode(mode: &str, monitor: &str) -> bool {
    match mode {
        "max" => true,
        "min" => false,
        _ => ["accuracy", "r2", "auc", "f1", "precision", "recall"]
            .iter()
            .any(|k| monitor.contains(k)),
    }
}

fn better(v: f64, best: Option<f64>, maximize: bool, min_delta: f64) -> bool {
    match best {
        None => v.is_finite(),
        Some(b) => {
            if maximize {
                v > b + min_delta
            } else {
                v < b - min_delta
            }
        }
    }
}

fn monitored(logs: &EpochRecord, key: &str) -> Result<f64> {
    logs.get(key).ok_or_else(|| {
        let mut known = vec!["loss".to_string()];
        known.extend(logs.metrics.keys().cloned());
        Error::Config(format!(
            "monitored quantity {key:?} is not logged (available: {})",
            known.join(", ")
        ))
    })
}

/// Keras `EarlyStopping`, which also restores the best weights when the epoch limit ends
/// training (not only when patience runs out).
pub struct EarlyStopping {
    pub monitor: String,
    pub maximize: bool,
    pub patience: usize,
    pub min_delta: f64,
    pub restore_best_weights: bool,
    best: Option<f64>,
    best_epoch: usize,
    wait: usize,
    best_model: Option<Mlp>,
}

impl EarlyStopping {
    pub fn new(
        monitor: &str,
        maximize: bool,
        patience: usize,
        min_delta: f64,
        restore_best_weights: bool,
    ) -> Self {
        EarlyStopping {
            monitor: monitor.into(),
            maximize,
            patience,
            min_delta,
            restore_best_weights,
            best: None,
            best_epoch: 0,
            wait: 0,
            best_model: None,
        }
    }

    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }
}

impl Callback for EarlyStopping {
    fn name(&self) -> &'static str {
        "early_stopping"
    }
    fn on_epoch_end(&mut self, ctx: &mut CallbackContext, logs: &EpochRecord) -> Result<()> {
        let v = monitored(logs, &self.monitor)?;
        if better(v, self.best, self.maximize, self.min_delta) {
            self.best = Some(v);
            self.best_epoch = ctx.epoch;
            self.wait = 0;
            if self.restore_best_weights {
                self.best_model = Some(ctx.model.clone());
            }
        } else {
            self.wait += 1;
            if self.wait >= self.patience && ctx.stop.is_none() {
                *ctx.stop = Some(format!(
                    "early stopping: {} did not improve for {} epochs (best {:.6} at epoch {})",
                    self.monitor,
                    self.patience,
                    self.best.unwrap_or(f64::NAN),
                    self.best_epoch
                ));
            }
        }
        Ok(())
    }
    fn on_train_end(&mut self, model: &mut Mlp) -> Result<()> {
        if let Some(best) = self.best_model.take() {
            *model = best;
        }
        Ok(())
    }
    fn state(&self) -> Value {
        json!({"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait})
    }
    fn restore(&mut self, s: &Value, _history: &[EpochRecord]) -> Result<()> {
        self.best = s["best"].as_f64();
        self.best_epoch = s["best_epoch"].as_u64().unwrap_or(0) as usize;
        self.wait = s["wait"].as_u64().unwrap_or(0) as usize;
        Ok(())
    }
    fn snapshot(&self) -> Option<&Mlp> {
        self.best_model.as_ref()
    }
    fn restore_snapshot(&mut self, m: Mlp) {
        self.best_model = Some(m);
    }
}

/// Keras `ReduceLROnPlateau`: multiply the learning rate by `factor` after `patience` epochs
/// without improvement, then wait `cooldown` epochs; never below `min_lr`.
pub struct ReduceLrOnPlateau {
    pub monitor: String,
    pub maximize: bool,
    pub factor: f64,
    pub patience: usize,
    pub min_delta: f64,
    pub cooldown: usize,
    pub min_lr: f64,
    best: Option<f64>,
    wait: usize,
    cooldown_left: usize,
}

impl ReduceLrOnPlateau {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        monitor: &str,
        maximize: bool,
        factor: f64,
        patience: usize,
        min_delta: f64,
        cooldown: usize,
        min_lr: f64,
    ) -> Self {
        ReduceLrOnPlateau {
            monitor: monitor.into(),
            maximize,
            factor,
            patience,
            min_delta,
            cooldown,
            min_lr,
            best: None,
            wait: 0,
            cooldown_left: 0,
        }
    }
}

impl Callback for ReduceLrOnPlateau {
    fn name(&self) -> &'static str {
        "reduce_lr_on_plateau"
    }
    fn on_epoch_end(&mut self, ctx: &mut CallbackContext, logs: &EpochRecord) -> Result<()> {
        let v = monitored(logs, &self.monitor)?;
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.wait = 0;
        }
        if better(v, self.best, self.maximize, self.min_delta) {
            self.best = Some(v);
            self.wait = 0;
        } else if self.cooldown_left == 0 {
            self.wait += 1;
            if self.wait >= self.patience {
                let new_lr = (ctx.lr * self.factor).max(self.min_lr);
                if new_lr < ctx.lr && ctx.lr > 0.0 {
                    *ctx.lr_scale *= new_lr / ctx.lr;
                }
                self.cooldown_left = self.cooldown;
                self.wait = 0;
            }
        }
        Ok(())
    }
    fn state(&self) -> Value {
        json!({"best": self.best, "wait": self.wait, "cooldown_left": self.cooldown_left})
    }
    fn restore(&mut self, s: &Value, _history: &[EpochRecord]) -> Result<()> {
        self.best = s["best"].as_f64();
        self.wait = s["wait"].as_u64().unwrap_or(0) as usize;
        self.cooldown_left = s["cooldown_left"].as_u64().unwrap_or(0) as usize;
        Ok(())
    }
}

/// Stop as soon as the training loss is NaN or infinite, naming the epoch and batch.
pub struct TerminateOnNan;

impl Callback for TerminateOnNan {
    fn name(&self) -> &'static str {
        "terminate_on_nan"
    }
    fn on_epoch_end(&mut self, ctx: &mut CallbackContext, logs: &EpochRecord) -> Result<()> {
        if !logs.loss.is_finite() {
            let batch = ctx
                .nan_batch
                .map(|b| format!(", batch {b}"))
                .unwrap_or_default();
            *ctx.stop = Some(format!(
                "terminate on NaN: the loss became {} at epoch {}{batch}; try a smaller learning rate or gradient clipping",
                logs.loss, ctx.epoch
            ));
        }
        Ok(())
    }
}

/// Keras `ModelCheckpoint`: asks the trainer for a checkpoint every `every_n_epochs` epochs,
/// only on improvement when `save_best_only`.
pub struct ModelCheckpoint {
    pub monitor: String,
    pub maximize: bool,
    pub save_best_only: bool,
    pub every_n_epochs: usize,
    best: Option<f64>,
}

impl ModelCheckpoint {
    pub fn new(monitor: &str, maximize: bool, save_best_only: bool, every_n_epochs: usize) -> Self {
        ModelCheckpoint {
            monitor: monitor.into(),
            maximize,
            save_best_only,
            every_n_epochs: every_n_epochs.max(1),
            best: None,
        }
    }
}

impl Callback for ModelCheckpoint {
    fn name(&self) -> &'static str {
        "model_checkpoint"
    }
    fn on_epoch_end(&mut self, ctx: &mut CallbackContext, logs: &EpochRecord) -> Result<()> {
        if !ctx.epoch.is_multiple_of(self.every_n_epochs) {
            return Ok(());
        }
        if self.save_best_only {
            let v = monitored(logs, &self.monitor)?;
            if better(v, self.best, self.maximize, 0.0) {
                self.best = Some(v);
                *ctx.save_checkpoint = true;
            }
        } else {
            *ctx.save_checkpoint = true;
        }
        Ok(())
    }
    fn state(&self) -> Value {
        json!({"best": self.best})
    }
    fn restore(&mut self, s: &Value, _history: &[EpochRecord]) -> Result<()> {
        self.best = s["best"].as_f64();
        Ok(())
    }
}

/// One line per epoch in `<dir>/<run>.csv` and `<dir>/<run>.jsonl` (the JSONL file is what
/// `neurite serve` tails for live training status).
pub struct EpochLogger {
    pub csv: PathBuf,
    pub jsonl: PathBuf,
    columns: Vec<String>,
    /// Append handles, kept open between epochs: opening both files every epoch was a quarter
    /// of a small model's training time, and a write per line another tenth. Lines are
    /// flushed at most `flush_every` after they are logged (the live view polls about once a
    /// second) and at the end of training; a crash loses nothing a resume needs, since the
    /// resumed run rewrites the logs from its checkpoint's history.
    open: Option<(BufWriter<std::fs::File>, BufWriter<std::fs::File>)>,
    flushed: Instant,
    flush_every: Duration,
}

/// How long an epoch line may wait in memory before it is written: 100 ms, or
/// `NEURITE_LOG_FLUSH_MS` (tests that watch a run's progress set 0).
fn log_flush_interval() -> Duration {
    Duration::from_millis(
        std::env::var("NEURITE_LOG_FLUSH_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100),
    )
}

impl EpochLogger {
    pub fn new(dir: &std::path::Path, run: &str) -> Self {
        EpochLogger {
            csv: dir.join(format!("{run}.csv")),
            jsonl: dir.join(format!("{run}.jsonl")),
            columns: Vec::new(),
            open: None,
            flushed: Instant::now(),
            flush_every: log_flush_interval(),
        }
    }

    fn write_all(&mut self, history: &[EpochRecord]) -> Result<()> {
        let mut cols: Vec<String> = vec!["epoch".into(), "lr".into(), "loss".into()];
        for h in history {
            for k in h.metrics.keys() {
                if !cols.contains(k) {
                    cols.push(k.clone());
                }
            }
        }
        cols.push("epoch_secs".into());
        self.columns = cols;
        let mut csv = self.columns.join(",") + "\n";
        let mut jsonl = String::new();
        for h in history {
            csv.push_str(&self.csv_line(h));
            jsonl.push_str(&json_line(h));
        }
        // The rename replaces the files: handles to the old ones would write into the void.
        self.open = None;
        neurite_engine::io::atomic_write_fast(&self.csv, csv.as_bytes())?;
        neurite_engine::io::atomic_write_fast(&self.jsonl, jsonl.as_bytes())?;
        Ok(())
    }

    fn csv_line(&self, h: &EpochRecord) -> String {
        let cells: Vec<String> = self
            .columns
            .iter()
            .map(|c| match c.as_str() {
                "epoch" => h.epoch.to_string(),
                "epoch_secs" => format!("{:.4}", h.seconds),
                k => h.get(k).map(|v| format!("{v}")).unwrap_or_default(),
            })
            .collect();
        cells.join(",") + "\n"
    }

    fn open_append(path: &std::path::Path) -> Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))
    }

    fn append(&mut self, h: &EpochRecord) -> Result<()> {
        if self.open.is_none() {
            self.open = Some((
                BufWriter::new(Self::open_append(&self.csv)?),
                BufWriter::new(Self::open_append(&self.jsonl)?),
            ));
        }
        let line = self.csv_line(h);
        if let Some((csv, jsonl)) = &mut self.open {
            csv.write_all(line.as_bytes())
                .map_err(|e| Error::io(&self.csv, e))?;
            jsonl
                .write_all(json_line(h).as_bytes())
                .map_err(|e| Error::io(&self.jsonl, e))?;
        }
        if self.flushed.elapsed() >= self.flush_every {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if let Some((csv, jsonl)) = &mut self.open {
            csv.flush().map_err(|e| Error::io(&self.csv, e))?;
            jsonl.flush().map_err(|e| Error::io(&self.jsonl, e))?;
        }
        self.flushed = Instant::now();
        Ok(())
    }
}

fn json_line(h: &EpochRecord) -> String {
    serde_json::to_string(h).unwrap_or_default() + "\n"
}

impl Callback for EpochLogger {
    fn name(&self) -> &'static str {
        "epoch_logger"
    }
    fn on_train_begin(&mut self, _epochs: usize) -> Result<()> {
        if let Some(d) = self.csv.parent() {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
        if self.columns.is_empty() {
            self.write_all(&[])?;
        }
        Ok(())
    }
    fn on_train_end(&mut self, _model: &mut Mlp) -> Result<()> {
        self.flush()
    }
    fn on_epoch_end(&mut self, ctx: &mut CallbackContext, logs: &EpochRecord) -> Result<()> {
        let new_cols = logs.metrics.keys().any(|k| !self.columns.contains(k));
        if new_cols || self.columns.len() <= 4 && !logs.metrics.is_empty() {
            // The first epoch fixes the CSV columns (validation metrics appear then).
            return self.write_all(ctx.history);
        }
        self.append(logs)
    }
    fn restore(&mut self, _s: &Value, history: &[EpochRecord]) -> Result<()> {
        // The checkpoint's history is authoritative: lines logged after it (by the run that
        // crashed) are dropped.
        self.write_all(history)
    }
}

/// A progress bar per epoch with live loss and validation metric; silent when stdout is not a
/// terminal.
pub struct ProgressBar {
    bar: Option<indicatif::ProgressBar>,
    metric: Option<String>,
}

impl ProgressBar {
    /// `metric: None` shows the task's validation metric, whichever the epoch logs hold.
    pub fn new(metric: Option<String>) -> Self {
        ProgressBar { bar: None, metric }
    }

    /// The metric shown beside the losses for one epoch's logs.
    fn shown<'a>(&'a self, logs: &EpochRecord) -> Option<(&'a str, f64)> {
        let names: &[&'a str] = match &self.metric {
            Some(m) => &[m.as_str()],
            None => &["val_accuracy", "val_binary_accuracy", "val_r2"],
        };
        names
            .iter()
            .find_map(|&m| logs.metrics.get(m).map(|&v| (m, v)))
    }
}

impl Callback for ProgressBar {
    fn name(&self) -> &'static str {
        "progress_bar"
    }
    fn on_train_begin(&mut self, epochs: usize) -> Result<()> {
        if std::io::stdout().is_terminal() {
            let b = indicatif::ProgressBar::new(epochs as u64);
            let style = indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} epochs {msg} ({elapsed})",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            b.set_style(style);
            b.set_prefix("training");
            self.bar = Some(b);
        }
        Ok(())
    }
    fn on_epoch_end(&mut self, ctx: &mut CallbackContext, logs: &EpochRecord) -> Result<()> {
        if let Some(b) = &self.bar {
            let mut msg = format!("loss {:.4}", logs.loss);
            if let Some(v) = logs.metrics.get("val_loss") {
                msg.push_str(&format!(" val_loss {v:.4}"));
            }
            if let Some((m, v)) = self.shown(logs) {
                msg.push_str(&format!(" {m} {v:.4}"));
            }
            b.set_position(ctx.epoch as u64);
            b.set_message(msg);
        }
        Ok(())
    }
    fn on_train_end(&mut self, _model: &mut Mlp) -> Result<()> {
        if let Some(b) = self.bar.take() {
            b.finish();
        }
        Ok(())
    }
}

#[cfg(test)]
mod progress_tests {
    use super::*;

    fn logs(pairs: &[(&str, f64)]) -> EpochRecord {
        EpochRecord {
            epoch: 1,
            lr: 1e-3,
            loss: 0.5,
            metrics: pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect(),
            seconds: 0.0,
        }
    }

    #[test]
    fn progress_bar_shows_the_tasks_validation_metric() {
        let auto = ProgressBar::new(None);
        let reg = logs(&[("val_loss", 0.7), ("val_r2", 0.4), ("val_rmse", 1.1)]);
        assert_eq!(auto.shown(&reg), Some(("val_r2", 0.4)));
        let cls = logs(&[("val_loss", 0.7), ("val_accuracy", 0.9)]);
        assert_eq!(auto.shown(&cls), Some(("val_accuracy", 0.9)));
        assert_eq!(auto.shown(&logs(&[])), None);
        let named = ProgressBar::new(Some("val_rmse".into()));
        assert_eq!(named.shown(&reg), Some(("val_rmse", 1.1)));
        assert_eq!(named.shown(&cls), None);
    }
}
