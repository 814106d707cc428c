//! Streaming, parallel CSV reading into typed columns.
//!
//! The input is read in blocks of [`BLOCK`] bytes and cut into chunks at record boundaries (a
//! newline outside quotes); a batch of chunks is parsed in parallel with rayon, each chunk into
//! its own typed columns, and the chunks are appended in file order. Only a batch of text is
//! held at a time, so memory peaks near the size of the parsed columns rather than the file.
//!
//! Column types are found while parsing: a column is numeric until a present cell is not a
//! number. When that happens after numbers were already stored (their text is gone), the read
//! starts over with that column kept as text; a typo late in a big file costs a second pass,
//! never a wrong value.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::table::{
    Column, NumberColumn, ReadOptions, Table, TextBuilder, TextColumn, is_missing_bytes,
    parse_number,
};
use crate::error::{Error, Result};

/// Bytes read at a time; a chunk is at least this long (unless the file ends).
const BLOCK: usize = 1 << 20;

/// Read a whole CSV; `open` gives the input from its start (it is called again when a pass has
/// to start over); `path` names it in messages.
pub fn read<R: Read>(
    path: &Path,
    mut open: impl FnMut() -> Result<R>,
    opts: &ReadOptions,
) -> Result<Table> {
    let mut forced: HashSet<String> = opts.text_columns.iter().cloned().collect();
    loop {
        match read_pass(path, open()?, opts, &forced) {
            Ok(r) => return r,
            Err(Restart(cols)) => forced.extend(cols),
        }
    }
}

/// A pass found columns that must be re-read as text.
struct Restart(Vec<String>);

/// One pass over the input. The outer `Result` asks for a restart; the inner one is the read.
fn read_pass(
    path: &Path,
    src: impl Read,
    opts: &ReadOptions,
    forced: &HashSet<String>,
) -> std::result::Result<Result<Table>, Restart> {
    let mut splitter = Splitter::new(src, opts.sha256);
    let io_err = |e: std::io::Error| Error::io(path, e);
    // Detect the delimiter from the first block before any scanning, so the splitter knows
    // which byte ends a field (a quote opens a field only right after one).
    let delimiter = match splitter.prime() {
        Ok(head) => {
            let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
            opts.delimiter.unwrap_or_else(|| detect_delimiter(head))
        }
        Err(e) => return Ok(Err(io_err(e))),
    };
    splitter.delimiter = Some(delimiter);
    let first = match splitter.next_chunk() {
        Ok(Some(c)) => c,
        Ok(None) => return Ok(Err(Error::EmptyFile { path: path.into() })),
        Err(e) => return Ok(Err(io_err(e))),
    };
    let mut first_bytes = first.bytes;
    let bom = if first_bytes.starts_with(b"\xEF\xBB\xBF") {
        first_bytes.drain(..3);
        3
    } else {
        0
    };
    if first_bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Err(Error::EmptyFile { path: path.into() }));
    }
    let first_unterminated = first.unterminated_at.map(|o| o.saturating_sub(bom));
    let (headers, data_start, header_lines) = match read_header(path, &first_bytes, delimiter) {
        Ok(h) => h,
        Err(e) => return Ok(Err(e)),
    };
    if first_unterminated.is_some_and(|o| o < data_start) {
        return Ok(Err(Error::Csv {
            path: path.into(),
            line: 1,
            detail: "unterminated quoted field in the header".into(),
        }));
    }
    let text: Vec<bool> = headers.iter().map(|h| forced.contains(h)).collect();
    let mut out = Merger::new(&headers, text);
    // Lines before the next chunk (the header's).
    let mut line_base = header_lines;
    let mut pending = vec![Chunk {
        bytes: first_bytes[data_start..].to_vec(),
        unterminated_at: first_unterminated.map(|o| o.saturating_sub(data_start)),
    }];
    drop(first_bytes);
    let batch = 2 * rayon::current_num_threads().max(1);
    let mut done = false;
    loop {
        while !done && pending.len() < batch {
            match splitter.next_chunk() {
                Ok(Some(c)) => pending.push(c),
                Ok(None) => done = true,
                Err(e) => return Ok(Err(io_err(e))),
            }
        }
        if pending.is_empty() {
            break;
        }
        let flags = out.text.clone();
        let parsed: Vec<Result<Parsed, ChunkError>> = pending
            .par_iter()
            .map(|c| parse_chunk(&c.bytes, delimiter, headers.len(), &flags))
            .collect();
        for (chunk, p) in pending.iter().zip(parsed) {
            if let Some(off) = chunk.unterminated_at {
                // Records before the open quote are fine; report the quote itself.
                let before = &chunk.bytes[..off.min(chunk.bytes.len())];
                let line = line_base + count_newlines(before) + 1;
                let line_start = before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1);
                let field = before[line_start..]
                    .iter()
                    .filter(|&&b| b == delimiter)
                    .count();
                let column = headers.get(field).cloned().unwrap_or_default();
                return Ok(Err(Error::Cell {
                    path: path.into(),
                    line,
                    column,
                    field: field + 1,
                    detail: "unterminated quoted field (a '\"' opens a field that never closes)"
                        .into(),
                }));
            }
            let p = match p {
                Ok(p) => p,
                Err(e) => return Ok(Err(e.into_error(path, line_base, &headers))),
            };
            let p = if out.needs_text_reparse(&p) {
                match parse_chunk(&chunk.bytes, delimiter, headers.len(), &out.text_or(&p)) {
                    Ok(p) => p,
                    Err(e) => return Ok(Err(e.into_error(path, line_base, &headers))),
                }
            } else {
                p
            };
            if let Some(cols) = out.append(p, line_base) {
                return Err(Restart(cols));
            }
            line_base += count_newlines(&chunk.bytes);
        }
        pending.clear();
    }
    if out.rows() == 0 {
        return Ok(Err(Error::NoRows { path: path.into() }));
    }
    let sha256 = splitter.sha.map(|h| format!("{:x}", h.finalize()));
    let (columns, lines) = out.finish();
    Ok(Ok(Table {
        path: path.into(),
        headers,
        columns,
        lines,
        delimiter,
        sha256,
    }))
}

