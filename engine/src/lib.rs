//! neurite-engine: tensors on a [`Device`], reverse-mode autograd on an explicit tape, layers,
//! losses and optimizers, and inference without a tape.
//!
//! ```
//! use neurite_engine::{DType, Device, Tape, nn::{Mlp, MlpSpec, LayerSpec, ActivationSpec, BiasInit, Init}};
//! use neurite_engine::{Loss, Optimizer, OptimizerSpec};
//! let spec = MlpSpec { input_dim: 2, layers: vec![
//!     LayerSpec::Linear { units: 4, bias: true, init: Init::Auto, bias_init: BiasInit::Zeros },
//!     LayerSpec::Activation { activation: ActivationSpec::Relu },
//!     LayerSpec::Linear { units: 1, bias: true, init: Init::Auto, bias_init: BiasInit::Zeros },
//! ]};
//! let mut model = Mlp::new(spec, 0, DType::F32, Device::Cpu).unwrap();
//! let mut opt = Optimizer::new(OptimizerSpec::adam(0.01), &model.params).unwrap();
//! let mut grads = model.params.zeros_like().unwrap();
//! let mut tape = Tape::new();
//! for step in 0..3 {
//!     let Mlp { arch, params, buffers } = &mut model;
//!     let mut g = tape.graph(params, true, step);
//!     let x = g.input_from_slice(&[0.0, 1.0, 1.0, 0.0], [2, 2]).unwrap();
//!     let y = g.input_from_slice(&[1.0, 1.0], [2, 1]).unwrap();
//!     let out = arch.forward(&mut g, x, buffers).unwrap();
//!     let loss = Loss::Mse.forward(&mut g, out, y, None).unwrap();
//!     neurite_engine::backend::fill(grads.view_mut(), 0.0).unwrap();
//!     g.backward(loss, &mut grads).unwrap();
//!     opt.step(&mut model.params, &grads).unwrap();
//! }
//! ```

pub mod autograd;
pub mod backend;
pub mod device;
pub mod dtype;
pub mod error;
pub mod io;
pub mod loss;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod params;
pub mod shape;
pub mod storage;
pub mod tensor;

pub use autograd::{Graph, Op, Tape, Var};
pub use device::{Device, DeviceRequest};
pub use dtype::DType;
pub use error::{Error, Result};
pub use loss::Loss;
pub use neurite_kernels::cpu::activation::Activation;
pub use optim::{Optimizer, OptimizerSpec, clip_grad_norm};
pub use params::{ParamBuilder, ParamId, ParamSpec, ParamStore};
pub use shape::Shape;
pub use storage::{SliceMut, SliceRef, Storage};
pub use tensor::Tensor;
