//! `neurite features importance`

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};
use neurite_pipeline::Registry;
use neurite_pipeline::data::Table;
use neurite_pipeline::importance::permutation_importance;

#[derive(Subcommand)]
pub enum FeaturesCommand {
    /// Permutation importance of a trained model's input columns on a CSV with the target.
    Importance(ImportanceArgs),
}

#[derive(Args)]
pub struct ImportanceArgs {
    /// Model reference: name, name@vK or name@K.
    #[arg(long, short)]
    pub model: String,
    /// CSV with the model's input columns and its target(s) (a held-out split is best).
    pub csv: PathBuf,
    /// Shuffles per column.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print the result as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

pub fn run(c: FeaturesCommand, models_dir: &Path) -> Result<()> {
    let FeaturesCommand::Importance(a) = c;
    let bundle = Registry::new(models_dir).load(&a.model)?;
    let table = Table::read_csv_with(&a.csv, &bundle.read_options())?;
    let r = permutation_importance(&bundle, &table, a.repeats, a.seed)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "permutation importance on {} rows ({} {:.4}, {} repeats): drop of {} when shuffled",
        r.rows, r.metric, r.baseline, r.repeats, r.metric
    );
    let w = r
        .columns
        .iter()
        .map(|c| c.column.len())
        .max()
        .unwrap_or(6)
        .max(6);
    for c in &r.columns {
        println!("  {:<w$}  {:>8.4} ± {:.4}", c.column, c.mean, c.std);
    }
    Ok(())
}
