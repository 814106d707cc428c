//! Softmax, log-softmax and the fused softmax + cross-entropy, along the last axis.
//!
//! Shapes: `x`, `y`, `probs` are `rows × cols` row-major (one distribution per row); `targets`
//! holds one class index per row stored as a float (exact below 2²⁴), `loss` one value per row.
//! Fused cross-entropy computes `loss_i = logsumexp(x_i) − x_i[t_i]` and keeps the
//! probabilities, so backward is one pass: `dx_ij (+)= dloss_i · (p_ij − [j = t_i])`.
//! Preconditions: `0 ≤ t_i < cols` (the engine validates targets before calling).
//!
//! Tested against `reference` (and the composite log_softmax + gather) in
//! `kernels/tests/softmax.rs`; benched in `benches/benches/fused.rs`.

pub mod reference;

// y (rows×cols) = softmax(x) per row
pub fn softmax_forward(y: &mut [f32], x: &[f32], rows: usize, cols: usize) {
    reference::softmax_forward(y, x, rows, cols)
}

// dx (+)= y · (dy − Σ_j dy·y) per row
pub fn softmax_backward(
    dx: &mut [f32],
    y: &[f32],
    dy: &[f32],
    rows: usize,
    cols: usize,
    acc: bool,
) {
    reference::softmax_backward(dx, y, dy, rows, cols, acc)
}

// y (rows×cols) = x − logsumexp(x) per row
pub fn log_softmax_forward(y: &mut [f32], x: &[f32], rows: usize, cols: usize) {
    reference::log_softmax_forward(y, x, rows, cols)
}

// dx (+)= dy − exp(y) · Σ_j dy per row
pub fn log_softmax_backward(
    dx: &mut [f32],
    y: &[f32],
    dy: &[f32],
    rows: usize,
    cols: usize,
    acc: bool,
) {
    reference::log_softmax_backward(dx, y, dy, rows, cols, acc)
}

// loss (rows), probs (rows×cols) from logits (rows×cols) and targets (rows)
pub fn softmax_cross_entropy_forward(
    loss: &mut [f32],
    probs: &mut [f32],
    logits: &[f32],
    targets: &[f32],
    rows: usize,
    cols: usize,
) {
    reference::softmax_cross_entropy_forward(loss, probs, logits, targets, rows, cols)
}

// dlogits (rows×cols) (+)= dloss_i · (probs − onehot(targets))
pub fn softmax_cross_entropy_backward(
    dlogits: &mut [f32],
    probs: &[f32],
    targets: &[f32],
    dloss: &[f32],
    rows: usize,
    cols: usize,
    acc: bool,
) {
    reference::softmax_cross_entropy_backward(dlogits, probs, targets, dloss, rows, cols, acc)
}

pub fn softmax_cross_entropy_forward_isa(
    _isa: crate::isa::Isa,
    loss: &mut [f32],
    probs: &mut [f32],
    logits: &[f32],
    targets: &[f32],
    rows: usize,
    cols: usize,
) {
    reference::softmax_cross_entropy_forward(loss, probs, logits, targets, rows, cols)
}

#[allow(clippy::too_many_arguments)]
pub fn softmax_cross_entropy_backward_isa(
    _isa: crate::isa::Isa,
    dlogits: &mut [f32],
    probs: &[f32],
    targets: &[f32],
    dloss: &[f32],
    rows: usize,
    cols: usize,
    acc: bool,
) {
    reference::softmax_cross_entropy_backward(dlogits, probs, targets, dloss, rows, cols, acc)
}
