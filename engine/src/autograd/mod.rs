//! Reverse-mode automatic differentiation on an explicit tape.
//!
//! A [`Tape`] is a flat list of nodes, each a closed [`Op`] with the ids of its inputs. Forward
//! code records through a [`Graph`] (the tape plus the parameters it reads); backward walks the
//! list in reverse, applying the rules in `rules.rs` (all of them, in one file). Inference never
//! builds a tape: it calls the tensor ops in [`crate::ops`].
//!
//! Buffers are pooled: `Tape::graph` recycles every buffer of the previous step, so a training
//! step of a fixed model allocates nothing after the first.

pub mod gradcheck;
mod rules;
mod tape;

pub use tape::{Graph, Op, Tape, Var};