/// Line breaks in `b`: `\n`, and a `\r` not followed by `\n` (old Mac files, which the csv
/// crate also reads as record ends).
fn count_newlines(b: &[u8]) -> u64 {
    memchr::memchr2_iter(b'\n', b'\r', b)
        .filter(|&i| b[i] == b'\n' || b.get(i + 1) != Some(&b'\n'))
        .count() as u64
}

/// Pick the delimiter from the first lines: the candidate that appears the same non-zero number
/// of times (outside quotes) on each of them, the most frequent such; comma when none does.
pub fn detect_delimiter(bytes: &[u8]) -> u8 {
    let lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(20)
        .collect();
    // The last line of a cut chunk may be partial.
    let lines = if lines.len() > 2 {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    let count = |line: &[u8], d: u8| {
        let mut inq = false;
        line.iter()
            .filter(|&&b| {
                if b == b'"' {
                    inq = !inq;
                }
                !inq && b == d
            })
            .count()
    };
    let mut best = (b',', 0usize, false);
    for d in [b',', b';', b'\t', b'|'] {
        let counts: Vec<usize> = lines.iter().map(|l| count(l, d)).collect();
        let first = counts.first().copied().unwrap_or(0);
        let consistent = first > 0 && counts.iter().all(|&c| c == first);
        let better = match (consistent, best.2) {
            (true, false) => true,
            (false, true) => false,
            _ => first > best.1,
        };
        if better {
            best = (d, first, consistent);
        }
    }
    best.0
}

/// Parse the header record: names, the byte offset where data starts, lines it used.
fn read_header(path: &Path, bytes: &[u8], delimiter: u8) -> Result<(Vec<String>, usize, u64)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let mut rec = csv::ByteRecord::new();
    let ok = rdr.read_byte_record(&mut rec).map_err(|e| Error::Csv {
        path: path.into(),
        line: 1,
        detail: e.to_string(),
    })?;
    if !ok {
        return Err(Error::EmptyFile { path: path.into() });
    }
    let data_start = (rdr.position().byte() as usize).min(bytes.len());
    let lines = count_newlines(&bytes[..data_start]).max(1);
    let mut headers = Vec::with_capacity(rec.len());
    for (i, h) in rec.iter().enumerate() {
        let name = std::str::from_utf8(h.trim_ascii()).map_err(|_| Error::Cell {
            path: path.into(),
            line: 1,
            column: String::from_utf8_lossy(h).into_owned(),
            field: i + 1,
            detail: "header is not valid UTF-8".into(),
        })?;
        if name.is_empty() {
            return Err(Error::Cell {
                path: path.into(),
                line: 1,
                column: String::new(),
                field: i + 1,
                detail: "empty column name in the header".into(),
            });
        }
        if let Some(first) = headers.iter().position(|x: &String| x == name) {
            return Err(Error::DuplicateColumn {
                path: path.into(),
                column: name.to_string(),
                first: first + 1,
                second: i + 1,
            });
        }
        headers.push(name.to_string());
    }
    Ok((headers, data_start, lines))
}

