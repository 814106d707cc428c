//! Fitted preprocessing that travels inside a model bundle: feature selection and scaling for
//! inputs, label encoding or scaling for targets. Fitted on the training split only; applied
//! identically at training and inference (statistics in f64, applied the same way both times).

use serde::{Deserialize, Serialize};

use super::table::Table;
use crate::error::{Error, Result};

/// Standardization `(x − mean) / scale`, scikit-learn's `StandardScaler` (population standard
/// deviation; a constant column gets scale 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StandardScaler {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

impl StandardScaler {
    /// Fit on `x: rows × cols` row-major.
    pub fn fit(x: &[f32], rows: usize, cols: usize) -> StandardScaler {
        let mut mean = vec![0.0f64; cols];
        for r in 0..rows {
            for c in 0..cols {
                mean[c] += x[r * cols + c] as f64;
            }
        }
        for m in &mut mean {
            *m /= rows.max(1) as f64;
        }
        let mut var = vec![0.0f64; cols];
        for r in 0..rows {
            for c in 0..cols {
                let d = x[r * cols + c] as f64 - mean[c];
                var[c] += d * d;
            }
        }
        let scale = var
            .iter()
            .map(|v| {
                let s = (v / rows.max(1) as f64).sqrt();
                if s > 1e-12 * (1.0 + s) && s.is_finite() {
                    s
                } else {
                    1.0
                }
            })
            .collect();
        StandardScaler { mean, scale }
    }

    pub fn transform(&self, x: &mut [f32], cols: usize) {
        for row in x.chunks_exact_mut(cols) {
            for (c, v) in row.iter_mut().enumerate() {
                *v = ((*v as f64 - self.mean[c]) / self.scale[c]) as f32;
            }
        }
    }

    pub fn inverse_transform(&self, x: &mut [f32], cols: usize) {
        for row in x.chunks_exact_mut(cols) {
            for (c, v) in row.iter_mut().enumerate() {
                *v = (*v as f64 * self.scale[c] + self.mean[c]) as f32;
            }
        }
    }
}

/// Input preprocessing: which columns, in which order, and their scaling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    pub features: Vec<String>,
    pub scaler: StandardScaler,
}

impl Preprocessor {
    /// Fit on `table` (the training split) for the given feature columns.
    pub fn fit(table: &Table, features: &[String]) -> Result<Preprocessor> {
        let x = raw_matrix(table, features)?;
        let scaler = StandardScaler::fit(&x, table.n_rows(), features.len());
        Ok(Preprocessor {
            features: features.to_vec(),
            scaler,
        })
    }

    pub fn n_features(&self) -> usize {
        self.features.len()
    }

    /// The model input for `table`'s rows: `rows × n_features`, row-major.
    pub fn transform(&self, table: &Table) -> Result<Vec<f32>> {
        let mut x = raw_matrix(table, &self.features)?;
        self.scaler.transform(&mut x, self.features.len());
        Ok(x)
    }
}

/// The named numeric columns as a row-major matrix.
pub fn raw_matrix(table: &Table, columns: &[String]) -> Result<Vec<f32>> {
    let cols: Vec<Vec<f32>> = columns
        .iter()
        .map(|c| table.numeric_column(c))
        .collect::<Result<_>>()?;
    let rows = table.n_rows();
    let mut x = vec![0.0f32; rows * columns.len()];
    for (c, col) in cols.iter().enumerate() {
        for (r, &v) in col.iter().enumerate() {
            x[r * columns.len() + c] = v;
        }
    }
    Ok(x)
}

/// What the model predicts and how targets map to network outputs.
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
        let cells = table.column(column)?;
        let mut labels: Vec<String> = Vec::new();
        for (r, cell) in cells.iter().enumerate() {
            if super::table::is_missing(cell) {
                return Err(Error::Cell {
                    path: table.path.clone(),
                    line: table.lines[r],
                    column: column.into(),
                    field: table.col_index(column)? + 1,
                    detail: "missing target value".into(),
                });
            }
            if !labels.contains(cell) {
                labels.push(cell.clone());
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
                table.columns[c]
                    .iter()
                    .enumerate()
                    .map(|(r, cell)| {
                        labels
                            .iter()
                            .position(|l| l == cell)
                            .map(|k| k as f32)
                            .ok_or_else(|| Error::Cell {
                                path: table.path.clone(),
                                line: table.lines[r],
                                column: column.clone(),
                                field: c + 1,
                                detail: format!(
                                    "class {cell:?} was not seen in training (known: {})",
                                    labels.join(", ")
                                ),
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
                let mut y = vec![0.0f32; table.n_rows() * columns.len()];
                for (j, &c) in idx.iter().enumerate() {
                    for (r, cell) in table.columns[c].iter().enumerate() {
                        let v = crate::task::parse_bool(cell).ok_or_else(|| Error::Cell {
                            path: table.path.clone(),
                            line: table.lines[r],
                            column: columns[j].clone(),
                            field: c + 1,
                            detail: format!(
                                "{cell:?} is not a binary label (use 0/1, true/false or yes/no)"
                            ),
                        })?;
                        y[r * columns.len() + j] = if v { 1.0 } else { 0.0 };
                    }
                }
                Ok(y)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaler_matches_definition() {
        let x = [1.0f32, 10.0, 3.0, 10.0, 5.0, 10.0];
        let s = StandardScaler::fit(&x, 3, 2);
        assert_eq!(s.mean, vec![3.0, 10.0]);
        assert!((s.scale[0] - (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(s.scale[1], 1.0);
        let mut y = x;
        s.transform(&mut y, 2);
        s.inverse_transform(&mut y, 2);
        for (a, b) in x.iter().zip(&y) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}
