//! CUDA storage and the CUDA half of every backend function (feature `cuda`).
//!
//! [`CudaStorage`] is a device buffer of `f32` on one GPU ([`Device::Cuda`]); [`CudaRef`] and
//! [`CudaMut`] are borrowed windows into one, like `&[f32]`/`&mut [f32]` for the CPU. Every
//! function here checks lengths and devices (a typed error, never an out-of-bounds kernel) and
//! launches the matching kernel from `neurite_kernels::cuda::ops`, with the CPU path's exact
//! semantics, accumulate flags included. Launches are asynchronous on the device's single
//! stream; data moves between host and device only through [`CudaStorage::from_host`],
//! [`CudaStorage::to_host`], [`CudaRef::to_host`], [`CudaMut::copy_from_host`] and
//! [`sum_squares`] (one `f64`): batch upload and metric download.
//!
//! Without the `cuda` feature, `cuda_stub.rs` provides the same names as uninhabited types.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use neurite_kernels::cpu::activation::Activation;
use neurite_kernels::cpu::elementwise::{BinaryOp, Broadcast, UnaryOp};
use neurite_kernels::cpu::loss::RegressionLoss;
use neurite_kernels::cpu::optim::{AdamParams, RmspropParams, SgdParams};
use neurite_kernels::cuda::cudarc::driver::{CudaSlice, CudaView, CudaViewMut, DevicePtr};
use neurite_kernels::cuda::ops::{self, Gemm, GpuMat};
use neurite_kernels::cuda::{self as kc, DevPtr, Gpu};

use crate::device::Device;
use crate::error::{Error, Result};

fn err(e: kc::Error) -> Error {
    match e {
        kc::Error::Unavailable(s) => Error::CudaUnavailable(s),
        other => Error::Cuda(other.to_string()),
    }
}

/// `Ok` when CUDA device `ordinal` can run neurite's kernels (driver, device, NVRTC, one module
/// compiled and loaded); otherwise exactly why not.
pub fn ensure_available(ordinal: usize) -> Result<()> {
    kc::probe(ordinal).map(|_| ()).map_err(err)
}

/// Key/value lines for `neurite doctor`: driver and NVRTC versions, the library files loaded,
/// each device's name, memory and compute capability, or why CUDA is unavailable.
pub fn diagnose() -> Vec<(String, String)> {
    kc::diagnose()
}

/// A buffer of `f32` on one CUDA device.
pub struct CudaStorage {
    gpu: Arc<Gpu>,
    buf: CudaSlice<f32>,
    /// Logical length (the allocation holds at least one element, so empty buffers work).
    len: usize,
}

impl fmt::Debug for CudaStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CudaStorage(cuda:{}, {} f32)",
            self.gpu.ordinal(),
            self.len
        )
    }
}

impl Clone for CudaStorage {
    /// A device-to-device copy. `Clone` cannot fail, so a failed allocation panics (with the
    /// driver's reason); use [`CudaStorage::try_clone`] to handle it.
    fn clone(&self) -> Self {
        self.try_clone()
            .unwrap_or_else(|e| panic!("cloning a CUDA buffer failed: {e}"))
    }
}

impl CudaStorage {
    /// `len` zeros on device `ordinal`.
    pub fn zeros(ordinal: usize, len: usize) -> Result<Self> {
        let gpu = Gpu::get(ordinal).map_err(err)?;
        let buf = gpu.alloc_zeros(len).map_err(err)?;
        Ok(CudaStorage { gpu, buf, len })
    }

    /// A copy of `data` on device `ordinal` (one host-to-device transfer).
    pub fn from_host(ordinal: usize, data: &[f32]) -> Result<Self> {
        let gpu = Gpu::get(ordinal).map_err(err)?;
        let buf = if data.is_empty() {
            gpu.alloc_zeros(0).map_err(err)?
        } else {
            gpu.stream()
                .clone_htod(data)
                .map_err(|e| err(kc::Error::from(e)))?
        };
        Ok(CudaStorage {
            gpu,
            buf,
            len: data.len(),
        })
    }

    pub fn try_clone(&self) -> Result<Self> {
        let mut out = CudaStorage {
            gpu: self.gpu.clone(),
            buf: self.gpu.alloc_zeros(self.len).map_err(err)?,
            len: self.len,
        };
        out.slice_mut(0..self.len)
            .copy_from(&self.slice(0..self.len))?;
        Ok(out)
    }

