//! Typed launchers: the CUDA twins of the `cpu::*` kernels, over raw device pointers and
//! explicit sizes, with the same semantics (see each family's `reference.rs`), including the
//! accumulate flags (`acc`: `out += g`, else `out = g`).
//!
//! # Safety (every launcher)
//! Each pointer must be a live allocation on `gpu`'s device holding at least as many `f32`
//! as the launcher's shape comment says; outputs must not overlap inputs unless the comment
//! says so. Launches are asynchronous on the device's stream: errors inside a kernel surface
//! at the next synchronisation. The engine (`engine/src/backend/cuda`) checks every length
//! before calling, so misuse is a bug there, not a user error.

use std::sync::OnceLock;

use cudarc::driver::{DeviceRepr, LaunchConfig, PushKernelArg, result, sys};

use super::device::Gpu;
use super::{Error, Module, Result};
use crate::cpu::activation::Activation;
use crate::cpu::elementwise::{BinaryOp, Broadcast, UnaryOp};
use crate::cpu::loss::RegressionLoss;
use crate::cpu::optim::{AdamParams, RmspropParams, SgdParams};

/// A raw device address (`CUdeviceptr`) of `f32` data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct DevPtr(pub u64);

// SAFETY: a plain 64-bit address, passed by value like a C pointer.
unsafe impl DeviceRepr for DevPtr {}

impl DevPtr {
    pub const NULL: DevPtr = DevPtr(0);

    /// `self + elems` f32 elements.
    pub fn offset(self, elems: usize) -> DevPtr {
        DevPtr(self.0 + (elems * 4) as u64)
    }

    pub fn is_aligned16(self) -> bool {
        self.0.is_multiple_of(16)
    }
}

macro_rules! launch {
    ($gpu:expr, $m:expr, $name:literal, $cfg:expr, $($arg:expr),+ $(,)?) => {{
        let f = $gpu.function($m, $name)?;
        let stream = $gpu.stream();
        let mut b = stream.launch_builder(&f);
        $(
            let a = $arg;
            b.arg(&a);
        )+
        // SAFETY: the argument list matches the kernel's signature (types and order, checked
        // against the .cu source by review and by the GPU tests); pointer validity is the
        // caller's contract (module docs).
        unsafe { b.launch($cfg) }.map_err(Error::from)?;
    }};
}

const BLOCK: u32 = 256;

