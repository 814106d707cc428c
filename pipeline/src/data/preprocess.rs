//! The fitted preprocessing that travels inside a model bundle: from raw input columns to the
//! model's feature matrix. Fitted on the training split only, serialized (JSON) in the
//! manifest, and applied by the same code at training and at inference, so a row gets the
//! same tensor either way.
//!
//! Per input column, in order: read (number, boolean, category or date) → impute a missing
//! cell → optional power transform and quantile bins (numbers) → encode (one-hot or ordinal
//! for categories; year, month, day, day of week and timestamp for dates) → optional missing
//! indicator. Then polynomial terms over the numeric features, scaling of the numeric
//! features, and feature selection. Statistics are f64; the output is f32.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::config::{ColumnType, DataConfig, Encoding, ImputeStrategy, ScalerKind};
use super::datetime;
use super::features::{self, PowerTransform};
use super::infer::{Schema, parse_bool};
use super::scale::{Scaler, StandardScaler};
use super::select::{self, TargetValues};
use super::stats;
use super::table::{Column, Table, format_f32, is_missing};
use crate::error::{Error, Result};

pub use super::target::TargetEncoder;

/// The constant a categorical column is imputed with by default (scikit-learn's).
pub const DEFAULT_FILL_CATEGORY: &str = "missing_value";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    /// The raw input columns, in the order a prediction request gives them.
    pub inputs: Vec<InputColumn>,
    /// Polynomial terms: products of numeric base features (indices into the base features).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub polynomial: Vec<Vec<usize>>,
    /// Scaling of the base and polynomial features (identity where not scaled).
    pub scaler: Scaler,
    /// Which of the base and polynomial features the model gets (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<Vec<usize>>,
    /// Names of the model's input features.
    pub features: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputColumn {
    pub name: String,
    #[serde(flatten)]
    pub kind: InputKind,
    /// How a missing cell is filled; `None`: a missing cell is an error.
    #[serde(default)]
    pub imputer: Option<Imputer>,
    /// Whether a 0/1 "was missing" feature follows the column's features.
    #[serde(default)]
    pub indicator: bool,
    /// Whether the training split had missing cells in this column. Serving requires the
    /// field unless it did (a model that never saw the value missing should not be asked to
    /// guess it silently); batch prediction imputes either way.
    #[serde(default)]
    pub missing_in_training: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputKind {
    Number {
        integer: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transform: Option<PowerTransform>,
        /// Interior quantile-bin edges: one 0/1 feature per bin follows the value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bins: Option<Vec<f64>>,
    },
    Boolean,
    Categorical {
        /// Sorted; a value outside them is "unseen".
        categories: Vec<String>,
        encoding: Encoding,
    },
    Datetime {
        format: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Imputer {
    pub strategy: ImputeStrategy,
    /// The fill for numbers, booleans (one value) and dates (one per date feature).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f64>,
    /// The fill for a categorical column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// What transforming a batch met besides values: per input column, the cells that held a
/// category not seen in training, and the missing cells that were imputed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TransformReport {
    pub unseen: BTreeMap<String, usize>,
    pub imputed: BTreeMap<String, usize>,
}

impl TransformReport {
    pub fn total_unseen(&self) -> usize {
        self.unseen.values().sum()
    }
}

/// The preprocessor as the JSON stored in a manifest (floats written so they read back
/// bit for bit: the `float_roundtrip` parser is enabled).
pub fn to_json(p: &Preprocessor) -> serde_json::Result<String> {
    serde_json::to_string(p)
}

pub fn from_json(s: &str) -> serde_json::Result<Preprocessor> {
    serde_json::from_str(s)
}

/// A base feature: its values, name, and whether it is a number that gets scaled and enters
/// polynomial terms.
struct Base {
    values: Vec<f64>,
    name: String,
    numeric: bool,
    scaled: bool,
}

/// The format-version-1 preprocessor: numeric columns standardized.
#[derive(Deserialize)]
struct PreprocessorV1 {
    features: Vec<String>,
    scaler: StandardScaler,
}

impl Preprocessor {
    /// Read a version-1 manifest's preprocessor: every column a required number,
    /// standardized; the same outputs as the version-1 code.
    pub fn from_v1(value: serde_json::Value) -> std::result::Result<Preprocessor, String> {
        let v1: PreprocessorV1 = serde_json::from_value(value).map_err(|e| e.to_string())?;
        if v1.scaler.mean.len() != v1.features.len() || v1.scaler.scale.len() != v1.features.len() {
            return Err("scaler size does not match the features".into());
        }
        Ok(Preprocessor {
            inputs: v1
                .features
                .iter()
                .map(|f| InputColumn {
                    name: f.clone(),
                    kind: InputKind::Number {
                        integer: false,
                        transform: None,
                        bins: None,
                    },
                    imputer: None,
                    indicator: false,
                    missing_in_training: false,
                })
                .collect(),
            polynomial: Vec::new(),
            scaler: Scaler {
                kind: ScalerKind::Standard,
                offset: v1.scaler.mean,
                scale: v1.scaler.scale,
            },
            keep: None,
            features: v1.features,
        })
    }

    /// Fit on `table` (the training split) for the feature columns of `schema`. `y`, when
    /// given, is used by supervised feature selection. Returns notes on what was fitted
    /// (features removed by selection, a column missing in every training row).
    pub fn fit(
        table: &Table,
        schema: &Schema,
        cfg: &DataConfig,
        y: Option<&TargetValues>,
    ) -> Result<(Preprocessor, Vec<String>)> {
        let mut notes = Vec::new();
        let mut inputs = Vec::new();
        for info in schema.features() {
            let c = table.col_index(&info.name)?;
            inputs.push(fit_input(
                table,
                c,
                info.ty,
                info.datetime_format.as_deref(),
                cfg,
                &mut notes,
            )?);
        }
        if inputs.is_empty() {
            return Err(Error::InvalidData(format!(
                "{}: no usable feature columns (see the warnings above)",
                table.path.display()
            )));
        }
        let mut pre = Preprocessor {
            inputs,
            polynomial: Vec::new(),
            scaler: Scaler::identity(0),
            keep: None,
            features: Vec::new(),
        };
        let mut report = TransformReport::default();
        let mut base = pre.base_features(table, &mut report)?;
        if let Some(degree) = cfg.features.polynomial {
            let numeric: Vec<usize> = (0..base.len()).filter(|&i| base[i].numeric).collect();
            pre.polynomial =
                features::polynomial_terms(numeric.len(), degree, cfg.features.interaction_only)
                    .into_iter()
                    .map(|t| t.into_iter().map(|k| numeric[k]).collect())
                    .collect();
            if pre.polynomial.len() > 10_000 {
                return Err(Error::Config(format!(
                    "polynomial features of degree {degree} over {} numeric features give {} \
                     terms; select fewer columns",
                    numeric.len(),
                    pre.polynomial.len()
                )));
            }
            pre.add_polynomial(&mut base);
        }
        let cols: Vec<Vec<f64>> = base.iter().map(|b| b.values.clone()).collect();
        let scaled: Vec<bool> = base.iter().map(|b| b.scaled).collect();
        pre.scaler = Scaler::fit(cfg.scaler, &cols, &scaled);
        let names: Vec<String> = base.iter().map(|b| b.name.clone()).collect();
        let sel = &cfg.selection;
        if sel.variance_threshold.is_some()
            || sel.correlation_threshold.is_some()
            || sel.mutual_info_k.is_some()
        {
            let (keep, sel_notes) = select::select(&cols, &names, y, sel);
            notes.extend(sel_notes);
            if keep.is_empty() {
                return Err(Error::Config(
                    "feature selection removed every feature; loosen its thresholds".into(),
                ));
            }
            pre.features = keep.iter().map(|&i| names[i].clone()).collect();
            pre.keep = Some(keep);
        } else {
            pre.features = names;
        }
        Ok((pre, notes))
    }

    pub fn n_features(&self) -> usize {
        self.features.len()
    }

    /// Names of the raw input columns, in request order.
    pub fn input_names(&self) -> Vec<String> {
        self.inputs.iter().map(|i| i.name.clone()).collect()
    }

    /// Input columns that must be read as text (categories and dates that may look like
    /// numbers).
    pub fn text_inputs(&self) -> Vec<String> {
        self.inputs
            .iter()
            .filter(|i| !matches!(i.kind, InputKind::Number { .. }))
            .map(|i| i.name.clone())
            .collect()
    }

    /// For each model feature, whether it is continuous (a scaled number: numeric values,
    /// date parts, ordinal codes, polynomial terms) rather than a 0/1 indicator.
    pub fn continuous_mask(&self) -> Vec<bool> {
        let mut base = Vec::new();
        for inp in &self.inputs {
            match &inp.kind {
                InputKind::Number { bins, .. } => {
                    base.push(true);
                    base.extend(std::iter::repeat_n(
                        false,
                        bins.as_ref().map_or(0, |e| e.len() + 1),
                    ));
                }
                InputKind::Boolean => base.push(false),
                InputKind::Categorical {
                    categories,
                    encoding: Encoding::Onehot,
                } => base.extend(std::iter::repeat_n(false, categories.len())),
                InputKind::Categorical { .. } => base.push(true),
                InputKind::Datetime { .. } => base.extend([true; 5]),
            }
            if inp.indicator {
                base.push(false);
            }
        }
        base.extend(std::iter::repeat_n(true, self.polynomial.len()));
        match &self.keep {
            Some(k) => k
                .iter()
                .map(|&i| base.get(i).copied().unwrap_or(false))
                .collect(),
            None => base,
        }
    }

    /// The model input for `table`'s rows: `rows × n_features`, row-major.
    pub fn transform(&self, table: &Table) -> Result<Vec<f32>> {
        Ok(self.transform_report(table)?.0)
    }

    /// [`Preprocessor::transform`], with the unseen categories and imputed cells met.
    pub fn transform_report(&self, table: &Table) -> Result<(Vec<f32>, TransformReport)> {
        let mut report = TransformReport::default();
        let mut base = self.base_features(table, &mut report)?;
        self.add_polynomial(&mut base);
        let rows = table.n_rows();
        let nf = self.n_features();
        let mut x = vec![0.0f32; rows * nf];
        let all: Vec<usize>;
        let keep = match &self.keep {
            Some(k) => k,
            None => {
                all = (0..base.len()).collect();
                &all
            }
        };
        if keep.len() != nf || base.len() != self.scaler.offset.len() {
            return Err(Error::InvalidData(
                "preprocessor is inconsistent (features, scaler and selection sizes differ)".into(),
            ));
        }
        for (f, &j) in keep.iter().enumerate() {
            let col = base.get(j).ok_or_else(|| {
                Error::InvalidData("preprocessor selects a feature it does not make".into())
            })?;
            for (r, &v) in col.values.iter().enumerate() {
                x[r * nf + f] = self.scaler.apply(j, v) as f32;
            }
        }
        Ok((x, report))
    }

    fn add_polynomial(&self, base: &mut Vec<Base>) {
        for term in &self.polynomial {
            if term.iter().any(|&i| i >= base.len()) {
                continue;
            }
            let rows = base[term[0]].values.len();
            let values = (0..rows)
                .map(|r| term.iter().map(|&i| base[i].values[r]).product())
                .collect();
            let name = term
                .iter()
                .map(|&i| base[i].name.as_str())
                .collect::<Vec<_>>()
                .join("*");
            base.push(Base {
                values,
                name,
                numeric: true,
                scaled: true,
            });
        }
    }

    /// Every input column's features, imputed and encoded, unscaled.
    fn base_features(&self, table: &Table, report: &mut TransformReport) -> Result<Vec<Base>> {
        let mut out = Vec::new();
        for inp in &self.inputs {
            let c = table.col_index(&inp.name)?;
            inp.features(table, c, report, &mut out)?;
        }
        Ok(out)
    }
}

impl InputColumn {
    /// Append this column's features for every row of `table` (column `c`).
    fn features(
        &self,
        table: &Table,
        c: usize,
        report: &mut TransformReport,
        out: &mut Vec<Base>,
    ) -> Result<()> {
        let rows = table.n_rows();
        let mut was_missing = vec![false; rows];
        let missing_err = |r: usize| {
            table.cell_error(
                c,
                r,
                "missing value, and the model has no imputation for this column",
            )
        };
        match &self.kind {
            InputKind::Number {
                transform, bins, ..
            } => {
                let mut v = raw_numbers(table, c)?;
                let fill = self
                    .imputer
                    .as_ref()
                    .and_then(|i| i.values.first().copied());
                for (r, x) in v.iter_mut().enumerate() {
                    if x.is_nan() {
                        was_missing[r] = true;
                        *x = fill.ok_or_else(|| missing_err(r))?;
                    }
                }
                let binned = bins.as_ref().map(|e| {
                    let mut cols = vec![vec![0.0; rows]; e.len() + 1];
                    for (r, &x) in v.iter().enumerate() {
                        cols[features::bin_of(e, x)][r] = 1.0;
                    }
                    cols
                });
                if let Some(t) = transform {
                    v.iter_mut().for_each(|x| *x = t.apply(*x));
                }
                out.push(Base {
                    values: v,
                    name: self.name.clone(),
                    numeric: true,
                    scaled: true,
                });
                for (k, values) in binned.into_iter().flatten().enumerate() {
                    out.push(Base {
                        values,
                        name: format!("{}=bin{k}", self.name),
                        numeric: false,
                        scaled: false,
                    });
                }
            }
            InputKind::Boolean => {
                let mut v = raw_booleans(table, c)?;
                let fill = self
                    .imputer
                    .as_ref()
                    .and_then(|i| i.values.first().copied());
                for (r, x) in v.iter_mut().enumerate() {
                    if x.is_nan() {
                        was_missing[r] = true;
                        *x = fill.ok_or_else(|| missing_err(r))?;
                    }
                }
                out.push(Base {
                    values: v,
                    name: self.name.clone(),
                    numeric: false,
                    scaled: false,
                });
            }
            InputKind::Categorical {
                categories,
                encoding,
            } => {
                let index: HashMap<&str, usize> = categories
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.as_str(), i))
                    .collect();
                let fill = self
                    .imputer
                    .as_ref()
                    .and_then(|i| i.category.as_deref())
                    .and_then(|s| index.get(s).copied());
                let cells = category_cells(table, c, &index);
                let mut unseen = 0;
                let codes: Vec<Option<usize>> = cells
                    .iter()
                    .enumerate()
                    .map(|(r, cell)| match cell {
                        Cat::Known(k) => Ok(Some(*k)),
                        Cat::Unseen => {
                            unseen += 1;
                            Ok(None)
                        }
                        Cat::Missing => {
                            was_missing[r] = true;
                            fill.map(Some).ok_or_else(|| missing_err(r))
                        }
                    })
                    .collect::<Result<_>>()?;
                if unseen > 0 {
                    *report.unseen.entry(self.name.clone()).or_default() += unseen;
                }
                match encoding {
                    Encoding::Onehot => {
                        for (k, cat) in categories.iter().enumerate() {
                            out.push(Base {
                                values: codes
                                    .iter()
                                    .map(|&x| if x == Some(k) { 1.0 } else { 0.0 })
                                    .collect(),
                                name: format!("{}={cat}", self.name),
                                numeric: false,
                                scaled: false,
                            });
                        }
                    }
                    Encoding::Ordinal => out.push(Base {
                        values: codes
                            .iter()
                            .map(|&x| x.map_or(-1.0, |k| k as f64))
                            .collect(),
                        name: self.name.clone(),
                        numeric: false,
                        scaled: true,
                    }),
                }
            }
            InputKind::Datetime { format } => {
                let parts = raw_dates(table, c, format)?;
                let fill = self.imputer.as_ref().map(|i| i.values.as_slice());
                let names = datetime::feature_names(&self.name);
                for (p, name) in names.into_iter().enumerate() {
                    let mut v = Vec::with_capacity(rows);
                    for (r, d) in parts.iter().enumerate() {
                        match d {
                            Some(f) => v.push(f[p]),
                            None => {
                                was_missing[r] = true;
                                let f = fill
                                    .and_then(|f| f.get(p).copied())
                                    .ok_or_else(|| missing_err(r))?;
                                v.push(f);
                            }
                        }
                    }
                    out.push(Base {
                        values: v,
                        name,
                        numeric: true,
                        scaled: true,
                    });
                }
            }
        }
        let n_missing = was_missing.iter().filter(|&&m| m).count();
        if n_missing > 0 {
            *report.imputed.entry(self.name.clone()).or_default() += n_missing;
        }
        if self.indicator {
            out.push(Base {
                values: was_missing
                    .iter()
                    .map(|&m| f64::from(u8::from(m)))
                    .collect(),
                name: format!("{}_missing", self.name),
                numeric: false,
                scaled: false,
            });
        }
        Ok(())
    }

    /// The kind a prediction request sees.
    pub fn field_kind(&self) -> crate::schema::FieldKind {
        use crate::schema::FieldKind;
        match &self.kind {
            InputKind::Number { integer: true, .. } => FieldKind::Integer,
            InputKind::Number { .. } => FieldKind::Number,
            InputKind::Boolean => FieldKind::Boolean,
            InputKind::Categorical { categories, .. } => {
                let fill = self.imputer.as_ref().and_then(|i| i.category.as_deref());
                FieldKind::Categorical {
                    // The imputation constant is not a value a user sends.
                    categories: categories
                        .iter()
                        .filter(|c| {
                            Some(c.as_str()) != fill
                                || self.imputer.as_ref().map(|i| i.strategy)
                                    != Some(ImputeStrategy::Constant)
                        })
                        .cloned()
                        .collect(),
                }
            }
            InputKind::Datetime { .. } => FieldKind::Datetime,
        }
    }
}

/// A column's cells as numbers, NaN for missing; a cell that is not a number is an error.
fn raw_numbers(table: &Table, c: usize) -> Result<Vec<f64>> {
    Ok(table
        .numeric_values(c, true)?
        .into_iter()
        .map(f64::from)
        .collect())
}

/// A column's cells as 0/1, NaN for missing; anything else is an error.
fn raw_booleans(table: &Table, c: usize) -> Result<Vec<f64>> {
    let conv = |s: &str| -> Option<f64> {
        if is_missing(s) {
            Some(f64::NAN)
        } else {
            parse_bool(s).map(|b| f64::from(u8::from(b)))
        }
    };
    let bad = |r: usize, s: &str| {
        table.cell_error(
            c,
            r,
            format!("{s:?} is not a boolean (true/false, yes/no, 1/0)"),
        )
    };
    match &table.columns[c] {
        Column::Number(n) => n
            .values
            .iter()
            .enumerate()
            .map(|(r, &v)| match v {
                v if v.is_nan() => Ok(f64::NAN),
                v if v == 0.0 || v == 1.0 => Ok(v as f64),
                v => Err(bad(r, &format_f32(v))),
            })
            .collect(),
        Column::Text(t) => {
            let parsed: Vec<Option<f64>> = t.dict.iter().map(|s| conv(s)).collect();
            t.codes
                .iter()
                .enumerate()
                .map(|(r, &k)| parsed[k as usize].ok_or_else(|| bad(r, t.get(r))))
                .collect()
        }
    }
}

/// A column's cells as date features (`None` for missing); a cell that is not a date is an
/// error. The fitted format is tried first, then every known format.
fn raw_dates(table: &Table, c: usize, format: &str) -> Result<Vec<Option<[f64; 5]>>> {
    let conv = |s: &str| -> std::result::Result<Option<[f64; 5]>, ()> {
        if is_missing(s) {
            return Ok(None);
        }
        datetime::parse_with(s, format)
            .or_else(|| datetime::parse_any(s))
            .map(|d| Some(datetime::features(&d)))
            .ok_or(())
    };
    let bad = |r: usize, s: &str| {
        table.cell_error(
            c,
            r,
            format!("{s:?} is not a date (expected the format {format:?})"),
        )
    };
    match &table.columns[c] {
        Column::Number(n) => n
            .values
            .iter()
            .enumerate()
            .map(|(r, &v)| {
                let s = if v.is_nan() {
                    String::new()
                } else {
                    format_f32(v)
                };
                conv(&s).map_err(|_| bad(r, &s))
            })
            .collect(),
        Column::Text(t) => {
            let parsed: Vec<_> = t.dict.iter().map(|s| conv(s)).collect();
            t.codes
                .iter()
                .enumerate()
                .map(|(r, &k)| parsed[k as usize].map_err(|_| bad(r, t.get(r))))
                .collect()
        }
    }
}

enum Cat {
    Known(usize),
    Missing,
    Unseen,
}

/// A column's cells looked up in a category index. Number columns are looked up by their
/// shortest text (categories fitted on a number column were stored that way).
fn category_cells(table: &Table, c: usize, index: &HashMap<&str, usize>) -> Vec<Cat> {
    let look = |s: &str| {
        if is_missing(s) {
            Cat::Missing
        } else {
            index.get(s).map_or(Cat::Unseen, |&k| Cat::Known(k))
        }
    };
    match &table.columns[c] {
        Column::Number(n) => n
            .values
            .iter()
            .map(|&v| {
                if v.is_nan() {
                    Cat::Missing
                } else {
                    look(&format_f32(v))
                }
            })
            .collect(),
        Column::Text(t) => {
            let per: Vec<Cat> = t.dict.iter().map(|s| look(s)).collect();
            t.codes
                .iter()
                .map(|&k| match per[k as usize] {
                    Cat::Known(i) => Cat::Known(i),
                    Cat::Missing => Cat::Missing,
                    Cat::Unseen => Cat::Unseen,
                })
                .collect()
        }
    }
}

/// Present values of a column as text with their counts (for categories).
fn value_counts(table: &Table, c: usize) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    match &table.columns[c] {
        Column::Number(n) => {
            for &v in &n.values {
                if !v.is_nan() {
                    *m.entry(format_f32(v)).or_default() += 1;
                }
            }
        }
        Column::Text(t) => {
            for (k, n) in t.counts().into_iter().enumerate() {
                if n > 0 && !is_missing(&t.dict[k]) {
                    *m.entry(t.dict[k].clone()).or_default() += n;
                }
            }
        }
    }
    m
}

