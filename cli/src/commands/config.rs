//! `neurite config show` and `neurite init`

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use neurite_pipeline::config::STARTER_CONFIG;

use super::Paths;
use super::flags::TrainFlags;

#[derive(Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// The merged training configuration, one `key = value  (source)` line per setting.
    Show {
        #[command(flatten)]
        flags: TrainFlags,
        /// Print the merged configuration as JSON instead.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(a: ConfigArgs, paths: &Paths) -> Result<()> {
    match a.command {
        ConfigCommand::Show { flags, json } => {
            let (cfg, layered) = flags.resolve(&paths.global, paths.global_path.as_deref())?;
            if json {
                let v = neurite_pipeline::config::tidy_floats(&serde_json::to_value(&cfg)?);
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            let rows = layered.describe();
            let w = rows
                .iter()
                .map(|r| r.0.len() + r.1.len() + 3)
                .max()
                .unwrap_or(0)
                // one long value (the layer list) should not push every source off screen
                .min(64);
            for (k, v, src) in rows {
                let kv = format!("{k} = {v}");
                println!("{kv:<w$}  ({src})");
            }
            println!(
                "paths: models = {}, logs = {}, experiments = {}  ({})",
                paths.models.display(),
                paths.logs.display(),
                paths.experiments.display(),
                paths
                    .global_path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "default".into())
            );
            Ok(())
        }
    }
}

#[derive(Args)]
pub struct InitArgs {
    /// Where to write the starter configuration.
    #[arg(long, short, default_value = "model_config.yaml")]
    pub out: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

pub fn init(a: InitArgs) -> Result<()> {
    if a.out.exists() && !a.force {
        bail!("{} exists; use --force to overwrite", a.out.display());
    }
    neurite_engine::io::atomic_write(&a.out, STARTER_CONFIG.as_bytes())?;
    println!(
        "wrote {} (train with `neurite train <CSV> --target <COL> --config {}`)",
        a.out.display(),
        a.out.display()
    );
    Ok(())
}