/// A 1-D grid-stride launch over `n` elements.
fn grid(gpu: &Gpu, n: usize) -> LaunchConfig {
    let want = n.div_ceil(BLOCK as usize).max(1);
    let cap = (gpu.info().sm_count.max(1) as usize) * 32;
    LaunchConfig {
        grid_dim: (want.min(cap) as u32, 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// One warp per row, `warps` warps per block.
fn warp_rows(rows: usize, warps: u32) -> Result<LaunchConfig> {
    let blocks = rows.div_ceil(warps as usize);
    if blocks > i32::MAX as usize {
        return Err(Error::Invalid(format!("{rows} rows is too many")));
    }
    Ok(LaunchConfig {
        grid_dim: (blocks.max(1) as u32, 1, 1),
        block_dim: (32 * warps, 1, 1),
        shared_mem_bytes: 0,
    })
}

fn i(n: usize) -> i64 {
    n as i64
}

fn flag(b: bool) -> i32 {
    b as i32
}

/// Kernel code and parameter of an activation (`common.cuh` ACT_*).
pub fn act_code(a: Activation) -> (i32, f32) {
    match a {
        Activation::Identity => (0, 0.0),
        Activation::Relu => (1, 0.0),
        Activation::LeakyRelu(al) => (2, al),
        Activation::Elu(al) => (3, al),
        Activation::Gelu => (4, 0.0),
        Activation::Sigmoid => (5, 0.0),
        Activation::Tanh => (6, 0.0),
    }
}

fn unary_code(op: UnaryOp) -> (i32, f32) {
    match op {
        UnaryOp::Neg => (0, 0.0),
        UnaryOp::Exp => (1, 0.0),
        UnaryOp::Log => (2, 0.0),
        UnaryOp::Sqrt => (3, 0.0),
        UnaryOp::Scale(c) => (4, c as f32),
        UnaryOp::AddScalar(c) => (5, c as f32),
        UnaryOp::Abs => (6, 0.0),
        UnaryOp::Square => (7, 0.0),
    }
}

fn binary_code(op: BinaryOp) -> i32 {
    match op {
        BinaryOp::Add => 0,
        BinaryOp::Sub => 1,
        BinaryOp::Mul => 2,
        BinaryOp::Div => 3,
    }
}

fn bc_code(bc: Broadcast) -> i32 {
    match bc {
        Broadcast::None => 0,
        Broadcast::Row => 1,
        Broadcast::Col => 2,
        Broadcast::Scalar => 3,
    }
}

// ---- copies and fills ------------------------------------------------------------------------

/// dst (n) = src (n), device to device.
///
/// # Safety
/// See the module docs.
pub unsafe fn copy(gpu: &Gpu, dst: DevPtr, src: DevPtr, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    gpu.context().bind_to_thread()?;
    // SAFETY: caller contract; both ranges hold n f32.
    unsafe { result::memcpy_dtod_async(dst.0, src.0, n * 4, gpu.stream().cu_stream()) }?;
    Ok(())
}

/// y (n) = v (bit pattern copied: `cuMemsetD32Async`).
///
/// # Safety
/// See the module docs.
pub unsafe fn fill(gpu: &Gpu, y: DevPtr, n: usize, v: f32) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    gpu.context().bind_to_thread()?;
    // SAFETY: caller contract; y holds n f32.
    unsafe { sys::cuMemsetD32Async(y.0, v.to_bits(), n, gpu.stream().cu_stream()) }.result()?;
    Ok(())
}

// ---- elementwise -------------------------------------------------------------------------------

/// y (n) = f(x (n)); y may alias x.
///
/// # Safety
/// See the module docs.
pub unsafe fn activation_forward(
    gpu: &Gpu,
    act: Activation,
    y: DevPtr,
    x: DevPtr,
    n: usize,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let (code, alpha) = act_code(act);
    launch!(
        gpu,
        Module::Elementwise,
        "activation_forward_f32",
        grid(gpu, n),
        y,
        x,
        i(n),
        code,
        alpha
    );
    Ok(())
}

/// dx (n) (+)= dy · f'(x), y = f(x); `x` is read only for GELU (may be NULL otherwise).
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn activation_backward(
    gpu: &Gpu,
    act: Activation,
    dx: DevPtr,
    x: DevPtr,
    y: DevPtr,
    dy: DevPtr,
    n: usize,
    acc: bool,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let (code, alpha) = act_code(act);
    launch!(
        gpu,
        Module::Elementwise,
        "activation_backward_f32",
        grid(gpu, n),
        dx,
        x,
        y,
        dy,
        i(n),
        code,
        alpha,
        flag(acc)
    );
    Ok(())
}

/// y (n) = op(x (n)); y may alias x.
///
/// # Safety
/// See the module docs.
pub unsafe fn unary_forward(gpu: &Gpu, op: UnaryOp, y: DevPtr, x: DevPtr, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let (code, c) = unary_code(op);
    launch!(
        gpu,
        Module::Elementwise,
        "unary_forward_f32",
        grid(gpu, n),
        y,
        x,
        i(n),
        code,
        c
    );
    Ok(())
}

/// dx (n) (+)= dy · op'(x), y = op(x).
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn unary_backward(
    gpu: &Gpu,
    op: UnaryOp,
    dx: DevPtr,
    x: DevPtr,
    y: DevPtr,
    dy: DevPtr,
    n: usize,
    acc: bool,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let (code, c) = unary_code(op);
    launch!(
        gpu,
        Module::Elementwise,
        "unary_backward_f32",
        grid(gpu, n),
        dx,
        x,
        y,
        dy,
        i(n),
        code,
        c,
        flag(acc)
    );
    Ok(())
}

/// out (rows×cols) = a (rows×cols) ∘ b (`bc.b_len(rows, cols)`).
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn binary_forward(
    gpu: &Gpu,
    op: BinaryOp,
    out: DevPtr,
    a: DevPtr,
    b: DevPtr,
    rows: usize,
    cols: usize,
    bc: Broadcast,
) -> Result<()> {
    let n = rows * cols;
    if n == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Elementwise,
        "binary_forward_f32",
        grid(gpu, n),
        out,
        a,
        b,
        i(rows),
        i(cols),
        binary_code(op),
        bc_code(bc)
    );
    Ok(())
}

/// Gradients of `out = a ∘ b`: `da (+)= dy·∂out/∂a` (rows×cols) and
/// `db (+)= Σ_broadcast dy·∂out/∂b` (`bc.b_len`), each optional with its accumulate flag.
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn binary_backward(
    gpu: &Gpu,
    op: BinaryOp,
    da: Option<(DevPtr, bool)>,
    db: Option<(DevPtr, bool)>,
    a: DevPtr,
    b: DevPtr,
    dy: DevPtr,
    rows: usize,
    cols: usize,
    bc: Broadcast,
) -> Result<()> {
    let n = rows * cols;
    let code = binary_code(op);
    if let Some((da, acc)) = da
        && n > 0
    {
        launch!(
            gpu,
            Module::Elementwise,
            "binary_backward_a_f32",
            grid(gpu, n),
            da,
            b,
            dy,
            i(rows),
            i(cols),
            code,
            bc_code(bc),
            flag(acc)
        );
    }
    if let Some((db, acc)) = db {
        let blen = bc.b_len(rows, cols);
        if n == 0 {
            // Nothing to sum: db = 0 (or unchanged when accumulating), as the reference does.
            if !acc {
                // SAFETY: caller contract; db holds blen f32.
                unsafe { fill(gpu, db, blen, 0.0) }?;
            }
            return Ok(());
        }
        match bc {
            Broadcast::None => launch!(
                gpu,
                Module::Elementwise,
                "binary_backward_b_elem_f32",
                grid(gpu, n),
                db,
                a,
                b,
                dy,
                i(n),
                code,
                flag(acc)
            ),
            Broadcast::Row => launch!(
                gpu,
                Module::Elementwise,
                "binary_backward_b_row_f32",
                LaunchConfig {
                    grid_dim: (cols.div_ceil(32) as u32, 1, 1),
                    block_dim: (32, 8, 1),
                    shared_mem_bytes: 0,
                },
                db,
                a,
                b,
                dy,
                i(rows),
                i(cols),
                code,
                flag(acc)
            ),
            Broadcast::Col => launch!(
                gpu,
                Module::Elementwise,
                "binary_backward_b_col_f32",
                warp_rows(rows, 8)?,
                db,
                a,
                b,
                dy,
                i(rows),
                i(cols),
                code,
                flag(acc)
            ),
            Broadcast::Scalar => launch!(
                gpu,
                Module::Elementwise,
                "binary_backward_b_all_f32",
                LaunchConfig {
                    grid_dim: (1, 1, 1),
                    block_dim: (1024, 1, 1),
                    shared_mem_bytes: 0,
                },
                db,
                a,
                b,
                dy,
                i(n),
                code,
                flag(acc)
            ),
        }
    }
    Ok(())
}

/// out (cols×rows) = xᵀ, x (rows×cols).
///
/// # Safety
/// See the module docs.
pub unsafe fn transpose(gpu: &Gpu, out: DevPtr, x: DevPtr, rows: usize, cols: usize) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    if rows.div_ceil(32) > 65535 {
        return Err(Error::Invalid(format!(
            "transpose of {rows} rows exceeds the grid limit ({})",
            65535 * 32
        )));
    }
    launch!(
        gpu,
        Module::Elementwise,
        "transpose_forward_f32",
        LaunchConfig {
            grid_dim: (cols.div_ceil(32) as u32, rows.div_ceil(32) as u32, 1),
            block_dim: (32, 8, 1),
            shared_mem_bytes: 0,
        },
        out,
        x,
        i(rows),
        i(cols)
    );
    Ok(())
}