/// When the header was read as one column that holds another likely delimiter, say so.
pub fn delimiter_hint(headers: &[String]) -> String {
    if headers.len() != 1 {
        return String::new();
    }
    for (d, name) in [(';', "';'"), ('\t', "tab"), ('|', "'|'"), (',', "','")] {
        if headers[0].contains(d) {
            return format!(
                " (the header was read as a single column: the file looks {name}-delimited; \
                 set it with --delimiter)"
            );
        }
    }
    String::new()
}

/// A piece of the input ending at a record boundary.
struct Chunk {
    bytes: Vec<u8>,
    /// Offset of a quote that opens a field and is never closed (only in the last chunk).
    unterminated_at: Option<usize>,
}

/// Cuts a byte stream into chunks at newlines outside quoted fields. A quote opens a field
/// only at the start of one (as the csv crate reads them); `""` inside a quoted field is an
/// escaped quote.
struct Splitter<R> {
    /// The field delimiter once known; until then every candidate ends a field.
    delimiter: Option<u8>,
    src: R,
    carry: Vec<u8>,
    /// Scan state at the end of `carry`.
    in_quote: bool,
    at_field_start: bool,
    /// In a quoted field, the previous byte was a quote (closing, or half of `""`).
    quote_pending: bool,
    /// Offset in `carry` of the quote that opened the current quoted field.
    open_at: usize,
    /// Bytes of `carry` already scanned, and the end of the last safe record boundary.
    scanned: usize,
    safe_end: usize,
    eof: bool,
    sha: Option<Sha256>,
}

impl<R: Read> Splitter<R> {
    fn new(src: R, sha: bool) -> Self {
        Splitter {
            delimiter: None,
            src,
            carry: Vec::new(),
            in_quote: false,
            at_field_start: true,
            quote_pending: false,
            open_at: 0,
            scanned: 0,
            safe_end: 0,
            eof: false,
            sha: sha.then(Sha256::new),
        }
    }

    fn fill(&mut self) -> std::io::Result<usize> {
        let start = self.carry.len();
        self.carry.resize(start + BLOCK, 0);
        let mut got = 0;
        while got < BLOCK {
            match self.src.read(&mut self.carry[start + got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.carry.truncate(start);
                    return Err(e);
                }
            }
        }
        self.carry.truncate(start + got);
        if let Some(h) = &mut self.sha {
            h.update(&self.carry[start..]);
        }
        Ok(got)
    }

    /// Whether a quote right after `b` opens a quoted field.
    fn ends_field(&self, b: u8) -> bool {
        b == b'\n'
            || b == b'\r'
            || match self.delimiter {
                Some(d) => b == d,
                None => matches!(b, b',' | b';' | b'\t' | b'|'),
            }
    }

    /// Read the first block without scanning it (so the delimiter can be detected from it).
    fn prime(&mut self) -> std::io::Result<&[u8]> {
        if self.carry.is_empty() && !self.eof && self.fill()? == 0 {
            self.eof = true;
        }
        Ok(&self.carry)
    }

    /// Scan `carry[scanned..]`, updating the quote state and `safe_end`.
    fn scan(&mut self) {
        let new = &self.carry[self.scanned..];
        if !self.in_quote && !self.quote_pending && memchr::memchr(b'"', new).is_none() {
            // Fast path: no quote at all, every newline is a boundary.
            if let Some(p) = memchr::memrchr(b'\n', new) {
                self.safe_end = self.scanned + p + 1;
            }
            if let Some(&b) = new.last() {
                self.at_field_start = self.ends_field(b);
            }
            self.scanned = self.carry.len();
            return;
        }
        let mut i = self.scanned;
        let n = self.carry.len();
        while i < n {
            let b = self.carry[i];
            if self.in_quote {
                if self.quote_pending {
                    self.quote_pending = false;
                    if b == b'"' {
                        // `""`: an escaped quote, still inside.
                        i += 1;
                        continue;
                    }
                    self.in_quote = false;
                    // fall through: `b` is outside the quotes
                } else {
                    if b == b'"' {
                        self.quote_pending = true;
                    }
                    i += 1;
                    continue;
                }
            }
            if b == b'"' && self.at_field_start {
                self.in_quote = true;
                self.open_at = i;
                self.at_field_start = false;
            } else if b == b'\n' {
                self.safe_end = i + 1;
                self.at_field_start = true;
            } else {
                self.at_field_start = self.ends_field(b);
            }
            i += 1;
        }
        self.scanned = n;
    }

