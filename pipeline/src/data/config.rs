//! The data options of a training run or `neurite data prepare`: reading, column types,
//! missing values, scaling, encoding, feature engineering and selection, on-the-fly
//! augmentation. It deserializes from the `data:` section of a model config (YAML or JSON,
//! snake_case, unknown keys rejected) and the CLI flags fill the same struct.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Below this many rows a validation metric is too noisy to monitor: early stopping's `auto`
/// monitor watches the training loss instead, and training holds no such split out by default
/// (`min_validation_rows`).
pub const MIN_MONITORED_VALIDATION_ROWS: usize = 30;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Fraction of the rows held out for the test split.
    pub test_fraction: f64,
    /// Fraction of the rest held out for validation (early stopping, per-epoch metrics).
    pub validation_fraction: f64,
    /// A validation split smaller than this is not held out: its rows train instead, since
    /// fewer rows are too noisy to monitor (early stopping then watches the training loss).
    /// It is held out whatever its size when a callback monitors a `val_*` metric by name,
    /// and in `neurite tune`, whose objective is measured on it. 0 always holds it out.
    pub min_validation_rows: usize,
    /// Stratify the splits by class (classification).
    pub stratify: bool,
    /// Field delimiter: `,`, `;`, `tab` (or `\t`), `|`. Detected from the first lines when
    /// absent.
    pub delimiter: Option<String>,
    /// Per-column overrides, e.g. `{pclass: {type: categorical}}`.
    pub columns: BTreeMap<String, ColumnConfig>,
    /// Columns to ignore.
    pub drop: Vec<String>,
    /// Imputation of numeric (and date) columns.
    pub impute: ImputeStrategy,
    /// Imputation of categorical and boolean columns (default: most_frequent, or constant
    /// when `impute` is constant).
    pub impute_categorical: Option<ImputeStrategy>,
    /// The constant for numeric columns with the `constant` strategy (default 0).
    pub fill_value: Option<f64>,
    /// The constant for categorical columns (default `missing_value`, as scikit-learn).
    pub fill_category: Option<String>,
    /// Add a 0/1 column per input that had missing values in training.
    pub missing_indicators: bool,
    /// Drop rows with a missing feature instead of imputing (prediction then requires every
    /// field).
    pub drop_missing_rows: bool,
    pub scaler: ScalerKind,
    pub encoding: Encoding,
    /// A text column with at most this many distinct values is categorical (default:
    /// 20, or a tenth of the rows up to 100).
    pub max_categories: Option<usize>,
    pub features: FeatureConfig,
    pub selection: SelectionConfig,
    /// Augmentation of the training split, redrawn every epoch.
    pub augment: AugmentConfig,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            test_fraction: 0.2,
            validation_fraction: 0.1,
            min_validation_rows: MIN_MONITORED_VALIDATION_ROWS,
            stratify: true,
            delimiter: None,
            columns: BTreeMap::new(),
            drop: Vec::new(),
            impute: ImputeStrategy::default(),
            impute_categorical: None,
            fill_value: None,
            fill_category: None,
            missing_indicators: false,
            drop_missing_rows: false,
            scaler: ScalerKind::default(),
            encoding: Encoding::default(),
            max_categories: None,
            features: FeatureConfig::default(),
            selection: SelectionConfig::default(),
            augment: AugmentConfig::default(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ColumnConfig {
    #[serde(rename = "type")]
    pub kind: Option<ColumnType>,
    pub impute: Option<ImputeStrategy>,
    /// A chrono format such as `%d/%m/%Y` for a date column.
    pub datetime_format: Option<String>,
}

/// What a column holds, as inferred or overridden.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Float,
    Integer,
    Boolean,
    Categorical,
    /// Free text (high cardinality): not used as a feature.
    Text,
    Datetime,
    /// Unique per row: not used as a feature.
    Identifier,
}