/// out (nidx×cols) = src[idx[r], :], idx (nidx) holds row numbers as floats; src has
/// `src_rows` rows. Out-of-range indices give NaN rows.
///
/// # Safety
/// See the module docs.
pub unsafe fn gather_rows(
    gpu: &Gpu,
    out: DevPtr,
    src: DevPtr,
    idx: DevPtr,
    nidx: usize,
    cols: usize,
    src_rows: usize,
) -> Result<()> {
    let n = nidx * cols;
    if n == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Elementwise,
        "gather_rows_forward_f32",
        grid(gpu, n),
        out,
        src,
        idx,
        i(nidx),
        i(cols),
        i(src_rows)
    );
    Ok(())
}

/// y (n) = alpha·x + beta·y
///
/// # Safety
/// See the module docs.
pub unsafe fn axpby(
    gpu: &Gpu,
    y: DevPtr,
    alpha: f32,
    x: DevPtr,
    beta: f32,
    n: usize,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Elementwise,
        "axpby_forward_f32",
        grid(gpu, n),
        y,
        x,
        i(n),
        alpha,
        beta
    );
    Ok(())
}

/// y (n) *= alpha
///
/// # Safety
/// See the module docs.
pub unsafe fn scal(gpu: &Gpu, y: DevPtr, alpha: f32, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Elementwise,
        "scal_forward_f32",
        grid(gpu, n),
        y,
        i(n),
        alpha
    );
    Ok(())
}

// ---- reductions ----------------------------------------------------------------------------------

/// out (outer×inner) (+)= scale · Σ_k x (outer×n×inner).
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sum_forward(
    gpu: &Gpu,
    out: DevPtr,
    x: DevPtr,
    outer: usize,
    n: usize,
    inner: usize,
    scale: f32,
    acc: bool,
) -> Result<()> {
    if outer == 0 || inner == 0 {
        return Ok(());
    }
    if n == 0 {
        if !acc {
            // SAFETY: caller contract.
            unsafe { fill(gpu, out, outer * inner, 0.0) }?;
        }
        return Ok(());
    }
    let sms = gpu.info().sm_count.max(1) as usize;
    if inner == 1 {
        // SAFETY: caller contract.
        return unsafe { sum_rows(gpu, out, x, outer, n, scale, acc, sms) };
    }
    // Columns: grid.y = outer, in chunks of 65535.
    let mut o0 = 0;
    while o0 < outer {
        let oc = (outer - o0).min(65535);
        launch!(
            gpu,
            Module::Reduce,
            "sum_cols_f32",
            LaunchConfig {
                grid_dim: (inner.div_ceil(32) as u32, oc as u32, 1),
                block_dim: (32, 8, 1),
                shared_mem_bytes: 0,
            },
            out.offset(o0 * inner),
            x.offset(o0 * n * inner),
            i(n),
            i(inner),
            scale,
            flag(acc)
        );
        o0 += oc;
    }
    Ok(())
}

/// Contiguous rows: out (outer) (+)= scale · Σ x (outer×n).
#[allow(clippy::too_many_arguments)]
unsafe fn sum_rows(
    gpu: &Gpu,
    out: DevPtr,
    x: DevPtr,
    outer: usize,
    n: usize,
    scale: f32,
    acc: bool,
    sms: usize,
) -> Result<()> {
    if n <= 1024 || outer >= 4 * sms {
        launch!(
            gpu,
            Module::Reduce,
            "sum_rows_warp_f32",
            warp_rows(outer, 8)?,
            out,
            x,
            i(outer),
            i(n),
            scale,
            flag(acc)
        );
        return Ok(());
    }
    if n <= 1 << 16 || outer >= sms || outer > 65535 {
        launch!(
            gpu,
            Module::Reduce,
            "sum_rows_block_f32",
            LaunchConfig {
                grid_dim: (outer as u32, 1, 1),
                block_dim: (BLOCK, 1, 1),
                shared_mem_bytes: 0,
            },
            out,
            x,
            i(outer),
            i(n),
            scale,
            flag(acc)
        );
        return Ok(());
    }
    // Few very long rows: per-chunk partial sums, then a second pass over the partials.
    let parts = n.div_ceil(BLOCK as usize * 16).clamp(1, 1024);
    let chunk = n.div_ceil(parts);
    let part = gpu.alloc_zeros(outer * parts)?;
    let pp = DevPtr(raw_ptr(gpu, &part));
    launch!(
        gpu,
        Module::Reduce,
        "sum_partial_f32",
        LaunchConfig {
            grid_dim: (parts as u32, outer as u32, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        },
        pp,
        x,
        i(n),
        i(chunk)
    );
    // SAFETY: `part` holds outer×parts f32 and lives until this returns (its free is queued
    // on the same stream after the second pass).
    unsafe { sum_rows(gpu, out, pp, outer, parts, scale, acc, sms) }
}

fn raw_ptr<T>(gpu: &Gpu, s: &cudarc::driver::CudaSlice<T>) -> u64 {
    use cudarc::driver::DevicePtr;
    let (p, _sync) = s.device_ptr(gpu.stream());
    p
}

/// dx (outer×n×inner) (+)= scale · dy (outer×inner) broadcast over n.
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sum_backward(
    gpu: &Gpu,
    dx: DevPtr,
    dy: DevPtr,
    outer: usize,
    n: usize,
    inner: usize,
    scale: f32,
    acc: bool,
) -> Result<()> {
    let total = outer * n * inner;
    if total == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Reduce,
        "sum_backward_f32",
        grid(gpu, total),
        dx,
        dy,
        i(outer),
        i(n),
        i(inner),
        scale,
        flag(acc)
    );
    Ok(())
}