    /// Copy to the host (waits for all queued work on the device).
    pub fn to_host(&self) -> Result<Vec<f32>> {
        self.slice(0..self.len).to_host()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn device(&self) -> Device {
        Device::Cuda(self.gpu.ordinal())
    }

    /// Elements `r` (panics when out of range, like slicing a `Vec`).
    pub fn slice(&self, r: Range<usize>) -> CudaRef<'_> {
        assert!(
            r.start <= r.end && r.end <= self.len,
            "CUDA slice {r:?} out of range for length {}",
            self.len
        );
        CudaRef {
            gpu: &self.gpu,
            view: self.buf.slice(r),
        }
    }

    /// Elements `r`, writable (panics when out of range).
    pub fn slice_mut(&mut self, r: Range<usize>) -> CudaMut<'_> {
        assert!(
            r.start <= r.end && r.end <= self.len,
            "CUDA slice {r:?} out of range for length {}",
            self.len
        );
        CudaMut {
            gpu: &self.gpu,
            view: self.buf.slice_mut(r),
        }
    }
}

/// A read-only window into a [`CudaStorage`].
pub struct CudaRef<'a> {
    gpu: &'a Arc<Gpu>,
    view: CudaView<'a, f32>,
}

/// A writable window into a [`CudaStorage`].
pub struct CudaMut<'a> {
    gpu: &'a Arc<Gpu>,
    view: CudaViewMut<'a, f32>,
}

impl CudaRef<'_> {
    pub fn len(&self) -> usize {
        self.view.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reborrow(&self) -> CudaRef<'_> {
        CudaRef {
            gpu: self.gpu,
            view: self.view.slice(..),
        }
    }

    /// Copy to the host (waits for all queued work on the device).
    pub fn to_host(&self) -> Result<Vec<f32>> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        let v = self
            .gpu
            .stream()
            .clone_dtoh(&self.view)
            .map_err(|e| err(kc::Error::from(e)))?;
        self.gpu.synchronize().map_err(err)?;
        Ok(v)
    }

    pub fn device(&self) -> Device {
        Device::Cuda(self.gpu.ordinal())
    }

    fn ptr(&self) -> DevPtr {
        let (p, _sync) = self.view.device_ptr(self.gpu.stream());
        DevPtr(p)
    }
}

impl CudaMut<'_> {
    pub fn len(&self) -> usize {
        self.view.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reborrow(&mut self) -> CudaMut<'_> {
        CudaMut {
            gpu: self.gpu,
            view: self.view.slice_mut(..),
        }
    }

    pub fn as_ref(&self) -> CudaRef<'_> {
        CudaRef {
            gpu: self.gpu,
            view: self.view.as_view(),
        }
    }

    pub fn device(&self) -> Device {
        Device::Cuda(self.gpu.ordinal())
    }

    /// Overwrite from host data of the same length (one host-to-device transfer).
    pub fn copy_from_host(&mut self, src: &[f32]) -> Result<()> {
        if src.len() != self.len() {
            return Err(Error::shape(
                "copy_from_host",
                format!(
                    "{} host values for a device slice of {}",
                    src.len(),
                    self.len()
                ),
            ));
        }
        if src.is_empty() {
            return Ok(());
        }
        self.gpu
            .stream()
            .memcpy_htod(src, &mut self.view)
            .map_err(|e| err(kc::Error::from(e)))
    }

    /// Device-to-device copy of a slice of the same length.
    pub fn copy_from(&mut self, src: &CudaRef) -> Result<()> {
        copy(self.reborrow(), src.reborrow())
    }

    fn ptr(&self) -> DevPtr {
        let (p, _sync) = self.view.device_ptr(self.gpu.stream());
        DevPtr(p)
    }
}

/// A strided matrix operand of [`matmul`]: element `(i, j)` is `data[i·rs + j·cs]`.
pub struct CudaMat<'a> {
    pub data: CudaRef<'a>,
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

// ---- checks ------------------------------------------------------------------------------------

/// `a·b·…` without overflow.
fn prod(op: &'static str, dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::shape(op, format!("size {dims:?} overflows")))
}

fn need(op: &'static str, what: &str, have: usize, want: usize) -> Result<()> {
    if have < want {
        return Err(Error::shape(
            op,
            format!("{what} has {have} elements, needs {want}"),
        ));
    }
    Ok(())
}

