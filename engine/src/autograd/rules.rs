//! Every backward rule, in one file: read it like a table of derivatives.
//!
//! `gy` is the gradient of the node's output. Each rule writes the gradient of each input that
//! requires one through [`Ctx::grad`], which hands out the destination and whether to
//! accumulate: a value's first gradient overwrites a pooled buffer, later ones add, and
//! parameter gradients always add into the flat gradient buffer.
//! Targets of losses, dropout masks, argmax indices and batch statistics are constants.

use neurite_kernels::cpu::activation::Activation;

use super::tape::{Node, Op, Pool, Slot, Tape, Value, Var, mat, value_of};
use crate::backend::{self, Mat};
use crate::error::Result;
use crate::params::ParamStore;
use crate::storage::{SliceMut, SliceRef};
use crate::tensor::Tensor;

struct Ctx<'t> {
    values: &'t [Value],
    params: &'t ParamStore,
    grads: &'t mut [Option<Tensor>],
    pool: &'t mut Pool,
    pgrads: &'t mut Tensor,
    /// Overwrite each parameter's gradient on its first contribution (`written[id]` false).
    fresh: bool,
    written: &'t mut [bool],
}

impl Ctx<'_> {
    fn val(&self, v: Var) -> SliceRef<'_> {
        value_of(self.values, self.params, v)
    }

    fn needs(&self, v: Var) -> bool {
        self.values[v.index()].requires_grad
    }

    /// Run `f(values, destination, accumulate)` for the gradient of `v`, if it needs one.
    fn grad(
        &mut self,
        v: Var,
        f: impl FnOnce(&Reader, SliceMut, bool) -> Result<()>,
    ) -> Result<()> {
        let val = &self.values[v.index()];
        if !val.requires_grad {
            return Ok(());
        }
        let reader = Reader {
            values: self.values,
            params: self.params,
        };
        match &val.slot {
            Slot::Param { id } => {
                let r = self.params.spec(*id).range();
                let acc = !self.fresh || self.written[id.0];
                if self.fresh {
                    self.written[id.0] = true;
                }
                f(&reader, self.pgrads.storage_mut().slice_mut(r), acc)
            }
            Slot::Owned(t) => {
                let slot = &mut self.grads[v.index()];
                let acc = slot.is_some();
                if !acc {
                    *slot = Some(self.pool.take(val.shape, t.dtype(), t.device())?);
                }
                let dst = slot.as_mut().map(|t| t.view_mut());
                match dst {
                    Some(d) => f(&reader, d, acc),
                    None => Ok(()),
                }
            }
            // A shared input is a constant (created with `requires_grad: false`).
            Slot::Shared(_) => Ok(()),
        }
    }

    /// As [`Ctx::grad`] for kernels that cannot accumulate: compute into a pooled temporary,
    /// then add it (only when the destination already holds a gradient).
    fn grad_via_temp(
        &mut self,
        v: Var,
        like: &Tensor,
        f: impl Fn(&Reader, SliceMut) -> Result<()>,
    ) -> Result<()> {
        let val = &self.values[v.index()];
        if !val.requires_grad {
            return Ok(());
        }
        let mut tmp = self.pool.take(val.shape, like.dtype(), like.device())?;
        let res = self.grad(v, |r, dst, acc| {
            if acc {
                f(r, tmp.view_mut())?;
                backend::axpby(dst, 1.0, tmp.view(), 1.0)
            } else {
                f(r, dst)
            }
        });
        self.pool.give(tmp);
        res
    }
}

/// Read access to values while a gradient destination is borrowed.
struct Reader<'t> {
    values: &'t [Value],
    params: &'t ParamStore,
}

impl Reader<'_> {
    fn val(&self, v: Var) -> SliceRef<'_> {
        value_of(self.values, self.params, v)
    }
}

