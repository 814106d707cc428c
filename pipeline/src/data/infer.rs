//! Schema inference: what each column holds (float, integer, boolean, categorical, date, free
//! text, identifier), with the config's overrides applied, and warnings for the columns left
//! out of the features.
//!
//! Column *types* are read off the whole table (they are structure, not statistics: whether
//! cells are numbers or dates); every statistic the model uses is fitted on the training split.

use serde::{Deserialize, Serialize};

use super::config::{ColumnType, DataConfig};
use super::datetime;
use super::table::{Column, Table, TextColumn, is_missing, parse_number};
use crate::error::{Error, Result};

/// Tokens read as booleans (lower-cased); a column is boolean when its values fall within
/// one pair.
pub const BOOLEAN_PAIRS: [(&str, &str); 5] = [
    ("true", "false"),
    ("yes", "no"),
    ("t", "f"),
    ("y", "n"),
    ("1", "0"),
];

/// The value of a boolean cell, or `None` if it is not one.
pub fn parse_bool(s: &str) -> Option<bool> {
    let l = s.trim().to_ascii_lowercase();
    for (t, f) in BOOLEAN_PAIRS {
        if l == t {
            return Some(true);
        }
        if l == f {
            return Some(false);
        }
    }
    if l == "1.0" {
        return Some(true);
    }
    if l == "0.0" {
        return Some(false);
    }
    None
}

/// Rows below which no column is called an identifier (every small table has unique columns).
pub const MIN_ROWS_FOR_IDENTIFIER: usize = 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    /// Index in the table.
    pub index: usize,
    #[serde(rename = "type")]
    pub ty: ColumnType,
    pub missing: usize,
    /// Distinct present values (computed for text columns).
    pub distinct: Option<usize>,
    /// For dates: the chrono format the column is read with.
    pub datetime_format: Option<String>,
    /// Why the column is not a feature.
    pub excluded: Option<String>,
}

