//! A CSV file held in memory as typed columns: numbers as `f32` (missing = NaN) and everything
//! else as dictionary-encoded text, plus the file line each row came from (for error messages).
//!
//! Columns are typed while reading (see [`super::reader`]) rather than kept as strings, so a
//! 1,000,000 x 50 numeric file takes about the size of its `f32` matrix. A column is a number
//! column when every present cell parses as a finite number; one cell that does not makes it
//! text (the schema inference then decides what the text is: categories, dates, a typo …).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Table {
    pub path: PathBuf,
    pub headers: Vec<String>,
    pub columns: Vec<Column>,
    /// The 1-based file line of each row (the header is line 1).
    pub lines: Vec<u64>,
    /// The field delimiter the file was read with.
    pub delimiter: u8,
    /// SHA-256 of the file's bytes, when it was asked for while reading.
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Number(NumberColumn),
    Text(TextColumn),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NumberColumn {
    /// One value per row; NaN marks a missing cell.
    pub values: Vec<f32>,
    /// Whether every present cell was written as an integer (digits with an optional sign).
    pub integral: bool,
}

/// Text cells, dictionary-encoded: row `r` holds `dict[codes[r]]`. Missing tokens (`NA`, `""`,
/// …) are kept as text; [`is_missing`] tells them apart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextColumn {
    pub dict: Vec<String>,
    pub codes: Vec<u32>,
}

impl TextColumn {
    pub fn get(&self, r: usize) -> &str {
        &self.dict[self.codes[r] as usize]
    }

    /// Build from cells, keeping the order of first appearance in the dictionary.
    pub fn from_cells<'a>(cells: impl IntoIterator<Item = &'a str>) -> TextColumn {
        let mut b = TextBuilder::default();
        for c in cells {
            b.push(c);
        }
        b.finish()
    }

    /// How many rows hold each dictionary entry.
    pub fn counts(&self) -> Vec<usize> {
        let mut n = vec![0usize; self.dict.len()];
        for &c in &self.codes {
            n[c as usize] += 1;
        }
        n
    }
}

/// Incremental construction of a [`TextColumn`].
#[derive(Debug, Default)]
pub struct TextBuilder {
    col: TextColumn,
    index: HashMap<String, u32>,
}

impl TextBuilder {
    pub fn push(&mut self, cell: &str) {
        let code = match self.index.get(cell) {
            Some(&k) => k,
            None => {
                let k = self.col.dict.len() as u32;
                self.col.dict.push(cell.to_string());
                self.index.insert(cell.to_string(), k);
                k
            }
        };
        self.col.codes.push(code);
    }

    pub fn len(&self) -> usize {
        self.col.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.col.codes.is_empty()
    }

    /// Append another column, remapping its codes into this dictionary.
    pub fn append(&mut self, other: &TextColumn) {
        let remap: Vec<u32> = other
            .dict
            .iter()
            .map(|s| match self.index.get(s.as_str()) {
                Some(&k) => k,
                None => {
                    let k = self.col.dict.len() as u32;
                    self.col.dict.push(s.clone());
                    self.index.insert(s.clone(), k);
                    k
                }
            })
            .collect();
        self.col
            .codes
            .extend(other.codes.iter().map(|&c| remap[c as usize]));
    }

    pub fn finish(self) -> TextColumn {
        self.col
    }
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Number(n) => n.values.len(),
            Column::Text(t) => t.codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_missing_at(&self, r: usize) -> bool {
        match self {
            Column::Number(n) => n.values[r].is_nan(),
            Column::Text(t) => is_missing(t.get(r)),
        }
    }

    /// The cell as text: numbers in the shortest form that reads back as the same `f32`.
    pub fn text(&self, r: usize) -> Cow<'_, str> {
        match self {
            Column::Number(n) => {
                let v = n.values[r];
                if v.is_nan() {
                    Cow::Borrowed("")
                } else {
                    Cow::Owned(format_f32(v))
                }
            }
            Column::Text(t) => Cow::Borrowed(t.get(r)),
        }
    }

    pub fn select(&self, idx: &[usize]) -> Column {
        match self {
            Column::Number(n) => Column::Number(NumberColumn {
                values: idx.iter().map(|&i| n.values[i]).collect(),
                integral: n.integral,
            }),
            Column::Text(t) => Column::Text(TextColumn {
                dict: t.dict.clone(),
                codes: idx.iter().map(|&i| t.codes[i]).collect(),
            }),
        }
    }
}

