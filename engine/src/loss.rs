//! Losses, reduced to a scalar: MSE, MAE, Huber, softmax cross-entropy from logits, binary
//! cross-entropy from logits (binary and multi-label).
//!
//! Weighting: optional per-class weights `c: [classes]` (cross-entropy only) and per-sample
//! weights `s: [rows]`, combined into `w_i = c[y_i] · s_i`.
//! The weighted loss is the weighted mean `Σ_i w_i·ℓ_i / Σ_i w_i` (ℓ_i averaged over outputs),
//! which is what PyTorch's `CrossEntropyLoss(weight=…)` computes for class weights and what
//! keeps the loss scale independent of the weights' scale. Without weights: the plain mean.

use serde::{Deserialize, Serialize};

use neurite_kernels::cpu::loss::RegressionLoss;

use crate::autograd::{Graph, Var};
use crate::error::{Error, Result};
use crate::shape::Shape;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "name")]
pub enum Loss {
    Mse,
    Mae,
    Huber {
        #[serde(default = "one")]
        delta: f32,
    },
    /// Softmax cross-entropy from logits; targets are class indices `[rows]`.
    CrossEntropy,
    /// Sigmoid binary cross-entropy from logits; targets in [0, 1] with the logits' shape.
    BinaryCrossEntropy,
}

fn one() -> f32 {
    1.0
}

impl Loss {
    pub fn parse(name: &str) -> Option<Loss> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "mse" | "mean_squared_error" => Loss::Mse,
            "mae" | "mean_absolute_error" => Loss::Mae,
            "huber" => Loss::Huber { delta: 1.0 },
            "cross_entropy" | "categorical_crossentropy" | "sparse_categorical_crossentropy" => {
                Loss::CrossEntropy
            }
            "binary_cross_entropy" | "binary_crossentropy" | "bce" => Loss::BinaryCrossEntropy,
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Mae => "mae",
            Loss::Huber { .. } => "huber",
            Loss::CrossEntropy => "cross_entropy",
            Loss::BinaryCrossEntropy => "binary_cross_entropy",
        }
    }

    /// The scalar loss with per-class (`[classes]`, cross-entropy only) and/or per-sample
    /// (`[rows]`) weights.
    pub fn forward_weighted(
        &self,
        g: &mut Graph,
        pred: Var,
        target: Var,
        class_weights: Option<Var>,
        sample_weights: Option<Var>,
    ) -> Result<Var> {
        let Some(cw) = class_weights else {
            return self.forward(g, pred, target, sample_weights);
        };
        if *self != Loss::CrossEntropy {
            return Err(Error::invalid(format!(
                "class weights apply to cross-entropy, not {}",
                self.name()
            )));
        }
        let classes = g.shape(pred).as_matrix().1;
        if g.shape(cw).numel() != classes {
            return Err(Error::shape(
                "loss",
                format!(
                    "{} class weights for {classes} classes",
                    g.shape(cw).numel()
                ),
            ));
        }
        let per_row = g.lookup(cw, target)?;
        let w = match sample_weights {
            Some(s) => g.mul(per_row, s)?,
            None => per_row,
        };
        self.forward(g, pred, target, Some(w))
    }

    /// Record the scalar loss of `pred` against `target`, optionally weighted per sample.
    pub fn forward(
        &self,
        g: &mut Graph,
        pred: Var,
        target: Var,
        weights: Option<Var>,
    ) -> Result<Var> {
        let ps = g.shape(pred);
        let rows = if ps.rank() == 0 { 1 } else { ps.dim(0) };
        if let Some(w) = weights
            && g.shape(w).numel() != rows
        {
            return Err(Error::shape(
                "loss",
                format!("{} sample weights for {rows} rows", g.shape(w).numel()),
            ));
        }
        let per = match *self {
            Loss::Mse => g.regression_loss(pred, target, RegressionLoss::Mse)?,
            Loss::Mae => g.regression_loss(pred, target, RegressionLoss::Mae)?,
            Loss::Huber { delta } => {
                g.regression_loss(pred, target, RegressionLoss::Huber(delta))?
            }
            Loss::CrossEntropy => g.softmax_cross_entropy(pred, target)?,
            Loss::BinaryCrossEntropy => g.bce_with_logits(pred, target)?,
        };
        let Some(w) = weights else {
            return g.mean_all(per);
        };
        let per_shape = g.shape(per);
        let cols = per_shape.numel() / rows.max(1);
        let w_col = if per_shape.rank() == 2 {
            g.reshape(w, Shape::new(&[rows, 1]))?
        } else {
            g.reshape(w, Shape::new(&[rows]))?
        };
        let weighted = g.mul(per, w_col)?;
        let num = g.sum_all(weighted)?;
        let wsum = g.sum_all(w)?;
        let den = g.scale(wsum, cols as f64)?;
        g.div(num, den)
    }
}
