//! One module per subcommand.

pub mod bench;
pub mod config;
pub mod data;
pub mod data_args;
pub mod doctor;
pub mod eda;
pub mod eval;
pub mod experiments;
pub mod features;
pub mod flags;
pub mod models;
pub mod predict;
pub mod report;
pub mod serve;
pub mod train;
pub mod tune;

use std::path::PathBuf;

use neurite_pipeline::config::{GlobalConfig, global_config_path, load_global};

/// Split `a,b,c` into trimmed non-empty names.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Folders and the global configuration, resolved once.
pub struct Paths {
    pub global: GlobalConfig,
    pub global_path: Option<PathBuf>,
    pub models: PathBuf,
    pub logs: PathBuf,
    pub experiments: PathBuf,
}

impl Paths {
    pub fn resolve(
        models_flag: Option<PathBuf>,
        global_flag: Option<PathBuf>,
    ) -> anyhow::Result<Paths> {
        let global_path = global_flag.or_else(global_config_path);
        let global = load_global(global_path.as_deref())?;
        Ok(Paths {
            models: models_flag.unwrap_or_else(|| global.paths.models.clone()),
            logs: global.paths.logs.clone(),
            experiments: global.paths.experiments.clone(),
            global,
            global_path,
        })
    }
}
