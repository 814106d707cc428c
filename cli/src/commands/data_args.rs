//! The data options shared by `neurite train` and `neurite data prepare`, filling a
//! [`DataConfig`] (the same struct a model config's `data:` section deserializes into).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use neurite_pipeline::data::DataConfig;
use neurite_pipeline::data::config::{
    ColumnConfig, ColumnType, Encoding, ImputeStrategy, ScalerKind,
};

use super::split_list;

#[derive(Args, Debug, Default, Clone)]
pub struct DataArgs {
    /// YAML file with the data options (a model config's `data:` section); flags override it.
    #[arg(long, value_name = "FILE")]
    pub data_config: Option<PathBuf>,
    /// Field delimiter: ',', ';', 'tab', '|' (default: detected).
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Imputation of numeric and date columns: mean, median, most_frequent or constant.
    #[arg(long)]
    pub impute: Option<String>,
    /// Imputation of categorical and boolean columns (default most_frequent).
    #[arg(long)]
    pub impute_categorical: Option<String>,
    /// The constant for `--impute constant` (default 0).
    #[arg(long)]
    pub fill_value: Option<f64>,
    /// Add a 0/1 "was missing" feature per column with missing values.
    #[arg(long)]
    pub missing_indicators: bool,
    /// Drop rows with a missing feature instead of imputing.
    #[arg(long)]
    pub drop_missing_rows: bool,
    /// standard, minmax, robust or none.
    #[arg(long)]
    pub scaler: Option<String>,
    /// Categorical encoding: onehot or ordinal.
    #[arg(long)]
    pub encoding: Option<String>,
    /// Columns to ignore, comma-separated.
    #[arg(long, value_name = "COL,...")]
    pub drop: Option<String>,
    /// Force a column's type: NAME=float|integer|boolean|categorical|datetime|text (repeatable
    /// or comma-separated).
    #[arg(long, value_name = "NAME=TYPE")]
    pub column_type: Vec<String>,
    /// Largest number of distinct values of a categorical column.
    #[arg(long)]
    pub max_categories: Option<usize>,
    /// Polynomial features of this degree (2 or 3) over the numeric features.
    #[arg(long)]
    pub polynomial: Option<usize>,
    /// Only interaction terms (with --polynomial).
    #[arg(long)]
    pub interaction_only: bool,
    /// Columns to log-transform (signed log1p), comma-separated.
    #[arg(long, value_name = "COL,...")]
    pub log: Option<String>,
    /// Columns to Yeo-Johnson-transform, comma-separated.
    #[arg(long, value_name = "COL,...")]
    pub yeo_johnson: Option<String>,
    /// Quantile bins: NAME=N (repeatable or comma-separated).
    #[arg(long, value_name = "NAME=N")]
    pub bins: Vec<String>,
    /// Drop features with training variance at most this.
    #[arg(long)]
    pub variance_threshold: Option<f64>,
    /// Drop the later of two features correlated above this (absolute).
    #[arg(long)]
    pub correlation_threshold: Option<f64>,
    /// Keep the K features with the highest mutual information with the target.
    #[arg(long, value_name = "K")]
    pub mutual_info_k: Option<usize>,
    /// On-the-fly Gaussian noise on the scaled numeric features (std, e.g. 0.05).
    #[arg(long, value_name = "STD")]
    pub augment_noise: Option<f64>,
    /// On-the-fly mixup with Beta(α, α) (e.g. 0.2).
    #[arg(long, value_name = "ALPHA")]
    pub augment_mixup: Option<f64>,
}

/// `a=b,c=d` and repeated flags into pairs.
fn pairs(items: &[String], flag: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for item in items {
        for p in split_list(item) {
            let (k, v) = p
                .split_once('=')
                .with_context(|| format!("{flag}: expected NAME=VALUE, got {p:?}"))?;
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok(out)
}

impl DataArgs {
    pub fn to_config(&self) -> Result<DataConfig> {
        let mut c = match &self.data_config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                DataConfig::from_yaml(&text).with_context(|| format!("{}", p.display()))?
            }
            None => DataConfig::default(),
        };
        if let Some(d) = &self.delimiter {
            c.delimiter = Some(d.clone());
        }
        if let Some(s) = &self.impute {
            c.impute = ImputeStrategy::parse(s).with_context(|| {
                format!("--impute: expected mean, median, most_frequent or constant, got {s:?}")
            })?;
        }
        if let Some(s) = &self.impute_categorical {
            c.impute_categorical = Some(ImputeStrategy::parse(s).with_context(|| {
                format!("--impute-categorical: expected most_frequent or constant, got {s:?}")
            })?);
        }
        if self.fill_value.is_some() {
            c.fill_value = self.fill_value;
        }
        c.missing_indicators |= self.missing_indicators;
        c.drop_missing_rows |= self.drop_missing_rows;
        if let Some(s) = &self.scaler {
            c.scaler = ScalerKind::parse(s).with_context(|| {
                format!("--scaler: expected standard, minmax, robust or none, got {s:?}")
            })?;
        }
        if let Some(s) = &self.encoding {
            c.encoding = Encoding::parse(s)
                .with_context(|| format!("--encoding: expected onehot or ordinal, got {s:?}"))?;
        }
        if let Some(d) = &self.drop {
            c.drop.extend(split_list(d));
        }
        for (name, ty) in pairs(&self.column_type, "--column-type")? {
            let t = ColumnType::parse(&ty).with_context(|| {
                format!(
                    "--column-type {name}={ty}: types are float, integer, boolean, categorical, \
                     datetime, text"
                )
            })?;
            c.columns
                .entry(name)
                .or_insert_with(ColumnConfig::default)
                .kind = Some(t);
        }
        if self.max_categories.is_some() {
            c.max_categories = self.max_categories;
        }
        if self.polynomial.is_some() {
            c.features.polynomial = self.polynomial;
        }
        c.features.interaction_only |= self.interaction_only;
        if let Some(l) = &self.log {
            c.features.log.extend(split_list(l));
        }
        if let Some(l) = &self.yeo_johnson {
            c.features.yeo_johnson.extend(split_list(l));
        }
        for (name, n) in pairs(&self.bins, "--bins")? {
            let n: usize = n
                .parse()
                .with_context(|| format!("--bins {name}={n}: not a number of bins"))?;
            c.features.bins.insert(name, n);
        }
        if self.variance_threshold.is_some() {
            c.selection.variance_threshold = self.variance_threshold;
        }
        if self.correlation_threshold.is_some() {
            c.selection.correlation_threshold = self.correlation_threshold;
        }
        if self.mutual_info_k.is_some() {
            c.selection.mutual_info_k = self.mutual_info_k;
        }
        if self.augment_noise.is_some() {
            c.augment.noise = self.augment_noise;
        }
        if self.augment_mixup.is_some() {
            c.augment.mixup = self.augment_mixup;
        }
        if let Err(e) = c.validate() {
            bail!("{e}");
        }
        Ok(c)
    }
}

/// Print warnings to stderr, one per line.
pub fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}