/// All operands on `gpu`'s device.
fn same_device(op: &'static str, gpu: &Gpu, others: &[&Gpu]) -> Result<()> {
    for o in others {
        if o.ordinal() != gpu.ordinal() {
            return Err(Error::Mismatch {
                op,
                left: format!("cuda:{}", gpu.ordinal()),
                right: format!("cuda:{}", o.ordinal()),
            });
        }
    }
    Ok(())
}

/// Check the device of every operand, then run the launcher (its `unsafe` contract, valid
/// pointers and lengths, is what the caller has just checked).
macro_rules! run {
    ($op:expr, $gpu:expr, [$($other:expr),*], $call:expr) => {{
        same_device($op, $gpu, &[$($other),*])?;
        // SAFETY: every pointer comes from a live view on this device whose length the caller
        // checked against the launcher's shape contract.
        unsafe { $call }.map_err(err)
    }};
}

// ---- backend functions ------------------------------------------------------------------------

/// dst = src (same length).
pub fn copy(dst: CudaMut, src: CudaRef) -> Result<()> {
    const OP: &str = "copy";
    if dst.len() != src.len() {
        return Err(Error::shape(
            OP,
            format!("copy of {} elements into {}", src.len(), dst.len()),
        ));
    }
    run!(
        OP,
        dst.gpu,
        [src.gpu],
        ops::copy(dst.gpu, dst.ptr(), src.ptr(), dst.len())
    )
}

pub fn fill(dst: CudaMut, v: f32) -> Result<()> {
    run!(
        "fill",
        dst.gpu,
        [],
        ops::fill(dst.gpu, dst.ptr(), dst.len(), v)
    )
}

/// `c (m×n, row stride ldc) = act(a·b [+ c] + bias)`.
pub fn matmul(
    c: CudaMut,
    ldc: usize,
    a: CudaMat,
    b: CudaMat,
    acc: bool,
    bias: Option<CudaRef>,
    act: Activation,
) -> Result<()> {
    const OP: &str = "matmul";
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k {
        return Err(Error::shape(
            OP,
            format!("{m}x{k} · {}x{n}: inner sizes differ", b.rows),
        ));
    }
    let ga = GpuMat {
        ptr: a.data.ptr(),
        rows: a.rows,
        cols: a.cols,
        rs: a.rs,
        cs: a.cs,
    };
    let gb = GpuMat {
        ptr: b.data.ptr(),
        rows: b.rows,
        cols: b.cols,
        rs: b.rs,
        cs: b.cs,
    };
    need(OP, "A", a.data.len(), ga.required_len())?;
    need(OP, "B", b.data.len(), gb.required_len())?;
    if m > 0 && n > 0 {
        if m > 1 && ldc < n {
            return Err(Error::shape(OP, format!("ldc {ldc} < n {n}")));
        }
        let want = (m - 1)
            .checked_mul(ldc)
            .and_then(|v| v.checked_add(n))
            .ok_or_else(|| Error::shape(OP, "C size overflows"))?;
        need(OP, "C", c.len(), want)?;
    }
    if let Some(bias) = &bias {
        need(OP, "bias", bias.len(), n)?;
        same_device(OP, c.gpu, &[bias.gpu])?;
    }
    let g = Gemm {
        a: ga,
        b: gb,
        c: c.ptr(),
        ldc,
        accumulate: acc,
        bias: bias.as_ref().map(|b| b.ptr()),
        act,
    };
    run!(OP, c.gpu, [a.data.gpu, b.data.gpu], ops::matmul(c.gpu, &g)).map(|_| ())
}

pub fn activation_forward(a: Activation, y: CudaMut, x: CudaRef) -> Result<()> {
    const OP: &str = "activation_forward";
    let n = y.len();
    need(OP, "x", x.len(), n)?;
    run!(
        OP,
        y.gpu,
        [x.gpu],
        ops::activation_forward(y.gpu, a, y.ptr(), x.ptr(), n)
    )
}

pub fn activation_backward(
    a: Activation,
    dx: CudaMut,
    x: CudaRef,
    y: CudaRef,
    dy: CudaRef,
    acc: bool,
) -> Result<()> {
    const OP: &str = "activation_backward";
    let n = dx.len();
    if a.backward_needs_input() {
        need(OP, "x", x.len(), n)?;
    }
    need(OP, "y", y.len(), n)?;
    need(OP, "dy", dy.len(), n)?;
    run!(
        OP,
        dx.gpu,
        [x.gpu, y.gpu, dy.gpu],
        ops::activation_backward(dx.gpu, a, dx.ptr(), x.ptr(), y.ptr(), dy.ptr(), n, acc)
    )
}

