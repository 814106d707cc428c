//! From a CSV file to cleaned rows and seeded splits: read with the config's options, drop rows
//! whose target is missing (counted), infer the task and the schema, optionally drop rows with
//! missing features, then split train / validation / test (stratified for classification).
//! Training and `neurite data prepare` both start here, so they see the same rows and splits.

use std::path::Path;

use crate::bundle::DataReport;
use crate::data::config::DataConfig;
use crate::data::infer::{Schema, infer_schema};
use crate::data::split::train_test_split;
use crate::data::target::{TargetEncoder, rows_missing_target};
use crate::data::{ReadOptions, Table};
use crate::error::{Error, Result};
use crate::task::{Task, infer_task};

pub use crate::data::config::MIN_MONITORED_VALIDATION_ROWS;

#[derive(Clone, Copy, Debug)]
pub struct SplitOptions {
    pub test_fraction: f64,
    /// Fraction of the rest held out for validation (when at least 10 rows remain).
    pub validation_fraction: f64,
    /// A validation split of fewer rows is given back to training (0: always held out).
    pub min_validation_rows: usize,
    pub seed: u64,
}

impl Default for SplitOptions {
    fn default() -> Self {
        SplitOptions {
            test_fraction: 0.2,
            validation_fraction: 0.1,
            min_validation_rows: 0,
            seed: 42,
        }
    }
}

pub struct Prepared {
    /// The usable rows (dropped ones removed).
    pub table: Table,
    pub targets: Vec<String>,
    pub task: Task,
    pub schema: Schema,
    /// Class of each row (classification), for stratification.
    pub classes: Option<Vec<usize>>,
    /// Row indices into `table`.
    pub train: Vec<usize>,
    pub validation: Vec<usize>,
    pub test: Vec<usize>,
    pub report: DataReport,
}

/// Read options for `cfg`, hashing the file as it is read.
pub fn read_options(cfg: &DataConfig) -> Result<ReadOptions> {
    Ok(ReadOptions {
        delimiter: cfg.delimiter_byte()?,
        text_columns: cfg.text_columns(),
        sha256: true,
    })
}

/// Read `path` and drop the rows whose target is missing (with a warning counting them).
pub fn read_with_targets(
    path: &Path,
    targets: &[String],
    cfg: &DataConfig,
    report: &mut DataReport,
) -> Result<Table> {
    if targets.is_empty() {
        return Err(Error::Config("no target column given".into()));
    }
    cfg.validate()?;
    let table = Table::read_csv_with(path, &read_options(cfg)?)?;
    for t in targets {
        table.col_index(t)?;
        if cfg.drop.contains(t) {
            return Err(Error::Config(format!(
                "column {t:?} is both a target and in the drop list"
            )));
        }
    }
    let missing = rows_missing_target(&table, targets)?;
    if missing.is_empty() {
        return Ok(table);
    }
    report.rows_dropped_missing_target = missing.len();
    report.warnings.push(format!(
        "{}: dropped {} row(s) whose target is missing (first at line {})",
        path.display(),
        missing.len(),
        table.lines[missing[0]]
    ));
    let keep = complement(table.n_rows(), &missing);
    if keep.is_empty() {
        return Err(Error::InvalidData(format!(
            "{}: every row's target is missing",
            path.display()
        )));
    }
    let sha = table.sha256.clone();
    let mut t = table.select_rows(&keep);
    t.sha256 = sha;
    Ok(t)
}

/// The target encoder for a task, fitted on `train`.
pub fn fit_target(task: Task, train: &Table, targets: &[String]) -> Result<TargetEncoder> {
    match task {
        Task::Classification => TargetEncoder::fit_classes(train, &targets[0]),
        Task::Regression => TargetEncoder::fit_regression(train, targets),
        Task::Multilabel => TargetEncoder::fit_multilabel(train, targets),
    }
}

fn complement(n: usize, drop: &[usize]) -> Vec<usize> {
    let mut mask = vec![true; n];
    for &i in drop {
        mask[i] = false;
    }
    (0..n).filter(|&i| mask[i]).collect()
}

