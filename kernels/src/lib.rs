//! neurite-kernels: the numeric kernels of neurite, over plain slices.
//!
//! This crate knows nothing about tensors. Every function takes slices and explicit sizes,
//! BLAS/llm.c style, so it builds, tests and benches alone.
//!
//! Layout: one folder per kernel family under `cpu/`, each with
//! - `reference.rs`: the plain, generic (`f32`/`f64`) implementation every fast path is tested
//!   against, and which the engine uses for `f64` (gradient checks);
//! - `mod.rs`: the `f32` entry points, which dispatch once per process on the instruction-set
//!   tier chosen in [`isa`].
//!
//! Conventions (documented once here, used everywhere):
//! - Matrices are row-major unless a [`cpu::matmul::MatRef`] gives other strides.
//! - `accumulate: bool` on an output means `out += result` when true and `out = result` when
//!   false (BLAS beta ∈ {0, 1}). Backward kernels take it so the first gradient into a buffer
//!   overwrites and later ones add.
//! - Kernels never allocate unless their doc says so, and never panic on sizes that satisfy
//!   their documented preconditions (slice lengths are checked with `debug_assert!`; the engine
//!   validates user-facing shapes before calling).

pub mod cpu;
pub mod isa;
pub mod real;
pub mod rng;
pub(crate) mod simd;
pub mod threads;

#[cfg(feature = "cuda")]
pub mod cuda;

pub use isa::Isa;
pub use real::Real;
pub use threads::{init_pool, num_threads, set_num_threads};
