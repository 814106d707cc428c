//! `neurite models list | show | promote | rollback | diff | rm`

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use clap::{Args, Subcommand};
use neurite_pipeline::registry::ModelRef;
use neurite_pipeline::{Bundle, Registry};
use serde_json::{Value, json};

#[derive(Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: ModelsCommand,
}

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// Every model with its versions, aliases and latest test metric.
    List {
        /// Print the result as JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// One version's manifest: task, inputs, targets, architecture, metrics, training facts.
    Show {
        /// name, name@vK or name@alias
        reference: String,
        /// Print the result as JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// Point an alias (e.g. production) at a version.
    Promote { reference: String, alias: String },
    /// Move an alias back to the version it had before its latest promotion.
    Rollback { name: String, alias: String },
    /// Configuration and metric differences between two versions.
    Diff {
        left: String,
        right: String,
        /// Print the result as JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// Delete a version (refused while an alias points to it, unless --force).
    Rm {
        reference: String,
        #[arg(long)]
        force: bool,
    },
}

pub fn run(a: ModelsArgs, models_dir: &Path) -> Result<()> {
    let reg = Registry::new(models_dir);
    match a.command {
        ModelsCommand::List { json } => list(&reg, json),
        ModelsCommand::Show { reference, json } => show(&reg, &reference, json),
        ModelsCommand::Promote { reference, alias } => {
            let name = ModelRef::parse(&reference)?.name;
            let (k, prev) = reg.promote(&reference, &alias)?;
            match prev {
                Some(p) if p != k => println!("{name}@{alias}: v{p} -> v{k}"),
                _ => println!("{name}@{alias}: v{k}"),
            }
            Ok(())
        }
        ModelsCommand::Rollback { name, alias } => {
            let (from, to) = reg.rollback(&name, &alias)?;
            println!("{name}@{alias}: v{from} -> v{to}");
            Ok(())
        }
        ModelsCommand::Diff { left, right, json } => diff(&reg, &left, &right, json),
        ModelsCommand::Rm { reference, force } => {
            let name = ModelRef::parse(&reference)?.name;
            let k = reg.remove(&reference, force)?;
            println!("removed {name}@v{k}");
            Ok(())
        }
    }
}

/// The headline test metric of a manifest.
fn headline(b: &Bundle) -> String {
    let test = b.manifest.metrics.get("test");
    for key in ["accuracy", "r2"] {
        if let Some(v) = test.and_then(|t| t.get(key)).and_then(Value::as_f64) {
            return format!("{key} {v:.4}");
        }
    }
    "-".into()
}

fn print_table(head: &[&str], rows: &[Vec<String>]) {
    let mut w: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let s: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = w[i]))
            .collect();
        println!("{}", s.join("  ").trim_end());
    };
    line(head.iter().map(|s| s.to_string()).collect());
    line(w.iter().map(|&n| "-".repeat(n)).collect());
    for r in rows {
        line(r.clone());
    }
}

fn list(reg: &Registry, json: bool) -> Result<()> {
    let mut out = Vec::new();
    let mut rows = Vec::new();
    for name in reg.models()? {
        let versions = reg.versions(&name)?;
        let Some(&latest) = versions.last() else {
            continue;
        };
        let aliases = reg.aliases(&name)?;
        let b = reg.load(&format!("{name}@v{latest}"))?;
        out.push(json!({
            "name": name, "versions": versions, "latest": latest, "aliases": aliases,
            "task": b.manifest.task, "created": b.manifest.created,
            "test_metrics": b.manifest.metrics.get("test"),
        }));
        let al: Vec<String> = aliases.iter().map(|(a, v)| format!("{a}=v{v}")).collect();
        rows.push(vec![
            name.clone(),
            versions
                .iter()
                .map(|k| format!("v{k}"))
                .collect::<Vec<_>>()
                .join(","),
            format!("{:?}", b.manifest.task).to_lowercase(),
            headline(&b),
            if al.is_empty() {
                "-".into()
            } else {
                al.join(" ")
            },
            b.manifest.created.clone(),
        ]);
    }
    if json {
        println!("{}", Value::Array(out));
    } else if rows.is_empty() {
        println!("no models in {}", reg.root.display());
    } else {
        print_table(
            &[
                "MODEL",
                "VERSIONS",
                "TASK",
                "LATEST TEST",
                "ALIASES",
                "CREATED",
            ],
            &rows,
        );
    }
    Ok(())
}