/// `f32` as the shortest text that parses back to it (`1` rather than `1.0`).
pub fn format_f32(v: f32) -> String {
    format!("{v}")
}

/// Values read as missing in any column.
pub const MISSING_TOKENS: [&str; 11] = [
    "", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "none", "?",
];

pub fn is_missing(cell: &str) -> bool {
    MISSING_TOKENS.contains(&cell)
}

pub(crate) fn is_missing_bytes(cell: &[u8]) -> bool {
    MISSING_TOKENS.iter().any(|t| t.as_bytes() == cell)
}

/// A finite number, or `None` (for text, and for `inf`/`NaN` spelled out, which Rust would
/// otherwise accept). The second value tells whether the cell was written as an integer.
pub fn parse_number(cell: &[u8]) -> Option<(f32, bool)> {
    let first = *cell.first()?;
    // Rust's float parser accepts "inf", "infinity" and "nan"; a number starts with a digit,
    // a sign or a point.
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    let s = std::str::from_utf8(cell).ok()?;
    let v: f32 = s.parse().ok()?;
    if !v.is_finite() {
        return None;
    }
    let digits = if matches!(first, b'-' | b'+') {
        &cell[1..]
    } else {
        cell
    };
    let integral = !digits.is_empty() && digits.iter().all(u8::is_ascii_digit);
    Some((v, integral))
}

/// How to read a CSV file.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Field delimiter; `None` detects `,`, `;`, tab or `|` from the first lines.
    pub delimiter: Option<u8>,
    /// Columns kept as text even when every cell is a number (categorical codes, zip codes).
    pub text_columns: Vec<String>,
    /// Compute the SHA-256 of the file while reading it.
    pub sha256: bool,
}

impl Table {
    /// Read a CSV file with a header row (delimiter detected).
    pub fn read_csv(path: &Path) -> Result<Table> {
        Table::read_csv_with(path, &ReadOptions::default())
    }

    pub fn read_csv_with(path: &Path, opts: &ReadOptions) -> Result<Table> {
        super::reader::read(
            path,
            || std::fs::File::open(path).map_err(|e| Error::io(path, e)),
            opts,
        )
    }

