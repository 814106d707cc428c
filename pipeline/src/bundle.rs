//! A trained model as files: `model.json` (the manifest: architecture, fitted preprocessing,
//! target encoding, metrics, training facts) and `weights.safetensors`. The manifest carries a
//! format version; loading checks it and validates the weights against the architecture.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use neurite_engine::nn::{Mlp, MlpSpec};
use neurite_engine::{DType, Device, Loss, OptimizerSpec, Tensor, io};
use serde::{Deserialize, Serialize};

use crate::data::config::DataConfig;
use crate::data::infer::ColumnInfo;
use crate::data::preprocess::{Preprocessor, TargetEncoder, TransformReport};
use crate::data::{ReadOptions, Table};
use crate::error::{Error, Result};
use crate::task::Task;

/// The manifest format this build writes; it reads this and every older version.
///
/// - 1: numeric inputs only, standardized (`preprocessor: {features, scaler: {mean, scale}}`).
/// - 2: typed inputs (numbers, booleans, categories, dates) with imputation, encoding, feature
///   engineering, scaling and selection (`preprocessor: {inputs, scaler, features, …}`), and
///   the `data` section (config, schema, warnings).
pub const FORMAT_VERSION: u32 = 2;

pub const MANIFEST_FILE: &str = "model.json";
pub const WEIGHTS_FILE: &str = "weights.safetensors";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainingInfo {
    pub data_path: String,
    pub data_sha256: String,
    pub rows_total: usize,
    pub rows_train: usize,
    pub rows_validation: usize,
    pub rows_test: usize,
    pub epochs_run: usize,
    pub best_epoch: usize,
    pub batch_size: usize,
    pub optimizer: OptimizerSpec,
    pub seed: u64,
    pub device: String,
    pub duration_secs: f64,
}

/// How network outputs become predictions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Head {
    /// One logit per class; probabilities by softmax.
    Softmax,
    /// One logit per label (multi-label), or a single logit for the positive class of a
    /// binary problem; probabilities by the logistic function.
    Sigmoid,
    /// Values (regression), in standardized units.
    Linear,
}

impl Head {
    pub fn parse(s: &str) -> Option<Head> {
        match s {
            "softmax" => Some(Head::Softmax),
            "sigmoid" => Some(Head::Sigmoid),
            "linear" => Some(Head::Linear),
            _ => None,
        }
    }

    /// Network output width for a target encoding under this head.
    pub fn output_dim(self, target: &TargetEncoder) -> usize {
        match (self, target) {
            (Head::Sigmoid, TargetEncoder::Classes { .. }) => 1,
            _ => target.n_outputs(),
        }
    }
}

fn default_head() -> Option<Head> {
    None
}

/// One epoch of training, as recorded in the manifest and the logs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub lr: f64,
    pub loss: f64,
    /// `val_loss`, `val_accuracy`, `val_r2`, … (NaN-free: missing when not computed).
    #[serde(flatten)]
    pub metrics: std::collections::BTreeMap<String, f64>,
    /// Wall time of the epoch.
    #[serde(rename = "epoch_secs")]
    pub seconds: f64,
}

