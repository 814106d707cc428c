//! Multi-layer perceptron from a list of [`LayerSpec`]s.
//!
//! Parameter names follow PyTorch's `nn.Sequential`: `layers.<i>.weight` (`[out, in]`),
//! `layers.<i>.bias`; batch norm adds `layers.<i>.weight`/`bias` (γ, β) and the buffers
//! `layers.<i>.running_mean`/`running_var`. A Linear layer followed by an activation runs as
//! one fused GEMM with a bias+activation epilogue.

use neurite_kernels::cpu::activation::Activation;
use neurite_kernels::rng::Rng;
use serde::{Deserialize, Serialize};

use super::init::{BiasInit, Init};
use crate::autograd::{Graph, Var};
use crate::backend::{self, Mat};
use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::params::{ParamBuilder, ParamId, ParamStore};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Serializable activation names (Keras spelling).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "name")]
pub enum ActivationSpec {
    Linear,
    Relu,
    LeakyRelu {
        #[serde(default = "default_leaky")]
        alpha: f32,
    },
    Elu {
        #[serde(default = "default_elu")]
        alpha: f32,
    },
    Gelu,
    Sigmoid,
    Tanh,
}

fn default_leaky() -> f32 {
    0.01
}
fn default_elu() -> f32 {
    1.0
}

impl ActivationSpec {
    pub fn to_kernel(self) -> Activation {
        match self {
            ActivationSpec::Linear => Activation::Identity,
            ActivationSpec::Relu => Activation::Relu,
            ActivationSpec::LeakyRelu { alpha } => Activation::LeakyRelu(alpha),
            ActivationSpec::Elu { alpha } => Activation::Elu(alpha),
            ActivationSpec::Gelu => Activation::Gelu,
            ActivationSpec::Sigmoid => Activation::Sigmoid,
            ActivationSpec::Tanh => Activation::Tanh,
        }
    }

