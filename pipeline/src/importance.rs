//! Permutation importance of a trained model's input columns: how much the model's score
//! (accuracy, or mean R²) drops when one raw input column is shuffled across rows, averaged
//! over seeded repeats. Columns are permuted before preprocessing, so a categorical column's
//! one-hot features move together.

use neurite_kernels::rng::Rng;
use serde::Serialize;

use crate::bundle::Bundle;
use crate::data::Table;
use crate::data::target::rows_missing_target;
use crate::error::{Error, Result};
use crate::train::score;

#[derive(Clone, Debug, Serialize)]
pub struct Importance {
    pub column: String,
    /// Mean drop of the score over the repeats (higher: more important).
    pub mean: f64,
    pub std: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ImportanceReport {
    pub metric: String,
    pub baseline: f64,
    pub repeats: usize,
    pub rows: usize,
    /// Sorted by decreasing importance.
    pub columns: Vec<Importance>,
}

fn headline(bundle: &Bundle, table: &Table) -> Result<(String, f64)> {
    let m = score(bundle, table)?;
    for k in ["accuracy", "r2"] {
        if let Some(v) = m.get(k).and_then(|v| v.as_f64()) {
            return Ok((k.to_string(), v));
        }
    }
    Err(Error::InvalidData(
        "the model's metrics have no accuracy or r2".into(),
    ))
}

/// Permutation importance on `table` (which must hold the inputs and the targets).
pub fn permutation_importance(
    bundle: &Bundle,
    table: &Table,
    repeats: usize,
    seed: u64,
) -> Result<ImportanceReport> {
    if repeats == 0 {
        return Err(Error::Config("repeats must be at least 1".into()));
    }
    let targets = bundle.manifest.target.columns();
    let missing = rows_missing_target(table, &targets)?;
    let table = if missing.is_empty() {
        table.clone()
    } else {
        let mut drop = vec![false; table.n_rows()];
        missing.iter().for_each(|&i| drop[i] = true);
        let keep: Vec<usize> = (0..table.n_rows()).filter(|&i| !drop[i]).collect();
        table.select_rows(&keep)
    };
    if table.n_rows() < 2 {
        return Err(Error::InvalidData(format!(
            "{}: permutation importance needs at least two rows with a target",
            table.path.display()
        )));
    }
    let (metric, baseline) = headline(bundle, &table)?;
    let rng = Rng::new(seed);
    let mut out = Vec::new();
    for (k, name) in bundle
        .manifest
        .preprocessor
        .input_names()
        .into_iter()
        .enumerate()
    {
        let c = table.col_index(&name)?;
        let mut drops = Vec::with_capacity(repeats);
        for rep in 0..repeats {
            let mut perm: Vec<usize> = (0..table.n_rows()).collect();
            rng.fork((k * 1000 + rep) as u64).shuffle(&mut perm);
            let mut shuffled = table.clone();
            shuffled.columns[c] = table.columns[c].select(&perm);
            drops.push(baseline - headline(bundle, &shuffled)?.1);
        }
        let mean = drops.iter().sum::<f64>() / repeats as f64;
        let var = drops.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / repeats as f64;
        out.push(Importance {
            column: name,
            mean,
            std: var.sqrt(),
        });
    }
    out.sort_by(|a, b| b.mean.total_cmp(&a.mean));
    Ok(ImportanceReport {
        metric,
        baseline,
        repeats,
        rows: table.n_rows(),
        columns: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TrainConfig;
    use crate::train::{TrainEnv, train};
    use std::path::Path;

    #[test]
    fn the_informative_column_matters_most() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("imp.csv");
        let mut s = String::from("signal,noise,y\n");
        for i in 0..200u32 {
            let x = (i as f64 * 0.731).sin();
            let n = ((i * 7919) % 101) as f64 / 100.0;
            s.push_str(&format!(
                "{x:.4},{n:.3},{}\n",
                if x > 0.0 { "a" } else { "b" }
            ));
        }
        std::fs::write(&p, s).unwrap();
        let reg = crate::Registry::new(dir.path().join("m"));
        let mut o = TrainConfig {
            target: vec!["y".into()],
            ..Default::default()
        };
        o.training.epochs = 60;
        train(&p, &o, TrainEnv::new(&reg)).unwrap();
        let b = reg.load("imp").unwrap();
        let t = Table::read_csv(Path::new(&p)).unwrap();
        let r = permutation_importance(&b, &t, 3, 1).unwrap();
        assert_eq!(r.metric, "accuracy");
        assert_eq!(r.columns[0].column, "signal", "{:?}", r.columns);
        assert!(r.columns[0].mean > 0.2, "{:?}", r.columns);
    }
}