    /// Parse CSV bytes; `path` is only used in messages.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Table> {
        Table::from_bytes_with(path, bytes, &ReadOptions::default())
    }

    pub fn from_bytes_with(path: &Path, bytes: &[u8], opts: &ReadOptions) -> Result<Table> {
        super::reader::read(path, || Ok(bytes), opts)
    }

    /// A table from in-memory rows (e.g. a prediction request); `source` names it in errors.
    /// Every row must have one cell per header. Cells are typed as a file's would be, except
    /// the columns named in `text_columns`, which stay text.
    pub fn from_rows(source: &str, headers: Vec<String>, rows: &[Vec<String>]) -> Result<Table> {
        Table::from_rows_with(source, headers, rows, &[])
    }

    pub fn from_rows_with(
        source: &str,
        headers: Vec<String>,
        rows: &[Vec<String>],
        text_columns: &[String],
    ) -> Result<Table> {
        for (r, row) in rows.iter().enumerate() {
            if row.len() != headers.len() {
                return Err(Error::Input {
                    row: r,
                    field: String::new(),
                    detail: format!("expected {} fields, got {}", headers.len(), row.len()),
                });
            }
        }
        let columns = (0..headers.len())
            .map(|c| {
                let cells = rows.iter().map(|row| row[c].trim());
                if text_columns.contains(&headers[c]) {
                    Column::Text(TextColumn::from_cells(cells))
                } else {
                    column_from_cells(cells)
                }
            })
            .collect();
        // Rows of a request are numbered from 0 in errors; lines are 1-based like a file with a
        // header, so line = row + 2.
        let lines = (0..rows.len() as u64).map(|r| r + 2).collect();
        Ok(Table {
            path: PathBuf::from(source),
            headers,
            columns,
            lines,
            delimiter: b',',
            sha256: None,
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
                hint: super::reader::delimiter_hint(&self.headers),
            })
    }

    pub fn column(&self, name: &str) -> Result<&Column> {
        Ok(&self.columns[self.col_index(name)?])
    }

    /// Error for the cell at column `c`, row `r`.
    pub fn cell_error(&self, c: usize, r: usize, detail: impl Into<String>) -> Error {
        Error::Cell {
            path: self.path.clone(),
            line: self.lines.get(r).copied().unwrap_or(0),
            column: self.headers[c].clone(),
            field: c + 1,
            detail: detail.into(),
        }
    }

    /// Column `name` parsed as numbers; any missing or non-numeric cell is an error naming
    /// its line and column.
    pub fn numeric_column(&self, name: &str) -> Result<Vec<f32>> {
        let c = self.col_index(name)?;
        self.numeric_values(c, false)
    }

    /// Column `c` as numbers with NaN for missing cells (when `allow_missing`); a cell that is
    /// not a number is an error naming its line.
    pub fn numeric_values(&self, c: usize, allow_missing: bool) -> Result<Vec<f32>> {
        match &self.columns[c] {
            Column::Number(n) => {
                if !allow_missing && let Some(r) = n.values.iter().position(|v| v.is_nan()) {
                    return Err(self.cell_error(c, r, "missing value in a numeric column"));
                }
                Ok(n.values.clone())
            }
            Column::Text(t) => {
                // Parse each distinct text once.
                let parsed: Vec<Option<f32>> = t
                    .dict
                    .iter()
                    .map(|s| {
                        if is_missing(s) {
                            Some(f32::NAN)
                        } else {
                            parse_number(s.as_bytes()).map(|p| p.0)
                        }
                    })
                    .collect();
                t.codes
                    .iter()
                    .enumerate()
                    .map(|(r, &k)| match parsed[k as usize] {
                        Some(v) if v.is_nan() && !allow_missing => Err(self.cell_error(
                            c,
                            r,
                            format!("missing value {:?} in a numeric column", t.get(r)),
                        )),
                        Some(v) => Ok(v),
                        None => {
                            Err(self.cell_error(c, r, format!("{:?} is not a number", t.get(r))))
                        }
                    })
                    .collect()
            }
        }
    }

    /// Whether every non-missing cell of column `c` is a number.
    pub fn is_numeric(&self, c: usize) -> bool {
        match &self.columns[c] {
            Column::Number(_) => true,
            Column::Text(t) => t
                .dict
                .iter()
                .all(|s| is_missing(s) || parse_number(s.as_bytes()).is_some()),
        }
    }

    /// The cell at column `c`, row `r`, as text.
    pub fn cell(&self, c: usize, r: usize) -> Cow<'_, str> {
        self.columns[c].text(r)
    }

    /// Append rows `idx` of `other`, matching columns by name (every column of this table
    /// must exist in `other`; extra columns of `other` are ignored). A column typed differently
    /// in the two tables is rebuilt from the cells' text, which types it afresh.
    pub fn append_rows(&mut self, other: &Table, idx: &[usize]) -> Result<()> {
        let map: Vec<usize> = self
            .headers
            .iter()
            .map(|h| other.col_index(h))
            .collect::<Result<_>>()?;
        for (c, &oc) in map.iter().enumerate() {
            let merged = match (&self.columns[c], &other.columns[oc]) {
                (Column::Number(a), Column::Number(b)) => Column::Number(NumberColumn {
                    values: a
                        .values
                        .iter()
                        .copied()
                        .chain(idx.iter().map(|&i| b.values[i]))
                        .collect(),
                    integral: a.integral
                        && idx
                            .iter()
                            .all(|&i| b.values[i].is_nan() || b.values[i].fract() == 0.0),
                }),
                (a, b) => {
                    let cells: Vec<String> = (0..a.len())
                        .map(|r| a.text(r).into_owned())
                        .chain(idx.iter().map(|&i| b.text(i).into_owned()))
                        .collect();
                    column_from_cells(cells.iter().map(String::as_str))
                }
            };
            self.columns[c] = merged;
        }
        self.lines.extend(idx.iter().map(|&i| other.lines[i]));
        Ok(())
    }

    /// Rows `idx` of this table (same columns).
    pub fn select_rows(&self, idx: &[usize]) -> Table {
        Table {
            path: self.path.clone(),
            headers: self.headers.clone(),
            columns: self.columns.iter().map(|c| c.select(idx)).collect(),
            lines: idx.iter().map(|&i| self.lines[i]).collect(),
            delimiter: self.delimiter,
            sha256: None,
        }
    }

    /// The same rows without the columns named in `drop`.
    pub fn without_columns(&self, drop: &[String]) -> Table {
        let keep: Vec<usize> = (0..self.n_cols())
            .filter(|&c| !drop.contains(&self.headers[c]))
            .collect();
        Table {
            path: self.path.clone(),
            headers: keep.iter().map(|&c| self.headers[c].clone()).collect(),
            columns: keep.iter().map(|&c| self.columns[c].clone()).collect(),
            lines: self.lines.clone(),
            delimiter: self.delimiter,
            sha256: self.sha256.clone(),
        }
    }

    /// Write the table as comma-separated text (numbers in shortest `f32` form).
    pub fn to_csv_bytes(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(&self.headers);
        let mut rec: Vec<Cow<'_, str>> = Vec::with_capacity(self.n_cols());
        for r in 0..self.n_rows() {
            rec.clear();
            rec.extend(self.columns.iter().map(|c| c.text(r)));
            let _ = w.write_record(rec.iter().map(|s| s.as_bytes()));
        }
        w.into_inner().unwrap_or_default()
    }
}

