//! CPU kernels, one folder per family. Each family has `reference.rs` (plain generic loops, the
//! oracle) and `mod.rs` (the `f32` entry points that dispatch on [`crate::isa::active`]).

pub mod activation;
pub mod batchnorm;
pub mod dropout;
pub mod elementwise;
pub mod loss;
pub mod matmul;
pub mod optim;
pub mod reduce;
pub mod softmax;

pub use activation::Activation;