    fn next_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        loop {
            if self.scanned < self.carry.len() {
                self.scan();
            }
            if self.safe_end >= BLOCK || (self.safe_end > 0 && self.carry.len() >= 2 * BLOCK) {
                let rest = self.carry.split_off(self.safe_end);
                let bytes = std::mem::replace(&mut self.carry, rest);
                self.scanned -= self.safe_end;
                self.open_at = self.open_at.saturating_sub(self.safe_end);
                self.safe_end = 0;
                return Ok(Some(Chunk {
                    bytes,
                    unterminated_at: None,
                }));
            }
            if self.eof {
                if self.carry.is_empty() {
                    return Ok(None);
                }
                let unterminated = (self.in_quote && !self.quote_pending).then_some(self.open_at);
                let bytes = std::mem::take(&mut self.carry);
                self.scanned = 0;
                self.safe_end = 0;
                return Ok(Some(Chunk {
                    bytes,
                    unterminated_at: unterminated,
                }));
            }
            if self.fill()? == 0 {
                self.eof = true;
            }
        }
    }
}

/// A chunk's rows as typed columns.
struct Parsed {
    /// Line of each row relative to the chunk (1-based).
    lines: Vec<u64>,
    cols: Vec<Column>,
}

#[derive(Debug)]
struct ChunkError {
    /// Line relative to the chunk (1-based).
    line: u64,
    kind: ChunkErrorKind,
}

#[derive(Debug)]
enum ChunkErrorKind {
    Ragged { expected: usize, found: usize },
    Utf8 { field: usize },
    Csv(String),
}

impl ChunkError {
    fn into_error(self, path: &Path, line_base: u64, headers: &[String]) -> Error {
        let line = line_base + self.line;
        match self.kind {
            ChunkErrorKind::Ragged { expected, found } => Error::RaggedRow {
                path: path.into(),
                line,
                expected,
                found,
                hint: delimiter_hint(headers),
            },
            ChunkErrorKind::Utf8 { field } => Error::Cell {
                path: path.into(),
                line,
                column: headers.get(field).cloned().unwrap_or_default(),
                field: field + 1,
                detail: "invalid UTF-8".into(),
            },
            ChunkErrorKind::Csv(detail) => Error::Csv {
                path: path.into(),
                line,
                detail,
            },
        }
    }
}

enum Builder {
    Num(Vec<f32>, bool),
    Text(TextBuilder),
}

/// Parse one chunk. Columns flagged in `text` are read as text; the others as numbers until a
/// cell is not one, when the chunk is parsed again with that column as text.
fn parse_chunk(
    bytes: &[u8],
    delimiter: u8,
    ncols: usize,
    text: &[bool],
) -> std::result::Result<Parsed, ChunkError> {
    let mut text = text.to_vec();
    loop {
        match parse_chunk_once(bytes, delimiter, ncols, &text)? {
            Ok(p) => return Ok(p),
            Err(flip) => {
                for c in flip {
                    text[c] = true;
                }
            }
        }
    }
}

