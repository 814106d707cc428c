//! The tape, the graph that records into it, and the forward half of every op.

use neurite_kernels::cpu::activation::Activation;
use neurite_kernels::cpu::elementwise::{BinaryOp, Broadcast, UnaryOp};
use neurite_kernels::cpu::loss::RegressionLoss;

use crate::backend::{self, Mat};
use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::params::{ParamId, ParamStore};
use crate::shape::Shape;
use crate::storage::{SliceMut, SliceRef};
use crate::tensor::Tensor;

/// A value recorded on the tape (an index; cheap to copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var(pub(crate) u32);

impl Var {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The closed set of recorded operations. Each variant names its inputs; auxiliary values
/// (softmax probabilities, dropout masks, batch statistics) are tape values too, so they are
/// pooled like everything else.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// `out = op(a) · op(b)`, 2-D.
    MatMul {
        a: Var,
        b: Var,
        ta: bool,
        tb: bool,
    },
    /// Fused dense layer: `out = act(x · wᵀ + b)`, `w` is `[out, in]`. `act` never needs its
    /// input for backward (GELU is recorded as a separate activation).
    Linear {
        x: Var,
        w: Var,
        b: Option<Var>,
        act: Activation,
    },
    Activation {
        x: Var,
        act: Activation,
    },
    Unary {
        x: Var,
        op: UnaryOp,
    },
    Binary {
        a: Var,
        b: Var,
        op: BinaryOp,
        bc: Broadcast,
    },
    /// `out = scale · Σ` over the middle axis of `outer × n × inner`.
    Sum {
        x: Var,
        outer: usize,
        n: usize,
        inner: usize,
        scale: f64,
    },
    Max {
        x: Var,
        argmax: Var,
        outer: usize,
        n: usize,
        inner: usize,
    },
    Transpose {
        x: Var,
    },
    Reshape {
        x: Var,
    },
    Softmax {
        x: Var,
    },
    LogSoftmax {
        x: Var,
    },
    Dropout {
        x: Var,
        mask: Var,
    },
    BatchNorm {
        x: Var,
        gamma: Var,
        beta: Var,
        mean: Var,
        var: Var,
        eps: f32,
    },
    /// Per-row loss; `probs` kept for backward.
    SoftmaxCrossEntropy {
        logits: Var,
        targets: Var,
        probs: Var,
    },
    /// Per-element loss.
    BceWithLogits {
        x: Var,
        targets: Var,
    },
    /// Per-element loss.
    Regression {
        pred: Var,
        target: Var,
        kind: RegressionLoss,
    },
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub op: Op,
    pub out: Var,
}

pub(crate) enum Slot {
    Owned(Tensor),
    Param {
        id: ParamId,
    },
    /// Host `f32` data the caller lends for the graph's lifetime ([`Graph::input_shared`]).
    Shared(SharedInput),
}

/// A read-only view of caller memory. Only dereferenced through the [`Graph`] that borrowed
/// it (whose lifetime bounds the borrow); the tape drops it unread at the next reset.
pub(crate) struct SharedInput {
    ptr: *const f32,
    len: usize,
}

// SAFETY: the pointer is only read (never written), like the `&[f32]` it came from, and only
// while that borrow is alive (see above).
unsafe impl Send for SharedInput {}
unsafe impl Sync for SharedInput {}

pub(crate) struct Value {
    pub slot: Slot,
    pub shape: Shape,
    pub requires_grad: bool,
}

/// Recycled buffers keyed by (length, dtype, device).
#[derive(Default)]
pub(crate) struct Pool {
    free: Vec<Tensor>,
    /// Buffers this pool has created; `free` keeps at least this capacity, so returning every
    /// buffer at [`Tape::reset`] never reallocates the list (a steady-state step allocates
    /// nothing, `engine/tests/no_alloc.rs`).
    created: usize,
}

impl Pool {
    pub fn take(&mut self, shape: Shape, dtype: DType, device: Device) -> Result<Tensor> {
        let n = shape.numel();
        if let Some(i) = self
            .free
            .iter()
            .position(|t| t.storage_len() == n && t.dtype() == dtype && t.device() == device)
        {
            let mut t = self.free.swap_remove(i);
            t.set_shape(shape);
            return Ok(t);
        }
        self.created += 1;
        self.free
            .reserve(self.created.saturating_sub(self.free.len()));
        Tensor::zeros(shape, dtype, device)
    }