/// Everything before fitting: rows, task, schema and splits.
pub fn prepare(
    path: &Path,
    targets: &[String],
    task: Option<Task>,
    cfg: &DataConfig,
    split: &SplitOptions,
) -> Result<Prepared> {
    let mut report = DataReport {
        config: cfg.clone(),
        ..Default::default()
    };
    let mut table = read_with_targets(path, targets, cfg, &mut report)?;
    let task = match task {
        Some(t) => t,
        None => infer_task(&table, targets)?,
    };
    if task == Task::Classification && targets.len() > 1 {
        return Err(Error::Config(
            "classification takes a single target column".into(),
        ));
    }
    // The target first: a one-class target is the error to report, whatever the features.
    match task {
        Task::Classification => {
            TargetEncoder::fit_classes(&table, &targets[0])?;
        }
        Task::Multilabel => {
            TargetEncoder::fit_multilabel(&table, targets)?;
        }
        Task::Regression => {
            for t in targets {
                table.numeric_column(t)?;
            }
        }
    }
    let schema = infer_schema(&table, cfg, targets)?;
    report.warnings.extend(schema.warnings.iter().cloned());
    if cfg.drop_missing_rows {
        let feats: Vec<usize> = schema.features().map(|c| c.index).collect();
        let missing: Vec<usize> = (0..table.n_rows())
            .filter(|&r| feats.iter().any(|&c| table.columns[c].is_missing_at(r)))
            .collect();
        if !missing.is_empty() {
            report.rows_dropped_missing_values = missing.len();
            report.warnings.push(format!(
                "{}: dropped {} row(s) with a missing feature (first at line {})",
                path.display(),
                missing.len(),
                table.lines[missing[0]]
            ));
            let sha = table.sha256.clone();
            table = table.select_rows(&complement(table.n_rows(), &missing));
            table.sha256 = sha;
        }
    }
    let n = table.n_rows();
    if n < 4 {
        return Err(Error::InvalidData(format!(
            "{}: {n} usable data rows are too few to train and test",
            path.display()
        )));
    }
    let classes: Option<Vec<usize>> = if task == Task::Classification && cfg.stratify {
        let enc = TargetEncoder::fit_classes(&table, &targets[0])?;
        Some(enc.encode(&table)?.iter().map(|&v| v as usize).collect())
    } else {
        None
    };
    let (trval, test) = train_test_split(n, split.test_fraction, split.seed, classes.as_deref());
    let trval_classes: Option<Vec<usize>> = classes
        .as_ref()
        .map(|s| trval.iter().map(|&i| s[i]).collect());
    let (tr_local, val_local) = if split.validation_fraction > 0.0 && trval.len() >= 10 {
        train_test_split(
            trval.len(),
            split.validation_fraction,
            split.seed ^ 0x5EED,
            trval_classes.as_deref(),
        )
    } else {
        ((0..trval.len()).collect(), Vec::new())
    };
    // Rows too few to monitor are worth more as training rows (a tenth of iris is 12).
    let (tr_local, val_local) = if val_local.len() < split.min_validation_rows {
        ((0..trval.len()).collect(), Vec::new())
    } else {
        (tr_local, val_local)
    };
    let train = tr_local.iter().map(|&i| trval[i]).collect();
    let validation = val_local.iter().map(|&i| trval[i]).collect();
    report.columns = schema.columns.clone();
    Ok(Prepared {
        table,
        targets: targets.to_vec(),
        task,
        schema,
        classes,
        train,
        validation,
        test,
        report,
    })
}

/// What `neurite data prepare` wrote.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PrepareSummary {
    pub name: String,
    pub processed_dir: String,
    pub splits_dir: String,
    pub task: Task,
    pub rows: SplitRows,
    pub features: usize,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct SplitRows {
    pub train: usize,
    pub validation: usize,
    pub test: usize,
}