#[allow(clippy::type_complexity)]
fn parse_chunk_once(
    bytes: &[u8],
    delimiter: u8,
    ncols: usize,
    text: &[bool],
) -> std::result::Result<std::result::Result<Parsed, Vec<usize>>, ChunkError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    // Rough row estimate for capacity: a numeric field takes a few bytes at least.
    let est = bytes.len() / (ncols * 4).max(1);
    let mut cols: Vec<Builder> = text
        .iter()
        .map(|&t| {
            if t {
                Builder::Text(TextBuilder::default())
            } else {
                Builder::Num(Vec::with_capacity(est), true)
            }
        })
        .collect();
    let mut lines = Vec::with_capacity(est);
    let mut flip: Vec<usize> = Vec::new();
    let mut rec = csv::ByteRecord::new();
    // The csv crate does not count the blank lines it skips, so lines are counted here from
    // byte offsets: newlines between the previous record's start and this one's.
    let (mut line, mut last) = (1u64, 0usize);
    let mut line_at = |byte: u64| {
        let mut b = (byte as usize).min(bytes.len());
        // A record's position includes the empty lines skipped before it.
        while b < bytes.len() && matches!(bytes[b], b'\n' | b'\r') {
            b += 1;
        }
        if b >= last {
            line += count_newlines(&bytes[last..b]);
            last = b;
        }
        line
    };
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(p.byte()));
                return Err(ChunkError {
                    line,
                    kind: ChunkErrorKind::Csv(e.to_string()),
                });
            }
        }
        let line = rec.position().map_or(0, |p| line_at(p.byte()));
        // Skip blank lines (spaces only).
        if rec.len() == 1 && rec[0].trim_ascii().is_empty() && ncols > 1 {
            continue;
        }
        if rec.len() != ncols {
            return Err(ChunkError {
                line,
                kind: ChunkErrorKind::Ragged {
                    expected: ncols,
                    found: rec.len(),
                },
            });
        }
        for (c, field) in rec.iter().enumerate() {
            let field = field.trim_ascii();
            match &mut cols[c] {
                Builder::Num(v, integral) => {
                    if is_missing_bytes(field) {
                        v.push(f32::NAN);
                    } else if let Some((x, i)) = parse_number(field) {
                        v.push(x);
                        *integral &= i;
                    } else {
                        if !flip.contains(&c) {
                            flip.push(c);
                        }
                        v.push(f32::NAN);
                    }
                }
                Builder::Text(t) => {
                    let s = std::str::from_utf8(field).map_err(|_| ChunkError {
                        line,
                        kind: ChunkErrorKind::Utf8 { field: c },
                    })?;
                    t.push(s);
                }
            }
        }
        lines.push(line);
    }
    if !flip.is_empty() {
        return Ok(Err(flip));
    }
    let cols = cols
        .into_iter()
        .map(|b| match b {
            Builder::Num(values, integral) => Column::Number(NumberColumn { values, integral }),
            Builder::Text(t) => Column::Text(t.finish()),
        })
        .collect();
    Ok(Ok(Parsed { lines, cols }))
}

/// The columns of the whole file, appended chunk by chunk.
struct Merger {
    headers: Vec<String>,
    /// Columns known to be text.
    text: Vec<bool>,
    nums: Vec<Option<(Vec<f32>, bool, bool)>>, // (values, integral, any present value)
    texts: Vec<Option<TextBuilder>>,
    lines: Vec<u64>,
}

impl Merger {
    fn new(headers: &[String], text: Vec<bool>) -> Self {
        Merger {
            headers: headers.to_vec(),
            nums: text
                .iter()
                .map(|&t| (!t).then(|| (Vec::new(), true, false)))
                .collect(),
            texts: text.iter().map(|&t| t.then(TextBuilder::default)).collect(),
            text,
            lines: Vec::new(),
        }
    }

    fn rows(&self) -> usize {
        self.lines.len()
    }

    /// Whether `p` holds numbers for a column that has become text since it was parsed.
    fn needs_text_reparse(&self, p: &Parsed) -> bool {
        p.cols.iter().enumerate().any(|(c, col)| {
            self.text[c] && matches!(col, Column::Number(n) if n.values.iter().any(|v| !v.is_nan()))
        })
    }

    /// Text flags: the merged ones plus the chunk's own text columns.
    fn text_or(&self, p: &Parsed) -> Vec<bool> {
        self.text
            .iter()
            .zip(&p.cols)
            .map(|(&t, c)| t || matches!(c, Column::Text(_)))
            .collect()
    }

