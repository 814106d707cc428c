//! Training: data preparation, the epoch loop with callbacks, checkpoints and resume,
//! evaluation of the result.

pub mod callbacks;
pub mod checkpoint;
pub mod data;
pub mod evaluate;
pub mod fit;

pub use callbacks::{Callback, CallbackContext, ProgressBar};
pub use data::ExplicitSplits;
pub use evaluate::{evaluation, score};
pub use fit::{TrainEnv, TrainOutcome, build_spec, train};
