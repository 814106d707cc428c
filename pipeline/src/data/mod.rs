//! Data: reading CSV files into a [`Table`], splitting, and the fitted preprocessing that
//! travels inside a model bundle.

pub mod preprocess;
pub mod split;
pub mod table;

pub use preprocess::{Preprocessor, StandardScaler};
pub use table::Table;