pub fn unary_forward(op: UnaryOp, y: CudaMut, x: CudaRef) -> Result<()> {
    const OP: &str = "unary_forward";
    let n = y.len();
    need(OP, "x", x.len(), n)?;
    run!(
        OP,
        y.gpu,
        [x.gpu],
        ops::unary_forward(y.gpu, op, y.ptr(), x.ptr(), n)
    )
}

pub fn unary_backward(
    op: UnaryOp,
    dx: CudaMut,
    x: CudaRef,
    y: CudaRef,
    dy: CudaRef,
    acc: bool,
) -> Result<()> {
    const OP: &str = "unary_backward";
    let n = dx.len();
    need(OP, "x", x.len(), n)?;
    need(OP, "y", y.len(), n)?;
    need(OP, "dy", dy.len(), n)?;
    run!(
        OP,
        dx.gpu,
        [x.gpu, y.gpu, dy.gpu],
        ops::unary_backward(dx.gpu, op, dx.ptr(), x.ptr(), y.ptr(), dy.ptr(), n, acc)
    )
}

pub fn binary_forward(
    op: BinaryOp,
    out: CudaMut,
    a: CudaRef,
    b: CudaRef,
    rows: usize,
    cols: usize,
    bc: Broadcast,
) -> Result<()> {
    const OP: &str = "binary_forward";
    let n = prod(OP, &[rows, cols])?;
    need(OP, "out", out.len(), n)?;
    need(OP, "a", a.len(), n)?;
    need(OP, "b", b.len(), bc.b_len(rows, cols))?;
    run!(
        OP,
        out.gpu,
        [a.gpu, b.gpu],
        ops::binary_forward(out.gpu, op, out.ptr(), a.ptr(), b.ptr(), rows, cols, bc)
    )
}

#[allow(clippy::too_many_arguments)]
pub fn binary_backward(
    op: BinaryOp,
    da: Option<(CudaMut, bool)>,
    db: Option<(CudaMut, bool)>,
    a: CudaRef,
    b: CudaRef,
    dy: CudaRef,
    rows: usize,
    cols: usize,
    bc: Broadcast,
) -> Result<()> {
    const OP: &str = "binary_backward";
    let n = prod(OP, &[rows, cols])?;
    let blen = bc.b_len(rows, cols);
    need(OP, "dy", dy.len(), n)?;
    need(OP, "b", b.len(), blen)?;
    if db.is_some() {
        need(OP, "a", a.len(), n)?;
    }
    let gpu = dy.gpu;
    let mut others = vec![&**a.gpu, &**b.gpu];
    if let Some((d, _)) = &da {
        need(OP, "da", d.len(), n)?;
        others.push(&**d.gpu);
    }
    if let Some((d, _)) = &db {
        need(OP, "db", d.len(), blen)?;
        others.push(&**d.gpu);
    }
    same_device(OP, gpu, &others)?;
    let da = da.as_ref().map(|(d, acc)| (d.ptr(), *acc));
    let db = db.as_ref().map(|(d, acc)| (d.ptr(), *acc));
    run!(
        OP,
        gpu,
        [],
        ops::binary_backward(gpu, op, da, db, a.ptr(), b.ptr(), dy.ptr(), rows, cols, bc)
    )
}

/// out (cols×rows) = xᵀ
pub fn transpose(out: CudaMut, x: CudaRef, rows: usize, cols: usize) -> Result<()> {
    const OP: &str = "transpose";
    let n = prod(OP, &[rows, cols])?;
    need(OP, "out", out.len(), n)?;
    need(OP, "x", x.len(), n)?;
    run!(
        OP,
        out.gpu,
        [x.gpu],
        ops::transpose(out.gpu, out.ptr(), x.ptr(), rows, cols)
    )
}

/// out (len(idx)×cols) = src[idx, :]; an index outside src's rows gives a NaN row.
pub fn gather_rows(out: CudaMut, src: CudaRef, idx: CudaRef, cols: usize) -> Result<()> {
    const OP: &str = "gather_rows";
    let nidx = idx.len();
    need(OP, "out", out.len(), prod(OP, &[nidx, cols])?)?;
    let src_rows = src.len().checked_div(cols).unwrap_or(0);
    run!(
        OP,
        out.gpu,
        [src.gpu, idx.gpu],
        ops::gather_rows(
            out.gpu,
            out.ptr(),
            src.ptr(),
            idx.ptr(),
            nidx,
            cols,
            src_rows
        )
    )
}

