//! Exploratory data analysis of a CSV file: per-column type, missing share, statistics,
//! cardinality and top values; the target's distribution; the strongest correlations between
//! numeric columns and with the target. Rendered as a terminal summary, JSON, or a
//! self-contained HTML report with SVG charts ([`html`]).

pub mod html;

use serde::Serialize;

use crate::data::config::{ColumnType, DataConfig};
use crate::data::infer::{ColumnInfo, infer_column};
use crate::data::stats;
use crate::data::table::{Column, Table, is_missing};
use crate::error::Result;
use crate::task::{Task, infer_task};

/// Rows beyond which correlations and charts use an evenly spaced sample of this many rows.
pub const SAMPLE_ROWS: usize = 200_000;
/// Pairs listed among the strongest correlations.
pub const TOP_PAIRS: usize = 10;

#[derive(Clone, Debug, Serialize)]
pub struct EdaReport {
    pub path: String,
    pub rows: usize,
    pub columns: usize,
    pub delimiter: String,
    pub target: Option<String>,
    pub task: Option<Task>,
    pub summary: Vec<ColumnSummary>,
    pub target_distribution: Option<TargetDistribution>,
    /// Strongest absolute Pearson correlations between numeric columns.
    pub correlations: Vec<Correlation>,
    /// Each numeric column with the target: Pearson for a numeric target, the correlation ratio
    /// η for classes.
    pub target_correlations: Vec<Correlation>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ColumnSummary {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub missing: usize,
    pub missing_pct: f64,
    pub distinct: usize,
    pub numeric: Option<NumericStats>,
    /// Most frequent values with their counts (text-like columns).
    pub top: Vec<(String, usize)>,
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NumericStats {
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub q25: f64,
    pub median: f64,
    pub q75: f64,
    pub max: f64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetDistribution {
    Classes { counts: Vec<(String, usize)> },
    Values { stats: NumericStats },
}

#[derive(Clone, Debug, Serialize)]
pub struct Correlation {
    pub a: String,
    pub b: String,
    pub value: f64,
}

impl NumericStats {
    fn of(present: &[f64]) -> Option<NumericStats> {
        if present.is_empty() {
            return None;
        }
        let s = stats::sorted(present);
        Some(NumericStats {
            mean: stats::mean(present),
            std: stats::variance(present).sqrt(),
            min: s[0],
            q25: stats::percentile_sorted(&s, 25.0),
            median: stats::median_sorted(&s),
            q75: stats::percentile_sorted(&s, 75.0),
            max: s[s.len() - 1],
        })
    }
}

/// Present values of a number column (`None` for a text column).
pub fn numbers(col: &Column) -> Option<Vec<f64>> {
    match col {
        Column::Number(n) => Some(
            n.values
                .iter()
                .filter(|v| !v.is_nan())
                .map(|&v| v as f64)
                .collect(),
        ),
        Column::Text(_) => None,
    }
}

/// Values by row (NaN for missing) of a number column.
fn by_row(col: &Column) -> Option<Vec<f64>> {
    match col {
        Column::Number(n) => Some(n.values.iter().map(|&v| v as f64).collect()),
        Column::Text(_) => None,
    }
}

/// Present values with their counts, most frequent first (ties by value).
pub fn value_counts(col: &Column) -> Vec<(String, usize)> {
    let mut m: std::collections::HashMap<String, usize> = Default::default();
    match col {
        Column::Number(n) => {
            for v in n.values.iter().filter(|v| !v.is_nan()) {
                *m.entry(crate::data::table::format_f32(*v)).or_default() += 1;
            }
        }
        Column::Text(t) => {
            for (k, c) in t.counts().into_iter().enumerate() {
                if c > 0 && !is_missing(&t.dict[k]) {
                    *m.entry(t.dict[k].clone()).or_default() += c;
                }
            }
        }
    }
    let mut v: Vec<(String, usize)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// Row indices used for correlations and charts.
pub fn sample_rows(n: usize) -> Vec<usize> {
    if n <= SAMPLE_ROWS {
        (0..n).collect()
    } else {
        (0..SAMPLE_ROWS).map(|i| i * n / SAMPLE_ROWS).collect()
    }
}

/// Pearson correlation over the rows where both are present.
fn pairwise(a: &[f64], b: &[f64]) -> Option<f64> {
    let (x, y): (Vec<f64>, Vec<f64>) = a
        .iter()
        .zip(b)
        .filter(|(x, y)| !x.is_nan() && !y.is_nan())
        .map(|(x, y)| (*x, *y))
        .unzip();
    (x.len() >= 3).then(|| stats::correlation(&x, &y))
}

/// The numeric columns used for correlations: name and sampled values by row.
pub fn numeric_columns(table: &Table, target: Option<&str>) -> Vec<(String, Vec<f64>)> {
    let rows = sample_rows(table.n_rows());
    table
        .headers
        .iter()
        .zip(&table.columns)
        .filter(|(h, _)| Some(h.as_str()) != target)
        .filter_map(|(h, c)| {
            by_row(c).map(|v| (h.clone(), rows.iter().map(|&r| v[r]).collect::<Vec<f64>>()))
        })
        .filter(|(_, v)| v.iter().any(|x| !x.is_nan()))
        .collect()
}

/// Correlation matrix of the numeric columns (NaN where undefined).
pub fn correlation_matrix(cols: &[(String, Vec<f64>)]) -> Vec<Vec<f64>> {
    let k = cols.len();
    let mut m = vec![vec![f64::NAN; k]; k];
    for i in 0..k {
        m[i][i] = 1.0;
        for j in 0..i {
            let r = pairwise(&cols[i].1, &cols[j].1).unwrap_or(f64::NAN);
            m[i][j] = r;
            m[j][i] = r;
        }
    }
    m
}

/// Analyse `table`; `target` adds its distribution and the correlations with it.
pub fn analyze(table: &Table, target: Option<&str>, cfg: &DataConfig) -> Result<EdaReport> {
    if let Some(t) = target {
        table.col_index(t)?;
    }
    let n = table.n_rows();
    let mut summary = Vec::new();
    let mut warnings = Vec::new();
    for (c, name) in table.headers.iter().enumerate() {
        let col = &table.columns[c];
        let (ty, note) = match infer_column(table, c, cfg) {
            Ok(ColumnInfo { ty, excluded, .. }) => (ty.name().to_string(), excluded),
            Err(e) => {
                warnings.push(e.to_string());
                ("mixed".to_string(), Some("numbers mixed with text".into()))
            }
        };
        let counts = value_counts(col);
        let missing = (0..n).filter(|&r| col.is_missing_at(r)).count();
        let numeric = numbers(col).and_then(|v| NumericStats::of(&v));
        let text_like = !matches!(col, Column::Number(_)) || counts.len() <= 20;
        summary.push(ColumnSummary {
            name: name.clone(),
            ty,
            missing,
            missing_pct: if n > 0 {
                100.0 * missing as f64 / n as f64
            } else {
                0.0
            },
            distinct: counts.len(),
            numeric,
            top: if text_like {
                counts.into_iter().take(5).collect()
            } else {
                Vec::new()
            },
            note,
        });
    }
    let mut task = None;
    let mut target_distribution = None;
    let mut target_correlations = Vec::new();
    let nums = numeric_columns(table, target);
    if let Some(t) = target {
        let tc = table.col_index(t)?;
        let tk = infer_task(table, &[t.to_string()])?;
        task = Some(tk);
        let rows = sample_rows(n);
        match tk {
            Task::Classification => {
                let counts = value_counts(&table.columns[tc]);
                let index: std::collections::HashMap<String, usize> = counts
                    .iter()
                    .enumerate()
                    .map(|(i, (s, _))| (s.clone(), i))
                    .collect();
                let cls: Vec<Option<usize>> = rows
                    .iter()
                    .map(|&r| index.get(table.cell(tc, r).as_ref()).copied())
                    .collect();
                for (name, v) in &nums {
                    let (x, y): (Vec<f64>, Vec<usize>) = v
                        .iter()
                        .zip(&cls)
                        .filter_map(|(x, c)| c.filter(|_| !x.is_nan()).map(|c| (*x, c)))
                        .unzip();
                    if x.len() >= 3 {
                        target_correlations.push(Correlation {
                            a: name.clone(),
                            b: t.to_string(),
                            value: stats::correlation_ratio(&x, &y),
                        });
                    }
                }
                target_distribution = Some(TargetDistribution::Classes { counts });
            }
            Task::Regression | Task::Multilabel => {
                let tv = table.numeric_values(tc, true)?;
                let present: Vec<f64> = tv
                    .iter()
                    .filter(|v| !v.is_nan())
                    .map(|&v| v as f64)
                    .collect();
                if let Some(stats) = NumericStats::of(&present) {
                    target_distribution = Some(TargetDistribution::Values { stats });
                }
                let ts: Vec<f64> = rows.iter().map(|&r| tv[r] as f64).collect();
                for (name, v) in &nums {
                    if let Some(r) = pairwise(v, &ts) {
                        target_correlations.push(Correlation {
                            a: name.clone(),
                            b: t.to_string(),
                            value: r,
                        });
                    }
                }
            }
        }
        target_correlations.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
    }
    let m = correlation_matrix(&nums);
    let mut pairs = Vec::new();
    for i in 0..nums.len() {
        for j in 0..i {
            if m[i][j].is_finite() {
                pairs.push(Correlation {
                    a: nums[j].0.clone(),
                    b: nums[i].0.clone(),
                    value: m[i][j],
                });
            }
        }
    }
    pairs.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
    pairs.truncate(TOP_PAIRS);
    if n > SAMPLE_ROWS {
        warnings.push(format!(
            "correlations and charts use an evenly spaced sample of {SAMPLE_ROWS} of the {n} rows"
        ));
    }
    Ok(EdaReport {
        path: table.path.display().to_string(),
        rows: n,
        columns: table.n_cols(),
        delimiter: match table.delimiter {
            b'\t' => "tab".into(),
            d => (d as char).to_string(),
        },
        target: target.map(str::to_string),
        task,
        summary,
        target_distribution,
        correlations: pairs,
        target_correlations,
        warnings,
    })
}

/// A number in at most ~10 characters.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        format!("{v:.3e}")
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The terminal summary.
pub fn render_text(r: &EdaReport) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: {} rows x {} columns (delimiter {:?})",
        r.path, r.rows, r.columns, r.delimiter
    );
    let _ = writeln!(o);
    let w = r
        .summary
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(6)
        .clamp(6, 24);
    let _ = writeln!(
        o,
        "{:<w$}  {:<11} {:>7}  {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  {:>8}  top values",
        "column", "type", "missing", "mean", "std", "min", "25%", "50%", "75%", "max", "distinct"
    );
    for c in &r.summary {
        let s = c.numeric.as_ref();
        let f = |x: Option<f64>| x.map_or("".to_string(), fmt_num);
        let top: Vec<String> = c
            .top
            .iter()
            .take(3)
            .map(|(v, n)| format!("{} ({n})", clip(v, 16)))
            .collect();
        let mut line = format!(
            "{:<w$}  {:<11} {:>6.1}%  {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  {:>8}  {}",
            clip(&c.name, w),
            c.ty,
            c.missing_pct,
            f(s.map(|s| s.mean)),
            f(s.map(|s| s.std)),
            f(s.map(|s| s.min)),
            f(s.map(|s| s.q25)),
            f(s.map(|s| s.median)),
            f(s.map(|s| s.q75)),
            f(s.map(|s| s.max)),
            c.distinct,
            top.join(", ")
        );
        if let Some(n) = &c.note {
            let _ = write!(line, "  [{n}]");
        }
        let _ = writeln!(o, "{}", line.trim_end());
    }
    if let (Some(t), Some(d)) = (&r.target, &r.target_distribution) {
        let _ = writeln!(o);
        match d {
            TargetDistribution::Classes { counts } => {
                let total: usize = counts.iter().map(|c| c.1).sum();
                let _ = writeln!(o, "target {t:?}: {} classes", counts.len());
                for (v, n) in counts.iter().take(20) {
                    let pct = 100.0 * *n as f64 / total.max(1) as f64;
                    let bar = "#".repeat((pct / 2.5).round() as usize);
                    let _ = writeln!(o, "  {:<20} {n:>8} {pct:>5.1}% {bar}", clip(v, 20));
                }
            }
            TargetDistribution::Values { stats: s } => {
                let _ = writeln!(
                    o,
                    "target {t:?}: mean {} std {} min {} median {} max {}",
                    fmt_num(s.mean),
                    fmt_num(s.std),
                    fmt_num(s.min),
                    fmt_num(s.median),
                    fmt_num(s.max)
                );
            }
        }
    }
    if !r.correlations.is_empty() {
        let _ = writeln!(o, "\nstrongest correlations (Pearson):");
        for c in &r.correlations {
            let _ = writeln!(o, "  {:>7.3}  {} ~ {}", c.value, c.a, c.b);
        }
    }
    if !r.target_correlations.is_empty() {
        let how = if r.task == Some(Task::Classification) {
            "correlation ratio η"
        } else {
            "Pearson"
        };
        let _ = writeln!(o, "\ncorrelation with the target ({how}):");
        for c in r.target_correlations.iter().take(15) {
            let _ = writeln!(o, "  {:>7.3}  {}", c.value, c.a);
        }
    }
    for w in &r.warnings {
        let _ = writeln!(o, "\nwarning: {w}");
    }
    o
}

/// Whether a summary's type is a number type.
pub fn is_numeric_type(ty: &str) -> bool {
    ty == ColumnType::Float.name() || ty == ColumnType::Integer.name()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn summary_of_a_small_table() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let t = Table::read_csv(&root.join("data/iris.csv")).unwrap();
        let r = analyze(&t, Some("species"), &DataConfig::default()).unwrap();
        assert_eq!(r.rows, 150);
        assert_eq!(r.task, Some(Task::Classification));
        let pl = &r.summary[2];
        assert_eq!(pl.name, "petal_length");
        let s = pl.numeric.as_ref().unwrap();
        // pandas: iris.petal_length.describe(): mean 3.758, min 1.0, 50% 4.35, max 6.9
        // (values are stored as f32, hence the tolerances)
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        assert!((s.mean - 3.758).abs() < 1e-3, "{s:?}");
        assert!(
            close(s.min, 1.0) && close(s.max, 6.9) && close(s.median, 4.35),
            "{s:?}"
        );
        // petal length and width correlate at 0.963 (well known)
        assert!(r.correlations[0].value > 0.96, "{:?}", r.correlations[0]);
        assert!(r.target_correlations[0].a.starts_with("petal"));
        let text = render_text(&r);
        assert!(
            text.contains("petal_length") && text.contains("setosa"),
            "{text}"
        );
        let TargetDistribution::Classes { counts } = r.target_distribution.unwrap() else {
            panic!()
        };
        assert_eq!(counts.len(), 3);
    }
}