    /// Append a chunk; `Some(columns)` when numbers already stored must be re-read as text.
    fn append(&mut self, p: Parsed, line_base: u64) -> Option<Vec<String>> {
        let restart: Vec<String> = p
            .cols
            .iter()
            .enumerate()
            .filter(|(c, col)| {
                matches!(col, Column::Text(_))
                    && self.nums[*c].as_ref().is_some_and(|(_, _, any)| *any)
            })
            .map(|(c, _)| self.headers[c].clone())
            .collect();
        if !restart.is_empty() {
            return Some(restart);
        }
        let n_before = self.lines.len();
        let n_new = p.lines.len();
        for (c, col) in p.cols.into_iter().enumerate() {
            match col {
                Column::Number(n) => {
                    if let Some((v, integral, any)) = &mut self.nums[c] {
                        reserve_gently(v, n.values.len());
                        let present = n.values.iter().any(|x| !x.is_nan());
                        v.extend_from_slice(&n.values);
                        *integral &= n.integral || !present;
                        *any |= present;
                    } else if let Some(t) = &mut self.texts[c] {
                        // Only missing cells reach here (numbers were re-parsed as text).
                        for _ in 0..n.values.len() {
                            t.push("");
                        }
                    }
                }
                Column::Text(tc) => {
                    if self.texts[c].is_none() {
                        // A column of missing cells so far becomes text.
                        let mut t = TextBuilder::default();
                        for _ in 0..n_before {
                            t.push("");
                        }
                        self.texts[c] = Some(t);
                        self.nums[c] = None;
                        self.text[c] = true;
                    }
                    if let Some(t) = &mut self.texts[c] {
                        t.append(&tc);
                    }
                }
            }
        }
        reserve_gently(&mut self.lines, n_new);
        self.lines.extend(p.lines.iter().map(|l| l + line_base));
        None
    }

    fn finish(self) -> (Vec<Column>, Vec<u64>) {
        let cols = self
            .nums
            .into_iter()
            .zip(self.texts)
            .map(|(n, t)| match (n, t) {
                (_, Some(t)) => Column::Text(t.finish()),
                (Some((mut values, integral, any)), None) => {
                    values.shrink_to_fit();
                    Column::Number(NumberColumn {
                        values,
                        integral: integral && any,
                    })
                }
                (None, None) => Column::Text(TextColumn::default()),
            })
            .collect();
        let mut lines = self.lines;
        lines.shrink_to_fit();
        (cols, lines)
    }
}