/// y = alpha·x + beta·y
pub fn axpby(y: CudaMut, alpha: f32, x: CudaRef, beta: f32) -> Result<()> {
    const OP: &str = "axpby";
    let n = y.len();
    need(OP, "x", x.len(), n)?;
    run!(
        OP,
        y.gpu,
        [x.gpu],
        ops::axpby(y.gpu, y.ptr(), alpha, x.ptr(), beta, n)
    )
}

/// y *= alpha
pub fn scal(y: CudaMut, alpha: f32) -> Result<()> {
    run!("scal", y.gpu, [], ops::scal(y.gpu, y.ptr(), alpha, y.len()))
}

pub fn sum_forward(
    out: CudaMut,
    x: CudaRef,
    outer: usize,
    n: usize,
    inner: usize,
    scale: f32,
    acc: bool,
) -> Result<()> {
    const OP: &str = "sum_forward";
    need(OP, "out", out.len(), prod(OP, &[outer, inner])?)?;
    need(OP, "x", x.len(), prod(OP, &[outer, n, inner])?)?;
    run!(
        OP,
        out.gpu,
        [x.gpu],
        ops::sum_forward(out.gpu, out.ptr(), x.ptr(), outer, n, inner, scale, acc)
    )
}

pub fn sum_backward(
    dx: CudaMut,
    dy: CudaRef,
    outer: usize,
    n: usize,
    inner: usize,
    scale: f32,
    acc: bool,
) -> Result<()> {
    const OP: &str = "sum_backward";
    need(OP, "dx", dx.len(), prod(OP, &[outer, n, inner])?)?;
    need(OP, "dy", dy.len(), prod(OP, &[outer, inner])?)?;
    run!(
        OP,
        dx.gpu,
        [dy.gpu],
        ops::sum_backward(dx.gpu, dx.ptr(), dy.ptr(), outer, n, inner, scale, acc)
    )
}

pub fn max_forward(
    out: CudaMut,
    argmax: CudaMut,
    x: CudaRef,
    outer: usize,
    n: usize,
    inner: usize,
) -> Result<()> {
    const OP: &str = "max_forward";
    let m = prod(OP, &[outer, inner])?;
    if n == 0 && m > 0 {
        return Err(Error::shape(OP, "max over an empty axis"));
    }
    need(OP, "out", out.len(), m)?;
    need(OP, "argmax", argmax.len(), m)?;
    need(OP, "x", x.len(), prod(OP, &[outer, n, inner])?)?;
    run!(
        OP,
        out.gpu,
        [argmax.gpu, x.gpu],
        ops::max_forward(out.gpu, out.ptr(), argmax.ptr(), x.ptr(), outer, n, inner)
    )
}

pub fn max_backward(
    dx: CudaMut,
    argmax: CudaRef,
    dy: CudaRef,
    outer: usize,
    n: usize,
    inner: usize,
    acc: bool,
) -> Result<()> {
    const OP: &str = "max_backward";
    let m = prod(OP, &[outer, inner])?;
    need(OP, "dx", dx.len(), prod(OP, &[outer, n, inner])?)?;
    need(OP, "argmax", argmax.len(), m)?;
    need(OP, "dy", dy.len(), m)?;
    run!(
        OP,
        dx.gpu,
        [argmax.gpu, dy.gpu],
        ops::max_backward(
            dx.gpu,
            dx.ptr(),
            argmax.ptr(),
            dy.ptr(),
            outer,
            n,
            inner,
            acc
        )
    )
}

fn rows_cols(op: &'static str, rows: usize, cols: usize, bufs: &[(&str, usize)]) -> Result<()> {
    let n = prod(op, &[rows, cols])?;
    for &(what, len) in bufs {
        need(op, what, len, n)?;
    }
    Ok(())
}

pub fn softmax_forward(y: CudaMut, x: CudaRef, rows: usize, cols: usize) -> Result<()> {
    const OP: &str = "softmax_forward";
    rows_cols(OP, rows, cols, &[("y", y.len()), ("x", x.len())])?;
    run!(
        OP,
        y.gpu,
        [x.gpu],
        ops::softmax_forward(y.gpu, y.ptr(), x.ptr(), rows, cols)
    )
}