/// A column typed from its cells: numbers if every present cell is one, else text.
pub fn column_from_cells<'a>(cells: impl Iterator<Item = &'a str> + Clone) -> Column {
    let mut values = Vec::new();
    let mut integral = true;
    for cell in cells.clone() {
        if is_missing(cell) {
            values.push(f32::NAN);
            continue;
        }
        match parse_number(cell.as_bytes()) {
            Some((v, i)) => {
                values.push(v);
                integral &= i;
            }
            None => return Column::Text(TextColumn::from_cells(cells)),
        }
    }
    Column::Number(NumberColumn { values, integral })
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

    #[test]
    fn columns_are_typed() {
        let t = parse("a,b,c,d\n1,x,1.5,\n2,NA,2,NA\n3,y,-1e3,\n").unwrap();
        assert!(matches!(&t.columns[0], Column::Number(n) if n.integral));
        assert!(matches!(&t.columns[1], Column::Text(_)));
        assert!(matches!(&t.columns[2], Column::Number(n) if !n.integral));
        // an entirely missing column stays a number column of NaN
        assert!(matches!(&t.columns[3], Column::Number(n) if n.values.iter().all(|v| v.is_nan())));
        assert_eq!(t.cell(1, 1), "NA");
        assert!(t.columns[1].is_missing_at(1));
        assert_eq!(t.cell(2, 2), "-1000");
        assert!(parse_number(b"inf").is_none() && parse_number(b"nan").is_none());
        assert!(parse_number(b"1e40").is_none());
        assert_eq!(parse_number(b"+7"), Some((7.0, true)));
    }

    #[test]
    fn from_rows_types_like_a_file() {
        let rows = vec![
            vec!["1".to_string(), "a".into()],
            vec!["2.5".into(), "".into()],
        ];
        let t = Table::from_rows("req", vec!["x".into(), "y".into()], &rows).unwrap();
        assert_eq!(t.numeric_values(0, false).unwrap(), vec![1.0, 2.5]);
        assert!(matches!(&t.columns[1], Column::Text(_)));
        let t = Table::from_rows_with("req", vec!["x".into(), "y".into()], &rows, &["x".into()])
            .unwrap();
        assert_eq!(t.cell(0, 1), "2.5");
        assert!(matches!(&t.columns[0], Column::Text(_)));
    }
}