    pub fn give(&mut self, t: Tensor) {
        self.free.push(t);
    }
}

/// The recording of one forward pass, its gradients, and the pool their buffers come from.
/// Keep one `Tape` for a training run and call [`Tape::graph`] each step.
#[derive(Default)]
pub struct Tape {
    pub(crate) nodes: Vec<Node>,
    pub(crate) values: Vec<Value>,
    pub(crate) grads: Vec<Option<Tensor>>,
    pub(crate) pool: Pool,
    /// Per parameter: written by the current [`Graph::backward_fresh`] (reused across steps).
    pub(crate) written: Vec<bool>,
}

impl Tape {
    pub fn new() -> Tape {
        Tape::default()
    }

    /// Start recording a new forward pass over `params` (recycles the previous step's buffers).
    /// `seed` drives dropout masks for this pass.
    pub fn graph<'a>(&'a mut self, params: &'a ParamStore, training: bool, seed: u64) -> Graph<'a> {
        self.reset();
        Graph {
            tape: self,
            params,
            training,
            seed,
            rng_offset: 0,
        }
    }

    fn reset(&mut self) {
        self.nodes.clear();
        for v in self.values.drain(..) {
            if let Slot::Owned(t) = v.slot {
                self.pool.free.push(t);
            }
        }
        for t in self.grads.drain(..).flatten() {
            self.pool.free.push(t);
        }
    }