pub(crate) fn backward(
    tape: &mut Tape,
    params: &ParamStore,
    loss: Var,
    pgrads: &mut Tensor,
    fresh: bool,
) -> Result<()> {
    let Tape {
        nodes,
        values,
        grads,
        pool,
        written,
    } = tape;
    if fresh {
        written.clear();
        written.resize(params.specs().len(), false);
    }
    backward_nodes(
        nodes, values, grads, pool, params, loss, pgrads, fresh, written,
    )?;
    if fresh {
        // Parameters the loss did not reach get zeros, as after `zero_grad()`.
        for (spec, _) in params
            .specs()
            .iter()
            .zip(written.iter())
            .filter(|(_, w)| !**w)
        {
            backend::fill(pgrads.storage_mut().slice_mut(spec.range()), 0.0)?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn backward_nodes(
    nodes: &[Node],
    values: &[Value],
    grads: &mut [Option<Tensor>],
    pool: &mut Pool,
    params: &ParamStore,
    loss: Var,
    pgrads: &mut Tensor,
    fresh: bool,
    written: &mut [bool],
) -> Result<()> {
    let Slot::Owned(lt) = &values[loss.index()].slot else {
        // The loss is a parameter itself: d loss / d loss = 1 into its gradient.
        if let Slot::Param { id } = values[loss.index()].slot {
            let r = params.spec(id).range();
            if fresh {
                written[id.0] = true;
                backend::fill(pgrads.storage_mut().slice_mut(r.clone()), 0.0)?;
            }
            let mut one = Tensor::zeros(1, params.dtype(), params.device())?;
            backend::fill(one.view_mut(), 1.0)?;
            backend::axpby(pgrads.storage_mut().slice_mut(r), 1.0, one.view(), 1.0)?;
        }
        return Ok(());
    };
    let mut seed = pool.take(values[loss.index()].shape, lt.dtype(), lt.device())?;
    backend::fill(seed.view_mut(), 1.0)?;
    if let Some(old) = grads[loss.index()].replace(seed) {
        pool.give(old);
    }
    let mut ctx = Ctx {
        values,
        params,
        grads,
        pool,
        pgrads,
        fresh,
        written,
    };
    for node in nodes.iter().rev() {
        let Some(gy) = ctx.grads[node.out.index()].take() else {
            continue;
        };
        let res = if ctx.needs(node.out) {
            apply(node, &gy, &mut ctx)
        } else {
            Ok(())
        };
        ctx.grads[node.out.index()] = Some(gy);
        res?;
    }
    Ok(())
}

fn apply(node: &Node, gy_t: &Tensor, ctx: &mut Ctx) -> Result<()> {
    let gy = gy_t.view();
    let out = node.out;
    match node.op {
        Op::MatMul { a, b, ta, tb } => {
            let (sa, sb) = (ctx.values[a.index()].shape, ctx.values[b.index()].shape);
            let (m, n) = (
                ctx.values[out.index()].shape.dim(0),
                ctx.values[out.index()].shape.dim(1),
            );
            // C = op(A)·op(B):  d op(A) = dC·op(B)ᵀ,  d op(B) = op(A)ᵀ·dC
            ctx.grad(a, |r, da, acc| {
                let dc = Mat::row_major(gy.reborrow(), m, n);
                if !ta {
                    backend::matmul(
                        da,
                        sa.dim(1),
                        dc,
                        mat(r.val(b), sb, !tb),
                        acc,
                        None,
                        Activation::Identity,
                    )
                } else {
                    backend::matmul(
                        da,
                        sa.dim(1),
                        mat(r.val(b), sb, tb),
                        dc.t(),
                        acc,
                        None,
                        Activation::Identity,
                    )
                }
            })?;
            ctx.grad(b, |r, db, acc| {
                let dc = Mat::row_major(gy.reborrow(), m, n);
                if !tb {
                    backend::matmul(
                        db,
                        sb.dim(1),
                        mat(r.val(a), sa, !ta),
                        dc,
                        acc,
                        None,
                        Activation::Identity,
                    )
                } else {
                    backend::matmul(
                        db,
                        sb.dim(1),
                        dc.t(),
                        mat(r.val(a), sa, ta),
                        acc,
                        None,
                        Activation::Identity,
                    )
                }
            })?;
        }
        Op::Linear { x, w, b, act } => {
            let (sx, sw) = (ctx.values[x.index()].shape, ctx.values[w.index()].shape);
            let (batch, inf, outf) = (sx.dim(0), sx.dim(1), sw.dim(0));
            // dpre = act'(y)·gy  (from the output: the fused activations never need the input);
            // with a bias that needs a gradient, one fused pass also sums dpre into db.
            let mut dpre_buf = None;
            let mut bias_done = false;
            if act != Activation::Identity {
                let mut t =
                    ctx.pool
                        .take(ctx.values[out.index()].shape, gy_t.dtype(), gy_t.device())?;
                match b.filter(|&b| ctx.needs(b)) {
                    Some(b) => {
                        ctx.grad(b, |r, db, acc| {
                            backend::bias_act_backward(
                                act,
                                t.view_mut(),
                                db,
                                acc,
                                r.val(out),
                                gy.reborrow(),
                                batch,
                                outf,
                            )
                        })?;
                        bias_done = true;
                    }
                    None => backend::activation_backward(
                        act,
                        t.view_mut(),
                        ctx.val(out),
                        ctx.val(out),
                        gy.reborrow(),
                        false,
                    )?,
                }
                dpre_buf = Some(t);
            }
            let dpre = dpre_buf.as_ref().map_or(gy.reborrow(), |t| t.view());
            // dx = dpre·W   (B×out · out×in)
            ctx.grad(x, |r, dx, acc| {
                backend::matmul(
                    dx,
                    inf,
                    Mat::row_major(dpre.reborrow(), batch, outf),
                    mat(r.val(w), sw, false),
                    acc,
                    None,
                    Activation::Identity,
                )
            })?;
            // dW = dpreᵀ·x  (out×B · B×in)
            ctx.grad(w, |r, dw, acc| {
                backend::matmul(
                    dw,
                    inf,
                    Mat::row_major(dpre.reborrow(), batch, outf).t(),
                    mat(r.val(x), sx, false),
                    acc,
                    None,
                    Activation::Identity,
                )
            })?;
            // db = Σ_rows dpre (unless the fused pass above did it)
            if let Some(b) = b.filter(|_| !bias_done) {
                ctx.grad(b, |_, db, acc| {
                    backend::sum_forward(db, dpre.reborrow(), 1, batch, outf, 1.0, acc)
                })?;
            }
            if let Some(t) = dpre_buf {
                ctx.pool.give(t);
            }
        }
        Op::Activation { x, act } => {
            ctx.grad(x, |r, dx, acc| {
                backend::activation_backward(act, dx, r.val(x), r.val(out), gy.reborrow(), acc)
            })?;
        }
        Op::Unary { x, op } => {
            ctx.grad(x, |r, dx, acc| {
                backend::unary_backward(op, dx, r.val(x), r.val(out), gy.reborrow(), acc)
            })?;
        }
        Op::Binary { a, b, op, bc } => {
            let (rows, cols) = ctx.values[a.index()].shape.as_matrix();
            ctx.grad(a, |r, da, acc| {
                backend::binary_backward(
                    op,
                    Some((da, acc)),
                    None,
                    r.val(a),
                    r.val(b),
                    gy.reborrow(),
                    rows,
                    cols,
                    bc,
                )
            })?;
            ctx.grad(b, |r, db, acc| {
                backend::binary_backward(
                    op,
                    None,
                    Some((db, acc)),
                    r.val(a),
                    r.val(b),
                    gy.reborrow(),
                    rows,
                    cols,
                    bc,
                )
            })?;
        }
        Op::Sum {
            x,
            outer,
            n,
            inner,
            scale,
        } => {
            ctx.grad(x, |_, dx, acc| {
                backend::sum_backward(dx, gy.reborrow(), outer, n, inner, scale, acc)
            })?;
        }
        Op::Max {
            x,
            argmax,
            outer,
            n,
            inner,
        } => {
            ctx.grad(x, |r, dx, acc| {
                backend::max_backward(dx, r.val(argmax), gy.reborrow(), outer, n, inner, acc)
            })?;
        }
        Op::Transpose { x } => {
            let s = ctx.values[x.index()].shape;
            // y (c×r) = xᵀ, so dx (r×c) = gyᵀ
            ctx.grad_via_temp(x, gy_t, |_, dst| {
                backend::transpose(dst, gy.reborrow(), s.dim(1), s.dim(0))
            })?;
        }
        Op::Reshape { x } => {
            ctx.grad(x, |_, dx, acc| {
                if acc {
                    backend::axpby(dx, 1.0, gy.reborrow(), 1.0)
                } else {
                    backend::copy(dx, gy.reborrow())
                }
            })?;
        }
        Op::Softmax { x } => {
            let (rows, cols) = ctx.values[x.index()].shape.as_matrix();
            ctx.grad(x, |r, dx, acc| {
                backend::softmax_backward(dx, r.val(out), gy.reborrow(), rows, cols, acc)
            })?;
        }
        Op::LogSoftmax { x } => {
            let (rows, cols) = ctx.values[x.index()].shape.as_matrix();
            ctx.grad(x, |r, dx, acc| {
                backend::log_softmax_backward(dx, r.val(out), gy.reborrow(), rows, cols, acc)
            })?;
        }
        Op::Dropout { x, mask } => {
            ctx.grad(x, |r, dx, acc| {
                backend::dropout_backward(dx, r.val(mask), gy.reborrow(), acc)
            })?;
        }
        Op::BatchNorm {
            x,
            gamma,
            beta,
            mean,
            var,
            eps,
        } => {
            let s = ctx.values[x.index()].shape;
            let (rows, cols) = (s.dim(0), s.dim(1));
            macro_rules! bn {
                ($r:expr, $dx:expr, $dg:expr, $db:expr) => {
                    backend::batchnorm_backward(
                        $dx,
                        $dg,
                        $db,
                        $r.val(x),
                        $r.val(mean),
                        $r.val(var),
                        $r.val(gamma),
                        gy.reborrow(),
                        rows,
                        cols,
                        eps,
                    )
                };
            }
            ctx.grad(x, |r, d, acc| bn!(r, Some((d, acc)), None, None))?;
            ctx.grad(gamma, |r, d, acc| bn!(r, None, Some((d, acc)), None))?;
            ctx.grad(beta, |r, d, acc| bn!(r, None, None, Some((d, acc))))?;
        }
        Op::SoftmaxCrossEntropy {
            logits,
            targets,
            probs,
        } => {
            let (rows, cols) = ctx.values[logits.index()].shape.as_matrix();
            ctx.grad(logits, |r, dx, acc| {
                backend::softmax_cross_entropy_backward(
                    dx,
                    r.val(probs),
                    r.val(targets),
                    gy.reborrow(),
                    rows,
                    cols,
                    acc,
                )
            })?;
        }
        Op::BceWithLogits { x, targets } => {
            ctx.grad(x, |r, dx, acc| {
                backend::bce_with_logits_backward(dx, r.val(x), r.val(targets), gy.reborrow(), acc)
            })?;
        }
        Op::Regression { pred, target, kind } => {
            ctx.grad(pred, |r, dp, acc| {
                backend::regression_loss_backward(
                    kind,
                    dp,
                    r.val(pred),
                    r.val(target),
                    gy.reborrow(),
                    acc,
                )
            })?;
        }
    }
    Ok(())
}
