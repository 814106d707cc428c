//! What kind of problem a target describes.

use serde::{Deserialize, Serialize};

use crate::data::Table;
use crate::data::table::is_missing;
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Classification,
    /// Several binary target columns (each row may have any number of labels).
    Multilabel,
    Regression,
}

impl Task {
    pub fn parse(s: &str) -> Option<Task> {
        match s.trim().to_ascii_lowercase().as_str() {
            "classification" | "classifier" | "class" => Some(Task::Classification),
            "multilabel" | "multi_label" | "multi-label" => Some(Task::Multilabel),
            "regression" | "regressor" => Some(Task::Regression),
            _ => None,
        }
    }
}

/// Infer the task from the target column(s): several targets that are all binary (0/1,
/// true/false, yes/no) → multi-label classification; several other targets → (multi-output)
/// regression;
/// a target with any non-numeric value (strings) → classification; integers with few distinct
/// values (at most 50 and at most a fifth of the rows, or exactly two) → classification;
/// anything else numeric → regression.
pub fn infer_task(table: &Table, targets: &[String]) -> Result<Task> {
    if targets.is_empty() {
        return Err(Error::Config("no target column given".into()));
    }
    for t in targets {
        table.col_index(t)?;
    }
    if targets.len() > 1 {
        let all_binary = targets.iter().all(|t| {
            table
                .column(t)
                .map(|c| {
                    c.iter()
                        .filter(|s| !is_missing(s))
                        .all(|s| parse_bool(s).is_some())
                })
                .unwrap_or(false)
        });
        return Ok(if all_binary {
            Task::Multilabel
        } else {
            Task::Regression
        });
    }
    let col = table.column(&targets[0])?;
    let values: Vec<&String> = col.iter().filter(|s| !is_missing(s)).collect();
    if values.iter().any(|s| s.parse::<f64>().is_err()) {
        return Ok(Task::Classification);
    }
    let all_int = values.iter().all(|s| s.parse::<i64>().is_ok());
    if all_int {
        let mut distinct: Vec<&str> = values.iter().map(|s| s.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let n = distinct.len();
        if n == 2 || (n <= 50 && n * 5 <= values.len()) {
            return Ok(Task::Classification);
        }
    }
    Ok(Task::Regression)
}

/// `1/0`, `true/false`, `yes/no`, `y/n`, `t/f` (any case) as a boolean.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "1.0" | "true" | "yes" | "y" | "t" => Some(true),
        "0" | "0.0" | "false" | "no" | "n" | "f" => Some(false),
        _ => None,
    }
}
