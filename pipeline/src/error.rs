//! Typed pipeline errors. Every message a user can trigger names the file and, where there is
//! one, the line (1-based, counting the header as line 1) and the column.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{path}: the file is empty (expected a header row)")]
    EmptyFile { path: PathBuf },

    #[error("{path}: the file has a header but no data rows")]
    NoRows { path: PathBuf },

    #[error("{path}:{line}: expected {expected} fields like the header, found {found}{hint}")]
    RaggedRow {
        path: PathBuf,
        line: u64,
        expected: usize,
        found: usize,
        /// A hint on the likely cause (a wrong delimiter), or empty.
        hint: String,
    },

    #[error("{path}:{line}: column {column:?} (field {field}): {detail}")]
    Cell {
        path: PathBuf,
        line: u64,
        column: String,
        field: usize,
        detail: String,
    },

    #[error("{path}:{line}: {detail}")]
    Csv {
        path: PathBuf,
        line: u64,
        detail: String,
    },

    #[error("{path}: no column named {column:?}; columns are: {available}{hint}")]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
        /// A hint on the likely cause (a wrong delimiter), or empty.
        hint: String,
    },

    #[error("{path}: duplicate column name {column:?} (fields {first} and {second})")]
    DuplicateColumn {
        path: PathBuf,
        column: String,
        first: usize,
        second: usize,
    },

    #[error("{0}")]
    InvalidData(String),

    /// A bad value in a prediction request: `row` is 0-based.
    #[error("row {row}, field {field:?}: {detail}")]
    Input {
        row: usize,
        field: String,
        detail: String,
    },

    #[error("invalid configuration: {0}")]
    Config(String),

    #[error("no model named {name:?} in {dir}{hint}")]
    UnknownModel {
        name: String,
        dir: PathBuf,
        hint: String,
    },

    #[error("model {name:?} has no version {version:?} (versions: {available})")]
    UnknownVersion {
        name: String,
        version: String,
        available: String,
    },

    #[error("{path}: invalid model manifest: {detail}")]
    Manifest { path: PathBuf, detail: String },

    #[error(
        "training interrupted after epoch {epoch}; continue it with `neurite train … --resume`"
    )]
    Interrupted { epoch: usize },

    #[error(transparent)]
    Engine(#[from] neurite_engine::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
