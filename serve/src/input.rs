//! Request data → the cells a bundle predicts on (strings in schema order), checked against
//! the model's input schema: missing and extra fields, wrong types, NaN/Infinity, too many
//! rows. Unknown categories are accepted and counted. Every error names its row and field.

use std::collections::{BTreeMap, HashMap};

use neurite_pipeline::data::table::is_missing;
use neurite_pipeline::{FieldKind, InputField};
use serde_json::{Map, Value};

use crate::error::{Result, ServeError};

/// Rows ready for `Bundle::predict_rows`, and the unknown categories seen per field.
#[derive(Debug, Default, PartialEq)]
pub struct Rows {
    pub cells: Vec<Vec<String>>,
    pub unknown_categories: BTreeMap<String, u64>,
}

/// Marks a bare `NaN`/`Infinity` JSON token (which JSON forbids) so the field that holds it
/// can be named in the error: see [`mark_nonfinite_tokens`].
const NONFINITE_MARK: char = '\u{0}';

pub struct Converter<'a> {
    pub schema: &'a [InputField],
    pub index: &'a HashMap<String, usize>,
    pub max_rows: usize,
    /// Drop fields the model does not use instead of rejecting them.
    pub ignore_extra: bool,
}

impl Converter<'_> {
    fn check_count(&self, n: usize) -> Result<()> {
        if n == 0 {
            return Err(ServeError::BadRequest("the request has no rows".into()));
        }
        if n > self.max_rows {
            return Err(ServeError::TooManyRows {
                rows: n,
                limit: self.max_rows,
            });
        }
        Ok(())
    }

    fn field_list(&self) -> String {
        self.schema
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Rows as JSON objects (`{"field": value}`) or arrays (values in schema order).
    pub fn from_records(&self, records: &[Value]) -> Result<Rows> {
        self.check_count(records.len())?;
        let mut out = Rows {
            cells: Vec::with_capacity(records.len()),
            ..Rows::default()
        };
        let n = self.schema.len();
        for (r, rec) in records.iter().enumerate() {
            let mut row = vec![None; n];
            match rec {
                Value::Object(obj) => {
                    for (k, v) in obj {
                        match self.index.get(k) {
                            Some(&i) => row[i] = Some(v),
                            None if self.ignore_extra => {}
                            None => {
                                return Err(ServeError::input(
                                    r,
                                    k,
                                    format!(
                                        "unknown field (the model's fields are: {})",
                                        self.field_list()
                                    ),
                                ));
                            }
                        }
                    }
                }
                Value::Array(vals) => {
                    if vals.len() != n {
                        return Err(ServeError::Input {
                            row: Some(r),
                            field: None,
                            detail: format!(
                                "expected {n} values (fields: {}), got {}",
                                self.field_list(),
                                vals.len()
                            ),
                        });
                    }
                    for (i, v) in vals.iter().enumerate() {
                        row[i] = Some(v);
                    }
                }
                other => {
                    return Err(ServeError::Input {
                        row: Some(r),
                        field: None,
                        detail: format!(
                            "expected an object or an array of values, got {}",
                            type_name(other)
                        ),
                    });
                }
            }
            let mut cells = Vec::with_capacity(n);
            for (i, v) in row.into_iter().enumerate() {
                cells.push(self.json_cell(r, i, v, &mut out.unknown_categories)?);
            }
            out.cells.push(cells);
        }
        Ok(out)
    }

    /// Columnar data: `{"field": [v0, v1, ...], ...}`.
    pub fn from_columns(&self, cols: &Map<String, Value>) -> Result<Rows> {
        let mut by_field: Vec<Option<&Vec<Value>>> = vec![None; self.schema.len()];
        let mut len: Option<(usize, &str)> = None;
        for (k, v) in cols {
            let Some(&i) = self.index.get(k) else {
                if self.ignore_extra {
                    continue;
                }
                return Err(ServeError::Input {
                    row: None,
                    field: Some(k.clone()),
                    detail: format!(
                        "unknown field (the model's fields are: {})",
                        self.field_list()
                    ),
                });
            };
            let Value::Array(vals) = v else {
                return Err(ServeError::Input {
                    row: None,
                    field: Some(k.clone()),
                    detail: format!("expected a list of values, got {}", type_name(v)),
                });
            };
            match len {
                None => len = Some((vals.len(), k)),
                Some((n, first)) if n != vals.len() => {
                    return Err(ServeError::Input {
                        row: None,
                        field: Some(k.clone()),
                        detail: format!("has {} values but field {first:?} has {n}", vals.len()),
                    });
                }
                _ => {}
            }
            by_field[i] = Some(vals);
        }
        let rows = len.map(|(n, _)| n).unwrap_or(0);
        self.check_count(rows)?;
        let mut out = Rows {
            cells: Vec::with_capacity(rows),
            ..Rows::default()
        };
        for r in 0..rows {
            let mut cells = Vec::with_capacity(self.schema.len());
            for (i, col) in by_field.iter().enumerate() {
                let v = col.and_then(|c| c.get(r));
                cells.push(self.json_cell(r, i, v, &mut out.unknown_categories)?);
            }
            out.cells.push(cells);
        }
        Ok(out)
    }

    /// MLflow `dataframe_split`: `columns` (optional: schema order) and `data` rows.
    pub fn from_split(&self, columns: Option<&[Value]>, data: &[Value]) -> Result<Rows> {
        let Some(columns) = columns else {
            return self.from_records(data);
        };
        let names: Vec<&str> = columns
            .iter()
            .enumerate()
            .map(|(c, v)| {
                v.as_str().ok_or_else(|| {
                    ServeError::BadRequest(format!("dataframe_split.columns[{c}] is not a string"))
                })
            })
            .collect::<Result<_>>()?;
        self.check_count(data.len())?;
        let mut records = Vec::with_capacity(data.len());
        for (r, row) in data.iter().enumerate() {
            let Value::Array(vals) = row else {
                return Err(ServeError::Input {
                    row: Some(r),
                    field: None,
                    detail: format!("expected an array of values, got {}", type_name(row)),
                });
            };
            if vals.len() != names.len() {
                return Err(ServeError::Input {
                    row: Some(r),
                    field: None,
                    detail: format!(
                        "expected {} values (one per column), got {}",
                        names.len(),
                        vals.len()
                    ),
                });
            }
            let mut obj = Map::new();
            for (name, v) in names.iter().zip(vals) {
                obj.insert((*name).to_string(), v.clone());
            }
            records.push(Value::Object(obj));
        }
        self.from_records(&records)
    }

    /// CSV text with a header row naming the fields.
    pub fn from_csv(&self, bytes: &[u8]) -> Result<Rows> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let headers = rdr
            .headers()
            .map_err(|e| ServeError::BadRequest(format!("CSV header: {e}")))?
            .clone();
        let mut pos: Vec<Option<usize>> = Vec::with_capacity(headers.len());
        let mut seen = vec![false; self.schema.len()];
        for h in headers.iter() {
            let h = h.trim_start_matches('\u{feff}');
            match self.index.get(h) {
                Some(&i) => {
                    if seen[i] {
                        return Err(ServeError::Input {
                            row: None,
                            field: Some(h.to_string()),
                            detail: "column appears twice in the CSV header".into(),
                        });
                    }
                    seen[i] = true;
                    pos.push(Some(i));
                }
                None if self.ignore_extra => pos.push(None),
                None => {
                    return Err(ServeError::Input {
                        row: None,
                        field: Some(h.to_string()),
                        detail: format!(
                            "unknown column (the model's fields are: {})",
                            self.field_list()
                        ),
                    });
                }
            }
        }
        let mut out = Rows::default();
        for (r, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| ServeError::Input {
                row: Some(r),
                field: None,
                detail: format!("CSV: {e}"),
            })?;
            if r >= self.max_rows {
                return Err(ServeError::TooManyRows {
                    rows: r + 1,
                    limit: self.max_rows,
                });
            }
            let mut cells = vec![None; self.schema.len()];
            for (c, v) in rec.iter().enumerate() {
                if let Some(Some(i)) = pos.get(c) {
                    cells[*i] = Some(v);
                }
            }
            let mut row = Vec::with_capacity(self.schema.len());
            for (i, v) in cells.into_iter().enumerate() {
                row.push(self.text_cell(r, i, v, &mut out.unknown_categories)?);
            }
            out.cells.push(row);
        }
        self.check_count(out.cells.len())?;
        Ok(out)
    }

    /// One JSON value → the cell for field `i`.
    fn json_cell(
        &self,
        r: usize,
        i: usize,
        v: Option<&Value>,
        unknown: &mut BTreeMap<String, u64>,
    ) -> Result<String> {
        let f = &self.schema[i];
        let err = |d: String| ServeError::input(r, &f.name, d);
        let v = match v {
            None | Some(Value::Null) => return self.missing(r, f),
            Some(v) => v,
        };
        if let Value::String(s) = v
            && let Some(tok) = s.strip_prefix(NONFINITE_MARK)
        {
            return Err(err(format!("{tok} is not allowed: numbers must be finite")));
        }
        match &f.kind {
            FieldKind::Number => match v {
                Value::Number(n) => number_cell(n).ok_or_else(|| err("not a finite number".into())),
                other => Err(err(format!("expected a number, got {}", type_name(other)))),
            },
            FieldKind::Integer => match v {
                Value::Number(n) => {
                    if let Some(i) = n.as_i64() {
                        Ok(i.to_string())
                    } else if let Some(u) = n.as_u64() {
                        Ok(u.to_string())
                    } else {
                        match n.as_f64() {
                            Some(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 => {
                                Ok(format!("{}", x as i64))
                            }
                            _ => Err(err(format!("expected an integer, got {n}"))),
                        }
                    }
                }
                other => Err(err(format!(
                    "expected an integer, got {}",
                    type_name(other)
                ))),
            },
            FieldKind::Boolean => match v {
                Value::Bool(b) => Ok(b.to_string()),
                Value::Number(n) if n.as_u64() == Some(1) => Ok("true".into()),
                Value::Number(n) if n.as_u64() == Some(0) => Ok("false".into()),
                Value::String(s) => bool_text(s)
                    .map(|b| b.to_string())
                    .ok_or_else(|| err(format!("expected true or false, got {s:?}"))),
                other => Err(err(format!(
                    "expected true or false, got {}",
                    type_name(other)
                ))),
            },
            FieldKind::Categorical { categories } => {
                let s = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => number_cell(n).unwrap_or_else(|| n.to_string()),
                    Value::Bool(b) => b.to_string(),
                    other => {
                        return Err(err(format!(
                            "expected a category (string), got {}",
                            type_name(other)
                        )));
                    }
                };
                if !categories.iter().any(|c| c == &s) {
                    *unknown.entry(f.name.clone()).or_insert(0) += 1;
                }
                Ok(s)
            }
            FieldKind::Datetime => match v {
                Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
                Value::String(_) => self.missing(r, f),
                other => Err(err(format!(
                    "expected a date or date-time string, got {}",
                    type_name(other)
                ))),
            },
        }
    }

    /// One CSV cell → the cell for field `i` (same rules, from text).
    fn text_cell(
        &self,
        r: usize,
        i: usize,
        v: Option<&str>,
        unknown: &mut BTreeMap<String, u64>,
    ) -> Result<String> {
        let f = &self.schema[i];
        let err = |d: String| ServeError::input(r, &f.name, d);
        let v = match v {
            None => return self.missing(r, f),
            Some(s) if s.is_empty() || (is_missing(s) && !is_nan_text(s)) => {
                return self.missing(r, f);
            }
            Some(s) => s,
        };
        match &f.kind {
            FieldKind::Number => match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(format!("{x}")),
                Ok(x) => Err(err(format!("{x} is not allowed: numbers must be finite"))),
                Err(_) => Err(err(format!("{v:?} is not a number"))),
            },
            FieldKind::Integer => v
                .parse::<i64>()
                .map(|x| x.to_string())
                .map_err(|_| err(format!("{v:?} is not an integer"))),
            FieldKind::Boolean => bool_text(v)
                .map(|b| b.to_string())
                .ok_or_else(|| err(format!("expected true or false, got {v:?}"))),
            FieldKind::Categorical { categories } => {
                if !categories.iter().any(|c| c == v) {
                    *unknown.entry(f.name.clone()).or_insert(0) += 1;
                }
                Ok(v.to_string())
            }
            FieldKind::Datetime => Ok(v.to_string()),
        }
    }

    fn missing(&self, r: usize, f: &InputField) -> Result<String> {
        if f.required {
            Err(ServeError::input(
                r,
                &f.name,
                "missing value for a required field",
            ))
        } else {
            Ok(String::new())
        }
    }
}

