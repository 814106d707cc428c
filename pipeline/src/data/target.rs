//! What the model predicts and how targets map to network outputs: label encoding for a class
//! target, standardization for regression targets.

use serde::{Deserialize, Serialize};

use super::preprocess::raw_matrix;
use super::scale::StandardScaler;
use super::select::TargetValues;
use super::table::{Column, Table, is_missing};
use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetEncoder {
    /// Single-label classification: class `k` is `labels[k]`.
    Classes { column: String, labels: Vec<String> },
    /// (Multi-output) regression: outputs standardized by `scaler` during training.
    Regression {
        columns: Vec<String>,
        scaler: StandardScaler,
    },
    /// Multi-label classification: one binary column per label.
    Multilabel { columns: Vec<String> },
}

impl TargetEncoder {
    /// Fit a label encoder (labels sorted numerically when they all are numbers).
    pub fn fit_classes(table: &Table, column: &str) -> Result<TargetEncoder> {
        let c = table.col_index(column)?;
        let mut labels: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for r in 0..table.n_rows() {
            let cell = table.cell(c, r);
            if is_missing(&cell) {
                return Err(table.cell_error(c, r, "missing target value"));
            }
            if seen.insert(cell.to_string()) {
                labels.push(cell.into_owned());
            }
        }
        if labels.iter().all(|l| l.parse::<f64>().is_ok()) {
            labels.sort_by(|a, b| {
                a.parse::<f64>()
                    .unwrap_or(0.0)
                    .total_cmp(&b.parse::<f64>().unwrap_or(0.0))
            });
        } else {
            labels.sort();
        }
        if labels.len() < 2 {
            return Err(Error::InvalidData(format!(
                "{}: target {column:?} has a single class ({:?}); classification needs at least two",
                table.path.display(),
                labels.first().map(String::as_str).unwrap_or("")
            )));
        }
        Ok(TargetEncoder::Classes {
            column: column.into(),
            labels,
        })
    }

    pub fn fit_regression(table: &Table, columns: &[String]) -> Result<TargetEncoder> {
        let y = raw_matrix(table, columns)?;
        Ok(TargetEncoder::Regression {
            columns: columns.to_vec(),
            scaler: StandardScaler::fit(&y, table.n_rows(), columns.len()),
        })
    }

    /// A multi-label encoder: every column must hold binary values (0/1, true/false, yes/no).
    pub fn fit_multilabel(table: &Table, columns: &[String]) -> Result<TargetEncoder> {
        let enc = TargetEncoder::Multilabel {
            columns: columns.to_vec(),
        };
        enc.encode(table)?;
        Ok(enc)
    }

    pub fn columns(&self) -> Vec<String> {
        match self {
            TargetEncoder::Classes { column, .. } => vec![column.clone()],
            TargetEncoder::Regression { columns, .. } | TargetEncoder::Multilabel { columns } => {
                columns.clone()
            }
        }
    }

    /// Number of classes, labels or regression outputs.
    pub fn n_outputs(&self) -> usize {
        match self {
            TargetEncoder::Classes { labels, .. } => labels.len(),
            TargetEncoder::Regression { columns, .. } | TargetEncoder::Multilabel { columns } => {
                columns.len()
            }
        }
    }

    /// Width of the encoded target matrix: 1 (class ids) or the number of columns.
    pub fn encoded_width(&self) -> usize {
        match self {
            TargetEncoder::Classes { .. } => 1,
            _ => self.n_outputs(),
        }
    }

    /// Encoded targets: class indices `[rows]` or standardized values `[rows, outputs]`.
    /// A class never seen in training is an error naming its line.
    pub fn encode(&self, table: &Table) -> Result<Vec<f32>> {
        match self {
            TargetEncoder::Classes { column, labels } => {
                let c = table.col_index(column)?;
                let index: std::collections::HashMap<&str, usize> = labels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (l.as_str(), i))
                    .collect();
                (0..table.n_rows())
                    .map(|r| {
                        let cell = table.cell(c, r);
                        index.get(cell.as_ref()).map(|&k| k as f32).ok_or_else(|| {
                            table.cell_error(
                                c,
                                r,
                                format!(
                                    "class {cell:?} was not seen in training (known: {})",
                                    labels.join(", ")
                                ),
                            )
                        })
                    })
                    .collect()
            }
            TargetEncoder::Regression { columns, scaler } => {
                let mut y = raw_matrix(table, columns)?;
                scaler.transform(&mut y, columns.len());
                Ok(y)
            }
            TargetEncoder::Multilabel { columns } => {
                let idx: Vec<usize> = columns
                    .iter()
                    .map(|c| table.col_index(c))
                    .collect::<Result<_>>()?;
                let l = columns.len();
                let mut y = vec![0.0f32; table.n_rows() * l];
                for (j, &c) in idx.iter().enumerate() {
                    for r in 0..table.n_rows() {
                        let cell = table.cell(c, r);
                        let v = crate::task::parse_bool(&cell).ok_or_else(|| {
                            table.cell_error(
                                c,
                                r,
                                format!(
                                    "{cell:?} is not a binary label (use 0/1, true/false or yes/no)"
                                ),
                            )
                        })?;
                        y[r * l + j] = if v { 1.0 } else { 0.0 };
                    }
                }
                Ok(y)
            }
        }
    }

    /// The target for supervised feature selection (the first target of a regression).
    pub fn values(&self, table: &Table) -> Result<TargetValues> {
        Ok(match self {
            TargetEncoder::Classes { .. } => {
                TargetValues::Classes(self.encode(table)?.iter().map(|&v| v as usize).collect())
            }
            // Supervised selection looks at the first label.
            TargetEncoder::Multilabel { .. } => {
                let y = self.encode(table)?;
                let l = self.n_outputs().max(1);
                TargetValues::Classes(y.chunks(l).map(|r| r[0] as usize).collect())
            }
            TargetEncoder::Regression { columns, .. } => TargetValues::Values(
                table
                    .numeric_column(&columns[0])?
                    .into_iter()
                    .map(f64::from)
                    .collect(),
            ),
        })
    }
}

/// Rows where any of `targets` is missing.
pub fn rows_missing_target(table: &Table, targets: &[String]) -> Result<Vec<usize>> {
    let cols: Vec<usize> = targets
        .iter()
        .map(|t| table.col_index(t))
        .collect::<Result<_>>()?;
    Ok((0..table.n_rows())
        .filter(|&r| {
            cols.iter().any(|&c| match &table.columns[c] {
                Column::Number(n) => n.values[r].is_nan(),
                Column::Text(t) => is_missing(t.get(r)),
            })
        })
        .collect())
}