/// out, argmax (outer×inner) = max_k x (outer×n×inner), n ≥ 1; the first NaN wins, else the
/// first maximum; argmax as floats.
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn max_forward(
    gpu: &Gpu,
    out: DevPtr,
    argmax: DevPtr,
    x: DevPtr,
    outer: usize,
    n: usize,
    inner: usize,
) -> Result<()> {
    if outer * inner == 0 {
        return Ok(());
    }
    if n == 0 {
        return Err(Error::Invalid("max over an empty axis".into()));
    }
    if inner == 1 && n >= 64 {
        launch!(
            gpu,
            Module::Reduce,
            "max_rows_warp_f32",
            warp_rows(outer, 8)?,
            out,
            argmax,
            x,
            i(outer),
            i(n)
        );
    } else {
        launch!(
            gpu,
            Module::Reduce,
            "max_forward_f32",
            grid(gpu, outer * inner),
            out,
            argmax,
            x,
            i(outer),
            i(n),
            i(inner)
        );
    }
    Ok(())
}

/// dx (outer×n×inner) (+)= dy (outer×inner) routed to the argmax positions.
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn max_backward(
    gpu: &Gpu,
    dx: DevPtr,
    argmax: DevPtr,
    dy: DevPtr,
    outer: usize,
    n: usize,
    inner: usize,
    acc: bool,
) -> Result<()> {
    if !acc {
        // SAFETY: caller contract.
        unsafe { fill(gpu, dx, outer * n * inner, 0.0) }?;
    }
    if outer * inner == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Reduce,
        "max_backward_f32",
        grid(gpu, outer * inner),
        dx,
        argmax,
        dy,
        i(outer),
        i(n),
        i(inner)
    );
    Ok(())
}

/// Σ x² over n elements, accumulated in f64 on the device; one f64 comes back.
///
/// # Safety
/// See the module docs.
pub unsafe fn sum_squares(gpu: &Gpu, x: DevPtr, n: usize) -> Result<f64> {
    if n == 0 {
        return Ok(0.0);
    }
    let cfg = grid(gpu, n);
    let parts = cfg.grid_dim.0 as usize;
    let part = gpu.stream().alloc_zeros::<f64>(parts + 1)?;
    let pp = raw_ptr(gpu, &part);
    launch!(
        gpu,
        Module::Reduce,
        "sum_squares_partial_f32",
        cfg,
        pp,
        x,
        i(n)
    );
    let out = pp + (parts * 8) as u64;
    launch!(
        gpu,
        Module::Reduce,
        "sum_squares_finish_f64",
        LaunchConfig {
            grid_dim: (1, 1, 1),
            block_dim: (1024, 1, 1),
            shared_mem_bytes: 0,
        },
        out,
        pp,
        i(parts)
    );
    let host = gpu.stream().clone_dtoh(&part)?;
    gpu.synchronize()?;
    Ok(host[parts])
}

// ---- softmax family --------------------------------------------------------------------------------

const SOFTMAX_WARPS: u32 = 4;

/// y (rows×cols) = softmax(x) per row.
///
/// # Safety
/// See the module docs.
pub unsafe fn softmax_forward(
    gpu: &Gpu,
    y: DevPtr,
    x: DevPtr,
    rows: usize,
    cols: usize,
) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Softmax,
        "softmax_forward_f32",
        warp_rows(rows, SOFTMAX_WARPS)?,
        y,
        x,
        i(rows),
        i(cols)
    );
    Ok(())
}

/// dx (+)= y · (dy − Σ_j dy·y) per row.
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn softmax_backward(
    gpu: &Gpu,
    dx: DevPtr,
    y: DevPtr,
    dy: DevPtr,
    rows: usize,
    cols: usize,
    acc: bool,
) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Softmax,
        "softmax_backward_f32",
        warp_rows(rows, SOFTMAX_WARPS)?,
        dx,
        y,
        dy,
        i(rows),
        i(cols),
        flag(acc)
    );
    Ok(())
}

/// y (rows×cols) = x − logsumexp(x) per row.
///
/// # Safety
/// See the module docs.
pub unsafe fn log_softmax_forward(
    gpu: &Gpu,
    y: DevPtr,
    x: DevPtr,
    rows: usize,
    cols: usize,
) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Softmax,
        "log_softmax_forward_f32",
        warp_rows(rows, SOFTMAX_WARPS)?,
        y,
        x,
        i(rows),
        i(cols)
    );
    Ok(())
}

