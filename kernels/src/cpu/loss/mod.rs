//! Elementwise losses before reduction: regression losses (MSE, MAE, Huber) and binary
//! cross-entropy from logits (binary and multi-label), forward and backward.
//!
//! Shapes: `pred`, `target`, `out` (per-element loss) and the gradients all have length n.
//! The engine reduces per-element losses to a (weighted) mean with the reduce kernels.
//! BCE from logits uses `max(x,0) − x·t + log(1 + e^{−|x|})`, stable for any `x`.
//!
//! Tested against `reference` in `kernels/tests/elementwise.rs`; benched in
//! `benches/benches/fused.rs`.

pub mod reference;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RegressionLoss {
    /// `(p − t)²`
    Mse,
    /// `|p − t|`
    Mae,
    /// `½(p − t)²` if `|p − t| ≤ δ`, else `δ(|p − t| − ½δ)` (PyTorch's `HuberLoss`).
    Huber(f32),
}

// out (n) = loss(pred (n), target (n))
pub fn regression_loss_forward(
    kind: RegressionLoss,
    out: &mut [f32],
    pred: &[f32],
    target: &[f32],
) {
    reference::regression_loss_forward(kind, out, pred, target)
}

// dpred (n) (+)= dy · ∂loss/∂pred
pub fn regression_loss_backward(
    kind: RegressionLoss,
    dpred: &mut [f32],
    pred: &[f32],
    target: &[f32],
    dy: &[f32],
    acc: bool,
) {
    reference::regression_loss_backward(kind, dpred, pred, target, dy, acc)
}

// out (n) = bce(sigmoid(x (n)), t (n))
pub fn bce_with_logits_forward(out: &mut [f32], x: &[f32], t: &[f32]) {
    reference::bce_with_logits_forward(out, x, t)
}

// dx (n) (+)= dy · (sigmoid(x) − t)
pub fn bce_with_logits_backward(dx: &mut [f32], x: &[f32], t: &[f32], dy: &[f32], acc: bool) {
    reference::bce_with_logits_backward(dx, x, t, dy, acc)
}