fn is_nan_text(s: &str) -> bool {
    matches!(s, "NaN" | "nan")
}

fn bool_text(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// Shortest round-trip text of a JSON number (`{}` formatting), `None` when not finite.
fn number_cell(n: &serde_json::Number) -> Option<String> {
    if let Some(i) = n.as_i64() {
        return Some(i.to_string());
    }
    if let Some(u) = n.as_u64() {
        return Some(u.to_string());
    }
    n.as_f64().filter(|x| x.is_finite()).map(|x| format!("{x}"))
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parse a JSON body. `NaN`, `Infinity` and `-Infinity` tokens (accepted by TF Serving, but
/// not JSON) are kept as marked strings so that the schema check rejects them naming the row
/// and field.
pub fn parse_json(body: &[u8]) -> Result<Value> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(v),
        Err(e) => {
            let text = std::str::from_utf8(body)
                .map_err(|_| ServeError::BadRequest("the body is not valid UTF-8".into()))?;
            if let Some(fixed) = mark_nonfinite_tokens(text)
                && let Ok(v) = serde_json::from_str(&fixed)
            {
                return Ok(v);
            }
            Err(ServeError::BadRequest(format!("invalid JSON: {e}")))
        }
    }
}

/// Replace bare `NaN`, `Infinity`, `-Infinity` tokens outside strings by marked strings;
/// `None` when there are none.
pub fn mark_nonfinite_tokens(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    let (mut i, mut last, mut in_str, mut changed) = (0usize, 0usize, false, false);
    while i < b.len() {
        let c = b[i];
        if in_str {
            match c {
                b'\\' => i += 1,
                b'"' => in_str = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if c == b'"' {
            in_str = true;
            i += 1;
            continue;
        }
        let rest = &b[i..];
        let tok = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t.as_bytes()));
        let prev_ok = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if let Some(t) = tok.filter(|_| prev_ok) {
            let end = i + t.len();
            if end == b.len() || !b[end].is_ascii_alphanumeric() {
                out.push_str(&text[last..i]);
                out.push('"');
                out.push_str("\\u0000");
                out.push_str(t);
                out.push('"');
                i = end;
                last = end;
                changed = true;
                continue;
            }
        }
        i += 1;
    }
    if !changed {
        return None;
    }
    out.push_str(&text[last..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Vec<InputField> {
        vec![
            InputField {
                name: "a".into(),
                kind: FieldKind::Number,
                required: true,
            },
            InputField {
                name: "n".into(),
                kind: FieldKind::Integer,
                required: false,
            },
            InputField {
                name: "b".into(),
                kind: FieldKind::Boolean,
                required: true,
            },
            InputField {
                name: "city".into(),
                kind: FieldKind::Categorical {
                    categories: vec!["Paris".into(), "Lyon".into()],
                },
                required: true,
            },
            InputField {
                name: "t".into(),
                kind: FieldKind::Datetime,
                required: false,
            },
        ]
    }

    fn with<T>(f: impl FnOnce(&Converter) -> T) -> T {
        let s = schema();
        let index = s
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i))
            .collect();
        let c = Converter {
            schema: &s,
            index: &index,
            max_rows: 3,
            ignore_extra: false,
        };
        f(&c)
    }

    fn err_at(e: ServeError) -> (Option<usize>, Option<String>) {
        match e {
            ServeError::Input { row, field, .. } => (row, field),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn converts_every_kind() {
        with(|c| {
            let rows = c
                .from_records(&[
                    json!({"a": 1.5, "n": 3, "b": true, "city": "Paris", "t": "2024-01-02"}),
                    json!([2, null, "no", "Nice", null]),
                ])
                .unwrap();
            assert_eq!(rows.cells[0], ["1.5", "3", "true", "Paris", "2024-01-02"]);
            assert_eq!(rows.cells[1], ["2", "", "false", "Nice", ""]);
            assert_eq!(rows.unknown_categories.get("city"), Some(&1));
        })
    }

    #[test]
    fn errors_name_row_and_field() {
        with(|c| {
            let ok = json!({"a": 1, "b": true, "city": "Lyon"});
            let cases = [
                (json!({"b": true, "city": "Lyon"}), "a"),
                (json!({"a": "x", "b": true, "city": "Lyon"}), "a"),
                (json!({"a": 1, "b": true, "city": "Lyon", "zz": 1}), "zz"),
                (json!({"a": 1, "n": 1.5, "b": true, "city": "Lyon"}), "n"),
                (json!({"a": 1, "b": "maybe", "city": "Lyon"}), "b"),
                (json!({"a": 1, "b": true, "city": [1]}), "city"),
            ];
            for (bad, field) in cases {
                let e = c.from_records(&[ok.clone(), bad.clone()]).unwrap_err();
                assert_eq!(err_at(e), (Some(1), Some(field.to_string())), "{bad}");
            }
            let e = c.from_records(&[json!([1, 2])]).unwrap_err();
            assert_eq!(err_at(e), (Some(0), None));
            assert!(matches!(
                c.from_records(&[ok.clone(), ok.clone(), ok.clone(), ok.clone()]),
                Err(ServeError::TooManyRows { rows: 4, limit: 3 })
            ));
            assert!(matches!(
                c.from_records(&[]),
                Err(ServeError::BadRequest(_))
            ));
        })
    }

    #[test]
    fn nan_and_infinity_are_rejected_by_field() {
        let v = parse_json(br#"{"instances": [{"a": 1, "b": true, "city": "Lyon"}, {"a": NaN, "b": true, "city": "Lyon"}]}"#).unwrap();
        with(|c| {
            let recs = v["instances"].as_array().unwrap();
            let e = c.from_records(recs).unwrap_err();
            assert!(e.to_string().contains("NaN"), "{e}");
            assert_eq!(err_at(e), (Some(1), Some("a".into())));
        });
        assert_eq!(
            mark_nonfinite_tokens(r#"{"s": "NaN", "x": -Infinity}"#).unwrap(),
            r#"{"s": "NaN", "x": "\u0000-Infinity"}"#
        );
        assert!(mark_nonfinite_tokens(r#"{"NaNa": 1}"#).is_none());
        // Multi-byte text outside strings (invalid JSON) must not split a character.
        assert!(parse_json("{\"a\": é, \"b\": NaN}".as_bytes()).is_err());
        assert!(parse_json("[\"é\", NaN, ü]".as_bytes()).is_err());
        assert!(parse_json("[\"é\", NaN]".as_bytes()).is_ok());
        assert!(parse_json(b"{").is_err());
    }

    #[test]
    fn mangled_bodies_never_panic() {
        let body = r#"{"instances": [{"a": 1.5, "n": 3, "b": true, "city": "Paris", "t": "x"}], "inputs": {"a": [1]}}"#;
        let inserts = [
            "é",
            "NaN",
            "-Infinity",
            "\"",
            "\\",
            "[",
            "{",
            "]",
            "}",
            ",",
            "null",
            "1e999",
            "\\u0000",
            "\"\\u0000NaN\"",
        ];
        with(|c| {
            for i in 0..=body.len() {
                if !body.is_char_boundary(i) {
                    continue;
                }
                for ins in inserts {
                    let text = format!("{}{ins}{}", &body[..i], &body[i..]);
                    if let Ok(Value::Object(o)) = parse_json(text.as_bytes()) {
                        if let Some(Value::Array(r)) = o.get("instances") {
                            let _ = c.from_records(r);
                        }
                        if let Some(Value::Object(cols)) = o.get("inputs") {
                            let _ = c.from_columns(cols);
                        }
                    }
                    let _ = c.from_csv(text.as_bytes());
                }
            }
        })
    }

    #[test]
    fn columns_split_and_csv() {
        with(|c| {
            let cols = json!({"a": [1, 2], "b": [true, false], "city": ["Paris", "Lyon"]});
            let rows = c.from_columns(cols.as_object().unwrap()).unwrap();
            assert_eq!(rows.cells[1], ["2", "", "false", "Lyon", ""]);
            let bad = json!({"a": [1, 2], "b": [true], "city": ["Paris", "Lyon"]});
            assert!(c.from_columns(bad.as_object().unwrap()).is_err());
            let split = c
                .from_split(
                    Some(&[json!("city"), json!("a"), json!("b")]),
                    &[json!(["Lyon", 3, 1])],
                )
                .unwrap();
            assert_eq!(split.cells[0], ["3", "", "true", "Lyon", ""]);
            let csv = c.from_csv(b"a,b,city\n1.25,yes,Paris\n,no,Lyon\n");
            assert_eq!(err_at(csv.unwrap_err()), (Some(1), Some("a".into())));
            let csv = c.from_csv(b"a,b,city\n1.25,yes,Paris\ninf,no,Lyon\n");
            assert_eq!(err_at(csv.unwrap_err()), (Some(1), Some("a".into())));
            let csv = c.from_csv(b"a,b,city,zz\n1,1,Paris,3\n");
            assert_eq!(err_at(csv.unwrap_err()), (None, Some("zz".into())));
            let ok = c.from_csv(b"city,a,b\nParis,1e3,true\n").unwrap();
            assert_eq!(ok.cells[0], ["1000", "", "true", "Paris", ""]);
        })
    }
}