/// Grow by an eighth at a time rather than doubling: for big columns the allocator moves pages
/// (`mremap`) instead of copying, and peak memory stays near the final size.
fn reserve_gently<T>(v: &mut Vec<T>, additional: usize) {
    if v.capacity() - v.len() < additional {
        let grow = additional.max(v.len() / 8);
        v.reserve_exact(grow);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::table::is_missing;

    fn parse(s: &[u8]) -> Result<Table> {
        Table::from_bytes(Path::new("t.csv"), s)
    }

    #[test]
    fn delimiters_are_detected() {
        assert_eq!(detect_delimiter(b"a;b;c\n1;2,5;3\n"), b';');
        assert_eq!(detect_delimiter(b"a\tb\n1\t2\n"), b'\t');
        assert_eq!(detect_delimiter(b"a,b\n1,2\n"), b',');
        assert_eq!(detect_delimiter(b"\"x;y\",b\n1,2\n"), b',');
        let t = parse(b"a;b\n1,5;2\n").unwrap();
        assert_eq!(t.headers, ["a", "b"]);
        assert!(matches!(&t.columns[0], Column::Text(_)));
    }

    #[test]
    fn quotes_and_errors_name_lines() {
        let t = parse(b"a,b\n\"x\ny\",1\n\"q\"\"z\",2\n").unwrap();
        assert_eq!(t.cell(0, 0), "x\ny");
        assert_eq!(t.cell(0, 1), "q\"z");
        assert_eq!(t.lines, vec![2, 4]);
        let e = parse(b"a,b\n1,2\n3,\"open\n4,5\n").unwrap_err().to_string();
        assert!(e.contains("t.csv:3") && e.contains("unterminated"), "{e}");
        assert!(e.contains("\"b\""), "{e}");
        // a quote inside an unquoted field is text, not a quote
        let t = parse(b"h,w\n5'10\",1\n6',2\n").unwrap();
        assert_eq!(t.cell(0, 0), "5'10\"");
        // ... also after a character that is a delimiter elsewhere, not in this file
        let t = parse(b"h,w\nx;\"y,1\nz,2\n").unwrap();
        assert_eq!(t.cell(0, 0), "x;\"y");
        let e = parse(b"a,b\n1,2\n\n3,4,5\n").unwrap_err().to_string();
        assert!(e.contains("t.csv:4") && e.contains("found 3"), "{e}");
        // Bare carriage returns end lines too (found by fuzzing: two records on one "line").
        let t = parse(b"a,b\r1,2\r3,4\r\n5,6\n").unwrap();
        assert_eq!(t.lines, vec![2, 3, 4]);
        let e = parse(b"\xEF\xBB\xBFa,b\n1\n").unwrap_err().to_string();
        assert!(e.contains("t.csv:2"), "{e}");
        // An unterminated quote after a BOM (found by the proptest harness: an offset that
        // forgot the BOM).
        let e = parse(b"\xEF\xBB\xBFa,b\n1,\"x\n").unwrap_err().to_string();
        assert!(e.contains("t.csv:2") && e.contains("unterminated"), "{e}");
        let e = parse(b"\xEF\xBB\xBFa,b\n1\n").unwrap_err().to_string();
        assert!(e.contains("t.csv:2"), "{e}");
    }

    #[test]
    fn big_input_in_many_chunks_types_late_text() {
        // Enough rows for several chunks; column b turns to text near the end, column c has
        // only missing cells until then.
        let mut s = String::from("a,b,c\n");
        let n = 300_000;
        for i in 0..n {
            if i == n - 5 {
                s.push_str(&format!("{i},oops,x\n"));
            } else {
                s.push_str(&format!("{i},{}.5,\n", i % 7));
            }
        }
        assert!(s.len() > 3 * BLOCK);
        let t = parse(s.as_bytes()).unwrap();
        assert_eq!(t.n_rows(), n);
        assert!(matches!(&t.columns[0], Column::Number(c) if c.integral));
        assert_eq!(t.cell(1, 3), "3.5");
        assert_eq!(t.cell(1, n - 5), "oops");
        assert!(matches!(&t.columns[2], Column::Text(_)));
        assert!(is_missing(&t.cell(2, 0)));
        assert_eq!(t.cell(2, n - 5), "x");
        assert_eq!(t.lines[n - 1], n as u64 + 1);
        let e = t.numeric_column("b").unwrap_err().to_string();
        assert!(e.contains(&format!("t.csv:{}", n - 5 + 2)), "{e}");
    }

    #[test]
    fn quoted_newlines_across_block_boundaries() {
        // Every row has a quoted field holding a newline, so some block boundary falls right
        // after a delimiter and before a quote, or inside the quotes.
        let mut s = String::from("i,q,z\n");
        let n = 200_000;
        for i in 0..n {
            s.push_str(&format!("{i},\"a{i}\nb\"\"c\",x\n"));
        }
        assert!(s.len() > 3 * BLOCK);
        let t = parse(s.as_bytes()).unwrap();
        assert_eq!(t.n_rows(), n);
        assert_eq!(t.cell(1, 7), "a7\nb\"c");
        assert_eq!(t.lines[n - 1], 2 * n as u64);
    }

    #[test]
    fn a_quote_opening_a_block_after_a_delimiter() {
        // The first block has no quote and ends with the delimiter; the next one starts with a
        // quoted field holding a newline, which must not be taken for a record boundary.
        let mut s = String::from("a,b\n123,2\n");
        while s.len() < BLOCK - 2 {
            s.push_str("1,2\n");
        }
        assert_eq!(s.len(), BLOCK - 2);
        s.push_str("1,\"x\ny\"\n");
        for _ in 0..300_000 {
            s.push_str("5,6\n");
        }
        let t = parse(s.as_bytes()).unwrap();
        let r = (BLOCK - 2 - 10) / 4 + 1;
        assert_eq!(t.cell(1, r), "x\ny");
        assert_eq!(t.n_rows(), r + 1 + 300_000);
    }

    #[test]
    fn file_reading_matches_bytes_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let mut s = String::from("a,b\n");
        for i in 0..200_000 {
            s.push_str(&format!("{i},{}\n", if i == 150_000 { "t" } else { "1" }));
        }
        std::fs::write(&p, &s).unwrap();
        let opts = ReadOptions {
            sha256: true,
            ..Default::default()
        };
        let t = Table::read_csv_with(&p, &opts).unwrap();
        let u = Table::from_bytes(&p, s.as_bytes()).unwrap();
        assert_eq!(t.columns, u.columns);
        assert_eq!(t.lines, u.lines);
        assert_eq!(
            t.sha256.unwrap(),
            format!("{:x}", Sha256::digest(s.as_bytes()))
        );
    }
}