pub fn softmax_backward(
    dx: CudaMut,
    y: CudaRef,
    dy: CudaRef,
    rows: usize,
    cols: usize,
    acc: bool,
) -> Result<()> {
    const OP: &str = "softmax_backward";
    rows_cols(
        OP,
        rows,
        cols,
        &[("dx", dx.len()), ("y", y.len()), ("dy", dy.len())],
    )?;
    run!(
        OP,
        dx.gpu,
        [y.gpu, dy.gpu],
        ops::softmax_backward(dx.gpu, dx.ptr(), y.ptr(), dy.ptr(), rows, cols, acc)
    )
}

pub fn log_softmax_forward(y: CudaMut, x: CudaRef, rows: usize, cols: usize) -> Result<()> {
    const OP: &str = "log_softmax_forward";
    rows_cols(OP, rows, cols, &[("y", y.len()), ("x", x.len())])?;
    run!(
        OP,
        y.gpu,
        [x.gpu],
        ops::log_softmax_forward(y.gpu, y.ptr(), x.ptr(), rows, cols)
    )
}

pub fn log_softmax_backward(
    dx: CudaMut,
    y: CudaRef,
    dy: CudaRef,
    rows: usize,
    cols: usize,
    acc: bool,
) -> Result<()> {
    const OP: &str = "log_softmax_backward";
    rows_cols(
        OP,
        rows,
        cols,
        &[("dx", dx.len()), ("y", y.len()), ("dy", dy.len())],
    )?;
    run!(
        OP,
        dx.gpu,
        [y.gpu, dy.gpu],
        ops::log_softmax_backward(dx.gpu, dx.ptr(), y.ptr(), dy.ptr(), rows, cols, acc)
    )
}

/// loss (rows), probs (rows×cols); a target outside [0, cols) gives a NaN loss for its row.
pub fn softmax_cross_entropy_forward(
    loss: CudaMut,
    probs: CudaMut,
    logits: CudaRef,
    targets: CudaRef,
    rows: usize,
    cols: usize,
) -> Result<()> {
    const OP: &str = "softmax_cross_entropy_forward";
    rows_cols(
        OP,
        rows,
        cols,
        &[("probs", probs.len()), ("logits", logits.len())],
    )?;
    need(OP, "loss", loss.len(), rows)?;
    need(OP, "targets", targets.len(), rows)?;
    run!(
        OP,
        loss.gpu,
        [probs.gpu, logits.gpu, targets.gpu],
        ops::softmax_cross_entropy_forward(
            loss.gpu,
            loss.ptr(),
            probs.ptr(),
            logits.ptr(),
            targets.ptr(),
            rows,
            cols
        )
    )
}

pub fn softmax_cross_entropy_backward(
    dlogits: CudaMut,
    probs: CudaRef,
    targets: CudaRef,
    dloss: CudaRef,
    rows: usize,
    cols: usize,
    acc: bool,
) -> Result<()> {
    const OP: &str = "softmax_cross_entropy_backward";
    rows_cols(
        OP,
        rows,
        cols,
        &[("dlogits", dlogits.len()), ("probs", probs.len())],
    )?;
    need(OP, "targets", targets.len(), rows)?;
    need(OP, "dloss", dloss.len(), rows)?;
    run!(
        OP,
        dlogits.gpu,
        [probs.gpu, targets.gpu, dloss.gpu],
        ops::softmax_cross_entropy_backward(
            dlogits.gpu,
            dlogits.ptr(),
            probs.ptr(),
            targets.ptr(),
            dloss.ptr(),
            rows,
            cols,
            acc
        )
    )
}

pub fn regression_loss_forward(
    k: RegressionLoss,
    out: CudaMut,
    pred: CudaRef,
    target: CudaRef,
) -> Result<()> {
    const OP: &str = "regression_loss_forward";
    let n = out.len();
    need(OP, "pred", pred.len(), n)?;
    need(OP, "target", target.len(), n)?;
    run!(
        OP,
        out.gpu,
        [pred.gpu, target.gpu],
        ops::regression_loss_forward(out.gpu, k, out.ptr(), pred.ptr(), target.ptr(), n)
    )
}

pub fn regression_loss_backward(
    k: RegressionLoss,
    dpred: CudaMut,
    pred: CudaRef,
    target: CudaRef,
    dy: CudaRef,
    acc: bool,
) -> Result<()> {
    const OP: &str = "regression_loss_backward";
    let n = dpred.len();
    need(OP, "pred", pred.len(), n)?;
    need(OP, "target", target.len(), n)?;
    need(OP, "dy", dy.len(), n)?;
    run!(
        OP,
        dpred.gpu,
        [pred.gpu, target.gpu, dy.gpu],
        ops::regression_loss_backward(
            dpred.gpu,
            k,
            dpred.ptr(),
            pred.ptr(),
            target.ptr(),
            dy.ptr(),
            n,
            acc
        )
    )
}

