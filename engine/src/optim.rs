//! Optimizers over the flat parameter buffer (one fused update kernel per step) and gradient
//! clipping by global norm. Hyperparameters and semantics follow `torch.optim`.

use serde::{Deserialize, Serialize};

use neurite_kernels::cpu::optim::{AdamParams, RmspropParams, SgdParams};

use crate::backend;
use crate::error::{Error, Result};
use crate::params::ParamStore;
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerSpec {
    Sgd {
        #[serde(default = "lr_sgd")]
        lr: f32,
        #[serde(default)]
        momentum: f32,
        #[serde(default)]
        nesterov: bool,
        #[serde(default)]
        weight_decay: f32,
    },
    Adam {
        #[serde(default = "lr_adam")]
        lr: f32,
        #[serde(default = "b1")]
        beta1: f32,
        #[serde(default = "b2")]
        beta2: f32,
        #[serde(default = "adam_eps")]
        eps: f32,
        #[serde(default)]
        weight_decay: f32,
    },
    #[serde(rename = "adamw")]
    AdamW {
        #[serde(default = "lr_adam")]
        lr: f32,
        #[serde(default = "b1")]
        beta1: f32,
        #[serde(default = "b2")]
        beta2: f32,
        #[serde(default = "adam_eps")]
        eps: f32,
        #[serde(default = "adamw_wd")]
        weight_decay: f32,
    },
    #[serde(rename = "rmsprop")]
    RmsProp {
        #[serde(default = "lr_sgd")]
        lr: f32,
        #[serde(default = "rms_alpha")]
        alpha: f32,
        #[serde(default = "rms_eps")]
        eps: f32,
        #[serde(default)]
        momentum: f32,
        #[serde(default)]
        weight_decay: f32,
    },
}

fn lr_sgd() -> f32 {
    0.01
}
fn lr_adam() -> f32 {
    0.001
}
fn b1() -> f32 {
    0.9
}
fn b2() -> f32 {
    0.999
}
fn adam_eps() -> f32 {
    1e-8
}
fn adamw_wd() -> f32 {
    0.01
}
fn rms_alpha() -> f32 {
    0.99
}
fn rms_eps() -> f32 {
    1e-8
}

impl OptimizerSpec {
    pub fn adam(lr: f32) -> Self {
        OptimizerSpec::Adam {
            lr,
            beta1: b1(),
            beta2: b2(),
            eps: adam_eps(),
            weight_decay: 0.0,
        }
    }

    pub fn lr(&self) -> f32 {
        match *self {
            OptimizerSpec::Sgd { lr, .. }
            | OptimizerSpec::Adam { lr, .. }
            | OptimizerSpec::AdamW { lr, .. }
            | OptimizerSpec::RmsProp { lr, .. } => lr,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            OptimizerSpec::Sgd { .. } => "sgd",
            OptimizerSpec::Adam { .. } => "adam",
            OptimizerSpec::AdamW { .. } => "adamw",
            OptimizerSpec::RmsProp { .. } => "rmsprop",
        }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(m));
        let lr = self.lr();
        if !(lr.is_finite() && lr > 0.0) {
            return bad(format!("learning rate must be > 0, got {lr}"));
        }
        match *self {
            OptimizerSpec::Adam {
                beta1, beta2, eps, ..
            }
            | OptimizerSpec::AdamW {
                beta1, beta2, eps, ..
            } => {
                if !(0.0..1.0).contains(&beta1) || !(0.0..1.0).contains(&beta2) {
                    return bad(format!("betas must be in [0, 1), got ({beta1}, {beta2})"));
                }
                if eps <= 0.0 {
                    return bad(format!("eps must be > 0, got {eps}"));
                }
            }
            OptimizerSpec::Sgd {
                momentum, nesterov, ..
            } => {
                if momentum < 0.0 {
                    return bad(format!("momentum must be ≥ 0, got {momentum}"));
                }
                if nesterov && momentum == 0.0 {
                    return bad("nesterov momentum requires momentum > 0".into());
                }
            }
            OptimizerSpec::RmsProp { alpha, eps, .. } => {
                if !(0.0..1.0).contains(&alpha) || eps <= 0.0 {
                    return bad("rmsprop needs alpha in [0, 1) and eps > 0".into());
                }
            }
        }
        Ok(())
    }
}

/// An optimizer bound to a parameter layout: its state buffers have the parameters' layout.
#[derive(Clone, Debug)]
pub struct Optimizer {
    pub spec: OptimizerSpec,
    /// Current learning rate (schedules change it; starts at `spec.lr()`).
    pub lr: f32,
    /// Updates done so far.
    pub step: u64,
    state: Vec<Tensor>,
}

impl Optimizer {
    pub fn new(spec: OptimizerSpec, params: &ParamStore) -> Result<Optimizer> {
        spec.validate()?;
        let n_state = match spec {
            OptimizerSpec::Sgd { .. } => 1,
            _ => 2,
        };
        let state = (0..n_state)
            .map(|_| params.zeros_like())
            .collect::<Result<Vec<_>>>()?;
        Ok(Optimizer {
            spec,
            lr: spec.lr(),
            step: 0,
            state,
        })
    }

    /// The state buffers (moments / velocity), in a fixed order, for checkpoints.
    pub fn state(&self) -> &[Tensor] {
        &self.state
    }

    pub fn state_mut(&mut self) -> &mut [Tensor] {
        &mut self.state
    }

    /// One update of every parameter from `grads` (flat, the parameters' layout).
    pub fn step(&mut self, params: &mut ParamStore, grads: &Tensor) -> Result<()> {
        if grads.numel() != params.len() || self.state.iter().any(|s| s.numel() != params.len()) {
            return Err(Error::shape(
                "optimizer",
                "gradient or state size differs from the parameters".to_string(),
            ));
        }
        self.step += 1;
        let p = params.flat_mut().view_mut();
        let g = grads.view();
        match self.spec {
            OptimizerSpec::Sgd {
                momentum,
                nesterov,
                weight_decay,
                ..
            } => {
                let hp = SgdParams {
                    lr: self.lr,
                    momentum,
                    nesterov,
                    weight_decay,
                };
                backend::sgd_step(p, g, self.state[0].view_mut(), hp)
            }
            OptimizerSpec::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            }
            | OptimizerSpec::AdamW {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => {
                let decoupled = matches!(self.spec, OptimizerSpec::AdamW { .. });
                let hp = AdamParams {
                    lr: self.lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                    decoupled,
                    step: self.step,
                };
                let (m, v) = self.state.split_at_mut(1);
                backend::adam_step(p, g, m[0].view_mut(), v[0].view_mut(), hp)
            }
            OptimizerSpec::RmsProp {
                alpha,
                eps,
                momentum,
                weight_decay,
                ..
            } => {
                let hp = RmspropParams {
                    lr: self.lr,
                    alpha,
                    eps,
                    momentum,
                    weight_decay,
                };
                let (s, b) = self.state.split_at_mut(1);
                backend::rmsprop_step(p, g, s[0].view_mut(), b[0].view_mut(), hp)
            }
        }
    }
}

/// Scale `grads` so their global L2 norm is at most `max_norm`; returns the norm before
/// clipping (PyTorch's `clip_grad_norm_`).
pub fn clip_grad_norm(grads: &mut Tensor, max_norm: f64) -> Result<f64> {
    let norm = backend::sum_squares(grads.view())?.sqrt();
    if norm.is_finite() && norm > max_norm {
        let scale = max_norm / (norm + 1e-6);
        backend::scal(grads.view_mut(), scale)?;
    }
    Ok(norm)
}
