//! neurite-serve: one binary that is an AWS Lambda handler (when `AWS_LAMBDA_RUNTIME_API` is
//! set) and otherwise a hyper HTTP server, both calling one request handler
//! ([`router::handle`]). It serves every model of a registry folder (or the ones named) through
//! the TF Serving / KServe V1, KServe V2 and MLflow / SageMaker APIs, with Prometheus metrics,
//! an OpenAPI document, an inference log and a web UI. It links only the inference part of the
//! pipeline (no training code).

pub mod aliases;
pub mod api;
pub mod auth;
pub mod batch;
pub mod charts;
pub mod error;
pub mod http_util;
pub mod infer_log;
pub mod input;
pub mod lambda;
pub mod live;
pub mod metrics;
pub mod openapi;
pub mod options;
pub mod output;
pub mod predict;
pub mod protocol;
pub mod router;
pub mod routes;
pub mod server;
pub mod state;
pub mod store;
pub mod ui;
pub mod ui_config;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use error::{Result, ServeError};
pub use options::{Mode, ServeOptions};

use infer_log::{InferLog, Sink};
use state::{AppState, Limits, RunMode};
use store::ModelStore;
use ui_config::UiConfig;

fn init_tracing(lambda: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("NEURITE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(!lambda && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .try_init();
}

fn resolve_mode(m: Mode) -> RunMode {
    match m {
        Mode::Server => RunMode::Server,
        Mode::Lambda => RunMode::Lambda,
        Mode::Auto if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() => RunMode::Lambda,
        Mode::Auto => RunMode::Server,
    }
}

fn models_dir(opts: &ServeOptions, mode: RunMode) -> PathBuf {
    if let Some(d) = &opts.models {
        return d.clone();
    }
    if mode == RunMode::Lambda
        && let Some(root) = std::env::var_os("LAMBDA_TASK_ROOT")
    {
        return PathBuf::from(root).join("models");
    }
    PathBuf::from("models")
}

/// Build the shared state: open the registry (loading the served models), the inference log
/// and the UI configuration.
pub fn build_state(opts: &ServeOptions, mode: RunMode) -> Result<AppState> {
    let dir = models_dir(opts, mode);
    let store = ModelStore::open(&dir, &opts.only)?;
    let n = store.snapshot().models.len();
    if n == 0 {
        tracing::warn!(
            "no models in {}: train one with `neurite train`; the server will pick it up",
            dir.display()
        );
    }
    let sink = Sink::parse(&opts.inference_log);
    let infer_log = InferLog::new(&sink, mode == RunMode::Lambda)?;
    let ui = UiConfig::load(opts.ui_config.as_deref())?;
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    Ok(AppState::new(
        Arc::new(store),
        infer_log,
        Limits {
            max_rows: opts.max_rows.max(1),
            max_body_bytes: opts.max_body_bytes,
            offload_above_macs: opts.offload_above_macs,
        },
        opts.api_key.clone(),
        ui,
        opts.logs.clone(),
        mode,
        cpus,
    ))
}

/// Run the server (or the Lambda handler) until SIGTERM/SIGINT.
pub fn run(opts: ServeOptions) -> Result<()> {
    let mode = resolve_mode(opts.mode);
    init_tracing(mode == RunMode::Lambda);
    let workers = opts.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .enable_all()
        .build()?;
    let state = Arc::new(build_state(&opts, mode)?);
    let result = rt.block_on(async {
        let st = state.clone();
        let every = Duration::from_millis(opts.reload_ms.max(50));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let s = st.clone();
                match tokio::task::spawn_blocking(move || s.store.refresh()).await {
                    Ok(Err(e)) => tracing::warn!("registry refresh failed: {e}"),
                    Err(e) => tracing::warn!("registry refresh task failed: {e}"),
                    Ok(Ok(_)) => {}
                }
            }
        });
        match mode {
            RunMode::Lambda => lambda::run(state.clone()).await,
            RunMode::Server => {
                let addr = SocketAddr::new(opts.bind, opts.port);
                server::serve(
                    state.clone(),
                    addr,
                    Duration::from_secs(opts.shutdown_timeout),
                )
                .await
            }
        }
    });
    state.infer_log.close();
    rt.shutdown_timeout(Duration::from_millis(200));
    result
}
