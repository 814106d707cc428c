//! Data: reading CSV files into a typed [`Table`], schema inference, splitting, and the fitted
//! preprocessing that travels inside a model bundle.

pub mod config;
pub mod datetime;
pub mod features;
pub mod infer;
pub mod preprocess;
pub mod reader;
pub mod scale;
pub mod select;
pub mod split;
pub mod stats;
pub mod table;
pub mod target;

pub use config::DataConfig;
pub use preprocess::{Preprocessor, TransformReport};
pub use scale::StandardScaler;
pub use table::{Column, ReadOptions, Table};
pub use target::TargetEncoder;
