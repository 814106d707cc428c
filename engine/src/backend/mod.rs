//! The backend: one function per kernel, dispatching on where the operands live (CPU `f32`,
//! CPU `f64`, CUDA `f32`). This is the only place the engine matches on storage; the tape, the
//! layers and the optimizers call these and never see a device.
//!
//! Operands of one call must share device and dtype; a mismatch is a typed error, not a panic.

pub(crate) mod elem;

#[cfg(not(feature = "cuda"))]
#[path = "cuda_stub.rs"]
pub mod cuda;

#[cfg(feature = "cuda")]
pub mod cuda;

use neurite_kernels::cpu::activation::Activation;
use neurite_kernels::cpu::elementwise::{BinaryOp, Broadcast, UnaryOp};
use neurite_kernels::cpu::loss::RegressionLoss;
use neurite_kernels::cpu::matmul::{Epilogue, MatRef};
use neurite_kernels::cpu::optim::{AdamParams, RmspropParams, SgdParams};

use self::elem::Elem;
use crate::error::{Error, Result};
use crate::storage::{SliceMut, SliceRef};
use neurite_kernels::Real;

/// Dispatch on a mutable output: `|o: T| cpu_expr` runs for f32 and f64 with `T` the element
/// type; `|g| gpu_expr` runs for CUDA.
macro_rules! on_mut {
    ($out:expr, |$o:ident : $T:ident| $cpu:expr, |$g:ident| $gpu:expr) => {
        match $out {
            SliceMut::F32($o) => {
                #[allow(dead_code)]
                type $T = f32;
                $cpu
            }
            SliceMut::F64($o) => {
                #[allow(dead_code)]
                type $T = f64;
                $cpu
            }
            #[allow(unused_variables)]
            SliceMut::Cuda($g) => {
                #[cfg(feature = "cuda")]
                {
                    $gpu
                }
                #[cfg(not(feature = "cuda"))]
                {
                    $g.unreachable()
                }
            }
        }
    };
}

/// As [`on_mut`], dispatching on a read-only operand.
macro_rules! on_ref {
    ($inp:expr, |$o:ident : $T:ident| $cpu:expr, |$g:ident| $gpu:expr) => {
        match $inp {
            SliceRef::F32($o) => {
                #[allow(dead_code)]
                type $T = f32;
                $cpu
            }
            SliceRef::F64($o) => {
                #[allow(dead_code)]
                type $T = f64;
                $cpu
            }
            #[allow(unused_variables)]
            SliceRef::Cuda($g) => {
                #[cfg(feature = "cuda")]
                {
                    $gpu
                }
                #[cfg(not(feature = "cuda"))]
                {
                    $g.unreachable()
                }
            }
        }
    };
}

#[cfg(feature = "cuda")]
fn mismatch(op: &'static str, want: &str, got: &SliceRef) -> Error {
    Error::Mismatch {
        op,
        left: want.to_string(),
        right: got.describe(),
    }
}

// The operand kind for error messages, as a `&'static str` so the success path of every
// kernel call allocates nothing (a `String` here cost one allocation per operand per call).
fn kind_ref(s: &SliceRef) -> &'static str {
    match s {
        SliceRef::F32(_) => "cpu/f32",
        SliceRef::F64(_) => "cpu/f64",
        SliceRef::Cuda(_) => "cuda/f32",
    }
}

fn kind_mut(s: &SliceMut) -> &'static str {
    match s {
        SliceMut::F32(_) => "cpu/f32",
        SliceMut::F64(_) => "cpu/f64",
        SliceMut::Cuda(_) => "cuda/f32",
    }
}

fn cpu<'a, T: Elem>(op: &'static str, s: SliceRef<'a>) -> Result<&'a [T]> {
    let d = kind_ref(&s);
    T::get(s).ok_or_else(|| Error::Mismatch {
        op,
        left: std::any::type_name::<T>().to_string(),
        right: d.to_string(),
    })
}

fn cpu_mut<'a, T: Elem>(op: &'static str, s: SliceMut<'a>) -> Result<&'a mut [T]> {
    let d = kind_mut(&s);
    T::get_mut(s).ok_or_else(|| Error::Mismatch {
        op,
        left: std::any::type_name::<T>().to_string(),
        right: d.to_string(),
    })
}

fn cpu_opt<'a, T: Elem>(op: &'static str, s: Option<SliceRef<'a>>) -> Result<Option<&'a [T]>> {
    s.map(|s| cpu::<T>(op, s)).transpose()
}

