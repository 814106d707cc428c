//! Softmax, log-softmax and the fused softmax + cross-entropy, along the last axis.
//!
//! Shapes: `x`, `y`, `probs` are `rows × cols` row-major (one distribution per row); `targets`
//! holds one class index per row stored as a float (exact below 2²⁴), `loss` one value per row.
//! Fused cross-entropy computes `loss_i = logsumexp(x_i) − x_i[t_i]` and keeps the
//! probabilities, so backward is one pass: `dx_ij (+)= dloss_i · (p_ij − [j = t_i])`.
//! Preconditions: `0 ≤ t_i < cols` (the engine validates targets before calling).
//!
//! SIMD tiers (`simd.rs`): softmax forward and the fused cross-entropy forward/backward, one
//! row at a time with the vector `exp` (≤ 2 ulp); within `1e-6 + 1e-5·|ref|` of the reference.
//! `softmax_backward` and the log-softmax pair use the reference.
//!
//! Tested against `reference` (and the composite log_softmax + gather) in
//! `kernels/tests/softmax.rs`; benched in `benches/benches/fused.rs`.

pub mod reference;
mod simd;

use std::sync::OnceLock;

use super::check_isa;
use crate::isa::{self, Isa};

simd_tiers!(softmax_t: fn(y: &mut [f32], x: &[f32], rows: usize, cols: usize) => simd::softmax_forward);
simd_tiers!(xent_fwd_t: fn(loss: &mut [f32], probs: &mut [f32], logits: &[f32], targets: &[f32], rows: usize, cols: usize) => simd::xent_forward);
simd_tiers!(xent_bwd_t: fn(dlogits: &mut [f32], probs: &[f32], targets: &[f32], dloss: &[f32], rows: usize, cols: usize, acc: bool) => simd::xent_backward);

struct Table {
    softmax: Option<softmax_t::F>,
    xent_fwd: Option<xent_fwd_t::F>,
    xent_bwd: Option<xent_bwd_t::F>,
}

fn table_for(isa: Isa) -> Table {
    match isa {
        Isa::Reference => Table {
            softmax: None,
            xent_fwd: None,
            xent_bwd: None,
        },
        t => {
            check_isa(t);
            Table {
                softmax: Some(softmax_t::pick(t)),
                xent_fwd: Some(xent_fwd_t::pick(t)),
                xent_bwd: Some(xent_bwd_t::pick(t)),
            }
        }
    }
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| table_for(isa::active()))
}

fn check_targets(targets: &[f32], rows: usize, cols: usize) {
    assert!(
        targets.len() >= rows,
        "softmax_cross_entropy: too few targets"
    );
    // Out-of-range targets would index outside the row (the engine validates them first).
    assert!(
        targets[..rows]
            .iter()
            .all(|&t| t >= 0.0 && (t as usize) < cols),
        "softmax_cross_entropy: target out of range 0..{cols}"
    );
}

// y (rows×cols) = softmax(x) per row
pub fn softmax_forward(y: &mut [f32], x: &[f32], rows: usize, cols: usize) {
    softmax_forward_with(table(), y, x, rows, cols)
}

/// As [`softmax_forward`] on an explicit tier.
pub fn softmax_forward_isa(isa: Isa, y: &mut [f32], x: &[f32], rows: usize, cols: usize) {
    softmax_forward_with(&table_for(isa), y, x, rows, cols)
}

fn softmax_forward_with(t: &Table, y: &mut [f32], x: &[f32], rows: usize, cols: usize) {
    assert!(y.len() >= rows * cols && x.len() >= rows * cols);
    match t.softmax {
        // SAFETY: lengths checked; the table only holds supported tiers.
        Some(f) if cols > 0 => unsafe { f(y, x, rows, cols) },
        _ => reference::softmax_forward(y, x, rows, cols),
    }
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
    xent_forward_with(table(), loss, probs, logits, targets, rows, cols)
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
    xent_backward_with(table(), dlogits, probs, targets, dloss, rows, cols, acc)
}

/// As [`softmax_cross_entropy_forward`] on an explicit tier.
pub fn softmax_cross_entropy_forward_isa(
    isa: Isa,
    loss: &mut [f32],
    probs: &mut [f32],
    logits: &[f32],
    targets: &[f32],
    rows: usize,
    cols: usize,
) {
    xent_forward_with(&table_for(isa), loss, probs, logits, targets, rows, cols)
}

fn xent_forward_with(
    t: &Table,
    loss: &mut [f32],
    probs: &mut [f32],
    logits: &[f32],
    targets: &[f32],
    rows: usize,
    cols: usize,
) {
    let n = rows * cols;
    assert!(loss.len() >= rows && probs.len() >= n && logits.len() >= n);
    if rows == 0 {
        return;
    }
    check_targets(targets, rows, cols);
    match t.xent_fwd {
        // SAFETY: lengths and target range checked; supported tier.
        Some(f) => unsafe { f(loss, probs, logits, targets, rows, cols) },
        None => reference::softmax_cross_entropy_forward(loss, probs, logits, targets, rows, cols),
    }
}

/// As [`softmax_cross_entropy_backward`] on an explicit tier.
#[allow(clippy::too_many_arguments)]
pub fn softmax_cross_entropy_backward_isa(
    isa: Isa,
    dlogits: &mut [f32],
    probs: &[f32],
    targets: &[f32],
    dloss: &[f32],
    rows: usize,
    cols: usize,
    acc: bool,
) {
    xent_backward_with(
        &table_for(isa),
        dlogits,
        probs,
        targets,
        dloss,
        rows,
        cols,
        acc,
    )
}

#[allow(clippy::too_many_arguments)]
fn xent_backward_with(
    t: &Table,
    dlogits: &mut [f32],
    probs: &[f32],
    targets: &[f32],
    dloss: &[f32],
    rows: usize,
    cols: usize,
    acc: bool,
) {
    let n = rows * cols;
    assert!(dlogits.len() >= n && probs.len() >= n && dloss.len() >= rows);
    if rows == 0 {
        return;
    }
    check_targets(targets, rows, cols);
    match t.xent_bwd {
        // SAFETY: lengths and target range checked; supported tier.
        Some(f) => unsafe { f(dlogits, probs, targets, dloss, rows, cols, acc) },
        None => reference::softmax_cross_entropy_backward(
            dlogits, probs, targets, dloss, rows, cols, acc,
        ),
    }
}