    /// Parse a name such as `relu`, `leaky_relu`, `elu`, `gelu`, `sigmoid`, `tanh`, `linear`.
    pub fn parse(name: &str) -> Option<ActivationSpec> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "linear" | "identity" | "none" => ActivationSpec::Linear,
            "relu" => ActivationSpec::Relu,
            "leaky_relu" | "leakyrelu" => ActivationSpec::LeakyRelu {
                alpha: default_leaky(),
            },
            "elu" => ActivationSpec::Elu {
                alpha: default_elu(),
            },
            "gelu" => ActivationSpec::Gelu,
            "sigmoid" => ActivationSpec::Sigmoid,
            "tanh" => ActivationSpec::Tanh,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        self.to_kernel().name()
    }

    fn relu_like(self) -> bool {
        matches!(
            self,
            ActivationSpec::Relu
                | ActivationSpec::LeakyRelu { .. }
                | ActivationSpec::Elu { .. }
                | ActivationSpec::Gelu
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LayerSpec {
    Linear {
        units: usize,
        #[serde(default = "yes")]
        bias: bool,
        #[serde(default)]
        init: Init,
        /// Specs saved before this field existed read as zeros (what they were built with).
        #[serde(default)]
        bias_init: BiasInit,
    },
    Activation {
        activation: ActivationSpec,
    },
    Dropout {
        rate: f32,
    },
    BatchNorm {
        #[serde(default = "default_bn_eps")]
        eps: f32,
        #[serde(default = "default_bn_momentum")]
        momentum: f32,
    },
}

fn yes() -> bool {
    true
}
fn default_bn_eps() -> f32 {
    1e-5
}
fn default_bn_momentum() -> f32 {
    0.1
}

/// The architecture: input width and layers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpSpec {
    pub input_dim: usize,
    pub layers: Vec<LayerSpec>,
}

impl MlpSpec {
    /// Width of the output.
    pub fn output_dim(&self) -> usize {
        self.layers
            .iter()
            .rev()
            .find_map(|l| match l {
                LayerSpec::Linear { units, .. } => Some(*units),
                _ => None,
            })
            .unwrap_or(self.input_dim)
    }

    pub fn validate(&self) -> Result<()> {
        if self.input_dim == 0 {
            return Err(Error::invalid("model input has 0 features"));
        }
        for (i, l) in self.layers.iter().enumerate() {
            match l {
                LayerSpec::Linear { units: 0, .. } => {
                    return Err(Error::invalid(format!(
                        "layer {i}: a linear layer needs at least 1 unit"
                    )));
                }
                LayerSpec::Dropout { rate } if !(0.0..1.0).contains(rate) => {
                    return Err(Error::invalid(format!(
                        "layer {i}: dropout rate {rate} not in [0, 1)"
                    )));
                }
                LayerSpec::BatchNorm { eps, momentum }
                    if *eps <= 0.0 || !(0.0..=1.0).contains(momentum) =>
                {
                    return Err(Error::invalid(format!(
                        "layer {i}: batch norm eps must be > 0 and momentum in [0, 1]"
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
enum Step {
    Linear {
        w: ParamId,
        b: Option<ParamId>,
        act: Activation,
    },
    Act(Activation),
    Dropout(f32),
    BatchNorm {
        gamma: ParamId,
        beta: ParamId,
        rmean: ParamId,
        rvar: ParamId,
        eps: f32,
        momentum: f32,
    },
}

/// The compiled architecture (which parameter each step reads); no weights.
#[derive(Clone, Debug)]
pub struct MlpArch {
    pub spec: MlpSpec,
    steps: Vec<Step>,
}

/// A model: architecture, trainable parameters and non-trainable buffers.
#[derive(Clone, Debug)]
pub struct Mlp {
    pub arch: MlpArch,
    pub params: ParamStore,
    pub buffers: ParamStore,
}

impl Mlp {
    /// Build with freshly initialised weights from `seed`.
    pub fn new(spec: MlpSpec, seed: u64, dtype: DType, device: Device) -> Result<Mlp> {
        spec.validate()?;
        let mut rng = Rng::new(seed);
        let mut pb = ParamBuilder::new();
        let mut bb = ParamBuilder::new();
        let mut steps = Vec::new();
        let mut width = spec.input_dim;
        let layers = &spec.layers;
        let mut i = 0;
        while i < layers.len() {
            match &layers[i] {
                LayerSpec::Linear {
                    units,
                    bias,
                    init,
                    bias_init,
                } => {
                    let next_act = match layers.get(i + 1) {
                        Some(LayerSpec::Activation { activation }) => Some(*activation),
                        _ => None,
                    };
                    let relu_like = next_act.is_some_and(|a| a.relu_like());
                    let w = pb.add(
                        format!("layers.{i}.weight"),
                        [*units, width],
                        init.sample(&mut rng, width, *units, relu_like),
                    )?;
                    let b = if *bias {
                        let bv = bias_init.sample(&mut rng, width, *units);
                        Some(pb.add(format!("layers.{i}.bias"), [*units], bv)?)
                    } else {
                        None
                    };
                    width = *units;
                    if let Some(a) = next_act {
                        steps.push(Step::Linear {
                            w,
                            b,
                            act: a.to_kernel(),
                        });
                        i += 2;
                        continue;
                    }
                    steps.push(Step::Linear {
                        w,
                        b,
                        act: Activation::Identity,
                    });
                }
                LayerSpec::Activation { activation } => {
                    steps.push(Step::Act(activation.to_kernel()))
                }
                LayerSpec::Dropout { rate } => steps.push(Step::Dropout(*rate)),
                LayerSpec::BatchNorm { eps, momentum } => {
                    let gamma = pb.add(format!("layers.{i}.weight"), [width], vec![1.0; width])?;
                    let beta = pb.add(format!("layers.{i}.bias"), [width], vec![0.0; width])?;
                    let rmean = bb.add(
                        format!("layers.{i}.running_mean"),
                        [width],
                        vec![0.0; width],
                    )?;
                    let rvar =
                        bb.add(format!("layers.{i}.running_var"), [width], vec![1.0; width])?;
                    steps.push(Step::BatchNorm {
                        gamma,
                        beta,
                        rmean,
                        rvar,
                        eps: *eps,
                        momentum: *momentum,
                    });
                }
            }
            i += 1;
        }
        Ok(Mlp {
            arch: MlpArch { spec, steps },
            params: pb.build(dtype, device)?,
            buffers: bb.build(dtype, device)?,
        })
    }

    pub fn num_params(&self) -> usize {
        self.params.len()
    }

    pub fn to_device(&self, device: Device) -> Result<Mlp> {
        Ok(Mlp {
            arch: self.arch.clone(),
            params: self.params.to_device(device)?,
            buffers: self.buffers.to_device(device)?,
        })
    }

    /// Inference (eval mode, no tape): `x: [rows, input_dim]` → `[rows, output_dim]` logits.
    pub fn predict(&self, x: &Tensor) -> Result<Tensor> {
        self.arch.forward_eval(x, &self.params, &self.buffers)
    }
}

impl MlpArch {
    /// Record a forward pass. In training mode dropout is active and batch norm uses batch
    /// statistics (and updates the running statistics in `buffers`); in eval mode neither.
    pub fn forward(&self, g: &mut Graph, x: Var, buffers: &mut ParamStore) -> Result<Var> {
        let s = g.shape(x);
        if s.rank() != 2 || s.dim(1) != self.spec.input_dim {
            return Err(Error::shape(
                "mlp",
                format!("input {s} does not match {} features", self.spec.input_dim),
            ));
        }
        let mut h = x;
        for step in &self.steps {
            h = match *step {
                Step::Linear { w, b, act } => {
                    let wv = g.param(w);
                    let bv = b.map(|b| g.param(b));
                    g.linear(h, wv, bv, act)?
                }
                Step::Act(a) => g.activation(h, a)?,
                Step::Dropout(p) => g.dropout(h, p)?,
                Step::BatchNorm {
                    gamma,
                    beta,
                    rmean,
                    rvar,
                    eps,
                    momentum,
                } => {
                    if g.training {
                        let (gv, bv) = (g.param(gamma), g.param(beta));
                        let (y, mean, var) = g.batch_norm(h, gv, bv, eps)?;
                        let n = g.shape(h).dim(0) as f64;
                        let m = momentum as f64;
                        backend::axpby(buffers.slice_mut(rmean), m, g.value(mean), 1.0 - m)?;
                        // Running variance uses the unbiased estimate, as PyTorch does.
                        backend::axpby(
                            buffers.slice_mut(rvar),
                            m * n / (n - 1.0),
                            g.value(var),
                            1.0 - m,
                        )?;
                        y
                    } else {
                        // Eval mode inside a graph: a constant affine map from running statistics.
                        let t =
                            self.bn_eval_tensor(g, h, gamma, beta, rmean, rvar, eps, buffers)?;
                        g.input(&t)?
                    }
                }
            };
        }
        Ok(h)
    }

    #[allow(clippy::too_many_arguments)]
    fn bn_eval_tensor(
        &self,
        g: &Graph,
        h: Var,
        gamma: ParamId,
        beta: ParamId,
        rmean: ParamId,
        rvar: ParamId,
        eps: f32,
        buffers: &ParamStore,
    ) -> Result<Tensor> {
        let s = g.shape(h);
        let mut out = Tensor::zeros(s, g.params().dtype(), g.device())?;
        backend::batchnorm_forward_eval(
            out.view_mut(),
            g.value(h),
            g.params().slice(gamma),
            g.params().slice(beta),
            buffers.slice(rmean),
            buffers.slice(rvar),
            s.dim(0),
            s.dim(1),
            eps,
        )?;
        Ok(out)
    }

    /// Eval-mode forward without a tape.
    pub fn forward_eval(
        &self,
        x: &Tensor,
        params: &ParamStore,
        buffers: &ParamStore,
    ) -> Result<Tensor> {
        let s = *x.shape();
        if s.rank() != 2 || s.dim(1) != self.spec.input_dim {
            return Err(Error::shape(
                "mlp",
                format!("input {s} does not match {} features", self.spec.input_dim),
            ));
        }
        let rows = s.dim(0);
        let mut h = x.clone();
        for step in &self.steps {
            match *step {
                Step::Linear { w, b, act } => {
                    let ws = params.spec(w).shape;
                    let (outf, inf) = (ws.dim(0), ws.dim(1));
                    let mut out =
                        Tensor::zeros(Shape::new(&[rows, outf]), params.dtype(), params.device())?;
                    backend::matmul(
                        out.view_mut(),
                        outf,
                        Mat::row_major(h.view(), rows, inf),
                        Mat::row_major(params.slice(w), outf, inf).t(),
                        false,
                        b.map(|b| params.slice(b)),
                        act,
                    )?;
                    h = out;
                }
                Step::Act(a) => {
                    let mut out = Tensor::zeros(*h.shape(), h.dtype(), h.device())?;
                    backend::activation_forward(a, out.view_mut(), h.view())?;
                    h = out;
                }
                Step::Dropout(_) => {}
                Step::BatchNorm {
                    gamma,
                    beta,
                    rmean,
                    rvar,
                    eps,
                    ..
                } => {
                    let hs = *h.shape();
                    let mut out = Tensor::zeros(hs, h.dtype(), h.device())?;
                    backend::batchnorm_forward_eval(
                        out.view_mut(),
                        h.view(),
                        params.slice(gamma),
                        params.slice(beta),
                        buffers.slice(rmean),
                        buffers.slice(rvar),
                        hs.dim(0),
                        hs.dim(1),
                        eps,
                    )?;
                    h = out;
                }
            }
        }
        Ok(h)
    }
}