/// Fill value of a numeric column under `strategy`.
fn numeric_fill(present: &[f64], strategy: ImputeStrategy, constant: f64) -> f64 {
    let v = match strategy {
        ImputeStrategy::Mean => stats::mean(present),
        ImputeStrategy::Median => stats::median_sorted(&stats::sorted(present)),
        ImputeStrategy::MostFrequent => stats::mode(present),
        ImputeStrategy::Constant => constant,
    };
    if v.is_finite() { v } else { constant }
}

fn fit_input(
    table: &Table,
    c: usize,
    ty: ColumnType,
    datetime_format: Option<&str>,
    cfg: &DataConfig,
    notes: &mut Vec<String>,
) -> Result<InputColumn> {
    let name = table.headers[c].clone();
    let impute = !cfg.drop_missing_rows;
    let constant = cfg.fill_value.unwrap_or(0.0);
    let rows = table.n_rows();
    let note_empty = |notes: &mut Vec<String>| {
        notes.push(format!(
            "column {name:?} is missing in every training row; it is filled with a constant"
        ))
    };
    let (kind, imputer, any_missing) = match ty {
        ColumnType::Float | ColumnType::Integer => {
            let v = raw_numbers(table, c)?;
            let present: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
            if present.is_empty() {
                note_empty(notes);
            }
            let strategy = cfg.strategy_for(&name, false);
            let fill = numeric_fill(&present, strategy, constant);
            let bins = cfg
                .features
                .bins
                .get(&name)
                .map(|&n| features::quantile_edges(&present, n));
            let transform = if cfg.features.log.contains(&name) {
                Some(PowerTransform::Log)
            } else if cfg.features.yeo_johnson.contains(&name) {
                let filled: Vec<f64> = v
                    .iter()
                    .map(|&x| if x.is_nan() { fill } else { x })
                    .collect();
                Some(PowerTransform::fit_yeo_johnson(&filled))
            } else {
                None
            };
            (
                InputKind::Number {
                    integer: ty == ColumnType::Integer,
                    transform,
                    bins,
                },
                Imputer {
                    strategy,
                    values: vec![fill],
                    category: None,
                },
                present.len() < rows,
            )
        }
        ColumnType::Boolean => {
            let v = raw_booleans(table, c)?;
            let present: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
            if present.is_empty() {
                note_empty(notes);
            }
            let strategy = cfg.strategy_for(&name, true);
            (
                InputKind::Boolean,
                Imputer {
                    strategy,
                    values: vec![numeric_fill(&present, strategy, constant.clamp(0.0, 1.0))],
                    category: None,
                },
                present.len() < rows,
            )
        }
        ColumnType::Categorical => {
            let counts = value_counts(table, c);
            let n_present: usize = counts.values().sum();
            if n_present == 0 {
                note_empty(notes);
            }
            let strategy = cfg.strategy_for(&name, true);
            let fill_constant = cfg
                .fill_category
                .clone()
                .unwrap_or_else(|| DEFAULT_FILL_CATEGORY.to_string());
            let fill = match strategy {
                // Most frequent, the smallest on ties (counts is sorted by value).
                ImputeStrategy::MostFrequent | ImputeStrategy::Mean | ImputeStrategy::Median => {
                    counts
                        .iter()
                        .fold(None::<(&String, usize)>, |best, (k, &n)| match best {
                            Some((_, bn)) if bn >= n => best,
                            _ => Some((k, n)),
                        })
                        .map(|(k, _)| k.clone())
                        .unwrap_or(fill_constant)
                }
                ImputeStrategy::Constant => fill_constant,
            };
            let any_missing = n_present < rows;
            let mut categories: Vec<String> = counts.into_keys().collect();
            // The fill becomes a category when it is used (as scikit-learn's imputer followed
            // by its encoder sees it).
            if impute && (any_missing || categories.is_empty()) && !categories.contains(&fill) {
                categories.push(fill.clone());
                categories.sort();
            }
            (
                InputKind::Categorical {
                    categories,
                    encoding: cfg.encoding,
                },
                Imputer {
                    strategy: if strategy == ImputeStrategy::Constant {
                        ImputeStrategy::Constant
                    } else {
                        ImputeStrategy::MostFrequent
                    },
                    values: Vec::new(),
                    category: Some(fill),
                },
                any_missing,
            )
        }
        ColumnType::Datetime => {
            let format = datetime_format.unwrap_or(datetime::FORMATS[0]).to_string();
            let parts = raw_dates(table, c, &format)?;
            let strategy = cfg.strategy_for(&name, false);
            let present: Vec<[f64; 5]> = parts.iter().flatten().copied().collect();
            if present.is_empty() {
                note_empty(notes);
            }
            let values = (0..5)
                .map(|p| {
                    let col: Vec<f64> = present.iter().map(|f| f[p]).collect();
                    numeric_fill(&col, strategy, constant)
                })
                .collect();
            (
                InputKind::Datetime { format },
                Imputer {
                    strategy,
                    values,
                    category: None,
                },
                present.len() < rows,
            )
        }
        ColumnType::Text | ColumnType::Identifier => {
            return Err(Error::InvalidData(format!(
                "column {name:?} of type {} is not a feature",
                ty.name()
            )));
        }
    };
    Ok(InputColumn {
        name,
        kind,
        imputer: impute.then_some(imputer),
        indicator: cfg.missing_indicators && any_missing,
        missing_in_training: any_missing,
    })
}