type GradMut<'a> = Option<(SliceMut<'a>, bool)>;

fn cpu_grad<'a, T: Elem>(op: &'static str, g: GradMut<'a>) -> Result<Option<(&'a mut [T], bool)>> {
    g.map(|(s, acc)| cpu_mut::<T>(op, s).map(|s| (s, acc)))
        .transpose()
}

#[cfg(feature = "cuda")]
fn gpu<'a>(op: &'static str, s: SliceRef<'a>) -> Result<cuda::CudaRef<'a>> {
    match s {
        SliceRef::Cuda(c) => Ok(c),
        other => Err(mismatch(op, "cuda/f32", &other)),
    }
}

#[cfg(feature = "cuda")]
fn gpu_mut<'a>(op: &'static str, s: SliceMut<'a>) -> Result<cuda::CudaMut<'a>> {
    match s {
        SliceMut::Cuda(c) => Ok(c),
        other => Err(Error::Mismatch {
            op,
            left: "cuda/f32".into(),
            right: other.describe(),
        }),
    }
}

#[cfg(feature = "cuda")]
fn gpu_opt<'a>(op: &'static str, s: Option<SliceRef<'a>>) -> Result<Option<cuda::CudaRef<'a>>> {
    s.map(|s| gpu(op, s)).transpose()
}

#[cfg(feature = "cuda")]
fn gpu_grad<'a>(op: &'static str, g: GradMut<'a>) -> Result<Option<(cuda::CudaMut<'a>, bool)>> {
    g.map(|(s, acc)| gpu_mut(op, s).map(|s| (s, acc)))
        .transpose()
}

