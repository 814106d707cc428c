//! `neurite experiments list | show | compare`

use anyhow::Result;
use clap::{Args, Subcommand};
use neurite_pipeline::experiments::{Experiments, RunRecord};
use serde_json::{Value, json};

use super::Paths;

#[derive(Args)]
pub struct ExperimentsArgs {
    #[command(subcommand)]
    pub command: ExperimentsCommand,
}

#[derive(Subcommand)]
pub enum ExperimentsCommand {
    /// Runs, oldest first, with status and headline metric.
    List {
        /// Only this experiment.
        experiment: Option<String>,
        /// Print the result as JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// One run: parameters, status, per-epoch history, final metrics.
    Show {
        run: String,
        /// Print the result as JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// Runs side by side: status, duration, epochs and test metrics.
    Compare {
        runs: Vec<String>,
        /// Sort by this test metric (descending for accuracy-like metrics and R²).
        #[arg(long)]
        sort: Option<String>,
        /// Print the result as JSON on stdout
        #[arg(long)]
        json: bool,
    },
}

fn test_metric(r: &RunRecord, k: &str) -> Option<f64> {
    r.metrics
        .get("test")
        .and_then(|t| t.get(k))
        .and_then(Value::as_f64)
}

fn headline(r: &RunRecord) -> String {
    for k in ["accuracy", "subset_accuracy", "r2"] {
        if let Some(v) = test_metric(r, k) {
            return format!("{k} {v:.4}");
        }
    }
    "-".into()
}

fn status(r: &RunRecord) -> String {
    format!("{:?}", r.status).to_lowercase()
}

fn table(head: &[&str], rows: &[Vec<String>]) {
    let mut w: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |c: Vec<String>| {
        println!(
            "{}",
            c.iter()
                .enumerate()
                .map(|(i, s)| format!("{s:<width$}", width = w[i]))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
        )
    };
    line(head.iter().map(|s| s.to_string()).collect());
    line(w.iter().map(|&n| "-".repeat(n)).collect());
    for r in rows {
        line(r.clone());
    }
}

pub fn run(a: ExperimentsArgs, paths: &Paths) -> Result<()> {
    let ex = Experiments::new(&paths.experiments);
    match a.command {
        ExperimentsCommand::List { experiment, json } => {
            let runs = ex.list(experiment.as_deref())?;
            if json {
                println!("{}", serde_json::to_string(&runs)?);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = runs
                .iter()
                .map(|r| {
                    vec![
                        r.run_id.clone(),
                        r.experiment.clone(),
                        status(r),
                        format!("{}@v{}", r.model, r.version),
                        headline(r),
                        r.duration_secs
                            .map(|d| format!("{d:.2}s"))
                            .unwrap_or_else(|| "-".into()),
                        r.started.clone(),
                    ]
                })
                .collect();
            if rows.is_empty() {
                println!("no runs in {}", paths.experiments.display());
            } else {
                table(
                    &[
                        "RUN",
                        "EXPERIMENT",
                        "STATUS",
                        "MODEL",
                        "TEST",
                        "DURATION",
                        "STARTED",
                    ],
                    &rows,
                );
            }
        }
        ExperimentsCommand::Show { run, json } => {
            let (r, hist) = ex.get(&run)?;
            if json {
                println!("{}", json!({"run": r, "history": hist}));
                return Ok(());
            }
            println!(
                "{} ({}) {}: {}@v{}",
                r.run_id,
                r.experiment,
                status(&r),
                r.model,
                r.version
            );
            println!(
                "  data: {}   started {}   duration {}",
                r.data_path,
                r.started,
                r.duration_secs
                    .map(|d| format!("{d:.2}s"))
                    .unwrap_or_else(|| "-".into())
            );
            if let Some(e) = &r.error {
                println!("  error: {e}");
            }
            println!("  epochs: {}", hist.len());
            if let Some(last) = hist.last() {
                let m: Vec<String> = last
                    .metrics
                    .iter()
                    .map(|(k, v)| format!("{k} {v:.4}"))
                    .collect();
                println!("  last epoch: loss {:.4} {}", last.loss, m.join(" "));
            }
            if let Some(t) = r.metrics.get("test").and_then(Value::as_object) {
                let m: Vec<String> = t
                    .iter()
                    .filter_map(|(k, v)| v.as_f64().map(|x| format!("{k} {x:.4}")))
                    .collect();
                println!("  test: {}", m.join(", "));
            }
            println!("  params: {}", r.params);
        }
        ExperimentsCommand::Compare { runs, sort, json } => {
            let mut recs: Vec<RunRecord> = if runs.is_empty() {
                ex.list(None)?
            } else {
                runs.iter()
                    .map(|id| ex.get(id).map(|x| x.0))
                    .collect::<Result<_, _>>()?
            };
            if let Some(k) = &sort {
                let desc = ["accuracy", "r2", "auc", "f1", "precision", "recall"]
                    .iter()
                    .any(|m| k.contains(m));
                recs.sort_by(|a, b| {
                    let (x, y) = (
                        test_metric(a, k).unwrap_or(f64::NAN),
                        test_metric(b, k).unwrap_or(f64::NAN),
                    );
                    if desc {
                        y.total_cmp(&x)
                    } else {
                        x.total_cmp(&y)
                    }
                });
            }
            let keys = ["accuracy", "f1_macro", "log_loss", "r2", "rmse", "mae"];
            if json {
                println!("{}", serde_json::to_string(&recs)?);
                return Ok(());
            }
            let present: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|k| recs.iter().any(|r| test_metric(r, k).is_some()))
                .collect();
            let mut head = vec![
                "RUN",
                "STATUS",
                "MODEL",
                "OPTIMIZER",
                "LR",
                "HIDDEN",
                "DURATION",
            ];
            head.extend(present.iter().copied());
            let rows: Vec<Vec<String>> = recs
                .iter()
                .map(|r| {
                    let hidden: Vec<String> = r.params["model"]["hidden_layers"]
                        .as_array()
                        .map(|a| a.iter().map(|l| l["units"].to_string()).collect())
                        .unwrap_or_default();
                    let mut row = vec![
                        r.run_id.clone(),
                        status(r),
                        format!("{}@v{}", r.model, r.version),
                        r.params["optimizer"]["type"]
                            .as_str()
                            .unwrap_or("-")
                            .to_string(),
                        r.params["optimizer"]["lr"].to_string(),
                        hidden.join("-"),
                        r.duration_secs
                            .map(|d| format!("{d:.2}s"))
                            .unwrap_or_else(|| "-".into()),
                    ];
                    row.extend(present.iter().map(|k| {
                        test_metric(r, k)
                            .map(|v| format!("{v:.4}"))
                            .unwrap_or_else(|| "-".into())
                    }));
                    row
                })
                .collect();
            table(&head, &rows);
        }
    }
    Ok(())
}
