//! Optimizer updates over the flat parameter buffer: one pass updates the whole model.
//!
//! Shapes: `p` (parameters), `g` (gradients) and every state buffer have the same length n.
//! Semantics follow PyTorch's `torch.optim` exactly (documented per struct), so the golden test
//! against an independent numpy implementation (`engine/tests/golden/`) holds to 1e-5.
//!
//! Tested against `reference` in `kernels/tests/optim.rs`; benched in `benches/benches/fused.rs`.

pub mod reference;

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
    reference::sgd_step(p, g, velocity, hp)
}

// p, g, m, v (n)
pub fn adam_step(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], hp: AdamParams) {
    reference::adam_step(p, g, m, v, hp)
}

// p, g, square_avg, momentum_buf (n)
pub fn rmsprop_step(p: &mut [f32], g: &[f32], sq: &mut [f32], buf: &mut [f32], hp: RmspropParams) {
    reference::rmsprop_step(p, g, sq, buf, hp)
}

/// Σ g² in f64 (for clipping by global norm).
pub fn sum_squares(g: &[f32]) -> f64 {
    reference::sum_squares(g)
}

pub fn adam_step_isa(
    _isa: crate::isa::Isa,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    hp: AdamParams,
) {
    reference::adam_step(p, g, m, v, hp)
}