impl ColumnType {
    pub fn parse(s: &str) -> Option<ColumnType> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "float" | "number" | "numeric" => ColumnType::Float,
            "integer" | "int" => ColumnType::Integer,
            "boolean" | "bool" => ColumnType::Boolean,
            "categorical" | "category" => ColumnType::Categorical,
            "text" | "ignore" => ColumnType::Text,
            "datetime" | "date" => ColumnType::Datetime,
            "identifier" | "id" => ColumnType::Identifier,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Float => "float",
            ColumnType::Integer => "integer",
            ColumnType::Boolean => "boolean",
            ColumnType::Categorical => "categorical",
            ColumnType::Text => "text",
            ColumnType::Datetime => "datetime",
            ColumnType::Identifier => "identifier",
        }
    }

    /// Whether the column feeds the model.
    pub fn is_feature(self) -> bool {
        !matches!(self, ColumnType::Text | ColumnType::Identifier)
    }

    /// Whether reading keeps the column as text even when its cells are numbers.
    pub fn read_as_text(self) -> bool {
        matches!(
            self,
            ColumnType::Categorical | ColumnType::Text | ColumnType::Datetime | ColumnType::Boolean
        )
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImputeStrategy {
    #[default]
    Mean,
    Median,
    MostFrequent,
    Constant,
}

impl ImputeStrategy {
    pub fn parse(s: &str) -> Option<ImputeStrategy> {
        Some(
            match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                "mean" => ImputeStrategy::Mean,
                "median" => ImputeStrategy::Median,
                "most_frequent" | "mode" => ImputeStrategy::MostFrequent,
                "constant" => ImputeStrategy::Constant,
                _ => return None,
            },
        )
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalerKind {
    /// `(x − mean) / std` (population std), scikit-learn's `StandardScaler`.
    #[default]
    Standard,
    /// `(x − min) / (max − min)`, `MinMaxScaler`.
    #[serde(alias = "min_max")]
    Minmax,
    /// `(x − median) / IQR`, `RobustScaler`.
    Robust,
    None,
}

impl ScalerKind {
    pub fn parse(s: &str) -> Option<ScalerKind> {
        Some(
            match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                "standard" => ScalerKind::Standard,
                "minmax" | "min_max" => ScalerKind::Minmax,
                "robust" => ScalerKind::Robust,
                "none" | "off" => ScalerKind::None,
                _ => return None,
            },
        )
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// One 0/1 column per category; an unseen category is all zeros.
    #[default]
    #[serde(alias = "one_hot")]
    Onehot,
    /// The category's index (sorted order); an unseen category is −1.
    Ordinal,
}

impl Encoding {
    pub fn parse(s: &str) -> Option<Encoding> {
        Some(
            match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                "onehot" | "one_hot" => Encoding::Onehot,
                "ordinal" => Encoding::Ordinal,
                _ => return None,
            },
        )
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureConfig {
    /// Degree of polynomial features over the numeric inputs (2 or 3; none when absent).
    pub polynomial: Option<usize>,
    /// Only products of distinct inputs (no powers).
    pub interaction_only: bool,
    /// Numeric columns to transform with the signed `ln(1 + |x|)`.
    pub log: Vec<String>,
    /// Numeric columns to transform with Yeo-Johnson (λ fitted by maximum likelihood).
    pub yeo_johnson: Vec<String>,
    /// Numeric columns to bin into quantile bins (one 0/1 column per bin): `{age: 5}`.
    pub bins: BTreeMap<String, usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SelectionConfig {
    /// Drop features whose training variance is at most this.
    pub variance_threshold: Option<f64>,
    /// Drop the later of two features whose absolute correlation exceeds this.
    pub correlation_threshold: Option<f64>,
    /// Keep the k features with the highest mutual information with the target.
    pub mutual_info_k: Option<usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// Gaussian noise added to the scaled numeric features, standard deviation in units of
    /// the feature's standard deviation.
    pub noise: Option<f64>,
    /// Mixup with λ ~ Beta(α, α) folded to λ ≥ ½, so the row keeps its own label.
    pub mixup: Option<f64>,
}

impl DataConfig {
    /// Parse a config from YAML (or JSON, which is YAML).
    pub fn from_yaml(text: &str) -> Result<DataConfig> {
        let c: DataConfig =
            serde_yaml_ng::from_str(text).map_err(|e| Error::Config(format!("data: {e}")))?;
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<()> {
        self.delimiter_byte()?;
        if !(0.0..0.9).contains(&self.test_fraction)
            || !(0.0..0.9).contains(&self.validation_fraction)
        {
            return Err(Error::Config(
                "data.test_fraction and data.validation_fraction must be in [0, 0.9)".into(),
            ));
        }
        if let Some(d) = self.features.polynomial
            && !(2..=3).contains(&d)
        {
            return Err(Error::Config(format!(
                "features.polynomial: degree {d} (use 2 or 3)"
            )));
        }
        for (c, &n) in &self.features.bins {
            if !(2..=100).contains(&n) {
                return Err(Error::Config(format!(
                    "features.bins: {c}: {n} bins (use 2 to 100)"
                )));
            }
        }
        if let Some(m) = self.max_categories
            && m < 2
        {
            return Err(Error::Config("max_categories must be at least 2".into()));
        }
        for (name, v) in [
            ("augment.noise", self.augment.noise),
            ("augment.mixup", self.augment.mixup),
        ] {
            if v.is_some_and(|v| !(v.is_finite() && v > 0.0)) {
                return Err(Error::Config(format!("{name} must be a positive number")));
            }
        }
        if let Some(t) = self.selection.correlation_threshold
            && !(t > 0.0 && t <= 1.0)
        {
            return Err(Error::Config(
                "selection.correlation_threshold must be in (0, 1]".into(),
            ));
        }
        if self.selection.mutual_info_k == Some(0) {
            return Err(Error::Config(
                "selection.mutual_info_k must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The delimiter as a byte, `None` to detect it.
    pub fn delimiter_byte(&self) -> Result<Option<u8>> {
        parse_delimiter(self.delimiter.as_deref())
    }

    /// The type forced on `column`, if any.
    pub fn column_type(&self, column: &str) -> Option<ColumnType> {
        self.columns.get(column).and_then(|c| c.kind)
    }

    /// Columns that reading must keep as text.
    pub fn text_columns(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|(_, c)| c.kind.is_some_and(ColumnType::read_as_text))
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Strategy for a numeric/date column and a categorical/boolean one.
    pub fn strategy_for(&self, column: &str, categorical: bool) -> ImputeStrategy {
        if let Some(s) = self.columns.get(column).and_then(|c| c.impute) {
            return s;
        }
        if categorical {
            self.impute_categorical.unwrap_or(match self.impute {
                ImputeStrategy::Constant => ImputeStrategy::Constant,
                _ => ImputeStrategy::MostFrequent,
            })
        } else {
            self.impute
        }
    }
}

pub fn parse_delimiter(s: Option<&str>) -> Result<Option<u8>> {
    let Some(s) = s else { return Ok(None) };
    Ok(Some(match s {
        "," | "comma" => b',',
        ";" | "semicolon" => b';',
        "\t" | "\\t" | "tab" => b'\t',
        "|" | "pipe" => b'|',
        "auto" => return Ok(None),
        s if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" => s.as_bytes()[0],
        s => {
            return Err(Error::Config(format!(
                "delimiter {s:?}: use one character such as ',', ';', 'tab' or '|'"
            )));
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_section_round_trips_and_rejects_unknown_keys() {
        let c = DataConfig::from_yaml(
            "delimiter: ';'\ncolumns: {pclass: {type: categorical}}\ndrop: [name]\nimpute: median\n\
             scaler: robust\nencoding: ordinal\nmissing_indicators: true\n\
             features: {polynomial: 2, bins: {age: 4}}\nselection: {variance_threshold: 0.0}\n\
             augment: {noise: 0.1}\n",
        )
        .unwrap();
        assert_eq!(c.delimiter_byte().unwrap(), Some(b';'));
        assert_eq!(c.column_type("pclass"), Some(ColumnType::Categorical));
        assert_eq!(c.text_columns(), ["pclass"]);
        assert_eq!(c.scaler, ScalerKind::Robust);
        assert_eq!(c.strategy_for("x", false), ImputeStrategy::Median);
        assert_eq!(c.strategy_for("x", true), ImputeStrategy::MostFrequent);
        let again: DataConfig =
            serde_yaml_ng::from_str(&serde_yaml_ng::to_string(&c).unwrap()).unwrap();
        assert_eq!(again, c);
        let e = DataConfig::from_yaml("scalr: standard\n").unwrap_err();
        assert!(e.to_string().contains("scalr"), "{e}");
        assert!(DataConfig::from_yaml("features: {polynomial: 5}\n").is_err());
        assert_eq!(DataConfig::from_yaml("{}").unwrap(), DataConfig::default());
    }
}