/// dx (+)= dy − exp(y) · Σ_j dy per row.
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn log_softmax_backward(
    gpu: &Gpu,
    dx: DevPtr,
    y: DevPtr,
    dy: DevPtr,
    rows: usize,
    cols: usize,
    acc: bool,
) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Softmax,
        "log_softmax_backward_f32",
        warp_rows(rows, SOFTMAX_WARPS)?,
        dx,
        y,
        dy,
        i(rows),
        i(cols),
        flag(acc)
    );
    Ok(())
}

/// loss (rows), probs (rows×cols) from logits (rows×cols) and targets (rows).
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn softmax_cross_entropy_forward(
    gpu: &Gpu,
    loss: DevPtr,
    probs: DevPtr,
    logits: DevPtr,
    targets: DevPtr,
    rows: usize,
    cols: usize,
) -> Result<()> {
    if rows == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Softmax,
        "softmax_xent_forward_f32",
        warp_rows(rows, SOFTMAX_WARPS)?,
        loss,
        probs,
        logits,
        targets,
        i(rows),
        i(cols)
    );
    Ok(())
}

/// dlogits (rows×cols) (+)= dloss_i · (probs − onehot(targets)).
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn softmax_cross_entropy_backward(
    gpu: &Gpu,
    dlogits: DevPtr,
    probs: DevPtr,
    targets: DevPtr,
    dloss: DevPtr,
    rows: usize,
    cols: usize,
    acc: bool,
) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Softmax,
        "softmax_xent_backward_f32",
        warp_rows(rows, SOFTMAX_WARPS)?,
        dlogits,
        probs,
        targets,
        dloss,
        i(rows),
        i(cols),
        flag(acc)
    );
    Ok(())
}

// ---- losses --------------------------------------------------------------------------------------------

fn regression_code(k: RegressionLoss) -> (i32, f32) {
    match k {
        RegressionLoss::Mse => (0, 0.0),
        RegressionLoss::Mae => (1, 0.0),
        RegressionLoss::Huber(d) => (2, d),
    }
}

/// out (n) = loss(pred (n), target (n)).
///
/// # Safety
/// See the module docs.
pub unsafe fn regression_loss_forward(
    gpu: &Gpu,
    kind: RegressionLoss,
    out: DevPtr,
    pred: DevPtr,
    target: DevPtr,
    n: usize,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let (code, delta) = regression_code(kind);
    launch!(
        gpu,
        Module::Loss,
        "regression_loss_forward_f32",
        grid(gpu, n),
        out,
        pred,
        target,
        i(n),
        code,
        delta
    );
    Ok(())
}

/// dpred (n) (+)= dy · ∂loss/∂pred.
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn regression_loss_backward(
    gpu: &Gpu,
    kind: RegressionLoss,
    dpred: DevPtr,
    pred: DevPtr,
    target: DevPtr,
    dy: DevPtr,
    n: usize,
    acc: bool,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let (code, delta) = regression_code(kind);
    launch!(
        gpu,
        Module::Loss,
        "regression_loss_backward_f32",
        grid(gpu, n),
        dpred,
        pred,
        target,
        dy,
        i(n),
        code,
        delta,
        flag(acc)
    );
    Ok(())
}

/// out (n) = bce(sigmoid(x), t).
///
/// # Safety
/// See the module docs.
pub unsafe fn bce_with_logits_forward(
    gpu: &Gpu,
    out: DevPtr,
    x: DevPtr,
    t: DevPtr,
    n: usize,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Loss,
        "bce_with_logits_forward_f32",
        grid(gpu, n),
        out,
        x,
        t,
        i(n)
    );
    Ok(())
}

/// dx (n) (+)= dy · (sigmoid(x) − t).
///
/// # Safety
/// See the module docs.
pub unsafe fn bce_with_logits_backward(
    gpu: &Gpu,
    dx: DevPtr,
    x: DevPtr,
    t: DevPtr,
    dy: DevPtr,
    n: usize,
    acc: bool,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Loss,
        "bce_with_logits_backward_f32",
        grid(gpu, n),
        dx,
        x,
        t,
        dy,
        i(n),
        flag(acc)
    );
    Ok(())
}

// ---- dropout ------------------------------------------------------------------------------------------

/// y, mask (n) from x (n): keep element i iff `rng::uniform_f32(seed, offset + i) >= p`
/// (bit-identical to the CPU), mask = 1/(1−p) or 0.
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn dropout_forward(
    gpu: &Gpu,
    y: DevPtr,
    mask: DevPtr,
    x: DevPtr,
    n: usize,
    p: f32,
    seed: u64,
    offset: u64,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    // The same rounding as the CPU reference: 1/(1−p) in f64, then to f32.
    let scale = if p < 1.0 {
        (1.0 / (1.0 - p as f64)) as f32
    } else {
        0.0
    };
    launch!(
        gpu,
        Module::Dropout,
        "dropout_forward_f32",
        grid(gpu, n),
        y,
        mask,
        x,
        i(n),
        p,
        scale,
        seed,
        offset
    );
    Ok(())
}

/// dx (n) (+)= dy · mask.
///
/// # Safety
/// See the module docs.
pub unsafe fn dropout_backward(
    gpu: &Gpu,
    dx: DevPtr,
    mask: DevPtr,
    dy: DevPtr,
    n: usize,
    acc: bool,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Dropout,
        "dropout_backward_f32",
        grid(gpu, n),
        dx,
        mask,
        dy,
        i(n),
        flag(acc)
    );
    Ok(())
}

// ---- batch norm -----------------------------------------------------------------------------------

fn col_tiles(cols: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (cols.div_ceil(32).max(1) as u32, 1, 1),
        block_dim: (32, 8, 1),
        shared_mem_bytes: 0,
    }
}