/// The named numeric columns as a row-major matrix (every cell must be a number).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::infer::infer_schema;
    use std::path::Path;

    fn table(s: &str) -> Table {
        Table::from_bytes(Path::new("t.csv"), s.as_bytes()).unwrap()
    }

    const MESSY: &str = "x,c,b,d,y\n1,red,yes,2012-01-01,a\nNA,blue,no,2012-02-01,b\n\
                         3,red,,,a\n4,,yes,2012-03-05,b\n";

    #[test]
    fn fits_imputes_encodes_and_scales() {
        let t = table(MESSY);
        let cfg = DataConfig {
            missing_indicators: true,
            ..Default::default()
        };
        let schema = infer_schema(&t, &cfg, &["y".into()]).unwrap();
        let (p, _) = Preprocessor::fit(&t, &schema, &cfg, None).unwrap();
        assert_eq!(
            p.features,
            [
                "x",
                "x_missing",
                "c=blue",
                "c=red",
                "c_missing",
                "b",
                "b_missing",
                "d_year",
                "d_month",
                "d_day",
                "d_dayofweek",
                "d_timestamp",
                "d_missing"
            ]
        );
        let (x, rep) = p.transform_report(&t).unwrap();
        let nf = p.n_features();
        // x: the missing one gets the mean of 1, 3, 4, which standardizes to 0.
        assert!(x[nf].abs() < 1e-6, "{}", x[nf]);
        assert_eq!(x[nf + 1], 1.0);
        // c: row 3 missing → most frequent "red"
        assert_eq!(&x[3 * nf + 2..3 * nf + 5], &[0.0, 1.0, 1.0]);
        // b: yes = 1, the missing one imputed with the most frequent (1)
        assert_eq!(x[2 * nf + 5], 1.0);
        assert_eq!(rep.imputed["x"], 1);
        assert_eq!(rep.imputed["d"], 1);
        // Unseen category → zeros, counted.
        let u = table("x,c,b,d\n2,green,no,2012-01-01\n");
        let (xu, rep) = p.transform_report(&u).unwrap();
        assert_eq!(&xu[2..4], &[0.0, 0.0]);
        assert_eq!(rep.unseen["c"], 1);
        // Bad cells name their line.
        let e = p
            .transform(&table("x,c,b,d\n2,red,maybe,2012-01-01\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.csv:2") && e.contains("\"b\"") && e.contains("maybe"),
            "{e}"
        );
        // The same preprocessor survives JSON.
        let back: Preprocessor = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn engineering_and_selection() {
        let mut s = String::from("a,b,k,y\n");
        for i in 0..40 {
            s.push_str(&format!("{},{},{},{}\n", i * 3, i % 5, 7, i % 2));
        }
        let t = table(&s);
        let mut cfg = DataConfig::default();
        cfg.features.polynomial = Some(2);
        cfg.features.bins.insert("a".into(), 4);
        cfg.features.log.push("b".into());
        cfg.selection.variance_threshold = Some(0.0);
        cfg.encoding = Encoding::Ordinal;
        cfg.scaler = ScalerKind::Minmax;
        let schema = infer_schema(&t, &cfg, &["y".into()]).unwrap();
        let (p, notes) = Preprocessor::fit(&t, &schema, &cfg, None).unwrap();
        assert!(notes.iter().any(|n| n.contains("variance")), "{notes:?}");
        assert!(p.features.contains(&"a*b".to_string()), "{:?}", p.features);
        assert!(p.features.contains(&"a=bin3".to_string()));
        assert!(!p.features.contains(&"k".to_string()));
        let x = p.transform(&t).unwrap();
        assert!(x.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn drop_missing_rows_makes_fields_required() {
        let t = table("x,y\n1,a\n2,b\n");
        let cfg = DataConfig {
            drop_missing_rows: true,
            ..Default::default()
        };
        let schema = infer_schema(&t, &cfg, &["y".into()]).unwrap();
        let (p, _) = Preprocessor::fit(&t, &schema, &cfg, None).unwrap();
        assert!(p.inputs[0].imputer.is_none());
        let e = p.transform(&table("x\nNA\n")).unwrap_err().to_string();
        assert!(e.contains("t.csv:2") && e.contains("no imputation"), "{e}");
    }
}