impl ColumnInfo {
    pub fn is_feature(&self) -> bool {
        self.excluded.is_none() && self.ty.is_feature()
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Schema {
    pub columns: Vec<ColumnInfo>,
    pub warnings: Vec<String>,
}

impl Schema {
    pub fn features(&self) -> impl Iterator<Item = &ColumnInfo> {
        self.columns.iter().filter(|c| c.is_feature())
    }
}

/// The default largest number of categories for `rows` rows: 20, or a tenth of the rows up
/// to 100.
pub fn default_max_categories(rows: usize) -> usize {
    (rows / 10).clamp(20, 100)
}

/// Infer every column except `exclude` (the targets) and the config's `drop` list.
pub fn infer_schema(table: &Table, cfg: &DataConfig, exclude: &[String]) -> Result<Schema> {
    for name in cfg.drop.iter().chain(cfg.columns.keys()) {
        table.col_index(name)?;
    }
    let mut schema = Schema::default();
    for (c, name) in table.headers.iter().enumerate() {
        if exclude.contains(name) || cfg.drop.contains(name) {
            continue;
        }
        let info = infer_column(table, c, cfg)?;
        if let Some(why) = &info.excluded {
            schema.warnings.push(format!(
                "{}: column {name:?} (field {}) {why}: not used as a feature",
                table.path.display(),
                c + 1
            ));
        }
        schema.columns.push(info);
    }
    Ok(schema)
}

/// Infer one column (the config's overrides applied).
pub fn infer_column(table: &Table, c: usize, cfg: &DataConfig) -> Result<ColumnInfo> {
    let name = &table.headers[c];
    let n = table.n_rows();
    let mut info = ColumnInfo {
        name: name.clone(),
        index: c,
        ty: ColumnType::Float,
        missing: 0,
        distinct: None,
        datetime_format: None,
        excluded: None,
    };
    let forced = cfg.column_type(name);
    let max_cat = cfg
        .max_categories
        .unwrap_or_else(|| default_max_categories(n));
    match &table.columns[c] {
        Column::Number(col) => {
            info.missing = col.values.iter().filter(|v| v.is_nan()).count();
            info.ty = if col.integral {
                ColumnType::Integer
            } else {
                ColumnType::Float
            };
            if info.missing == n {
                info.excluded = Some("is entirely missing".into());
                return Ok(info);
            }
            if let Some(t) = forced {
                // Types that need text were read as text; numbers can still be numbers.
                match t {
                    ColumnType::Float | ColumnType::Integer => info.ty = t,
                    ColumnType::Text | ColumnType::Identifier => {
                        info.ty = t;
                        info.excluded = Some(format!("is set to type {}", t.name()));
                    }
                    _ => {
                        return Err(Error::Config(format!(
                            "column {name:?}: type {} needs the column read as text (internal)",
                            t.name()
                        )));
                    }
                }
                return Ok(info);
            }
            if col.integral && info.missing == 0 && n >= MIN_ROWS_FOR_IDENTIFIER {
                let mut v: Vec<f32> = col.values.clone();
                v.sort_by(f32::total_cmp);
                let unique = v.windows(2).all(|w| w[0] != w[1]);
                let consecutive = (v[n - 1] - v[0]) as f64 + 1.0 == n as f64;
                if unique && (consecutive || looks_like_id(name)) {
                    info.ty = ColumnType::Identifier;
                    info.excluded = Some("is unique per row (an identifier)".into());
                }
            }
            Ok(info)
        }
        Column::Text(t) => infer_text(table, c, t, forced, max_cat, cfg, info),
    }
}

fn looks_like_id(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l == "id"
        || l.ends_with("_id")
        || l.ends_with(" id")
        || l.ends_with("id") && name.ends_with("Id")
}

fn infer_text(
    table: &Table,
    c: usize,
    t: &TextColumn,
    forced: Option<ColumnType>,
    max_cat: usize,
    cfg: &DataConfig,
    mut info: ColumnInfo,
) -> Result<ColumnInfo> {
    let name = &table.headers[c];
    let n = table.n_rows();
    let counts = t.counts();
    let present: Vec<usize> = (0..t.dict.len())
        .filter(|&k| counts[k] > 0 && !is_missing(&t.dict[k]))
        .collect();
    info.missing = (0..t.dict.len())
        .filter(|&k| is_missing(&t.dict[k]))
        .map(|k| counts[k])
        .sum();
    info.distinct = Some(present.len());
    let values = || present.iter().map(|&k| t.dict[k].as_str());
    if present.is_empty() {
        info.ty = forced.unwrap_or(ColumnType::Categorical);
        info.excluded = Some("is entirely missing".into());
        return Ok(info);
    }
    let first_row_of = |pred: &dyn Fn(&str) -> bool| -> usize {
        (0..n)
            .find(|&r| {
                let s = t.get(r);
                !is_missing(s) && pred(s)
            })
            .unwrap_or(0)
    };
    if let Some(ty) = forced {
        info.ty = ty;
        match ty {
            ColumnType::Float | ColumnType::Integer => {
                // Numbers stored as text (read as text for another reason): check them.
                if let Some(bad) = values().find(|v| parse_number(v.as_bytes()).is_none()) {
                    let r = first_row_of(&|s| s == bad);
                    return Err(table.cell_error(c, r, format!("{bad:?} is not a number")));
                }
            }
            ColumnType::Boolean => {
                if let Some(bad) = values().find(|v| parse_bool(v).is_none()) {
                    let r = first_row_of(&|s| s == bad);
                    return Err(table.cell_error(
                        c,
                        r,
                        format!("{bad:?} is not a boolean (true/false, yes/no, 1/0)"),
                    ));
                }
            }
            ColumnType::Datetime => {
                let fmt = cfg
                    .columns
                    .get(name)
                    .and_then(|cc| cc.datetime_format.clone())
                    .or_else(|| datetime::detect_format(values()).map(str::to_string));
                let Some(fmt) = fmt else {
                    let bad = values()
                        .find(|v| datetime::parse_any(v).is_none())
                        .unwrap_or_default();
                    let r = first_row_of(&|s| s == bad);
                    return Err(table.cell_error(
                        c,
                        r,
                        format!(
                            "{bad:?} is not a date in a known format (set one with \
                             columns: {{{name}: {{datetime_format: \"%d/%m/%Y\"}}}})"
                        ),
                    ));
                };
                if let Some(bad) = values().find(|v| datetime::parse_with(v, &fmt).is_none()) {
                    let r = first_row_of(&|s| s == bad);
                    return Err(table.cell_error(
                        c,
                        r,
                        format!("{bad:?} does not match the date format {fmt:?}"),
                    ));
                }
                info.datetime_format = Some(fmt);
            }
            ColumnType::Text | ColumnType::Identifier => {
                info.excluded = Some(format!("is set to type {}", ty.name()));
            }
            ColumnType::Categorical => {}
        }
        return Ok(info);
    }
    let lower: Vec<String> = values().map(|v| v.trim().to_ascii_lowercase()).collect();
    if BOOLEAN_PAIRS
        .iter()
        .any(|(a, b)| lower.iter().all(|v| v == a || v == b))
    {
        info.ty = ColumnType::Boolean;
        return Ok(info);
    }
    if let Some(fmt) = datetime::detect_format(values()) {
        info.ty = ColumnType::Datetime;
        info.datetime_format = Some(fmt.to_string());
        return Ok(info);
    }
    // Mostly numbers with a few words: a typo, most likely. Say where rather than guess.
    let present_cells: usize = present.iter().map(|&k| counts[k]).sum();
    let numeric_cells: usize = present
        .iter()
        .filter(|&&k| parse_number(t.dict[k].as_bytes()).is_some())
        .map(|&k| counts[k])
        .sum();
    if numeric_cells * 2 > present_cells {
        let r = first_row_of(&|s| parse_number(s.as_bytes()).is_none());
        let cell = t.get(r);
        return Err(table.cell_error(
            c,
            r,
            format!(
                "{cell:?} is not a number, but {}% of this column's values are; fix the value, \
                 or set the column's type (--column-type {name}=categorical)",
                numeric_cells * 100 / present_cells
            ),
        ));
    }
    if present.len() == n && n >= MIN_ROWS_FOR_IDENTIFIER {
        info.ty = ColumnType::Identifier;
        info.excluded = Some("is unique per row (an identifier)".into());
    } else if present.len() <= max_cat {
        info.ty = ColumnType::Categorical;
    } else {
        info.ty = ColumnType::Text;
        info.excluded = Some(format!(
            "has {} distinct values in {n} rows (free text; at most {max_cat} make a \
             categorical column, see --column-type)",
            present.len()
        ));
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::config::ColumnConfig;
    use std::path::Path;

    fn table(s: &str) -> Table {
        Table::from_bytes(Path::new("t.csv"), s.as_bytes()).unwrap()
    }

    #[test]
    fn infers_types_and_excludes_with_warnings() {
        let mut s = String::from("id,x,n,flag,when,colour,name,empty,y\n");
        for i in 0..30 {
            s.push_str(&format!(
                "{},{}.5,{},{},2012/01/{:02},{},person {i},,{}\n",
                i + 1,
                i,
                i % 3,
                if i % 2 == 0 { "Yes" } else { "no" },
                i + 1,
                ["red", "green", "NA"][i % 3],
                i % 2
            ));
        }
        let t = table(&s);
        let sc = infer_schema(&t, &DataConfig::default(), &["y".into()]).unwrap();
        let ty: Vec<(&str, ColumnType, bool)> = sc
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.ty, c.is_feature()))
            .collect();
        use ColumnType::*;
        assert_eq!(
            ty,
            [
                ("id", Identifier, false),
                ("x", Float, true),
                ("n", Integer, true),
                ("flag", Boolean, true),
                ("when", Datetime, true),
                ("colour", Categorical, true),
                ("name", Identifier, false),
                ("empty", Float, false),
            ]
        );
        assert_eq!(sc.columns[5].missing, 10);
        assert_eq!(sc.warnings.len(), 3);
        assert!(
            sc.warnings[2].contains("\"empty\"") && sc.warnings[2].contains("entirely missing")
        );
        // overrides
        let mut cfg = DataConfig::default();
        cfg.columns.insert(
            "id".into(),
            ColumnConfig {
                kind: Some(Integer),
                ..Default::default()
            },
        );
        cfg.drop.push("name".into());
        let sc = infer_schema(&t, &cfg, &["y".into()]).unwrap();
        assert_eq!(sc.columns[0].ty, Integer);
        assert!(sc.columns.iter().all(|c| c.name != "name"));
        cfg.drop.push("nope".into());
        assert!(infer_schema(&t, &cfg, &[]).is_err());
    }

    #[test]
    fn a_typo_in_a_numeric_column_names_its_cell() {
        let t = table("a,b\n1,x\n2o,y\n3,x\n");
        let e = infer_schema(&t, &DataConfig::default(), &["b".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.csv:3") && e.contains("\"2o\"") && e.contains("field 1"),
            "{e}"
        );
        assert_eq!(parse_bool("YES"), Some(true));
        assert_eq!(parse_bool("maybe"), None);
    }
}