/// y (rows×cols), mean, var (cols) from x (rows×cols), gamma, beta (cols).
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn batchnorm_forward_train(
    gpu: &Gpu,
    y: DevPtr,
    mean: DevPtr,
    var: DevPtr,
    x: DevPtr,
    gamma: DevPtr,
    beta: DevPtr,
    rows: usize,
    cols: usize,
    eps: f32,
) -> Result<()> {
    if cols == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::BatchNorm,
        "batchnorm_forward_train_f32",
        col_tiles(cols),
        y,
        mean,
        var,
        x,
        gamma,
        beta,
        i(rows),
        i(cols),
        eps
    );
    Ok(())
}

/// y (rows×cols) = gamma·(x − running_mean)/√(running_var + eps) + beta.
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn batchnorm_forward_eval(
    gpu: &Gpu,
    y: DevPtr,
    x: DevPtr,
    gamma: DevPtr,
    beta: DevPtr,
    running_mean: DevPtr,
    running_var: DevPtr,
    rows: usize,
    cols: usize,
    eps: f32,
) -> Result<()> {
    let n = rows * cols;
    if n == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::BatchNorm,
        "batchnorm_forward_eval_f32",
        grid(gpu, n),
        y,
        x,
        gamma,
        beta,
        running_mean,
        running_var,
        i(rows),
        i(cols),
        eps
    );
    Ok(())
}

/// Gradients of training-mode batch norm; each output optional with its accumulate flag.
///
/// # Safety
/// See the module docs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn batchnorm_backward(
    gpu: &Gpu,
    dx: Option<(DevPtr, bool)>,
    dgamma: Option<(DevPtr, bool)>,
    dbeta: Option<(DevPtr, bool)>,
    x: DevPtr,
    mean: DevPtr,
    var: DevPtr,
    gamma: DevPtr,
    dy: DevPtr,
    rows: usize,
    cols: usize,
    eps: f32,
) -> Result<()> {
    if cols == 0 || (dx.is_none() && dgamma.is_none() && dbeta.is_none()) {
        return Ok(());
    }
    let split = |o: Option<(DevPtr, bool)>| o.map_or((DevPtr::NULL, 0), |(p, a)| (p, flag(a)));
    let ((pdx, adx), (pdg, adg), (pdb, adb)) = (split(dx), split(dgamma), split(dbeta));
    launch!(
        gpu,
        Module::BatchNorm,
        "batchnorm_backward_f32",
        col_tiles(cols),
        pdx,
        pdg,
        pdb,
        x,
        mean,
        var,
        gamma,
        dy,
        i(rows),
        i(cols),
        eps,
        adx,
        adg,
        adb
    );
    Ok(())
}

// ---- optimizers ----------------------------------------------------------------------------------------

/// One SGD step over p, g, velocity (n).
///
/// # Safety
/// See the module docs.
pub unsafe fn sgd_step(
    gpu: &Gpu,
    p: DevPtr,
    g: DevPtr,
    velocity: DevPtr,
    n: usize,
    hp: SgdParams,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Optim,
        "sgd_step_f32",
        grid(gpu, n),
        p,
        g,
        velocity,
        i(n),
        hp.lr,
        hp.momentum,
        flag(hp.nesterov),
        hp.weight_decay
    );
    Ok(())
}

/// One Adam / AdamW step over p, g, m, v (n).
///
/// # Safety
/// See the module docs.
pub unsafe fn adam_step(
    gpu: &Gpu,
    p: DevPtr,
    g: DevPtr,
    m: DevPtr,
    v: DevPtr,
    n: usize,
    hp: AdamParams,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    // Bias corrections exactly as the CPU computes them (f32 powi).
    let t = hp.step.max(1) as i32;
    let bc1 = 1.0f32 - hp.beta1.powi(t);
    let bc2 = 1.0f32 - hp.beta2.powi(t);
    launch!(
        gpu,
        Module::Optim,
        "adam_step_f32",
        grid(gpu, n),
        p,
        g,
        m,
        v,
        i(n),
        hp.lr,
        hp.beta1,
        hp.beta2,
        hp.eps,
        hp.weight_decay,
        flag(hp.decoupled),
        bc1,
        bc2
    );
    Ok(())
}

/// One RMSprop step over p, g, square_avg, momentum_buf (n).
///
/// # Safety
/// See the module docs.
pub unsafe fn rmsprop_step(
    gpu: &Gpu,
    p: DevPtr,
    g: DevPtr,
    sq: DevPtr,
    buf: DevPtr,
    n: usize,
    hp: RmspropParams,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    launch!(
        gpu,
        Module::Optim,
        "rmsprop_step_f32",
        grid(gpu, n),
        p,
        g,
        sq,
        buf,
        i(n),
        hp.lr,
        hp.alpha,
        hp.eps,
        hp.momentum,
        hp.weight_decay
    );
    Ok(())
}

// ---- GEMM ------------------------------------------------------------------------------------------------

/// `GemmParams` of matmul.cu (same field order and C layout).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct GemmParams {
    a: u64,
    b: u64,
    c: u64,
    bias: u64,
    a_rs: i64,
    a_cs: i64,
    b_rs: i64,
    b_cs: i64,
    ldc: i64,
    m: i32,
    n: i32,
    k: i32,
    acc: i32,
    act: i32,
    alpha: f32,
    flags: i32,
}

// SAFETY: #[repr(C)] plain data mirroring the CUDA struct.
unsafe impl DeviceRepr for GemmParams {}

