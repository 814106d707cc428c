//! Batch normalisation over the batch (rows) for each feature (column), PyTorch `BatchNorm1d`.
//!
//! Training: `mean_j`, `var_j` (biased) over the batch, `y = γ·(x − mean)/√(var + ε) + β`;
//! the kernel returns `mean` and `var` so the caller updates running statistics (with the
//! unbiased variance, as PyTorch does) and backward can recompute `x̂`. Inference uses the
//! running statistics. Backward: `dβ = Σ dy`, `dγ = Σ dy·x̂`,
//! `dx = γ/(N·σ) · (N·dy − dβ − x̂·dγ)`.
//! Shapes: `x`, `y`, `dx`, `dy` are `rows × cols`; `gamma`, `beta`, `mean`, `var`, `dgamma`,
//! `dbeta` have length `cols`.
//!
//! Tested by finite differences (engine `tests/gradcheck.rs`) and against `reference`.

pub mod reference;

// y (rows×cols), mean, var (cols) from x (rows×cols), gamma, beta (cols)
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_forward_train(
    y: &mut [f32],
    mean: &mut [f32],
    var: &mut [f32],
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    rows: usize,
    cols: usize,
    eps: f32,
) {
    reference::batchnorm_forward_train(y, mean, var, x, gamma, beta, rows, cols, eps)
}

// y (rows×cols) = gamma·(x − running_mean)/√(running_var + eps) + beta
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_forward_eval(
    y: &mut [f32],
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    running_mean: &[f32],
    running_var: &[f32],
    rows: usize,
    cols: usize,
    eps: f32,
) {
    reference::batchnorm_forward_eval(
        y,
        x,
        gamma,
        beta,
        running_mean,
        running_var,
        rows,
        cols,
        eps,
    )
}

/// Gradients of training-mode batch norm. `dx`, `dgamma`, `dbeta` each optional with their own
/// accumulate flag.
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_backward(
    dx: Option<(&mut [f32], bool)>,
    dgamma: Option<(&mut [f32], bool)>,
    dbeta: Option<(&mut [f32], bool)>,
    x: &[f32],
    mean: &[f32],
    var: &[f32],
    gamma: &[f32],
    dy: &[f32],
    rows: usize,
    cols: usize,
    eps: f32,
) {
    reference::batchnorm_backward(dx, dgamma, dbeta, x, mean, var, gamma, dy, rows, cols, eps)
}