fn show(reg: &Registry, reference: &str, json: bool) -> Result<()> {
    let r = ModelRef::parse(reference)?;
    let (dir, k) = reg.resolve(&r)?;
    let b = Bundle::load(&dir)?;
    let aliases: Vec<String> = reg
        .aliases(&r.name)?
        .into_iter()
        .filter(|(_, v)| *v == k)
        .map(|(a, _)| a)
        .collect();
    if json {
        let mut v = serde_json::to_value(&b.manifest)?;
        v["aliases"] = json!(aliases);
        v["path"] = json!(dir.display().to_string());
        println!("{v}");
        return Ok(());
    }
    let m = &b.manifest;
    println!(
        "{}@v{}{}",
        m.name,
        m.version,
        if aliases.is_empty() {
            String::new()
        } else {
            format!(" ({})", aliases.join(", "))
        }
    );
    println!("  path:       {}", dir.display());
    println!(
        "  created:    {} (neurite {})",
        m.created, m.neurite_version
    );
    println!("  task:       {:?}", m.task);
    println!("  inputs:     {}", m.preprocessor.features.join(", "));
    println!("  targets:    {}", m.target.columns().join(", "));
    println!(
        "  model:      {} parameters, loss {}",
        b.model.num_params(),
        m.loss.name()
    );
    let t = &m.training;
    println!(
        "  training:   {} rows ({} train / {} val / {} test), {} epochs (best {}), batch {}, {} lr {}, seed {}, {:.2}s on {}",
        t.rows_total,
        t.rows_train,
        t.rows_validation,
        t.rows_test,
        t.epochs_run,
        t.best_epoch,
        t.batch_size,
        t.optimizer.name(),
        t.optimizer.lr(),
        t.seed,
        t.duration_secs,
        t.device
    );
    println!(
        "  data:       {} (sha256 {})",
        t.data_path,
        &t.data_sha256[..t.data_sha256.len().min(16)]
    );
    for (split, metrics) in &m.metrics {
        let s: Vec<String> = metrics
            .iter()
            .filter_map(|(k, v)| v.as_f64().map(|x| format!("{k} {x:.4}")))
            .collect();
        println!("  {split}: {}", s.join(", "));
    }
    Ok(())
}

/// Flatten a JSON value into `path → scalar` (arrays of numbers kept whole, as text).
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        Value::Array(a) if a.iter().any(|x| x.is_object()) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

fn diff(reg: &Registry, left: &str, right: &str, json: bool) -> Result<()> {
    let (a, b) = (reg.load(left)?, reg.load(right)?);
    let pick = |b: &Bundle| -> Result<BTreeMap<String, String>> {
        let m = serde_json::to_value(&b.manifest)?;
        let mut out = BTreeMap::new();
        for key in [
            "task",
            "architecture",
            "loss",
            "training",
            "metrics",
            "target",
        ] {
            flatten(key, &m[key], &mut out);
        }
        flatten(
            "preprocessor.features",
            &m["preprocessor"]["features"],
            &mut out,
        );
        Ok(out)
    };
    let (fa, fb) = (pick(&a)?, pick(&b)?);
    let mut keys: Vec<&String> = fa.keys().chain(fb.keys()).collect();
    keys.sort();
    keys.dedup();
    let rows: Vec<Vec<String>> = keys
        .into_iter()
        .filter(|k| fa.get(*k) != fb.get(*k))
        .filter(|k| !k.ends_with("duration_secs") && !k.ends_with("created"))
        .map(|k| {
            vec![
                k.clone(),
                fa.get(k).cloned().unwrap_or_else(|| "-".into()),
                fb.get(k).cloned().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    if json {
        let v: Vec<Value> = rows
            .iter()
            .map(|r| json!({"key": r[0], "left": r[1], "right": r[2]}))
            .collect();
        println!("{}", Value::Array(v));
    } else if rows.is_empty() {
        println!("no differences in configuration or metrics");
    } else {
        print_table(&["KEY", left, right], &rows);
    }
    Ok(())
}