    /// Number of recorded nodes (for tests and debugging).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// A printable listing of the recorded nodes.
    pub fn describe(&self) -> String {
        self.nodes
            .iter()
            .map(|n| {
                format!(
                    "%{} {} = {:?}",
                    n.out.0,
                    self.values[n.out.index()].shape,
                    n.op
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A forward pass being recorded: the tape, the parameters it reads, the mode and the dropout
/// seed. Every op validates shapes and returns a typed error instead of panicking.
pub struct Graph<'a> {
    pub(crate) tape: &'a mut Tape,
    pub(crate) params: &'a ParamStore,
    pub training: bool,
    seed: u64,
    rng_offset: u64,
}

impl<'a> Graph<'a> {
    // ---- values -------------------------------------------------------------------------

    pub fn shape(&self, v: Var) -> Shape {
        self.tape.values[v.index()].shape
    }

    pub fn params(&self) -> &ParamStore {
        self.params
    }

    /// The data of `v` as a borrowed slice on its device.
    pub fn value(&self, v: Var) -> SliceRef<'_> {
        value_of(&self.tape.values, self.params, v)
    }

    /// The value of `v` copied to the host (for the loss, metrics and tests).
    pub fn to_vec_f64(&self, v: Var) -> Result<Vec<f64>> {
        backend::to_host_f64(self.value(v))
    }

    /// The value of `v` as a new tensor.
    pub fn to_tensor(&self, v: Var) -> Result<Tensor> {
        let shape = self.shape(v);
        let mut t = Tensor::zeros(shape, self.params.dtype(), self.device_of(v))?;
        backend::copy(t.view_mut(), self.value(v))?;
        Ok(t)
    }

    fn device_of(&self, v: Var) -> Device {
        match &self.tape.values[v.index()].slot {
            Slot::Owned(t) => t.device(),
            Slot::Param { .. } => self.params.device(),
            Slot::Shared(_) => Device::Cpu,
        }
    }

    fn dtype_of(&self, v: Var) -> DType {
        match &self.tape.values[v.index()].slot {
            Slot::Owned(t) => t.dtype(),
            Slot::Param { .. } => self.params.dtype(),
            Slot::Shared(_) => DType::F32,
        }
    }

    fn requires_grad(&self, v: Var) -> bool {
        self.tape.values[v.index()].requires_grad
    }

    fn alloc_like(&mut self, like: Var, shape: Shape) -> Result<Tensor> {
        let (dt, dev) = (self.dtype_of(like), self.device_of(like));
        self.tape.pool.take(shape, dt, dev)
    }

    fn push_value(&mut self, t: Tensor, requires_grad: bool) -> Var {
        let v = Var(self.tape.values.len() as u32);
        let shape = *t.shape();
        self.tape.values.push(Value {
            slot: Slot::Owned(t),
            shape,
            requires_grad,
        });
        self.tape.grads.push(None);
        v
    }

    fn record(&mut self, t: Tensor, op: Op, requires_grad: bool) -> Var {
        let out = self.push_value(t, requires_grad);
        self.tape.nodes.push(Node { op, out });
        out
    }

    /// A parameter of the store this graph reads; gradients flow into the flat gradient buffer.
    pub fn param(&mut self, id: ParamId) -> Var {
        let shape = self.params.spec(id).shape;
        let v = Var(self.tape.values.len() as u32);
        self.tape.values.push(Value {
            slot: Slot::Param { id },
            shape,
            requires_grad: true,
        });
        self.tape.grads.push(None);
        v
    }

    /// A constant input (copied into a pooled buffer; no gradient).
    pub fn input(&mut self, t: &Tensor) -> Result<Var> {
        let mut buf = self.tape.pool.take(*t.shape(), t.dtype(), t.device())?;
        backend::copy(buf.view_mut(), t.view())?;
        Ok(self.push_value(buf, false))
    }

    /// A constant input from host data, in the dtype and on the device of the parameters.
    pub fn input_from_slice(&mut self, data: &[f32], shape: impl Into<Shape>) -> Result<Var> {
        let shape = shape.into();
        Error::check_count("input_from_slice", shape, data.len())?;
        let mut buf = self
            .tape
            .pool
            .take(shape, self.params.dtype(), self.params.device())?;
        match buf.view_mut() {
            SliceMut::F32(s) => s.copy_from_slice(data),
            SliceMut::F64(s) => s.iter_mut().zip(data).for_each(|(d, &v)| *d = v as f64),
            SliceMut::Cuda(mut c) => c.copy_from_host(data)?,
        }
        Ok(self.push_value(buf, false))
    }

    /// A constant input that reads `data` in place for this graph's lifetime instead of
    /// copying it (`torch.from_numpy` rather than `torch.tensor`): a batch the caller keeps
    /// across steps. On a CUDA or `f64` graph the data has to be moved or converted, so it is
    /// copied as [`Graph::input_from_slice`] does.
    pub fn input_shared(&mut self, data: &'a [f32], shape: impl Into<Shape>) -> Result<Var> {
        let shape = shape.into();
        if self.params.device() != Device::Cpu || self.params.dtype() != DType::F32 {
            return self.input_from_slice(data, shape);
        }
        Error::check_count("input_shared", shape, data.len())?;
        let v = Var(self.tape.values.len() as u32);
        self.tape.values.push(Value {
            slot: Slot::Shared(SharedInput {
                ptr: data.as_ptr(),
                len: data.len(),
            }),
            shape,
            requires_grad: false,
        });
        self.tape.grads.push(None);
        Ok(v)
    }

    /// Rows `idx` of `src` (`[N, F]`) as a constant input `[len(idx), F]`; `idx` holds row
    /// numbers as floats and lives on the same device (a batch drawn from data resident there).
    pub fn gather_rows(&mut self, src: &Tensor, idx: &Tensor) -> Result<Var> {
        let (rows, cols) = src.shape().as_matrix();
        let n = idx.numel();
        if let Some(ix) = idx.as_f32_slice()
            && let Some(bad) = ix
                .iter()
                .find(|&&i| !(i >= 0.0 && (i as usize) < rows && i.fract() == 0.0))
        {
            return Err(Error::invalid(format!(
                "gather_rows: row index {bad} out of range 0..{rows}"
            )));
        }
        let mut buf = self
            .tape
            .pool
            .take(Shape::new(&[n, cols]), src.dtype(), src.device())?;
        backend::gather_rows(buf.view_mut(), src.view(), idx.view(), cols)?;
        Ok(self.push_value(buf, false))
    }

    /// `out[i] = table[idx[i]]` for a constant `table` (e.g. class weights) and class indices
    /// `idx` (floats). Not differentiable: an error if `table` requires a gradient.
    pub fn lookup(&mut self, table: Var, idx: Var) -> Result<Var> {
        if self.requires_grad(table) {
            return Err(Error::invalid(
                "lookup: the table must be a constant (no gradient flows through lookup)",
            ));
        }
        let n = self.shape(table).numel();
        if let SliceRef::F32(ix) = self.value(idx)
            && let Some(bad) = ix
                .iter()
                .find(|&&i| !(i >= 0.0 && (i as usize) < n && i.fract() == 0.0))
        {
            return Err(Error::invalid(format!(
                "lookup: index {bad} out of range 0..{n}"
            )));
        }
        let k = self.shape(idx).numel();
        let mut out = self.alloc_like(table, Shape::new(&[k]))?;
        backend::gather_rows(out.view_mut(), self.value(table), self.value(idx), 1)?;
        Ok(self.push_value(out, false))
    }

    // ---- linear algebra ------------------------------------------------------------------

    /// `op(a) · op(b)` for 2-D operands, `op` = transpose when the flag is set.
    pub fn matmul_t(&mut self, a: Var, b: Var, ta: bool, tb: bool) -> Result<Var> {
        let (sa, sb) = (self.shape(a), self.shape(b));
        if sa.rank() != 2 || sb.rank() != 2 {
            return Err(Error::shape(
                "matmul",
                format!("expected 2-D operands, got {sa} and {sb}"),
            ));
        }
        let (m, k) = if ta {
            (sa.dim(1), sa.dim(0))
        } else {
            (sa.dim(0), sa.dim(1))
        };
        let (k2, n) = if tb {
            (sb.dim(1), sb.dim(0))
        } else {
            (sb.dim(0), sb.dim(1))
        };
        if k != k2 {
            return Err(Error::shape(
                "matmul",
                format!(
                    "{sa}{} · {sb}{}: inner sizes {k} and {k2} differ",
                    if ta { "ᵀ" } else { "" },
                    if tb { "ᵀ" } else { "" }
                ),
            ));
        }
        let mut out = self.alloc_like(a, Shape::new(&[m, n]))?;
        {
            let am = mat(self.value(a), sa, ta);
            let bm = mat(self.value(b), sb, tb);
            backend::matmul(out.view_mut(), n, am, bm, false, None, Activation::Identity)?;
        }
        let rg = self.requires_grad(a) || self.requires_grad(b);
        Ok(self.record(out, Op::MatMul { a, b, ta, tb }, rg))
    }

    pub fn matmul(&mut self, a: Var, b: Var) -> Result<Var> {
        self.matmul_t(a, b, false, false)
    }

    /// Dense layer `act(x · wᵀ + b)` with `w: [out, in]`, `b: [out]`, fused into one GEMM
    /// epilogue. GELU (whose backward needs the pre-activation) is applied as a separate op.
    pub fn linear(&mut self, x: Var, w: Var, b: Option<Var>, act: Activation) -> Result<Var> {
        let (sx, sw) = (self.shape(x), self.shape(w));
        if sx.rank() != 2 || sw.rank() != 2 || sx.dim(1) != sw.dim(1) {
            return Err(Error::shape(
                "linear",
                format!("input {sx} does not match weight {sw} ([out, in])"),
            ));
        }
        let (batch, outf) = (sx.dim(0), sw.dim(0));
        if let Some(b) = b {
            let sb = self.shape(b);
            if sb.numel() != outf {
                return Err(Error::shape(
                    "linear",
                    format!("bias {sb} does not match {outf} outputs"),
                ));
            }
        }
        let fused = if act.backward_needs_input() {
            Activation::Identity
        } else {
            act
        };
        let mut out = self.alloc_like(x, Shape::new(&[batch, outf]))?;
        {
            let xm = mat(self.value(x), sx, false);
            let wm = mat(self.value(w), sw, true);
            let bias = b.map(|b| self.value(b));
            backend::matmul(out.view_mut(), outf, xm, wm, false, bias, fused)?;
        }
        let rg = self.requires_grad(x)
            || self.requires_grad(w)
            || b.is_some_and(|b| self.requires_grad(b));
        let y = self.record(
            out,
            Op::Linear {
                x,
                w,
                b,
                act: fused,
            },
            rg,
        );
        if fused != act {
            self.activation(y, act)
        } else {
            Ok(y)
        }
    }

    // ---- elementwise -----------------------------------------------------------------------

    pub fn activation(&mut self, x: Var, act: Activation) -> Result<Var> {
        if act == Activation::Identity {
            return Ok(x);
        }
        let mut out = self.alloc_like(x, self.shape(x))?;
        backend::activation_forward(act, out.view_mut(), self.value(x))?;
        let rg = self.requires_grad(x);
        Ok(self.record(out, Op::Activation { x, act }, rg))
    }

    pub fn relu(&mut self, x: Var) -> Result<Var> {
        self.activation(x, Activation::Relu)
    }
    pub fn sigmoid(&mut self, x: Var) -> Result<Var> {
        self.activation(x, Activation::Sigmoid)
    }
    pub fn tanh(&mut self, x: Var) -> Result<Var> {
        self.activation(x, Activation::Tanh)
    }
    pub fn gelu(&mut self, x: Var) -> Result<Var> {
        self.activation(x, Activation::Gelu)
    }
    pub fn leaky_relu(&mut self, x: Var, alpha: f32) -> Result<Var> {
        self.activation(x, Activation::LeakyRelu(alpha))
    }
    pub fn elu(&mut self, x: Var, alpha: f32) -> Result<Var> {
        self.activation(x, Activation::Elu(alpha))
    }

    pub fn unary(&mut self, x: Var, op: UnaryOp) -> Result<Var> {
        let mut out = self.alloc_like(x, self.shape(x))?;
        backend::unary_forward(op, out.view_mut(), self.value(x))?;
        let rg = self.requires_grad(x);
        Ok(self.record(out, Op::Unary { x, op }, rg))
    }

    pub fn neg(&mut self, x: Var) -> Result<Var> {
        self.unary(x, UnaryOp::Neg)
    }
    pub fn exp(&mut self, x: Var) -> Result<Var> {
        self.unary(x, UnaryOp::Exp)
    }
    pub fn log(&mut self, x: Var) -> Result<Var> {
        self.unary(x, UnaryOp::Log)
    }
    pub fn sqrt(&mut self, x: Var) -> Result<Var> {
        self.unary(x, UnaryOp::Sqrt)
    }
    pub fn scale(&mut self, x: Var, c: f64) -> Result<Var> {
        self.unary(x, UnaryOp::Scale(c))
    }

    /// `a ∘ b` where `b` has `a`'s shape, is a row (`[cols]` or `[1, cols]`), a column
    /// (`[rows, 1]`) or a scalar; `a` is viewed as `rows × cols` around its last axis.
    pub fn binary(&mut self, a: Var, b: Var, op: BinaryOp) -> Result<Var> {
        let (sa, sb) = (self.shape(a), self.shape(b));
        let (rows, cols) = sa.as_matrix();
        let bc = broadcast_of(sa, sb)
            .ok_or_else(|| Error::shape("binary", format!("cannot broadcast {sb} against {sa}")))?;
        let mut out = self.alloc_like(a, sa)?;
        backend::binary_forward(
            op,
            out.view_mut(),
            self.value(a),
            self.value(b),
            rows,
            cols,
            bc,
        )?;
        let rg = self.requires_grad(a) || self.requires_grad(b);
        Ok(self.record(out, Op::Binary { a, b, op, bc }, rg))
    }

    pub fn add(&mut self, a: Var, b: Var) -> Result<Var> {
        self.binary(a, b, BinaryOp::Add)
    }
    pub fn sub(&mut self, a: Var, b: Var) -> Result<Var> {
        self.binary(a, b, BinaryOp::Sub)
    }
    pub fn mul(&mut self, a: Var, b: Var) -> Result<Var> {
        self.binary(a, b, BinaryOp::Mul)
    }
    pub fn div(&mut self, a: Var, b: Var) -> Result<Var> {
        self.binary(a, b, BinaryOp::Div)
    }

    // ---- reductions and shape ----------------------------------------------------------------

    fn sum_impl(&mut self, x: Var, axis: Option<usize>, mean: bool) -> Result<Var> {
        let s = self.shape(x);
        let (outer, n, inner, out_shape) = match axis {
            None => (1, s.numel(), 1, Shape::scalar()),
            Some(ax) if ax < s.rank() => {
                let (o, n, i) = s.around_axis(ax);
                (o, n, i, s.without_axis(ax))
            }
            Some(ax) => {
                return Err(Error::shape(
                    "sum",
                    format!("axis {ax} out of range for {s}"),
                ));
            }
        };
        let scale = if mean {
            if n == 0 {
                return Err(Error::shape(
                    "mean",
                    format!("mean over an empty axis of {s}"),
                ));
            }
            1.0 / n as f64
        } else {
            1.0
        };
        let mut out = self.alloc_like(x, out_shape)?;
        backend::sum_forward(out.view_mut(), self.value(x), outer, n, inner, scale, false)?;
        let rg = self.requires_grad(x);
        Ok(self.record(
            out,
            Op::Sum {
                x,
                outer,
                n,
                inner,
                scale,
            },
            rg,
        ))
    }

    pub fn sum_all(&mut self, x: Var) -> Result<Var> {
        self.sum_impl(x, None, false)
    }
    pub fn mean_all(&mut self, x: Var) -> Result<Var> {
        self.sum_impl(x, None, true)
    }
    pub fn sum_axis(&mut self, x: Var, axis: usize) -> Result<Var> {
        self.sum_impl(x, Some(axis), false)
    }
    pub fn mean_axis(&mut self, x: Var, axis: usize) -> Result<Var> {
        self.sum_impl(x, Some(axis), true)
    }

    /// Maximum along `axis` (ties and gradient go to the first maximum).
    pub fn max_axis(&mut self, x: Var, axis: usize) -> Result<Var> {
        let s = self.shape(x);
        if axis >= s.rank() || s.dim(axis) == 0 {
            return Err(Error::shape(
                "max",
                format!("axis {axis} invalid or empty for {s}"),
            ));
        }
        let (outer, n, inner) = s.around_axis(axis);
        let os = s.without_axis(axis);
        let mut out = self.alloc_like(x, os)?;
        let mut am = self.alloc_like(x, os)?;
        backend::max_forward(
            out.view_mut(),
            am.view_mut(),
            self.value(x),
            outer,
            n,
            inner,
        )?;
        let argmax = self.push_value(am, false);
        let rg = self.requires_grad(x);
        Ok(self.record(
            out,
            Op::Max {
                x,
                argmax,
                outer,
                n,
                inner,
            },
            rg,
        ))
    }

    pub fn reshape(&mut self, x: Var, shape: impl Into<Shape>) -> Result<Var> {
        let shape = shape.into();
        let s = self.shape(x);
        if shape.numel() != s.numel() {
            return Err(Error::shape(
                "reshape",
                format!("cannot reshape {s} into {shape}"),
            ));
        }
        let mut out = self.alloc_like(x, shape)?;
        backend::copy(out.view_mut(), self.value(x))?;
        let rg = self.requires_grad(x);
        Ok(self.record(out, Op::Reshape { x }, rg))
    }

    /// Transpose of a 2-D value.
    pub fn transpose(&mut self, x: Var) -> Result<Var> {
        let s = self.shape(x);
        if s.rank() != 2 {
            return Err(Error::shape(
                "transpose",
                format!("expected a 2-D value, got {s}"),
            ));
        }
        let (r, c) = (s.dim(0), s.dim(1));
        let mut out = self.alloc_like(x, Shape::new(&[c, r]))?;
        backend::transpose(out.view_mut(), self.value(x), r, c)?;
        let rg = self.requires_grad(x);
        Ok(self.record(out, Op::Transpose { x }, rg))
    }

    // ---- normalisation and regularisation ------------------------------------------------------

    /// Softmax over the last axis.
    pub fn softmax(&mut self, x: Var) -> Result<Var> {
        let s = self.shape(x);
        let (r, c) = s.as_matrix();
        let mut out = self.alloc_like(x, s)?;
        backend::softmax_forward(out.view_mut(), self.value(x), r, c)?;
        let rg = self.requires_grad(x);
        Ok(self.record(out, Op::Softmax { x }, rg))
    }

    /// Log-softmax over the last axis.
    pub fn log_softmax(&mut self, x: Var) -> Result<Var> {
        let s = self.shape(x);
        let (r, c) = s.as_matrix();
        let mut out = self.alloc_like(x, s)?;
        backend::log_softmax_forward(out.view_mut(), self.value(x), r, c)?;
        let rg = self.requires_grad(x);
        Ok(self.record(out, Op::LogSoftmax { x }, rg))
    }

    /// Inverted dropout with drop probability `p` in training mode; identity in eval mode.
    pub fn dropout(&mut self, x: Var, p: f32) -> Result<Var> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::invalid(format!(
                "dropout probability {p} not in [0, 1)"
            )));
        }
        if !self.training || p == 0.0 {
            return Ok(x);
        }
        let s = self.shape(x);
        let mut out = self.alloc_like(x, s)?;
        let mut mask = self.alloc_like(x, s)?;
        let offset = self.rng_offset;
        self.rng_offset += s.numel() as u64;
        backend::dropout_forward(
            out.view_mut(),
            mask.view_mut(),
            self.value(x),
            p,
            self.seed,
            offset,
        )?;
        let mask = self.push_value(mask, false);
        let rg = self.requires_grad(x);
        Ok(self.record(out, Op::Dropout { x, mask }, rg))
    }

