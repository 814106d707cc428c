//! `neurite report`

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use neurite_pipeline::Registry;
use neurite_pipeline::experiments::Experiments;
use neurite_pipeline::report;

use super::Paths;

#[derive(Args)]
pub struct ReportArgs {
    /// A model version: name, name@vK or name@alias.
    #[arg(long, conflicts_with_all = ["experiment", "study"])]
    pub model: Option<String>,
    /// An experiment: compare its runs.
    #[arg(long, conflicts_with = "study")]
    pub experiment: Option<String>,
    /// A tuning study (`neurite tune`): history, importances, parallel coordinates.
    #[arg(long)]
    pub study: Option<String>,
    /// Output file (default: <model>-v<k>-report.html, <experiment>-experiment.html or
    /// <study>-study.html).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

pub fn run(a: ReportArgs, paths: &Paths) -> Result<()> {
    if let Some(name) = &a.study {
        neurite_pipeline::registry::validate_name(name)?;
        let study = neurite_pipeline::tune::Study::open(&paths.experiments.join(name))?;
        let html = neurite_pipeline::tune::report::study_report(&study)?;
        let out = a
            .out
            .unwrap_or_else(|| PathBuf::from(format!("{name}-study.html")));
        neurite_engine::io::atomic_write(&out, html.as_bytes())?;
        println!("wrote {} ({} KB)", out.display(), html.len() / 1024);
        return Ok(());
    }
    let (html, default) = match (&a.model, &a.experiment) {
        (Some(m), None) => {
            let b = Registry::new(&paths.models).load(m)?;
            let name = format!("{}-v{}-report.html", b.manifest.name, b.manifest.version);
            (report::model_report(&b)?, name)
        }
        (None, Some(e)) => {
            let runs = Experiments::new(&paths.experiments).list(Some(e))?;
            if runs.is_empty() {
                bail!(
                    "experiment {e:?} has no runs under {}",
                    paths.experiments.display()
                );
            }
            (
                report::experiment_report(e, &runs, &paths.experiments)?,
                format!("{e}-experiment.html"),
            )
        }
        _ => bail!("give --model NAME[@VERSION], --experiment NAME or --study NAME"),
    };
    let out = a.out.unwrap_or_else(|| PathBuf::from(default));
    neurite_engine::io::atomic_write(&out, html.as_bytes())?;
    println!("wrote {} ({} KB)", out.display(), html.len() / 1024);
    Ok(())
}