/// A strided device matrix: element `(i, j)` at `ptr + i·rs + j·cs` (in f32 elements).
#[derive(Clone, Copy, Debug)]
pub struct GpuMat {
    pub ptr: DevPtr,
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl GpuMat {
    pub fn row_major(ptr: DevPtr, rows: usize, cols: usize) -> Self {
        GpuMat {
            ptr,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    pub fn t(self) -> Self {
        GpuMat {
            ptr: self.ptr,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// Smallest number of elements that holds every element (0 when empty).
    pub fn required_len(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.rs + (self.cols - 1) * self.cs + 1
        }
    }

    /// `(transposed, leading dimension)` for the tiled kernels, or `None` when neither stride
    /// is 1 (the generic kernel handles it).
    fn layout(&self) -> Option<(bool, usize)> {
        if self.cs == 1 || self.cols <= 1 {
            Some((false, if self.rows <= 1 { 0 } else { self.rs }))
        } else if self.rs == 1 || self.rows <= 1 {
            Some((true, if self.cols <= 1 { 0 } else { self.cs }))
        } else {
            None
        }
    }
}

/// One SGEMM tile configuration of matmul.cu.
#[derive(Clone, Copy, Debug)]
pub struct Tile {
    pub name: &'static str,
    /// The module its kernels are compiled into.
    pub module: Module,
    pub bm: usize,
    pub bn: usize,
    pub threads: u32,
    /// Kernels for the layouts nn, nt, tn, tt (A layout, then B).
    pub kernels: [&'static str; 4],
}

macro_rules! tile {
    ($name:literal, $module:expr, $bm:expr, $bn:expr, $threads:expr) => {
        Tile {
            name: $name,
            module: $module,
            bm: $bm,
            bn: $bn,
            threads: $threads,
            kernels: [
                concat!("matmul_forward_f32_", $name, "_nn"),
                concat!("matmul_forward_f32_", $name, "_nt"),
                concat!("matmul_forward_f32_", $name, "_tn"),
                concat!("matmul_forward_f32_", $name, "_tt"),
            ],
        }
    };
}

/// Every tile configuration compiled in matmul.cu: `BMxBNxBK`, with `w` for the 16×8 register
/// tile per thread (128 threads) instead of 8×8 (256 threads).
pub const TILES: [Tile; 7] = [
    tile!("128x128x8", Module::Gemm128x128x8, 128, 128, 256),
    tile!("128x128x16", Module::Gemm128x128x16, 128, 128, 256),
    tile!("128x64x8", Module::Gemm128x64x8, 128, 64, 256),
    tile!("64x64x8", Module::Gemm64x64x8, 64, 64, 256),
    tile!("32x32x8", Module::Gemm32x32x8, 32, 32, 64),
    tile!("128x128x8w", Module::Gemm128x128x8w, 128, 128, 128),
    tile!("128x128x16w", Module::Gemm128x128x16w, 128, 128, 128),
];

/// The tile for an m×n output: the large tile (see [`large_tile`]) when it still gives every
/// SM a block, else the largest of 128x64x8, 64x64x8 that does, else 32x32x8 (small GEMMs are
/// latency-bound: more, smaller blocks win). `NEURITE_SGEMM_TILE=<name>` forces one tile.
pub fn pick_tile(gpu: &Gpu, m: usize, n: usize) -> &'static Tile {
    static FORCED: OnceLock<Option<usize>> = OnceLock::new();
    let forced = FORCED.get_or_init(|| {
        let name = std::env::var("NEURITE_SGEMM_TILE").ok()?;
        TILES.iter().position(|t| t.name == name)
    });
    if let Some(i) = *forced {
        return &TILES[i];
    }
    let sms = gpu.info().sm_count.max(1) as usize;
    let blocks = |t: &Tile| m.div_ceil(t.bm) * n.div_ceil(t.bn);
    if blocks(&TILES[0]) >= sms {
        return large_tile(gpu);
    }
    for t in [&TILES[2], &TILES[3]] {
        if blocks(t) >= sms {
            return t;
        }
    }
    &TILES[4]
}

/// The 128×128 tile used for large GEMMs on this device: `NEURITE_SGEMM_LARGE_TILE=<name>`, or
/// else the fastest of the 128×128 configurations on a 2048³ product, measured once per device
/// with CUDA events on scratch buffers (a few milliseconds, plus compiling the candidates the
/// first time on this machine; small GEMMs, such as an MLP's, never trigger it).
pub fn large_tile(gpu: &Gpu) -> &'static Tile {
    let i = *gpu.large_tile.get_or_init(|| {
        if let Ok(name) = std::env::var("NEURITE_SGEMM_LARGE_TILE")
            && let Some(i) = TILES.iter().position(|t| t.name == name)
        {
            return i;
        }
        tune_large(gpu).unwrap_or(0)
    });
    &TILES[i]
}

/// Time every 128×128 tile on a 2048³ nn product; the index of the fastest.
fn tune_large(gpu: &Gpu) -> Result<usize> {
    const N: usize = 2048;
    let bufs = [
        gpu.alloc_zeros(N * N)?,
        gpu.alloc_zeros(N * N)?,
        gpu.alloc_zeros(N * N)?,
    ];
    let p: Vec<DevPtr> = bufs.iter().map(|b| DevPtr(raw_ptr(gpu, b))).collect();
    // Non-zero inputs (zeros can run faster than real data).
    // SAFETY: each buffer holds N·N f32.
    unsafe {
        fill(gpu, p[0], N * N, 0.5)?;
        fill(gpu, p[1], N * N, -0.25)?;
    }
    let g = Gemm {
        a: GpuMat::row_major(p[0], N, N),
        b: GpuMat::row_major(p[1], N, N),
        c: p[2],
        ldc: N,
        accumulate: false,
        bias: None,
        act: Activation::Identity,
    };
    let stream = gpu.stream();
    let flags = Some(sys::CUevent_flags::CU_EVENT_DEFAULT);
    let mut best = (f32::MAX, 0usize);
    for (i, t) in TILES.iter().enumerate() {
        if t.bm != 128 || t.bn != 128 {
            continue;
        }
        // SAFETY (all launches): the three buffers are N×N.
        unsafe { matmul_with_tile(gpu, &g, t) }?; // compile, load, warm up
        let start = stream.record_event(flags)?;
        for _ in 0..3 {
            unsafe { matmul_with_tile(gpu, &g, t) }?;
        }
        let end = stream.record_event(flags)?;
        let ms = start.elapsed_ms(&end)?;
        if ms < best.0 {
            best = (ms, i);
        }
    }
    Ok(best.1)
}

/// Arguments of [`matmul`]: `c (m×n, row stride ldc) = act(a·b [+ c] + bias)`.
#[derive(Clone, Copy, Debug)]
pub struct Gemm {
    pub a: GpuMat,
    pub b: GpuMat,
    pub c: DevPtr,
    pub ldc: usize,
    pub accumulate: bool,
    pub bias: Option<DevPtr>,
    pub act: Activation,
}

/// SGEMM with the tile picked by [`pick_tile`]; returns the kernel name used.
///
/// # Safety
/// See the module docs: `a`, `b` hold `required_len()` elements, c holds
/// `(m−1)·ldc + n`, bias holds n.
pub unsafe fn matmul(gpu: &Gpu, g: &Gemm) -> Result<&'static str> {
    let tile = pick_tile(gpu, g.a.rows, g.b.cols);
    // SAFETY: forwarded contract.
    unsafe { matmul_with_tile(gpu, g, tile) }
}

/// SGEMM with an explicit tile (benchmarks); returns the kernel name used.
///
/// # Safety
/// As [`matmul`].
pub unsafe fn matmul_with_tile(gpu: &Gpu, g: &Gemm, tile: &Tile) -> Result<&'static str> {
    let (m, k, n) = (g.a.rows, g.a.cols, g.b.cols);
    if g.b.rows != k {
        return Err(Error::Invalid(format!(
            "matmul inner sizes differ: {m}x{k} · {}x{n}",
            g.b.rows
        )));
    }
    if m == 0 || n == 0 {
        return Ok("none");
    }
    let big = i32::MAX as usize;
    if m > big || n > big || k > big {
        return Err(Error::Invalid(format!("matmul {m}x{k}x{n} too large")));
    }
    let (act, alpha) = act_code(g.act);
    let c_vec =
        g.c.is_aligned16() && g.ldc.is_multiple_of(4) && g.bias.is_none_or(|b| b.is_aligned16());
    let mut p = GemmParams {
        a: g.a.ptr.0,
        b: g.b.ptr.0,
        c: g.c.0,
        bias: g.bias.map_or(0, |b| b.0),
        a_rs: g.a.rs as i64,
        a_cs: g.a.cs as i64,
        b_rs: g.b.rs as i64,
        b_cs: g.b.cs as i64,
        ldc: g.ldc as i64,
        m: m as i32,
        n: n as i32,
        k: k as i32,
        acc: flag(g.accumulate),
        act,
        alpha,
        flags: 0,
    };
    match (g.a.layout(), g.b.layout()) {
        (Some((ta, lda)), Some((tb, ldb))) => {
            // Normalised strides: the tiled kernels read lda from a_rs (n) or a_cs (t).
            (p.a_rs, p.a_cs) = if ta { (1, lda as i64) } else { (lda as i64, 1) };
            (p.b_rs, p.b_cs) = if tb { (1, ldb as i64) } else { (ldb as i64, 1) };
            let a_vec = g.a.ptr.is_aligned16() && lda % 4 == 0;
            let b_vec = g.b.ptr.is_aligned16() && ldb % 4 == 0;
            p.flags = a_vec as i32 | (b_vec as i32) << 1 | (c_vec as i32) << 2;
            let name = tile.kernels[(ta as usize) * 2 + tb as usize];
            let f = gpu.function(tile.module, name)?;
            let cfg = LaunchConfig {
                grid_dim: (n.div_ceil(tile.bn) as u32, m.div_ceil(tile.bm) as u32, 1),
                block_dim: (tile.threads, 1, 1),
                shared_mem_bytes: 0,
            };
            if cfg.grid_dim.1 > 65535 {
                return Err(Error::Invalid(format!("matmul with {m} rows is too tall")));
            }
            let stream = gpu.stream();
            let mut b = stream.launch_builder(&f);
            b.arg(&p);
            // SAFETY: one GemmParams argument, as the kernel expects; pointers per contract.
            unsafe { b.launch(cfg) }?;
            Ok(name)
        }
        _ => {
            // Compiled into every GEMM module; the smallest one is the cheapest to load.
            let f = gpu.function(Module::Gemm32x32x8, "matmul_forward_f32_generic")?;
            let cfg = LaunchConfig {
                grid_dim: (n.div_ceil(16) as u32, m.div_ceil(16) as u32, 1),
                block_dim: (16, 16, 1),
                shared_mem_bytes: 0,
            };
            if cfg.grid_dim.1 > 65535 {
                return Err(Error::Invalid(format!("matmul with {m} rows is too tall")));
            }
            let stream = gpu.stream();
            let mut b = stream.launch_builder(&f);
            b.arg(&p);
            // SAFETY: as above.
            unsafe { b.launch(cfg) }?;
            Ok("matmul_forward_f32_generic")
        }
    }
}