    /// Training-mode batch normalisation over rows of `x: [batch, features]`. Returns the output
    /// and the batch mean and (biased) variance, for the caller's running statistics.
    pub fn batch_norm(
        &mut self,
        x: Var,
        gamma: Var,
        beta: Var,
        eps: f32,
    ) -> Result<(Var, Var, Var)> {
        let s = self.shape(x);
        if s.rank() != 2 {
            return Err(Error::shape(
                "batch_norm",
                format!("expected [batch, features], got {s}"),
            ));
        }
        let (r, c) = (s.dim(0), s.dim(1));
        if self.shape(gamma).numel() != c || self.shape(beta).numel() != c {
            return Err(Error::shape(
                "batch_norm",
                format!("gamma/beta must have {c} elements"),
            ));
        }
        if r < 2 {
            return Err(Error::shape(
                "batch_norm",
                "training needs a batch of at least 2 rows".to_string(),
            ));
        }
        let mut out = self.alloc_like(x, s)?;
        let mut mean = self.alloc_like(x, Shape::new(&[c]))?;
        let mut var = self.alloc_like(x, Shape::new(&[c]))?;
        backend::batchnorm_forward_train(
            out.view_mut(),
            mean.view_mut(),
            var.view_mut(),
            self.value(x),
            self.value(gamma),
            self.value(beta),
            r,
            c,
            eps,
        )?;
        let mean = self.push_value(mean, false);
        let var = self.push_value(var, false);
        let rg = self.requires_grad(x) || self.requires_grad(gamma) || self.requires_grad(beta);
        let y = self.record(
            out,
            Op::BatchNorm {
                x,
                gamma,
                beta,
                mean,
                var,
                eps,
            },
            rg,
        );
        Ok((y, mean, var))
    }

