//! `neurite eval`

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use neurite_pipeline::Registry;
use neurite_pipeline::data::Table;
use neurite_pipeline::metrics::classification::classification_report;
use neurite_pipeline::train::score;
use serde_json::{Value, json};

use super::Paths;

#[derive(Args)]
pub struct EvalArgs {
    /// Model reference: name, name@vK or name@alias.
    #[arg(long, short)]
    pub model: String,
    /// CSV file with the model's features and targets.
    pub csv: PathBuf,
    /// Print the metrics as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: EvalArgs, paths: &Paths) -> Result<()> {
    let bundle = Registry::new(&paths.models).load(&a.model)?;
    let table = Table::read_csv(&a.csv)?;
    let metrics = score(&bundle, &table)?;
    let m = &bundle.manifest;
    if a.json {
        println!(
            "{}",
            json!({"model": m.name, "version": m.version, "rows": table.n_rows(), "metrics": metrics})
        );
        return Ok(());
    }
    println!(
        "{}@v{} on {} ({} rows)",
        m.name,
        m.version,
        a.csv.display(),
        table.n_rows()
    );
    for (k, v) in &metrics {
        if let Some(x) = v.as_f64() {
            println!("  {k:<22} {x:.4}");
        }
    }
    if let (
        neurite_pipeline::data::target::TargetEncoder::Classes { labels, .. },
        Some(Value::Array(cm)),
    ) = (&m.target, metrics.get("confusion_matrix"))
    {
        println!(
            "\nconfusion matrix (rows: true, columns: predicted; {})",
            labels.join(", ")
        );
        for row in cm {
            println!("  {row}");
        }
        let pred = bundle.predict_table(&table)?;
        if let neurite_pipeline::Predictions::Classes { class, .. } = pred {
            let truth: Vec<usize> = m
                .target
                .encode(&table)?
                .iter()
                .map(|&v| v as usize)
                .collect();
            println!("\n{}", classification_report(labels, &truth, &class));
        }
    }
    Ok(())
}