impl EpochRecord {
    /// `loss` or a metric by name.
    pub fn get(&self, key: &str) -> Option<f64> {
        if key == "loss" {
            Some(self.loss)
        } else if key == "lr" {
            Some(self.lr)
        } else {
            self.metrics.get(key).copied()
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub name: String,
    pub version: u32,
    pub task: Task,
    pub preprocessor: Preprocessor,
    pub target: TargetEncoder,
    pub architecture: MlpSpec,
    pub loss: Loss,
    /// Metrics by split (`validation`, `test`) then by name.
    pub metrics: HashMap<String, serde_json::Map<String, serde_json::Value>>,
    pub training: TrainingInfo,
    pub created: String,
    pub neurite_version: String,
    /// Output head (absent in the first manifests: softmax for classification, linear for
    /// regression).
    #[serde(default = "default_head", skip_serializing_if = "Option::is_none")]
    pub head: Option<Head>,
    /// The merged training configuration.
    #[serde(default)]
    pub config: serde_json::Value,
    /// Per-epoch training history.
    #[serde(default)]
    pub history: Vec<EpochRecord>,
    /// `name@vK` this version was trained from (incremental training).
    #[serde(default)]
    pub parent: Option<String>,
    /// The neurite source revision that trained it.
    #[serde(default)]
    pub git_commit: String,
    /// Experiment and run that produced it.
    #[serde(default)]
    pub experiment: Option<String>,
    #[serde(default)]
    pub run_id: Option<String>,
    /// How the data was read and prepared (absent in version-1 manifests).
    #[serde(default)]
    pub data: DataReport,
    /// Set when `neurite tune` chose this model: the study, the trial, the objective and the
    /// tuned hyperparameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<serde_json::Value>,
}

impl Manifest {
    pub fn head(&self) -> Head {
        self.head.unwrap_or(match self.task {
            Task::Regression => Head::Linear,
            Task::Multilabel => Head::Sigmoid,
            Task::Classification => Head::Softmax,
        })
    }
}

/// The data side of a training run: the options, the inferred columns, and what was dropped
/// or warned about.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DataReport {
    pub config: DataConfig,
    /// Every column but the targets, with its inferred type (and why it is not a feature).
    pub columns: Vec<ColumnInfo>,
    pub rows_dropped_missing_target: usize,
    pub rows_dropped_missing_values: usize,
    pub warnings: Vec<String>,
}

/// A model ready for inference.
#[derive(Clone, Debug)]
pub struct Bundle {
    pub manifest: Manifest,
    pub model: Mlp,
    pub dir: PathBuf,
}

/// Predictions for a batch of rows.
#[derive(Clone, Debug, PartialEq)]
pub enum Predictions {
    /// Class index per row and the class probabilities (`rows × classes`).
    Classes {
        labels: Vec<String>,
        class: Vec<usize>,
        proba: Vec<f32>,
    },
    /// Values per row and target (`rows × targets`), in the targets' original units.
    Values {
        targets: Vec<String>,
        values: Vec<f32>,
    },
    /// Multi-label: per row and label the probability (`rows × labels`) and the decision
    /// (probability ≥ 0.5).
    Labels {
        names: Vec<String>,
        proba: Vec<f32>,
        decision: Vec<bool>,
    },
}

impl Predictions {
    pub fn rows(&self) -> usize {
        match self {
            Predictions::Classes { class, .. } => class.len(),
            Predictions::Values { targets, values } => values.len() / targets.len().max(1),
            Predictions::Labels { names, proba, .. } => proba.len() / names.len().max(1),
        }
    }