    // ---- losses (unreduced) -------------------------------------------------------------------

    /// Per-row softmax cross-entropy from `logits: [rows, classes]` and `targets: [rows]` (class
    /// indices as floats). Returns `[rows]`.
    pub fn softmax_cross_entropy(&mut self, logits: Var, targets: Var) -> Result<Var> {
        let s = self.shape(logits);
        if s.rank() != 2 {
            return Err(Error::shape(
                "softmax_cross_entropy",
                format!("logits must be [rows, classes], got {s}"),
            ));
        }
        let (r, c) = (s.dim(0), s.dim(1));
        if self.shape(targets).numel() != r {
            return Err(Error::shape(
                "softmax_cross_entropy",
                format!("{} targets for {r} rows", self.shape(targets).numel()),
            ));
        }
        // Validate class indices on the host when they are there (CUDA targets are validated
        // when the batch is built).
        if let SliceRef::F32(t) = self.value(targets)
            && let Some(bad) = t
                .iter()
                .find(|&&v| !(v >= 0.0 && (v as usize) < c && v.fract() == 0.0))
        {
            return Err(Error::invalid(format!(
                "class index {bad} out of range 0..{c}"
            )));
        }
        if let SliceRef::F64(t) = self.value(targets)
            && let Some(bad) = t
                .iter()
                .find(|&&v| !(v >= 0.0 && (v as usize) < c && v.fract() == 0.0))
        {
            return Err(Error::invalid(format!(
                "class index {bad} out of range 0..{c}"
            )));
        }
        let mut loss = self.alloc_like(logits, Shape::new(&[r]))?;
        let mut probs = self.alloc_like(logits, s)?;
        backend::softmax_cross_entropy_forward(
            loss.view_mut(),
            probs.view_mut(),
            self.value(logits),
            self.value(targets),
            r,
            c,
        )?;
        let probs = self.push_value(probs, false);
        let rg = self.requires_grad(logits);
        Ok(self.record(
            loss,
            Op::SoftmaxCrossEntropy {
                logits,
                targets,
                probs,
            },
            rg,
        ))
    }

