//! Typed engine errors. Every fallible engine call returns [`Result`]; nothing reachable from
//! user input panics.

use crate::device::Device;
use crate::dtype::DType;
use crate::shape::Shape;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("shape mismatch in {op}: {detail}")]
    Shape { op: &'static str, detail: String },

    #[error("{op}: expected {expected} elements for shape {shape}, got {got}")]
    ElementCount {
        op: &'static str,
        shape: Shape,
        expected: usize,
        got: usize,
    },

    #[error("{op}: operands are on different devices or dtypes ({left} vs {right})")]
    Mismatch {
        op: &'static str,
        left: String,
        right: String,
    },

    #[error("{op} is not supported for dtype {dtype:?} on {device}")]
    Unsupported {
        op: &'static str,
        dtype: DType,
        device: Device,
    },

    #[error("CUDA is not available: {0}")]
    CudaUnavailable(String),

    #[error("CUDA error: {0}")]
    Cuda(String),

    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },

    #[error("{path}: invalid weights file: {detail}")]
    Weights { path: String, detail: String },
}

impl Error {
    pub fn shape(op: &'static str, detail: impl Into<String>) -> Self {
        Error::Shape {
            op,
            detail: detail.into(),
        }
    }
    pub fn invalid(detail: impl Into<String>) -> Self {
        Error::InvalidArgument(detail.into())
    }
    /// `Err(ElementCount)` unless `got` values fill `shape` exactly.
    pub(crate) fn check_count(op: &'static str, shape: Shape, got: usize) -> Result<()> {
        if got == shape.numel() {
            return Ok(());
        }
        Err(Error::ElementCount {
            op,
            shape,
            expected: shape.numel(),
            got,
        })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