    /// CSV text: the target column(s), plus `proba_<label>` per class for classification.
    pub fn to_csv(&self, target_names: &[String]) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        match self {
            Predictions::Classes {
                labels,
                class,
                proba,
            } => {
                let mut head = vec![
                    target_names
                        .first()
                        .cloned()
                        .unwrap_or_else(|| "prediction".into()),
                ];
                head.extend(labels.iter().map(|l| format!("proba_{l}")));
                let _ = w.write_record(&head);
                let k = labels.len();
                for (r, &c) in class.iter().enumerate() {
                    let mut rec = vec![labels[c].clone()];
                    rec.extend(proba[r * k..(r + 1) * k].iter().map(|p| format!("{p:.6}")));
                    let _ = w.write_record(&rec);
                }
            }
            Predictions::Values { targets, values } => {
                let _ = w.write_record(targets);
                for row in values.chunks(targets.len().max(1)) {
                    let _ = w.write_record(row.iter().map(|v| format!("{v}")));
                }
            }
            Predictions::Labels {
                names,
                proba,
                decision,
            } => {
                let mut head: Vec<String> = names.clone();
                head.extend(names.iter().map(|n| format!("proba_{n}")));
                let _ = w.write_record(&head);
                let l = names.len().max(1);
                for (p, d) in proba.chunks(l).zip(decision.chunks(l)) {
                    let mut rec: Vec<String> = d
                        .iter()
                        .map(|&b| if b { "1" } else { "0" }.to_string())
                        .collect();
                    rec.extend(p.iter().map(|v| format!("{v:.6}")));
                    let _ = w.write_record(&rec);
                }
            }
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

impl Bundle {
    /// Write `model.json` and `weights.safetensors` into `dir` (each file atomically).
    pub fn write_files(manifest: &Manifest, model: &Mlp, dir: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(manifest).map_err(|e| Error::Manifest {
            path: dir.join(MANIFEST_FILE),
            detail: e.to_string(),
        })?;
        // One metadata key: safetensors writes its metadata map in HashMap order, which
        // varies between processes, and weight files must be byte-identical for a seed.
        let meta = HashMap::from([(
            "neurite".to_string(),
            serde_json::json!({"format": "neurite", "format_version": FORMAT_VERSION}).to_string(),
        )]);
        let weights = io::to_safetensors(&[&model.params, &model.buffers], meta)?;
        io::atomic_write(&dir.join(WEIGHTS_FILE), &weights)?;
        io::atomic_write(&dir.join(MANIFEST_FILE), &json)?;
        Ok(())
    }

    /// Load and validate a model version folder.
    pub fn load(dir: &Path) -> Result<Bundle> {
        let mpath = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&mpath).map_err(|e| Error::io(&mpath, e))?;
        let head: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Manifest {
            path: mpath.clone(),
            detail: e.to_string(),
        })?;
        let fv = head
            .get("format_version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| Error::Manifest {
                path: mpath.clone(),
                detail: "no format_version".into(),
            })?;
        if fv > FORMAT_VERSION as u64 {
            return Err(Error::Manifest {
                path: mpath,
                detail: format!(
                    "format version {fv} is newer than this neurite supports ({FORMAT_VERSION}); upgrade neurite"
                ),
            });
        }
        let mut head = head;
        if fv < 2 {
            // Version 1: convert the numeric-only preprocessor to the current shape.
            let old = head
                .get_mut("preprocessor")
                .map(serde_json::Value::take)
                .unwrap_or_default();
            let pre = Preprocessor::from_v1(old).map_err(|detail| Error::Manifest {
                path: mpath.clone(),
                detail: format!("preprocessor: {detail}"),
            })?;
            head["preprocessor"] = serde_json::to_value(&pre).map_err(|e| Error::Manifest {
                path: mpath.clone(),
                detail: e.to_string(),
            })?;
        }
        let manifest: Manifest = serde_json::from_value(head).map_err(|e| Error::Manifest {
            path: mpath.clone(),
            detail: e.to_string(),
        })?;
        manifest.architecture.validate()?;
        if manifest.architecture.input_dim != manifest.preprocessor.n_features()
            || manifest.architecture.output_dim() != manifest.head().output_dim(&manifest.target)
        {
            return Err(Error::Manifest {
                path: mpath,
                detail: "architecture does not match the preprocessing or targets".into(),
            });
        }
        let mut model = Mlp::new(manifest.architecture.clone(), 0, DType::F32, Device::Cpu)?;
        let wpath = dir.join(WEIGHTS_FILE);
        let bytes = io::read_file(&wpath)?;
        let Mlp {
            params, buffers, ..
        } = &mut model;
        io::load_safetensors(&bytes, &mut [params, buffers], &wpath.display().to_string())?;
        Ok(Bundle {
            manifest,
            model,
            dir: dir.to_path_buf(),
        })
    }

    /// The fields a prediction request must provide, in order: the raw input columns with the
    /// kinds inferred in training (categories as fitted). A field is optional (a missing value
    /// is imputed) when it has an imputer and training saw it missing.
    pub fn input_schema(&self) -> Vec<crate::schema::InputField> {
        self.manifest
            .preprocessor
            .inputs
            .iter()
            .map(|i| crate::schema::InputField {
                name: i.name.clone(),
                kind: i.field_kind(),
                required: i.imputer.is_none() || !i.missing_in_training,
            })
            .collect()
    }

    /// Predict for rows given as strings, one cell per field of [`Bundle::input_schema`] in
    /// that order. A bad value is an [`Error::Input`] naming its row (0-based) and field; an
    /// empty cell of an optional field is imputed; an unseen category encodes as all zeros.
    pub fn predict_rows(&self, rows: &[Vec<String>]) -> Result<Predictions> {
        Ok(self.predict_rows_report(rows)?.0)
    }

    /// [`Bundle::predict_rows`], with the count of unseen categories (and imputed cells) per
    /// field.
    pub fn predict_rows_report(
        &self,
        rows: &[Vec<String>],
    ) -> Result<(Predictions, TransformReport)> {
        let table = self.request_table(rows)?;
        self.predict_table_report(&table).map_err(cell_to_input)
    }

    /// The model's input matrix for request rows (what [`Bundle::predict_rows`] feeds the
    /// network).
    pub fn transform_rows(&self, rows: &[Vec<String>]) -> Result<Vec<f32>> {
        let table = self.request_table(rows)?;
        self.manifest
            .preprocessor
            .transform(&table)
            .map_err(cell_to_input)
    }

    fn request_table(&self, rows: &[Vec<String>]) -> Result<Table> {
        let pre = &self.manifest.preprocessor;
        Table::from_rows_with("request", pre.input_names(), rows, &pre.text_inputs())
    }

