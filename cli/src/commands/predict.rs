//! `neurite predict`

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use neurite_pipeline::Registry;
use neurite_pipeline::data::Table;

#[derive(Args)]
pub struct PredictArgs {
    /// Model reference: name, name@vK or name@K.
    #[arg(long, short)]
    pub model: String,
    /// CSV file holding the model's input columns (extra columns are ignored; empty cells are
    /// imputed as in training).
    pub csv: PathBuf,
    /// Write the predictions to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

pub fn run(a: PredictArgs, models_dir: &Path) -> Result<()> {
    let bundle = Registry::new(models_dir).load(&a.model)?;
    let table = Table::read_csv_with(&a.csv, &bundle.read_options())?;
    let (pred, report) = bundle.predict_table_report(&table)?;
    for (field, n) in &report.unseen {
        eprintln!(
            "warning: {}: column {field:?}: {n} row(s) with a category not seen in training \
             (encoded as all zeros)",
            a.csv.display()
        );
    }
    let text = pred.to_csv(&bundle.manifest.target.columns());
    match a.output {
        Some(p) => neurite_engine::io::atomic_write(&p, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(())
}
