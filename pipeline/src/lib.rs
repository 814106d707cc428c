//! neurite-pipeline: from a CSV file to model-ready tensors, training, evaluation and versioned
//! model bundles.
//!
//! The `train` feature (on by default) adds everything beyond inference; `neurite-serve` builds
//! without it and gets only reading, preprocessing, bundles and prediction.

pub mod bundle;
pub mod data;
pub mod error;
pub mod registry;
pub mod schema;
pub mod task;

#[cfg(feature = "train")]
pub mod augment;
#[cfg(feature = "charts")]
pub mod charts;
#[cfg(feature = "train")]
pub mod config;
#[cfg(feature = "train")]
pub mod eda;
#[cfg(feature = "train")]
pub mod experiments;
#[cfg(feature = "train")]
pub mod importance;
#[cfg(feature = "train")]
pub mod metrics;
#[cfg(feature = "train")]
pub mod prepare;
#[cfg(feature = "train")]
pub mod report;
#[cfg(feature = "train")]
pub mod synth;
#[cfg(feature = "train")]
pub mod train;
#[cfg(feature = "train")]
pub mod tune;

pub use bundle::{Bundle, Manifest, Predictions};
pub use error::{Error, Result};
pub use registry::{ModelRef, Registry};
pub use schema::{FieldKind, InputField};
pub use task::Task;
