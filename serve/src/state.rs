//! What every request handler shares.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Semaphore, watch};

use crate::infer_log::InferLog;
use crate::metrics::Metrics;
use crate::store::ModelStore;
use crate::ui_config::UiConfig;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunMode {
    Server,
    Lambda,
}

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_rows: usize,
    pub max_body_bytes: usize,
    pub offload_above_macs: usize,
}

pub struct AppState {
    pub store: Arc<ModelStore>,
    pub metrics: Metrics,
    pub infer_log: InferLog,
    pub limits: Limits,
    pub api_key: Option<String>,
    pub ui: UiConfig,
    pub logs_dir: PathBuf,
    pub mode: RunMode,
    /// Forward passes too large for the async threads run here, a CPU's worth at a time.
    pub heavy: Arc<Semaphore>,
    shutting_down: AtomicBool,
    /// Flips to `true` at shutdown; open event streams watch it and end.
    pub shutdown_rx: watch::Receiver<bool>,
    shutdown_tx: watch::Sender<bool>,
}

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<ModelStore>,
        infer_log: InferLog,
        limits: Limits,
        api_key: Option<String>,
        ui: UiConfig,
        logs_dir: PathBuf,
        mode: RunMode,
        heavy_permits: usize,
    ) -> AppState {
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        AppState {
            store,
            metrics: Metrics::default(),
            infer_log,
            limits,
            api_key: api_key.filter(|k| !k.is_empty()),
            ui,
            logs_dir,
            mode,
            heavy: Arc::new(Semaphore::new(heavy_permits.max(1))),
            shutting_down: AtomicBool::new(false),
            shutdown_rx,
            shutdown_tx,
        }
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        let _ = self.shutdown_tx.send(true);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}