    /// The probabilities a [`Graph::softmax_cross_entropy`] value kept.
    pub fn probs_of(&self, loss: Var) -> Option<Var> {
        self.tape
            .nodes
            .iter()
            .rev()
            .find(|n| n.out == loss)
            .and_then(|n| match n.op {
                Op::SoftmaxCrossEntropy { probs, .. } => Some(probs),
                _ => None,
            })
    }

    /// Per-element binary cross-entropy from logits (targets in [0, 1], same shape).
    pub fn bce_with_logits(&mut self, x: Var, targets: Var) -> Result<Var> {
        let s = self.shape(x);
        if self.shape(targets) != s {
            return Err(Error::shape(
                "bce_with_logits",
                format!("targets {} vs logits {s}", self.shape(targets)),
            ));
        }
        let mut out = self.alloc_like(x, s)?;
        backend::bce_with_logits_forward(out.view_mut(), self.value(x), self.value(targets))?;
        let rg = self.requires_grad(x);
        Ok(self.record(out, Op::BceWithLogits { x, targets }, rg))
    }

    /// Per-element regression loss (same shapes).
    pub fn regression_loss(&mut self, pred: Var, target: Var, kind: RegressionLoss) -> Result<Var> {
        let s = self.shape(pred);
        if self.shape(target) != s {
            return Err(Error::shape(
                "regression_loss",
                format!("target {} vs prediction {s}", self.shape(target)),
            ));
        }
        let mut out = self.alloc_like(pred, s)?;
        backend::regression_loss_forward(
            kind,
            out.view_mut(),
            self.value(pred),
            self.value(target),
        )?;
        let rg = self.requires_grad(pred);
        Ok(self.record(out, Op::Regression { pred, target, kind }, rg))
    }

