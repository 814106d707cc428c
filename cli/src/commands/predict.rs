//! `neurite predict`

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use neurite_pipeline::data::Table;
use neurite_pipeline::{Predictions, Registry};
use serde_json::{Map, Value, json};

use super::Paths;

#[derive(Args)]
pub struct PredictArgs {
    /// Model reference: name, name@vK or name@alias.
    #[arg(long, short)]
    pub model: String,
    /// CSV file holding the model's input columns (extra columns are ignored; empty cells are
    /// imputed as in training).
    pub csv: PathBuf,
    /// Write the predictions to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// csv or jsonl (one JSON object per row).
    #[arg(long, default_value = "csv")]
    pub format: String,
}

fn jsonl(p: &Predictions) -> String {
    let mut out = String::new();
    match p {
        Predictions::Classes {
            labels,
            class,
            proba,
        } => {
            let k = labels.len();
            for (r, &c) in class.iter().enumerate() {
                let probs: Map<String, Value> = labels
                    .iter()
                    .zip(&proba[r * k..(r + 1) * k])
                    .map(|(l, &p)| (l.clone(), json!(p)))
                    .collect();
                out.push_str(&json!({"label": labels[c], "probabilities": probs}).to_string());
                out.push('\n');
            }
        }
        Predictions::Values { targets, values } => {
            for row in values.chunks(targets.len().max(1)) {
                let m: Map<String, Value> = targets
                    .iter()
                    .zip(row)
                    .map(|(t, &v)| (t.clone(), json!(v)))
                    .collect();
                out.push_str(&Value::Object(m).to_string());
                out.push('\n');
            }
        }
        Predictions::Labels {
            names,
            proba,
            decision,
        } => {
            let l = names.len().max(1);
            for (p, d) in proba.chunks(l).zip(decision.chunks(l)) {
                let labels: Vec<&String> = names
                    .iter()
                    .zip(d)
                    .filter(|(_, b)| **b)
                    .map(|(n, _)| n)
                    .collect();
                let probs: Map<String, Value> = names
                    .iter()
                    .zip(p)
                    .map(|(n, &v)| (n.clone(), json!(v)))
                    .collect();
                out.push_str(&json!({"labels": labels, "probabilities": probs}).to_string());
                out.push('\n');
            }
        }
    }
    out
}

pub fn run(a: PredictArgs, paths: &Paths) -> Result<()> {
    let bundle = Registry::new(&paths.models).load(&a.model)?;
    let table = Table::read_csv_with(&a.csv, &bundle.read_options())?;
    let (pred, report) = bundle.predict_table_report(&table)?;
    for (field, n) in &report.unseen {
        eprintln!(
            "warning: {}: column {field:?}: {n} row(s) with a category not seen in training \
             (encoded as all zeros)",
            a.csv.display()
        );
    }
    let text = match a.format.as_str() {
        "csv" => pred.to_csv(&bundle.manifest.target.columns()),
        "jsonl" | "json" => jsonl(&pred),
        f => bail!("--format: expected csv or jsonl, got {f:?}"),
    };
    match a.output {
        Some(p) => neurite_engine::io::atomic_write(&p, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(())
}
