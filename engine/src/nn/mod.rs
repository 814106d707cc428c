//! Layers and models: an MLP built from a list of layer specs (Keras `Sequential` style), with
//! its parameters in one flat store.

mod init;
mod mlp;

pub use init::{BiasInit, Init};
pub use mlp::{ActivationSpec, LayerSpec, Mlp, MlpArch, MlpSpec};