    // ---- backward ---------------------------------------------------------------------------------

    /// Backpropagate from the scalar `loss`. Parameter gradients are *added* into `param_grads`
    /// (flat, the layout of this graph's parameter store): zero it once per step, or use
    /// [`Graph::backward_fresh`].
    pub fn backward(&mut self, loss: Var, param_grads: &mut Tensor) -> Result<()> {
        self.check_backward(loss, param_grads)?;
        super::rules::backward(self.tape, self.params, loss, param_grads, false)
    }

    /// As [`Graph::backward`], but *writes* this step's parameter gradients into
    /// `param_grads` (parameters the loss does not reach get zeros): `optimizer.zero_grad()`
    /// followed by `loss.backward()` in PyTorch terms, without the pass that zeroes the buffer
    /// and with each parameter's first gradient product storing instead of adding.
    pub fn backward_fresh(&mut self, loss: Var, param_grads: &mut Tensor) -> Result<()> {
        self.check_backward(loss, param_grads)?;
        super::rules::backward(self.tape, self.params, loss, param_grads, true)
    }

    fn check_backward(&self, loss: Var, param_grads: &Tensor) -> Result<()> {
        if self.shape(loss).numel() != 1 {
            return Err(Error::shape(
                "backward",
                format!("loss must be a scalar, got {}", self.shape(loss)),
            ));
        }
        if param_grads.numel() != self.params.len() {
            return Err(Error::shape(
                "backward",
                format!(
                    "gradient buffer has {} elements, parameters {}",
                    param_grads.numel(),
                    self.params.len()
                ),
            ));
        }
        Ok(())
    }

