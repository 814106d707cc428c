//! `neurite eda`

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use neurite_pipeline::data::{ReadOptions, Table};
use neurite_pipeline::eda;

use super::data_args::DataArgs;

#[derive(Args)]
pub struct EdaArgs {
    /// CSV file with a header row.
    pub csv: PathBuf,
    /// Target column: adds its distribution and the correlations with it.
    #[arg(long, short)]
    pub target: Option<String>,
    /// Write a self-contained HTML report with SVG charts here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the summary as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data: DataArgs,
}

pub fn run(a: EdaArgs) -> Result<()> {
    let cfg = a.data.to_config()?;
    let table = Table::read_csv_with(
        &a.csv,
        &ReadOptions {
            delimiter: cfg.delimiter_byte()?,
            text_columns: cfg.text_columns(),
            sha256: false,
        },
    )?;
    let report = eda::analyze(&table, a.target.as_deref(), &cfg)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", eda::render_text(&report));
    }
    if let Some(out) = &a.out {
        let html = eda::html::render(&report, &table)?;
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        neurite_engine::io::atomic_write(out, html.as_bytes())?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}
