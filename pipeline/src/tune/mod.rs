//! Hyperparameter tuning (`neurite tune`): search spaces, samplers (grid, random, TPE, GP),
//! pruners (median, successive halving, Hyperband), studies stored as files that several
//! processes share, and the study report.
//!
//! - [`space`]: the YAML search space, validated with key paths; conditional parameters.
//! - [`settings`]: the study settings (`tune:` section or tune file) and the objective metric.
//! - [`samplers`]: how trials are proposed.
//! - [`pruners`]: how hopeless trials stop early.
//! - [`study`]: the files and the claim protocol (resume, several workers).
//! - [`objective`]: one trial = one training run (or k, with cross-validation).
//! - [`runner`]: worker threads, timeout, registering the best model.
//! - [`importance`], [`report`]: what the study found, and why.

pub mod importance;
pub mod objective;
pub mod pruners;
pub mod report;
pub mod runner;
pub mod samplers;
pub mod settings;
pub mod space;
pub mod study;

pub use runner::{Event, Mode, Setup, TuneOutcome, TuneRequest, run};
pub use settings::{TuneSettings, TuneSource};
pub use space::{Params, Space};
pub use study::{Direction, Study, StudyMeta, TrialRecord, TrialState};