    /// The gradient of a non-parameter value after [`Graph::backward`], if it received one.
    pub fn grad(&self, v: Var) -> Option<&Tensor> {
        self.tape.grads[v.index()].as_ref()
    }

    pub fn device(&self) -> Device {
        self.params.device()
    }
}

pub(crate) fn value_of<'t>(values: &'t [Value], params: &'t ParamStore, v: Var) -> SliceRef<'t> {
    match &values[v.index()].slot {
        Slot::Owned(t) => t.view(),
        Slot::Param { id } => params.slice(*id),
        // SAFETY: `SharedInput` is only reachable through the graph that borrowed the data.
        Slot::Shared(s) => SliceRef::F32(unsafe { std::slice::from_raw_parts(s.ptr, s.len) }),
    }
}

/// A 2-D matrix view of a value, transposed when asked.
pub(crate) fn mat(data: SliceRef<'_>, s: Shape, t: bool) -> Mat<'_> {
    let m = Mat::row_major(data, s.dim(0), s.dim(1));
    if t { m.t() } else { m }
}

pub(crate) fn broadcast_of(sa: Shape, sb: Shape) -> Option<Broadcast> {
    let (rows, cols) = sa.as_matrix();
    if sb == sa {
        return Some(Broadcast::None);
    }
    if sb.numel() == 1 {
        return Some(Broadcast::Scalar);
    }
    let d = sb.dims();
    if (d == [cols] || d == [1, cols]) && sa.rank() >= 1 {
        return Some(Broadcast::Row);
    }
    if sa.rank() == 2 && d == [rows, 1] {
        return Some(Broadcast::Col);
    }
    if sb.numel() == rows * cols && sb.as_matrix() == (rows, cols) {
        return Some(Broadcast::None);
    }
    None
}