pub fn bce_with_logits_forward(out: CudaMut, x: CudaRef, t: CudaRef) -> Result<()> {
    const OP: &str = "bce_with_logits_forward";
    let n = out.len();
    need(OP, "x", x.len(), n)?;
    need(OP, "t", t.len(), n)?;
    run!(
        OP,
        out.gpu,
        [x.gpu, t.gpu],
        ops::bce_with_logits_forward(out.gpu, out.ptr(), x.ptr(), t.ptr(), n)
    )
}

pub fn bce_with_logits_backward(
    dx: CudaMut,
    x: CudaRef,
    t: CudaRef,
    dy: CudaRef,
    acc: bool,
) -> Result<()> {
    const OP: &str = "bce_with_logits_backward";
    let n = dx.len();
    need(OP, "x", x.len(), n)?;
    need(OP, "t", t.len(), n)?;
    need(OP, "dy", dy.len(), n)?;
    run!(
        OP,
        dx.gpu,
        [x.gpu, t.gpu, dy.gpu],
        ops::bce_with_logits_backward(dx.gpu, dx.ptr(), x.ptr(), t.ptr(), dy.ptr(), n, acc)
    )
}

pub fn dropout_forward(
    y: CudaMut,
    mask: CudaMut,
    x: CudaRef,
    p: f32,
    seed: u64,
    offset: u64,
) -> Result<()> {
    const OP: &str = "dropout_forward";
    let n = y.len();
    need(OP, "mask", mask.len(), n)?;
    need(OP, "x", x.len(), n)?;
    run!(
        OP,
        y.gpu,
        [mask.gpu, x.gpu],
        ops::dropout_forward(y.gpu, y.ptr(), mask.ptr(), x.ptr(), n, p, seed, offset)
    )
}

pub fn dropout_backward(dx: CudaMut, mask: CudaRef, dy: CudaRef, acc: bool) -> Result<()> {
    const OP: &str = "dropout_backward";
    let n = dx.len();
    need(OP, "mask", mask.len(), n)?;
    need(OP, "dy", dy.len(), n)?;
    run!(
        OP,
        dx.gpu,
        [mask.gpu, dy.gpu],
        ops::dropout_backward(dx.gpu, dx.ptr(), mask.ptr(), dy.ptr(), n, acc)
    )
}

#[allow(clippy::too_many_arguments)]
pub fn batchnorm_forward_train(
    y: CudaMut,
    mean: CudaMut,
    var: CudaMut,
    x: CudaRef,
    gamma: CudaRef,
    beta: CudaRef,
    rows: usize,
    cols: usize,
    eps: f32,
) -> Result<()> {
    const OP: &str = "batchnorm_forward_train";
    rows_cols(OP, rows, cols, &[("y", y.len()), ("x", x.len())])?;
    for (what, len) in [
        ("mean", mean.len()),
        ("var", var.len()),
        ("gamma", gamma.len()),
        ("beta", beta.len()),
    ] {
        need(OP, what, len, cols)?;
    }
    run!(
        OP,
        y.gpu,
        [mean.gpu, var.gpu, x.gpu, gamma.gpu, beta.gpu],
        ops::batchnorm_forward_train(
            y.gpu,
            y.ptr(),
            mean.ptr(),
            var.ptr(),
            x.ptr(),
            gamma.ptr(),
            beta.ptr(),
            rows,
            cols,
            eps
        )
    )
}

#[allow(clippy::too_many_arguments)]
pub fn batchnorm_forward_eval(
    y: CudaMut,
    x: CudaRef,
    gamma: CudaRef,
    beta: CudaRef,
    running_mean: CudaRef,
    running_var: CudaRef,
    rows: usize,
    cols: usize,
    eps: f32,
) -> Result<()> {
    const OP: &str = "batchnorm_forward_eval";
    rows_cols(OP, rows, cols, &[("y", y.len()), ("x", x.len())])?;
    for (what, len) in [
        ("gamma", gamma.len()),
        ("beta", beta.len()),
        ("running_mean", running_mean.len()),
        ("running_var", running_var.len()),
    ] {
        need(OP, what, len, cols)?;
    }
    run!(
        OP,
        y.gpu,
        [
            x.gpu,
            gamma.gpu,
            beta.gpu,
            running_mean.gpu,
            running_var.gpu
        ],
        ops::batchnorm_forward_eval(
            y.gpu,
            y.ptr(),
            x.ptr(),
            gamma.ptr(),
            beta.ptr(),
            running_mean.ptr(),
            running_var.ptr(),
            rows,
            cols,
            eps
        )
    )
}

