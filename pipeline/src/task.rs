//! What kind of problem a target describes.

use serde::{Deserialize, Serialize};

use crate::data::Table;
use crate::data::table::Column;
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Classification,
    Regression,
}

impl Task {
    pub fn parse(s: &str) -> Option<Task> {
        match s.trim().to_ascii_lowercase().as_str() {
            "classification" | "classifier" | "class" => Some(Task::Classification),
            "regression" | "regressor" => Some(Task::Regression),
            _ => None,
        }
    }
}

/// Infer the task from the target column(s): several targets → (multi-output) regression;
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
        return Ok(Task::Regression);
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
