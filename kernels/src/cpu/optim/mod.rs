//! Optimizer updates over the flat parameter buffer: one pass updates the whole model.
//!
//! Shapes: `p` (parameters), `g` (gradients) and every state buffer have the same length n.
//! Semantics follow PyTorch's `torch.optim` exactly (documented per struct), so the golden test
//! against an independent numpy implementation (`engine/tests/golden/`) holds to 1e-5.
//!
//! SIMD tiers (`simd.rs`) for SGD and Adam/AdamW: the same operations in the same order as the
//! reference (no FMA contraction, correctly rounded `sqrt`/`/`), so every tier is bit-identical
//! to the reference. RMSprop uses the reference.
//!
//! Tested against `reference` in `kernels/tests/optim.rs`; benched in `benches/benches/fused.rs`.

pub mod reference;
mod simd;

use std::sync::OnceLock;

use super::check_isa;
use crate::isa::{self, Isa};

simd_tiers!(adam_t: fn(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], hp: AdamParams) => simd::adam);
simd_tiers!(sgd_t: fn(p: &mut [f32], g: &[f32], vel: &mut [f32], hp: SgdParams) => simd::sgd);

struct Table {
    adam: Option<adam_t::F>,
    sgd: Option<sgd_t::F>,
}

fn table_for(isa: Isa) -> Table {
    match isa {
        Isa::Reference => Table {
            adam: None,
            sgd: None,
        },
        t => {
            check_isa(t);
            Table {
                adam: Some(adam_t::pick(t)),
                sgd: Some(sgd_t::pick(t)),
            }
        }
    }
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| table_for(isa::active()))
}

fn adam_with(t: &Table, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], hp: AdamParams) {
    let n = p.len();
    assert!(
        g.len() >= n && m.len() >= n && v.len() >= n,
        "adam_step: buffers shorter than p"
    );
    match t.adam {
        // SAFETY: lengths checked; supported tier.
        Some(f) => unsafe { f(p, g, m, v, hp) },
        None => reference::adam_step(p, g, m, v, hp),
    }
}

fn sgd_with(t: &Table, p: &mut [f32], g: &[f32], vel: &mut [f32], hp: SgdParams) {
    let n = p.len();
    assert!(
        g.len() >= n && (hp.momentum == 0.0 || vel.len() >= n),
        "sgd_step: buffers shorter than p"
    );
    match t.sgd {
        // SAFETY: lengths checked (velocity is only touched with momentum); supported tier.
        Some(f) => unsafe { f(p, g, vel, hp) },
        None => reference::sgd_step(p, g, vel, hp),
    }
}

/// As [`sgd_step`] on an explicit tier.
pub fn sgd_step_isa(isa: Isa, p: &mut [f32], g: &[f32], velocity: &mut [f32], hp: SgdParams) {
    sgd_with(&table_for(isa), p, g, velocity, hp)
}

/// SGD: `g += wd·p; v = μ·v + g; g = nesterov ? g + μ·v : v; p −= lr·g` (`v = g` when μ = 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdParams {
    pub lr: f32,
    pub momentum: f32,
    pub nesterov: bool,
    pub weight_decay: f32,
}

/// Adam / AdamW. `decoupled == false`: L2 (`g += wd·p`, Adam); `true`: `p −= lr·wd·p` first
/// (AdamW). `step` is the 1-based step number used for bias correction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamParams {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub decoupled: bool,
    pub step: u64,
}

/// RMSprop: `g += wd·p; s = α·s + (1−α)·g²; u = g/(√s + ε); b = μ·b + u (if μ > 0); p −= lr·(b or u)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmspropParams {
    pub lr: f32,
    pub alpha: f32,
    pub eps: f32,
    pub momentum: f32,
    pub weight_decay: f32,
}

// p, g, velocity (n)
pub fn sgd_step(p: &mut [f32], g: &[f32], velocity: &mut [f32], hp: SgdParams) {
    sgd_with(table(), p, g, velocity, hp)
}

// p, g, m, v (n)
pub fn adam_step(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], hp: AdamParams) {
    adam_with(table(), p, g, m, v, hp)
}

// p, g, square_avg, momentum_buf (n)
pub fn rmsprop_step(p: &mut [f32], g: &[f32], sq: &mut [f32], buf: &mut [f32], hp: RmspropParams) {
    reference::rmsprop_step(p, g, sq, buf, hp)
}

/// Σ g² in f64 (for clipping by global norm).
pub fn sum_squares(g: &[f32]) -> f64 {
    reference::sum_squares(g)
}

/// As [`adam_step`] on an explicit tier.
pub fn adam_step_isa(
    isa: Isa,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    hp: AdamParams,
) {
    adam_with(&table_for(isa), p, g, m, v, hp)
}
