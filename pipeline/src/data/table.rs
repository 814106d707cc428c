//! A CSV file read into memory: header, raw cells by column, and the line each row came from
//! (for error messages). Typed extraction (`numeric_column`) reports the exact cell that fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Table {
    pub path: PathBuf,
    pub headers: Vec<String>,
    /// `columns[c][r]`: the raw (trimmed) cell of column `c`, row `r`.
    pub columns: Vec<Vec<String>>,
    /// The 1-based file line of each row (the header is line 1).
    pub lines: Vec<u64>,
}

/// Values read as missing in any column.
pub const MISSING_TOKENS: [&str; 9] = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?"];

pub fn is_missing(cell: &str) -> bool {
    MISSING_TOKENS.contains(&cell)
}

impl Table {
    /// Read a comma-separated file with a header row.
    pub fn read_csv(path: &Path) -> Result<Table> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Table::from_bytes(path, &bytes)
    }

    /// Parse CSV bytes; `path` is only used in messages.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Table> {
        let path = path.to_path_buf();
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::EmptyFile { path });
        }
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let csv_err = |e: csv::Error, path: &PathBuf| -> Error {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => Error::RaggedRow {
                    path: path.clone(),
                    line,
                    expected: *expected_len as usize,
                    found: *len as usize,
                },
                _ => Error::Csv {
                    path: path.clone(),
                    line,
                    detail: e.to_string(),
                },
            }
        };
        let header = rdr.byte_headers().map_err(|e| csv_err(e, &path))?.clone();
        let mut headers = Vec::with_capacity(header.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, h) in header.iter().enumerate() {
            let name = std::str::from_utf8(h).map_err(|_| Error::Cell {
                path: path.clone(),
                line: 1,
                column: String::from_utf8_lossy(h).into_owned(),
                field: i + 1,
                detail: "header is not valid UTF-8".into(),
            })?;
            let name = name.trim_start_matches('\u{feff}').to_string();
            if name.is_empty() {
                return Err(Error::Cell {
                    path,
                    line: 1,
                    column: String::new(),
                    field: i + 1,
                    detail: "empty column name in the header".into(),
                });
            }
            if let Some(&first) = seen.get(&name) {
                return Err(Error::DuplicateColumn {
                    path,
                    column: name,
                    first: first + 1,
                    second: i + 1,
                });
            }
            seen.insert(name.clone(), i);
            headers.push(name);
        }
        let mut columns: Vec<Vec<String>> = vec![Vec::new(); headers.len()];
        let mut lines = Vec::new();
        let mut rec = csv::ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(csv_err(e, &path)),
            }
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            // Skip fully blank lines (a trailing newline or stray empty line).
            if rec.len() == 1 && rec[0].is_empty() && headers.len() > 1 {
                continue;
            }
            for (c, field) in rec.iter().enumerate() {
                let s = std::str::from_utf8(field).map_err(|_| Error::Cell {
                    path: path.clone(),
                    line,
                    column: headers[c].clone(),
                    field: c + 1,
                    detail: "invalid UTF-8".into(),
                })?;
                columns[c].push(s.to_string());
            }
            lines.push(line);
        }
        if lines.is_empty() {
            return Err(Error::NoRows { path });
        }
        Ok(Table {
            path,
            headers,
            columns,
            lines,
        })
    }

    /// A table from in-memory rows (e.g. a prediction request); `source` names it in errors.
    /// Every row must have one cell per header.
    pub fn from_rows(source: &str, headers: Vec<String>, rows: &[Vec<String>]) -> Result<Table> {
        let mut columns = vec![Vec::with_capacity(rows.len()); headers.len()];
        for (r, row) in rows.iter().enumerate() {
            if row.len() != headers.len() {
                return Err(Error::Input {
                    row: r,
                    field: String::new(),
                    detail: format!("expected {} fields, got {}", headers.len(), row.len()),
                });
            }
            for (c, cell) in row.iter().enumerate() {
                columns[c].push(cell.clone());
            }
        }
        // Rows of a request are numbered from 0 in errors; lines are 1-based like a file with a
        // header, so line = row + 2.
        let lines = (0..rows.len() as u64).map(|r| r + 2).collect();
        Ok(Table {
            path: PathBuf::from(source),
            headers,
            columns,
            lines,
        })
    }

    pub fn n_rows(&self) -> usize {
        self.lines.len()
    }

    pub fn n_cols(&self) -> usize {
        self.headers.len()
    }

    /// Index of column `name`, or an error listing the available columns.
    pub fn col_index(&self, name: &str) -> Result<usize> {
        self.headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::MissingColumn {
                path: self.path.clone(),
                column: name.to_string(),
                available: self.headers.join(", "),
            })
    }

    pub fn column(&self, name: &str) -> Result<&[String]> {
        Ok(&self.columns[self.col_index(name)?])
    }

    /// Column `name` parsed as numbers; any missing or non-numeric cell is an error naming
    /// its line and column.
    pub fn numeric_column(&self, name: &str) -> Result<Vec<f32>> {
        let c = self.col_index(name)?;
        self.columns[c]
            .iter()
            .enumerate()
            .map(|(r, cell)| self.parse_cell(c, r, cell))
            .collect()
    }

    fn parse_cell(&self, c: usize, r: usize, cell: &str) -> Result<f32> {
        let err = |detail: String| Error::Cell {
            path: self.path.clone(),
            line: self.lines[r],
            column: self.headers[c].clone(),
            field: c + 1,
            detail,
        };
        if is_missing(cell) {
            return Err(err(format!("missing value {cell:?} in a numeric column")));
        }
        match cell.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v as f32),
            Ok(v) => Err(err(format!("non-finite value {v}"))),
            Err(_) => Err(err(format!("{cell:?} is not a number"))),
        }
    }

    /// Whether every non-missing cell of column `c` parses as a number.
    pub fn is_numeric(&self, c: usize) -> bool {
        self.columns[c]
            .iter()
            .all(|s| is_missing(s) || s.parse::<f64>().is_ok())
    }

    /// Append rows `idx` of `other`, matching columns by name (every column of this table
    /// must exist in `other`; extra columns of `other` are ignored).
    pub fn append_rows(&mut self, other: &Table, idx: &[usize]) -> Result<()> {
        let map: Vec<usize> = self
            .headers
            .iter()
            .map(|h| other.col_index(h))
            .collect::<Result<_>>()?;
        for (c, &oc) in map.iter().enumerate() {
            self.columns[c].extend(idx.iter().map(|&i| other.columns[oc][i].clone()));
        }
        self.lines.extend(idx.iter().map(|&i| other.lines[i]));
        Ok(())
    }

    /// Rows `idx` of this table (same columns).
    pub fn select_rows(&self, idx: &[usize]) -> Table {
        Table {
            path: self.path.clone(),
            headers: self.headers.clone(),
            columns: self
                .columns
                .iter()
                .map(|col| idx.iter().map(|&i| col[i].clone()).collect())
                .collect(),
            lines: idx.iter().map(|&i| self.lines[i]).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Table> {
        Table::from_bytes(Path::new("t.csv"), s.as_bytes())
    }

    #[test]
    fn reads_and_reports() {
        let t = parse("a,b\n1,2\n3,4\n").unwrap();
        assert_eq!(t.n_rows(), 2);
        assert_eq!(t.numeric_column("b").unwrap(), vec![2.0, 4.0]);
        assert_eq!(t.lines, vec![2, 3]);
        let e = parse("a,b\n1,2\n3\n").unwrap_err().to_string();
        assert!(
            e.contains("t.csv:3") && e.contains("expected 2 fields"),
            "{e}"
        );
        let e = parse("").unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        let e = parse("a,b\n").unwrap_err().to_string();
        assert!(e.contains("no data rows"), "{e}");
        let e = parse("a,a\n1,2\n").unwrap_err().to_string();
        assert!(e.contains("duplicate column"), "{e}");
        let t = parse("a,b\n1,x\n").unwrap();
        let e = t.numeric_column("b").unwrap_err().to_string();
        assert!(
            e.contains("t.csv:2") && e.contains("\"b\"") && e.contains("field 2"),
            "{e}"
        );
        let e = t.numeric_column("zz").unwrap_err().to_string();
        assert!(
            e.contains("no column named \"zz\"") && e.contains("a, b"),
            "{e}"
        );
        let bad = b"a,b\n1,\xff\n";
        let e = Table::from_bytes(Path::new("t.csv"), bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("UTF-8") && e.contains("t.csv:2"), "{e}");
    }
}