    /// How to read a CSV file of inputs for this model (categories and dates stay text).
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            delimiter: self.manifest.data.config.delimiter_byte().ok().flatten(),
            text_columns: self.manifest.preprocessor.text_inputs(),
            sha256: false,
        }
    }

    /// Predict for every row of `table` (which must hold the input columns).
    pub fn predict_table(&self, table: &Table) -> Result<Predictions> {
        Ok(self.predict_table_report(table)?.0)
    }

    pub fn predict_table_report(&self, table: &Table) -> Result<(Predictions, TransformReport)> {
        let (x, report) = self.manifest.preprocessor.transform_report(table)?;
        Ok((self.predict_matrix(&x, table.n_rows())?, report))
    }

    /// Predict from preprocessed inputs `rows × n_features`.
    pub fn predict_matrix(&self, x: &[f32], rows: usize) -> Result<Predictions> {
        let f = self.manifest.preprocessor.n_features();
        let xt = Tensor::from_vec(x.to_vec(), [rows, f])?;
        let out = self.model.predict(&xt)?;
        let mut v = out.to_vec_f32()?;
        let sigmoid = |v: &[f32]| -> Vec<f32> {
            v.iter()
                .map(|&z| (1.0 / (1.0 + (-(z as f64)).exp())) as f32)
                .collect()
        };
        let argmax = |r: &[f32]| {
            r.iter()
                .enumerate()
                .fold(0, |b, (i, &p)| if p > r[b] { i } else { b })
        };
        Ok(match (&self.manifest.target, self.manifest.head()) {
            (TargetEncoder::Classes { labels, .. }, Head::Sigmoid) => {
                // One logit for the positive class (labels[1]).
                let p = sigmoid(&v);
                let proba: Vec<f32> = p.iter().flat_map(|&q| [1.0 - q, q]).collect();
                let class = p.iter().map(|&q| usize::from(q >= 0.5)).collect();
                Predictions::Classes {
                    labels: labels.clone(),
                    class,
                    proba,
                }
            }
            (TargetEncoder::Classes { labels, .. }, _) => {
                let proba = neurite_engine::ops::softmax(&out)?.to_vec_f32()?;
                let class = proba.chunks(labels.len()).map(argmax).collect();
                Predictions::Classes {
                    labels: labels.clone(),
                    class,
                    proba,
                }
            }
            (TargetEncoder::Regression { columns, scaler }, _) => {
                scaler.inverse_transform(&mut v, columns.len());
                Predictions::Values {
                    targets: columns.clone(),
                    values: v,
                }
            }
            (TargetEncoder::Multilabel { columns }, _) => {
                let proba = sigmoid(&v);
                let decision = proba.iter().map(|&p| p >= 0.5).collect();
                Predictions::Labels {
                    names: columns.clone(),
                    proba,
                    decision,
                }
            }
        })
    }
}

/// A cell error in a request table becomes an input error naming the row (0-based).
fn cell_to_input(e: Error) -> Error {
    match e {
        Error::Cell {
            line,
            column,
            detail,
            ..
        } => Error::Input {
            row: line.saturating_sub(2) as usize,
            field: column,
            detail,
        },
        other => other,
    }
}

#[cfg(all(test, feature = "train"))]
mod tests {
    use super::*;
    use crate::config::TrainConfig;
    use crate::train::{TrainEnv, train};

    #[test]
    fn predict_rows_matches_predict_table_and_names_bad_cells() {
        let dir = tempfile::tempdir().unwrap();
        let reg = crate::Registry::new(dir.path());
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let mut c = TrainConfig {
            target: vec!["species".into()],
            ..Default::default()
        };
        c.training.epochs = 5;
        train(&root.join("data/iris.csv"), &c, TrainEnv::new(&reg)).unwrap();
        let b = reg.load("iris").unwrap();
        let names: Vec<String> = b.input_schema().into_iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        );
        let rows = vec![vec![
            "5.1".to_string(),
            "3.5".into(),
            "1.4".into(),
            "0.2".into(),
        ]];
        let p = b.predict_rows(&rows).unwrap();
        let t = Table::read_csv(&root.join("data/iris.csv"))
            .unwrap()
            .select_rows(&[0]);
        assert_eq!(p, b.predict_table(&t).unwrap());
        let bad = vec![
            rows[0].clone(),
            vec!["1".into(), "x".into(), "1".into(), "1".into()],
        ];
        match b.predict_rows(&bad).unwrap_err() {
            Error::Input { row, field, .. } => {
                assert_eq!((row, field.as_str()), (1, "sepal_width"))
            }
            e => panic!("unexpected {e}"),
        }
    }
}
