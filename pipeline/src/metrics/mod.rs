//! Evaluation metrics, defined exactly as scikit-learn defines them (each one is tested against
//! scikit-learn on fixed predictions, `pipeline/tests/metrics.rs`).
//!
//! - [`classification`]: accuracy, balanced accuracy, precision/recall/F1 per class and
//!   macro/micro/weighted, confusion matrix, log-loss, the text report, multi-label metrics.
//! - [`curves`]: ROC curve and AUC (binary and one-vs-rest), precision-recall curve and
//!   average precision.
//! - [`regression`]: R², MAE, RMSE, MSE, MAPE per output and averaged over outputs.

pub mod classification;
pub mod curves;
pub mod regression;

pub use classification::{accuracy, classification_summary};
pub use regression::{mae, r2, regression_report, rmse};