/// A strided matrix operand of [`matmul`].
pub struct Mat<'a> {
    pub data: SliceRef<'a>,
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Mat<'a> {
    pub fn row_major(data: SliceRef<'a>, rows: usize, cols: usize) -> Self {
        Mat {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }
    pub fn t(self) -> Self {
        Mat {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }
    fn cpu<T: Elem>(self, op: &'static str) -> Result<MatRef<'a, T>> {
        Ok(MatRef {
            data: cpu::<T>(op, self.data)?,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
        })
    }
}

/// `dst = src` (same length).
pub fn copy(dst: SliceMut, src: SliceRef) -> Result<()> {
    const OP: &str = "copy";
    on_mut!(dst, |d: T| d.copy_from_slice(cpu::<T>(OP, src)?), |g| {
        cuda::copy(g, gpu(OP, src)?)?
    });
    Ok(())
}

/// Every element of `dst` set to `v`.
pub fn fill(dst: SliceMut, v: f64) -> Result<()> {
    on_mut!(dst, |d: T| d.fill(T::from_f64(v)), |g| cuda::fill(
        g, v as f32
    )?);
    Ok(())
}

/// `c (m×n, row stride ldc) = act(a·b [+ c] + bias)`; see `neurite_kernels::cpu::matmul`.
pub fn matmul(
    c: SliceMut,
    ldc: usize,
    a: Mat,
    b: Mat,
    acc: bool,
    bias: Option<SliceRef>,
    act: Activation,
) -> Result<()> {
    const OP: &str = "matmul";
    if a.cols != b.rows {
        return Err(Error::shape(
            OP,
            format!("{}x{} · {}x{}", a.rows, a.cols, b.rows, b.cols),
        ));
    }
    on_mut!(
        c,
        |c: T| {
            let epi = Epilogue {
                bias: cpu_opt::<T>(OP, bias)?,
                act,
            };
            T::matmul(c, ldc, a.cpu::<T>(OP)?, b.cpu::<T>(OP)?, acc, epi)
        },
        |g| cuda::matmul(g, ldc, a.gpu(OP)?, b.gpu(OP)?, acc, gpu_opt(OP, bias)?, act)?
    );
    Ok(())
}

#[cfg(feature = "cuda")]
impl<'a> Mat<'a> {
    fn gpu(self, op: &'static str) -> Result<cuda::CudaMat<'a>> {
        Ok(cuda::CudaMat {
            data: gpu(op, self.data)?,
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
        })
    }
}

pub fn activation_forward(a: Activation, y: SliceMut, x: SliceRef) -> Result<()> {
    const OP: &str = "activation_forward";
    on_mut!(
        y,
        |y: T| T::activation_forward(a, y, cpu::<T>(OP, x)?),
        |g| cuda::activation_forward(a, g, gpu(OP, x)?)?
    );
    Ok(())
}

pub fn activation_backward(
    a: Activation,
    dx: SliceMut,
    x: SliceRef,
    y: SliceRef,
    dy: SliceRef,
    acc: bool,
) -> Result<()> {
    const OP: &str = "activation_backward";
    on_mut!(
        dx,
        |d: T| T::activation_backward(
            a,
            d,
            cpu::<T>(OP, x)?,
            cpu::<T>(OP, y)?,
            cpu::<T>(OP, dy)?,
            acc
        ),
        |g| cuda::activation_backward(a, g, gpu(OP, x)?, gpu(OP, y)?, gpu(OP, dy)?, acc)?
    );
    Ok(())
}

/// Fused backward of `y = act(x·Wᵀ + b)` up to its GEMMs, over `rows × cols`:
/// `dpre = dy·act′(y)` (overwritten) and `dbias (+)= Σ_rows dpre` (`acc_dbias`), in one pass.
/// `act` must not need its input (GELU is never fused into Linear).
#[allow(clippy::too_many_arguments)]
pub fn bias_act_backward(
    a: Activation,
    dpre: SliceMut,
    dbias: SliceMut,
    acc_dbias: bool,
    y: SliceRef,
    dy: SliceRef,
    rows: usize,
    cols: usize,
) -> Result<()> {
    const OP: &str = "bias_act_backward";
    if a.backward_needs_input() {
        return Err(Error::invalid(format!(
            "{OP}: {} needs its input",
            a.name()
        )));
    }
    let mut dpre = dpre;
    match dpre.reborrow() {
        SliceMut::F32(d) => f32::bias_act_backward(
            a,
            d,
            cpu_mut::<f32>(OP, dbias)?,
            cpu::<f32>(OP, y)?,
            cpu::<f32>(OP, dy)?,
            rows,
            cols,
            acc_dbias,
        ),
        SliceMut::F64(d) => f64::bias_act_backward(
            a,
            d,
            cpu_mut::<f64>(OP, dbias)?,
            cpu::<f64>(OP, y)?,
            cpu::<f64>(OP, dy)?,
            rows,
            cols,
            acc_dbias,
        ),
        SliceMut::Cuda(_) => {
            // No fused CUDA kernel: the activation backward, then the column sums.
            activation_backward(a, dpre.reborrow(), y.reborrow(), y.reborrow(), dy, false)?;
            sum_forward(dbias, dpre.as_ref(), 1, rows, cols, 1.0, acc_dbias)?;
        }
    }
    Ok(())
}

pub fn unary_forward(op: UnaryOp, y: SliceMut, x: SliceRef) -> Result<()> {
    const OP: &str = "unary_forward";
    on_mut!(y, |y: T| T::unary_forward(op, y, cpu::<T>(OP, x)?), |g| {
        cuda::unary_forward(op, g, gpu(OP, x)?)?
    });
    Ok(())
}

pub fn unary_backward(
    op: UnaryOp,
    dx: SliceMut,
    x: SliceRef,
    y: SliceRef,
    dy: SliceRef,
    acc: bool,
) -> Result<()> {
    const OP: &str = "unary_backward";
    on_mut!(
        dx,
        |d: T| T::unary_backward(
            op,
            d,
            cpu::<T>(OP, x)?,
            cpu::<T>(OP, y)?,
            cpu::<T>(OP, dy)?,
            acc
        ),
        |g| cuda::unary_backward(op, g, gpu(OP, x)?, gpu(OP, y)?, gpu(OP, dy)?, acc)?
    );
    Ok(())
}

pub fn binary_forward(
    op: BinaryOp,
    out: SliceMut,
    a: SliceRef,
    b: SliceRef,
    rows: usize,
    cols: usize,
    bc: Broadcast,
) -> Result<()> {
    const OP: &str = "binary_forward";
    on_mut!(
        out,
        |o: T| T::binary_forward(op, o, cpu::<T>(OP, a)?, cpu::<T>(OP, b)?, rows, cols, bc),
        |g| cuda::binary_forward(op, g, gpu(OP, a)?, gpu(OP, b)?, rows, cols, bc)?
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn binary_backward(
    op: BinaryOp,
    da: GradMut,
    db: GradMut,
    a: SliceRef,
    b: SliceRef,
    dy: SliceRef,
    rows: usize,
    cols: usize,
    bc: Broadcast,
) -> Result<()> {
    const OP: &str = "binary_backward";
    on_ref!(
        dy,
        |d: T| T::binary_backward(
            op,
            cpu_grad::<T>(OP, da)?,
            cpu_grad::<T>(OP, db)?,
            cpu::<T>(OP, a)?,
            cpu::<T>(OP, b)?,
            d,
            rows,
            cols,
            bc
        ),
        |g| cuda::binary_backward(
            op,
            gpu_grad(OP, da)?,
            gpu_grad(OP, db)?,
            gpu(OP, a)?,
            gpu(OP, b)?,
            g,
            rows,
            cols,
            bc
        )?
    );
    Ok(())
}

/// `out (cols×rows) = xᵀ`
pub fn transpose(out: SliceMut, x: SliceRef, rows: usize, cols: usize) -> Result<()> {
    const OP: &str = "transpose";
    on_mut!(
        out,
        |o: T| T::transpose(o, cpu::<T>(OP, x)?, rows, cols),
        |g| cuda::transpose(g, gpu(OP, x)?, rows, cols)?
    );
    Ok(())
}

/// `out (len(idx)×cols) = src[idx, :]`, indices as floats.
pub fn gather_rows(out: SliceMut, src: SliceRef, idx: SliceRef, cols: usize) -> Result<()> {
    const OP: &str = "gather_rows";
    on_mut!(
        out,
        |o: T| T::gather_rows(o, cpu::<T>(OP, src)?, cpu::<T>(OP, idx)?, cols),
        |g| cuda::gather_rows(g, gpu(OP, src)?, gpu(OP, idx)?, cols)?
    );
    Ok(())
}

/// `y = alpha·x + beta·y`
pub fn axpby(y: SliceMut, alpha: f64, x: SliceRef, beta: f64) -> Result<()> {
    const OP: &str = "axpby";
    on_mut!(
        y,
        |y: T| T::axpby(y, T::from_f64(alpha), cpu::<T>(OP, x)?, T::from_f64(beta)),
        |g| cuda::axpby(g, alpha as f32, gpu(OP, x)?, beta as f32)?
    );
    Ok(())
}

/// `y *= alpha`
pub fn scal(y: SliceMut, alpha: f64) -> Result<()> {
    on_mut!(y, |y: T| T::scal(y, T::from_f64(alpha)), |g| cuda::scal(
        g,
        alpha as f32
    )?);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn sum_forward(
    out: SliceMut,
    x: SliceRef,
    outer: usize,
    n: usize,
    inner: usize,
    scale: f64,
    acc: bool,
) -> Result<()> {
    const OP: &str = "sum_forward";
    on_mut!(
        out,
        |o: T| T::sum_forward(
            o,
            cpu::<T>(OP, x)?,
            outer,
            n,
            inner,
            T::from_f64(scale),
            acc
        ),
        |g| cuda::sum_forward(g, gpu(OP, x)?, outer, n, inner, scale as f32, acc)?
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn sum_backward(
    dx: SliceMut,
    dy: SliceRef,
    outer: usize,
    n: usize,
    inner: usize,
    scale: f64,
    acc: bool,
) -> Result<()> {
    const OP: &str = "sum_backward";
    on_mut!(
        dx,
        |d: T| T::sum_backward(
            d,
            cpu::<T>(OP, dy)?,
            outer,
            n,
            inner,
            T::from_f64(scale),
            acc
        ),
        |g| cuda::sum_backward(g, gpu(OP, dy)?, outer, n, inner, scale as f32, acc)?
    );
    Ok(())
}

pub fn max_forward(
    out: SliceMut,
    argmax: SliceMut,
    x: SliceRef,
    outer: usize,
    n: usize,
    inner: usize,
) -> Result<()> {
    const OP: &str = "max_forward";
    on_mut!(
        out,
        |o: T| T::max_forward(
            o,
            cpu_mut::<T>(OP, argmax)?,
            cpu::<T>(OP, x)?,
            outer,
            n,
            inner
        ),
        |g| cuda::max_forward(g, gpu_mut(OP, argmax)?, gpu(OP, x)?, outer, n, inner)?
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn max_backward(
    dx: SliceMut,
    argmax: SliceRef,
    dy: SliceRef,
    outer: usize,
    n: usize,
    inner: usize,
    acc: bool,
) -> Result<()> {
    const OP: &str = "max_backward";
    on_mut!(
        dx,
        |d: T| T::max_backward(
            d,
            cpu::<T>(OP, argmax)?,
            cpu::<T>(OP, dy)?,
            outer,
            n,
            inner,
            acc
        ),
        |g| cuda::max_backward(g, gpu(OP, argmax)?, gpu(OP, dy)?, outer, n, inner, acc)?
    );
    Ok(())
}

pub fn softmax_forward(y: SliceMut, x: SliceRef, rows: usize, cols: usize) -> Result<()> {
    const OP: &str = "softmax_forward";
    on_mut!(
        y,
        |y: T| T::softmax_forward(y, cpu::<T>(OP, x)?, rows, cols),
        |g| cuda::softmax_forward(g, gpu(OP, x)?, rows, cols)?
    );
    Ok(())
}

pub fn softmax_backward(
    dx: SliceMut,
    y: SliceRef,
    dy: SliceRef,
    rows: usize,
    cols: usize,
    acc: bool,
) -> Result<()> {
    const OP: &str = "softmax_backward";
    on_mut!(
        dx,
        |d: T| T::softmax_backward(d, cpu::<T>(OP, y)?, cpu::<T>(OP, dy)?, rows, cols, acc),
        |g| cuda::softmax_backward(g, gpu(OP, y)?, gpu(OP, dy)?, rows, cols, acc)?
    );
    Ok(())
}

pub fn log_softmax_forward(y: SliceMut, x: SliceRef, rows: usize, cols: usize) -> Result<()> {
    const OP: &str = "log_softmax_forward";
    on_mut!(
        y,
        |y: T| T::log_softmax_forward(y, cpu::<T>(OP, x)?, rows, cols),
        |g| cuda::log_softmax_forward(g, gpu(OP, x)?, rows, cols)?
    );
    Ok(())
}

pub fn log_softmax_backward(
    dx: SliceMut,
    y: SliceRef,
    dy: SliceRef,
    rows: usize,
    cols: usize,
    acc: bool,
) -> Result<()> {
    const OP: &str = "log_softmax_backward";
    on_mut!(
        dx,
        |d: T| T::log_softmax_backward(d, cpu::<T>(OP, y)?, cpu::<T>(OP, dy)?, rows, cols, acc),
        |g| cuda::log_softmax_backward(g, gpu(OP, y)?, gpu(OP, dy)?, rows, cols, acc)?
    );
    Ok(())
}

pub fn softmax_cross_entropy_forward(
    loss: SliceMut,
    probs: SliceMut,
    logits: SliceRef,
    targets: SliceRef,
    rows: usize,
    cols: usize,
) -> Result<()> {
    const OP: &str = "softmax_cross_entropy_forward";
    on_mut!(
        loss,
        |l: T| T::sce_forward(
            l,
            cpu_mut::<T>(OP, probs)?,
            cpu::<T>(OP, logits)?,
            cpu::<T>(OP, targets)?,
            rows,
            cols
        ),
        |g| cuda::softmax_cross_entropy_forward(
            g,
            gpu_mut(OP, probs)?,
            gpu(OP, logits)?,
            gpu(OP, targets)?,
            rows,
            cols
        )?
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn softmax_cross_entropy_backward(
    dlogits: SliceMut,
    probs: SliceRef,
    targets: SliceRef,
    dloss: SliceRef,
    rows: usize,
    cols: usize,
    acc: bool,
) -> Result<()> {
    const OP: &str = "softmax_cross_entropy_backward";
    on_mut!(
        dlogits,
        |d: T| T::sce_backward(
            d,
            cpu::<T>(OP, probs)?,
            cpu::<T>(OP, targets)?,
            cpu::<T>(OP, dloss)?,
            rows,
            cols,
            acc
        ),
        |g| cuda::softmax_cross_entropy_backward(
            g,
            gpu(OP, probs)?,
            gpu(OP, targets)?,
            gpu(OP, dloss)?,
            rows,
            cols,
            acc
        )?
    );
    Ok(())
}

pub fn regression_loss_forward(
    k: RegressionLoss,
    out: SliceMut,
    pred: SliceRef,
    target: SliceRef,
) -> Result<()> {
    const OP: &str = "regression_loss_forward";
    on_mut!(
        out,
        |o: T| T::regression_forward(k, o, cpu::<T>(OP, pred)?, cpu::<T>(OP, target)?),
        |g| cuda::regression_loss_forward(k, g, gpu(OP, pred)?, gpu(OP, target)?)?
    );
    Ok(())
}

pub fn regression_loss_backward(
    k: RegressionLoss,
    dpred: SliceMut,
    pred: SliceRef,
    target: SliceRef,
    dy: SliceRef,
    acc: bool,
) -> Result<()> {
    const OP: &str = "regression_loss_backward";
    on_mut!(
        dpred,
        |d: T| T::regression_backward(
            k,
            d,
            cpu::<T>(OP, pred)?,
            cpu::<T>(OP, target)?,
            cpu::<T>(OP, dy)?,
            acc
        ),
        |g| cuda::regression_loss_backward(
            k,
            g,
            gpu(OP, pred)?,
            gpu(OP, target)?,
            gpu(OP, dy)?,
            acc
        )?
    );
    Ok(())
}

pub fn bce_with_logits_forward(out: SliceMut, x: SliceRef, t: SliceRef) -> Result<()> {
    const OP: &str = "bce_with_logits_forward";
    on_mut!(
        out,
        |o: T| T::bce_forward(o, cpu::<T>(OP, x)?, cpu::<T>(OP, t)?),
        |g| cuda::bce_with_logits_forward(g, gpu(OP, x)?, gpu(OP, t)?)?
    );
    Ok(())
}

pub fn bce_with_logits_backward(
    dx: SliceMut,
    x: SliceRef,
    t: SliceRef,
    dy: SliceRef,
    acc: bool,
) -> Result<()> {
    const OP: &str = "bce_with_logits_backward";
    on_mut!(
        dx,
        |d: T| T::bce_backward(
            d,
            cpu::<T>(OP, x)?,
            cpu::<T>(OP, t)?,
            cpu::<T>(OP, dy)?,
            acc
        ),
        |g| cuda::bce_with_logits_backward(g, gpu(OP, x)?, gpu(OP, t)?, gpu(OP, dy)?, acc)?
    );
    Ok(())
}

pub fn dropout_forward(
    y: SliceMut,
    mask: SliceMut,
    x: SliceRef,
    p: f32,
    seed: u64,
    offset: u64,
) -> Result<()> {
    const OP: &str = "dropout_forward";
    on_mut!(
        y,
        |y: T| T::dropout_forward(
            y,
            cpu_mut::<T>(OP, mask)?,
            cpu::<T>(OP, x)?,
            p,
            seed,
            offset
        ),
        |g| cuda::dropout_forward(g, gpu_mut(OP, mask)?, gpu(OP, x)?, p, seed, offset)?
    );
    Ok(())
}

pub fn dropout_backward(dx: SliceMut, mask: SliceRef, dy: SliceRef, acc: bool) -> Result<()> {
    const OP: &str = "dropout_backward";
    on_mut!(
        dx,
        |d: T| T::dropout_backward(d, cpu::<T>(OP, mask)?, cpu::<T>(OP, dy)?, acc),
        |g| cuda::dropout_backward(g, gpu(OP, mask)?, gpu(OP, dy)?, acc)?
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn batchnorm_forward_train(
    y: SliceMut,
    mean: SliceMut,
    var: SliceMut,
    x: SliceRef,
    gamma: SliceRef,
    beta: SliceRef,
    rows: usize,
    cols: usize,
    eps: f32,
) -> Result<()> {
    const OP: &str = "batchnorm_forward_train";
    on_mut!(
        y,
        |y: T| T::bn_train(
            y,
            cpu_mut::<T>(OP, mean)?,
            cpu_mut::<T>(OP, var)?,
            cpu::<T>(OP, x)?,
            cpu::<T>(OP, gamma)?,
            cpu::<T>(OP, beta)?,
            rows,
            cols,
            eps
        ),
        |g| cuda::batchnorm_forward_train(
            g,
            gpu_mut(OP, mean)?,
            gpu_mut(OP, var)?,
            gpu(OP, x)?,
            gpu(OP, gamma)?,
            gpu(OP, beta)?,
            rows,
            cols,
            eps
        )?
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn batchnorm_forward_eval(
    y: SliceMut,
    x: SliceRef,
    gamma: SliceRef,
    beta: SliceRef,
    running_mean: SliceRef,
    running_var: SliceRef,
    rows: usize,
    cols: usize,
    eps: f32,
) -> Result<()> {
    const OP: &str = "batchnorm_forward_eval";
    on_mut!(
        y,
        |y: T| T::bn_eval(
            y,
            cpu::<T>(OP, x)?,
            cpu::<T>(OP, gamma)?,
            cpu::<T>(OP, beta)?,
            cpu::<T>(OP, running_mean)?,
            cpu::<T>(OP, running_var)?,
            rows,
            cols,
            eps
        ),
        |g| cuda::batchnorm_forward_eval(
            g,
            gpu(OP, x)?,
            gpu(OP, gamma)?,
            gpu(OP, beta)?,
            gpu(OP, running_mean)?,
            gpu(OP, running_var)?,
            rows,
            cols,
            eps
        )?
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn batchnorm_backward(
    dx: GradMut,
    dgamma: GradMut,
    dbeta: GradMut,
    x: SliceRef,
    mean: SliceRef,
    var: SliceRef,
    gamma: SliceRef,
    dy: SliceRef,
    rows: usize,
    cols: usize,
    eps: f32,
) -> Result<()> {
    const OP: &str = "batchnorm_backward";
    on_ref!(
        dy,
        |d: T| T::bn_backward(
            cpu_grad::<T>(OP, dx)?,
            cpu_grad::<T>(OP, dgamma)?,
            cpu_grad::<T>(OP, dbeta)?,
            cpu::<T>(OP, x)?,
            cpu::<T>(OP, mean)?,
            cpu::<T>(OP, var)?,
            cpu::<T>(OP, gamma)?,
            d,
            rows,
            cols,
            eps
        ),
        |g| cuda::batchnorm_backward(
            gpu_grad(OP, dx)?,
            gpu_grad(OP, dgamma)?,
            gpu_grad(OP, dbeta)?,
            gpu(OP, x)?,
            gpu(OP, mean)?,
            gpu(OP, var)?,
            gpu(OP, gamma)?,
            g,
            rows,
            cols,
            eps
        )?
    );
    Ok(())
}

pub fn sgd_step(p: SliceMut, g: SliceRef, velocity: SliceMut, hp: SgdParams) -> Result<()> {
    const OP: &str = "sgd_step";
    on_mut!(
        p,
        |p: T| T::sgd(p, cpu::<T>(OP, g)?, cpu_mut::<T>(OP, velocity)?, hp),
        |d| cuda::sgd_step(d, gpu(OP, g)?, gpu_mut(OP, velocity)?, hp)?
    );
    Ok(())
}

pub fn adam_step(p: SliceMut, g: SliceRef, m: SliceMut, v: SliceMut, hp: AdamParams) -> Result<()> {
    const OP: &str = "adam_step";
    on_mut!(
        p,
        |p: T| T::adam(
            p,
            cpu::<T>(OP, g)?,
            cpu_mut::<T>(OP, m)?,
            cpu_mut::<T>(OP, v)?,
            hp
        ),
        |d| cuda::adam_step(d, gpu(OP, g)?, gpu_mut(OP, m)?, gpu_mut(OP, v)?, hp)?
    );
    Ok(())
}

pub fn rmsprop_step(
    p: SliceMut,
    g: SliceRef,
    sq: SliceMut,
    buf: SliceMut,
    hp: RmspropParams,
) -> Result<()> {
    const OP: &str = "rmsprop_step";
    on_mut!(
        p,
        |p: T| T::rmsprop(
            p,
            cpu::<T>(OP, g)?,
            cpu_mut::<T>(OP, sq)?,
            cpu_mut::<T>(OP, buf)?,
            hp
        ),
        |d| cuda::rmsprop_step(d, gpu(OP, g)?, gpu_mut(OP, sq)?, gpu_mut(OP, buf)?, hp)?
    );
    Ok(())
}

/// Σ x² in f64 (one device-to-host scalar on CUDA).
pub fn sum_squares(x: SliceRef) -> Result<f64> {
    Ok(on_ref!(x, |x: T| T::sum_squares(x), |g| cuda::sum_squares(
        g
    )?))
}

/// Copy to a host `Vec<f64>` (any device and dtype; for small values such as the loss).
pub fn to_host_f64(x: SliceRef) -> Result<Vec<f64>> {
    Ok(on_ref!(
        x,
        |x: T| x.iter().map(|v| v.to_f64()).collect(),
        |g| g.to_host()?.into_iter().map(f64::from).collect()
    ))
}