/// Write the prepared data under `data_dir`: the raw rows of each split in
/// `splits/<name>/{train,val,test}.csv` (with `split.json`: seed, fractions and source lines,
/// and `folds.json` with `folds` > 1), and the model-ready features of each split with the
/// fitted preprocessing in `processed/<name>/`.
pub fn write_prepared(
    prep: &Prepared,
    cfg: &DataConfig,
    split: &SplitOptions,
    name: &str,
    data_dir: &Path,
    folds: Option<usize>,
) -> Result<PrepareSummary> {
    use crate::data::select::TargetValues;
    use neurite_engine::io::atomic_write;

    crate::registry::validate_name(name)?;
    let t = &prep.table;
    let parts = [
        ("train", &prep.train),
        ("val", &prep.validation),
        ("test", &prep.test),
    ];
    let split_dir = data_dir.join("splits").join(name);
    let proc_dir = data_dir.join("processed").join(name);
    for d in [&split_dir, &proc_dir] {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let json = |v: &dyn erased::Json, p: &Path| -> Result<()> {
        atomic_write(p, v.to_json().as_bytes()).map_err(Error::from)
    };
    let mut lines = serde_json::Map::new();
    for (part, idx) in parts {
        let sub = t.select_rows(idx);
        atomic_write(&split_dir.join(format!("{part}.csv")), &sub.to_csv_bytes())?;
        lines.insert(
            part.to_string(),
            serde_json::json!(idx.iter().map(|&i| t.lines[i]).collect::<Vec<_>>()),
        );
    }
    let split_info = serde_json::json!({
        "source": t.path.display().to_string(),
        "source_sha256": t.sha256,
        "seed": split.seed,
        "test_fraction": split.test_fraction,
        "validation_fraction": split.validation_fraction,
        "stratified": prep.classes.is_some(),
        "targets": prep.targets,
        "rows_dropped_missing_target": prep.report.rows_dropped_missing_target,
        "rows_dropped_missing_values": prep.report.rows_dropped_missing_values,
        "source_lines": lines,
    });
    json(&split_info, &split_dir.join("split.json"))?;
    if let Some(k) = folds.filter(|&k| k > 1) {
        // Folds over the training and validation rows; the test split stays held out.
        let pool: Vec<usize> = prep.train.iter().chain(&prep.validation).copied().collect();
        let cls: Option<Vec<usize>> = prep
            .classes
            .as_ref()
            .map(|c| pool.iter().map(|&i| c[i]).collect());
        let f = crate::data::split::k_fold(pool.len(), k, split.seed, cls.as_deref());
        let folds_json: Vec<serde_json::Value> = f
            .iter()
            .map(|(_, te)| {
                serde_json::json!({
                    "test_source_lines": te.iter().map(|&i| t.lines[pool[i]]).collect::<Vec<_>>()
                })
            })
            .collect();
        let v = serde_json::json!({"k": k, "seed": split.seed, "stratified": cls.is_some(), "folds": folds_json});
        json(&v, &split_dir.join("folds.json"))?;
    }

    // Model-ready features, fitted on the training split.
    let train = t.select_rows(&prep.train);
    let target = fit_target(prep.task, &train, &prep.targets)?;
    let y: TargetValues = target.values(&train)?;
    let (pre, notes) = crate::data::Preprocessor::fit(&train, &prep.schema, cfg, Some(&y))?;
    let mut warnings = prep.report.warnings.clone();
    warnings.extend(notes);
    for (part, idx) in parts {
        let sub = t.select_rows(idx);
        let x = pre.transform(&sub)?;
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut head = pre.features.clone();
        head.extend(prep.targets.iter().cloned());
        w.write_record(&head)
            .map_err(|e| Error::InvalidData(e.to_string()))?;
        let tcols: Vec<usize> = prep
            .targets
            .iter()
            .map(|n| sub.col_index(n))
            .collect::<Result<_>>()?;
        let nf = pre.n_features();
        for r in 0..sub.n_rows() {
            let mut rec: Vec<String> = x[r * nf..(r + 1) * nf]
                .iter()
                .map(|v| crate::data::table::format_f32(*v))
                .collect();
            rec.extend(tcols.iter().map(|&c| sub.cell(c, r).into_owned()));
            w.write_record(&rec)
                .map_err(|e| Error::InvalidData(e.to_string()))?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| Error::InvalidData(e.to_string()))?;
        atomic_write(&proc_dir.join(format!("{part}.csv")), &bytes)?;
    }
    json(&pre, &proc_dir.join("preprocessor.json"))?;
    json(&target, &proc_dir.join("target.json"))?;
    let mut report = prep.report.clone();
    report.warnings = warnings.clone();
    json(&report, &proc_dir.join("report.json"))?;
    Ok(PrepareSummary {
        name: name.to_string(),
        processed_dir: proc_dir.display().to_string(),
        splits_dir: split_dir.display().to_string(),
        task: prep.task,
        rows: SplitRows {
            train: prep.train.len(),
            validation: prep.validation.len(),
            test: prep.test.len(),
        },
        features: pre.n_features(),
        warnings,
    })
}

/// Pretty JSON of anything serializable, as a trait object.
mod erased {
    pub trait Json {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> String {
            serde_json::to_string_pretty(self).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_drops_missing_targets_and_writes_splits() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.csv");
        let mut s = String::from("x,c,y\n");
        for i in 0..50 {
            let y = if i == 7 {
                "NA".to_string()
            } else {
                ["a", "b"][i % 2].to_string()
            };
            s.push_str(&format!("{},{},{y}\n", i * 2, ["u", "v", ""][i % 3]));
        }
        std::fs::write(&p, s).unwrap();
        let cfg = DataConfig::default();
        let split = SplitOptions::default();
        let prep = prepare(&p, &["y".into()], None, &cfg, &split).unwrap();
        assert_eq!(prep.table.n_rows(), 49);
        assert_eq!(prep.report.rows_dropped_missing_target, 1);
        assert!(
            prep.report.warnings[0].contains("line 9"),
            "{:?}",
            prep.report.warnings
        );
        assert_eq!(prep.task, Task::Classification);
        let n = prep.train.len() + prep.validation.len() + prep.test.len();
        assert_eq!(n, 49);
        let sum = write_prepared(&prep, &cfg, &split, "m", dir.path(), Some(3)).unwrap();
        // x, and c one-hot over u and v (the missing ones get the most frequent)
        assert_eq!(sum.features, 1 + 2);
        for part in ["train", "val", "test"] {
            let raw = Table::read_csv(&dir.path().join(format!("splits/m/{part}.csv"))).unwrap();
            let pro = Table::read_csv(&dir.path().join(format!("processed/m/{part}.csv"))).unwrap();
            assert_eq!(raw.n_rows(), pro.n_rows());
            assert_eq!(pro.headers, ["x", "c=u", "c=v", "y"]);
        }
        let folds: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("splits/m/folds.json")).unwrap())
                .unwrap();
        assert_eq!(folds["folds"].as_array().unwrap().len(), 3);
        let pre: crate::data::Preprocessor = serde_json::from_slice(
            &std::fs::read(dir.path().join("processed/m/preprocessor.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(pre.n_features(), 3);
    }
}
