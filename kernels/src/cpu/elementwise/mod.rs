//! Elementwise math: unary ops (`neg`, `exp`, `log`, `sqrt`, `scale`) and binary ops
//! (`add`, `sub`, `mul`, `div`) with broadcasting of the right operand, forward and backward.
//!
//! Shapes: `a` and `out` are `rows × cols` row-major; `b` is `rows × cols` ([`Broadcast::None`]),
//! `cols` ([`Broadcast::Row`]: one row repeated over rows), `rows` ([`Broadcast::Col`]: one
//! column repeated over columns) or 1 ([`Broadcast::Scalar`]). Backward reduces the gradient of
//! `b` over the broadcast dimension.
//!
//! Tested against `reference` in `kernels/tests/elementwise.rs`; benched in
//! `benches/benches/fused.rs`.

pub mod reference;

/// Unary elementwise operations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Sqrt,
    /// `y = c · x`
    Scale(f64),
    /// `y = x + c`
    AddScalar(f64),
    /// `y = |x|`
    Abs,
    /// `y = x²`
    Square,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// How the right operand `b` is laid out relative to the `rows × cols` left operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Broadcast {
    None,
    Row,
    Col,
    Scalar,
}

impl Broadcast {
    pub fn b_len(self, rows: usize, cols: usize) -> usize {
        match self {
            Broadcast::None => rows * cols,
            Broadcast::Row => cols,
            Broadcast::Col => rows,
            Broadcast::Scalar => 1,
        }
    }
}

// y (n) = op(x (n))
pub fn unary_forward(op: UnaryOp, y: &mut [f32], x: &[f32]) {
    reference::unary_forward(op, y, x)
}

// dx (n) (+)= dy · op'(x), y = op(x)
pub fn unary_backward(op: UnaryOp, dx: &mut [f32], x: &[f32], y: &[f32], dy: &[f32], acc: bool) {
    reference::unary_backward(op, dx, x, y, dy, acc)
}

// out (rows×cols) = a (rows×cols) ∘ b (broadcast)
pub fn binary_forward(
    op: BinaryOp,
    out: &mut [f32],
    a: &[f32],
    b: &[f32],
    rows: usize,
    cols: usize,
    bc: Broadcast,
) {
    reference::binary_forward(op, out, a, b, rows, cols, bc)
}

/// Gradients of `out = a ∘ b`: `da (+)= dy·∂out/∂a`, `db (+)= Σ_broadcast dy·∂out/∂b`.
#[allow(clippy::too_many_arguments)]
pub fn binary_backward(
    op: BinaryOp,
    da: Option<(&mut [f32], bool)>,
    db: Option<(&mut [f32], bool)>,
    a: &[f32],
    b: &[f32],
    dy: &[f32],
    rows: usize,
    cols: usize,
    bc: Broadcast,
) {
    reference::binary_backward(op, da, db, a, b, dy, rows, cols, bc)
}

/// `y += alpha · x`
pub fn axpy(y: &mut [f32], alpha: f32, x: &[f32]) {
    reference::axpy(y, alpha, x)
}

/// `y = alpha · x + beta · y`
pub fn axpby(y: &mut [f32], alpha: f32, x: &[f32], beta: f32) {
    reference::axpby(y, alpha, x, beta)
}

// out (cols×rows) = xᵀ, x (rows×cols)
pub fn transpose(out: &mut [f32], x: &[f32], rows: usize, cols: usize) {
    reference::transpose(out, x, rows, cols)
}

// out (len(idx)×cols) = src[idx[r], :] for each r; idx holds row numbers as floats (exact < 2^24)
pub fn gather_rows(out: &mut [f32], src: &[f32], idx: &[f32], cols: usize) {
    reference::gather_rows(out, src, idx, cols)
}

/// `y *= alpha`
pub fn scal(y: &mut [f32], alpha: f32) {
    reference::scal(y, alpha)
}