#[allow(clippy::too_many_arguments)]
pub fn batchnorm_backward(
    dx: Option<(CudaMut, bool)>,
    dgamma: Option<(CudaMut, bool)>,
    dbeta: Option<(CudaMut, bool)>,
    x: CudaRef,
    mean: CudaRef,
    var: CudaRef,
    gamma: CudaRef,
    dy: CudaRef,
    rows: usize,
    cols: usize,
    eps: f32,
) -> Result<()> {
    const OP: &str = "batchnorm_backward";
    rows_cols(OP, rows, cols, &[("x", x.len()), ("dy", dy.len())])?;
    for (what, len) in [
        ("mean", mean.len()),
        ("var", var.len()),
        ("gamma", gamma.len()),
    ] {
        need(OP, what, len, cols)?;
    }
    let gpu = dy.gpu;
    let mut others = vec![&**x.gpu, &**mean.gpu, &**var.gpu, &**gamma.gpu];
    if let Some((d, _)) = &dx {
        need(OP, "dx", d.len(), prod(OP, &[rows, cols])?)?;
        others.push(&**d.gpu);
    }
    for (what, g) in [("dgamma", &dgamma), ("dbeta", &dbeta)] {
        if let Some((d, _)) = g {
            need(OP, what, d.len(), cols)?;
            others.push(&**d.gpu);
        }
    }
    same_device(OP, gpu, &others)?;
    let p = |o: &Option<(CudaMut, bool)>| o.as_ref().map(|(d, a)| (d.ptr(), *a));
    run!(
        OP,
        gpu,
        [],
        ops::batchnorm_backward(
            gpu,
            p(&dx),
            p(&dgamma),
            p(&dbeta),
            x.ptr(),
            mean.ptr(),
            var.ptr(),
            gamma.ptr(),
            dy.ptr(),
            rows,
            cols,
            eps
        )
    )
}

pub fn sgd_step(p: CudaMut, g: CudaRef, velocity: CudaMut, hp: SgdParams) -> Result<()> {
    const OP: &str = "sgd_step";
    let n = p.len();
    need(OP, "grad", g.len(), n)?;
    need(OP, "velocity", velocity.len(), n)?;
    run!(
        OP,
        p.gpu,
        [g.gpu, velocity.gpu],
        ops::sgd_step(p.gpu, p.ptr(), g.ptr(), velocity.ptr(), n, hp)
    )
}

pub fn adam_step(p: CudaMut, g: CudaRef, m: CudaMut, v: CudaMut, hp: AdamParams) -> Result<()> {
    const OP: &str = "adam_step";
    let n = p.len();
    need(OP, "grad", g.len(), n)?;
    need(OP, "m", m.len(), n)?;
    need(OP, "v", v.len(), n)?;
    run!(
        OP,
        p.gpu,
        [g.gpu, m.gpu, v.gpu],
        ops::adam_step(p.gpu, p.ptr(), g.ptr(), m.ptr(), v.ptr(), n, hp)
    )
}

pub fn rmsprop_step(
    p: CudaMut,
    g: CudaRef,
    sq: CudaMut,
    buf: CudaMut,
    hp: RmspropParams,
) -> Result<()> {
    const OP: &str = "rmsprop_step";
    let n = p.len();
    need(OP, "grad", g.len(), n)?;
    need(OP, "square_avg", sq.len(), n)?;
    need(OP, "momentum_buf", buf.len(), n)?;
    run!(
        OP,
        p.gpu,
        [g.gpu, sq.gpu, buf.gpu],
        ops::rmsprop_step(p.gpu, p.ptr(), g.ptr(), sq.ptr(), buf.ptr(), n, hp)
    )
}

/// Σ x² in f64 (one scalar comes back to the host).
pub fn sum_squares(x: CudaRef) -> Result<f64> {
    run!(
        "sum_squares",
        x.gpu,
        [],
        ops::sum_squares(x.gpu, x.ptr(), x.len())
    )
}
