//! What kind of problem a target describes.

use serde::{Deserialize, Serialize};

use crate::data::Table;
use crate::data::table::{Column, is_missing};
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Classification,
    /// Several binary target columns (each row may have any number of labels).
    Multilabel,
    Regression,
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Task::Classification => "classification",
            Task::Multilabel => "multi-label classification",
            Task::Regression => "regression",
        })
    }
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
            table.col_index(t).is_ok_and(|c| {
                (0..table.n_rows()).all(|r| {
                    let cell = table.cell(c, r);
                    is_missing(&cell) || parse_bool(&cell).is_some()
                })
            })
        });
        return Ok(if all_binary {
            Task::Multilabel
        } else {
            Task::Regression
        });
    }
    let c = table.col_index(&targets[0])?;
    match &table.columns[c] {
        Column::Number(n) => Ok(classify_numbers(&n.values, n.integral)),
        // Any text that is not a number in the target: classes.
        Column::Text(_) if !table.is_numeric(c) => Ok(Task::Classification),
        Column::Text(_) => {
            let v = table.numeric_values(c, true)?;
            let integral = v.iter().all(|x| x.is_nan() || x.fract() == 0.0);
            Ok(classify_numbers(&v, integral))
        }
    }
}

/// Integers with few distinct values (at most 50 and at most a fifth of the rows, or exactly
/// two) are classes; other numbers are a regression target.
fn classify_numbers(values: &[f32], integral: bool) -> Task {
    if integral {
        let mut distinct: Vec<f32> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        let present = distinct.len();
        distinct.sort_by(f32::total_cmp);
        distinct.dedup();
        let n = distinct.len();
        if n == 2 || (n <= 50 && n * 5 <= present) {
            return Task::Classification;
        }
    }
    Task::Regression
}

/// `1/0`, `true/false`, `yes/no`, `y/n`, `t/f` (any case) as a boolean.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "1.0" | "true" | "yes" | "y" | "t" => Some(true),
        "0" | "0.0" | "false" | "no" | "n" | "f" => Some(false),
        _ => None,
    }
}
