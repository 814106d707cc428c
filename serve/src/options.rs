//! Command-line and environment options of `neurite-serve` (and `neurite serve`).

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Lambda when `AWS_LAMBDA_RUNTIME_API` is set, otherwise an HTTP server.
    Auto,
    Server,
    Lambda,
}

#[derive(Args, Clone, Debug)]
pub struct ServeOptions {
    /// Model registry folder [default: `models`; in Lambda `$LAMBDA_TASK_ROOT/models`].
    #[arg(long = "models", env = "NEURITE_MODELS")]
    pub models: Option<PathBuf>,

    /// Serve only these models: `name`, `name@<version>` or `name@<alias>` (repeat or
    /// comma-separate). Default: every model in the registry.
    #[arg(long = "model", value_delimiter = ',', env = "NEURITE_SERVE_MODELS")]
    pub only: Vec<String>,

    /// TCP port (server mode).
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// Address to listen on (server mode). Use 0.0.0.0 in a container.
    #[arg(long, env = "NEURITE_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// Run mode.
    #[arg(long, env = "NEURITE_SERVE_MODE", value_enum, default_value_t = Mode::Auto)]
    pub mode: Mode,

    /// Largest batch (rows) one request may carry.
    #[arg(long, env = "NEURITE_MAX_ROWS", default_value_t = 10_000)]
    pub max_rows: usize,

    /// Largest request body in bytes (Lambda's own limit is 6 MB).
    #[arg(long, env = "NEURITE_MAX_BODY", default_value_t = 6 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Forward passes costing more than this many multiply-adds (rows × weights) run on a
    /// separate pool, so a large batch does not stall small requests on the async threads.
    #[arg(long, default_value_t = 2_000_000)]
    pub offload_above_macs: usize,

    /// API key required by prediction and admin routes (health, metrics and the read-only
    /// UI stay open).
    #[arg(long, env = "NEURITE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// Inference log destination: `stdout`, `off`, or a file path (appended). One JSON line
    /// per prediction request. Lambda always logs to stdout (CloudWatch) unless `off`.
    #[arg(long, env = "NEURITE_INFERENCE_LOG", default_value = "stdout")]
    pub inference_log: String,

    /// Folder of live training logs (`<run>.jsonl`, one JSON object per epoch).
    #[arg(long = "logs", env = "NEURITE_LOGS", default_value = "logs")]
    pub logs: PathBuf,

    /// UI configuration file [default: `ui_config.yaml` when it exists].
    #[arg(long, env = "NEURITE_UI_CONFIG")]
    pub ui_config: Option<PathBuf>,

    /// How often the registry (new versions, moved aliases) is re-read, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub reload_ms: u64,

    /// Seconds to let in-flight requests finish after SIGTERM/SIGINT.
    #[arg(long, default_value_t = 25)]
    pub shutdown_timeout: u64,

    /// Async worker threads [default: the number of CPUs].
    #[arg(long, env = "NEURITE_WORKERS")]
    pub workers: Option<usize>,
}

impl ServeOptions {
    /// Options with every default (for embedding and tests).
    pub fn with_models(dir: impl Into<PathBuf>) -> ServeOptions {
        ServeOptions {
            models: Some(dir.into()),
            only: Vec::new(),
            port: 8080,
            bind: IpAddr::from([127, 0, 0, 1]),
            mode: Mode::Auto,
            max_rows: 10_000,
            max_body_bytes: 6 * 1024 * 1024,
            offload_above_macs: 2_000_000,
            api_key: None,
            inference_log: "stdout".into(),
            logs: PathBuf::from("logs"),
            ui_config: None,
            reload_ms: 1000,
            shutdown_timeout: 25,
            workers: None,
        }
    }
}
