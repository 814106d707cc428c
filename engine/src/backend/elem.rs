//! `Elem`: the CPU element types (`f32`, `f64`) with their kernels. `f32` routes to the
//! dispatching fast kernels, `f64` to the generic references (used by gradient checks), so the
//! CPU backend is written once, generically.

use neurite_kernels::Real;
use neurite_kernels::cpu::activation::{self as act, Activation};
use neurite_kernels::cpu::batchnorm as bn;
use neurite_kernels::cpu::dropout as dr;
use neurite_kernels::cpu::elementwise::{self as ew, BinaryOp, Broadcast, UnaryOp};
use neurite_kernels::cpu::loss::{self as ls, RegressionLoss};
use neurite_kernels::cpu::matmul::{self as mm, Epilogue, MatRef};
use neurite_kernels::cpu::optim::{self as op, AdamParams, RmspropParams, SgdParams};
use neurite_kernels::cpu::reduce as rd;
use neurite_kernels::cpu::softmax as sm;

use crate::storage::{SliceMut, SliceRef};

type Grad<'a, T> = Option<(&'a mut [T], bool)>;

#[allow(clippy::too_many_arguments)]
pub trait Elem: Real {
    fn get(s: SliceRef<'_>) -> Option<&[Self]>;
    fn get_mut(s: SliceMut<'_>) -> Option<&mut [Self]>;

    fn matmul(
        c: &mut [Self],
        ldc: usize,
        a: MatRef<Self>,
        b: MatRef<Self>,
        acc: bool,
        e: Epilogue<Self>,
    );
    fn activation_forward(a: Activation, y: &mut [Self], x: &[Self]);
    fn activation_backward(
        a: Activation,
        dx: &mut [Self],
        x: &[Self],
        y: &[Self],
        dy: &[Self],
        acc: bool,
    );
    fn bias_act_backward(
        a: Activation,
        dpre: &mut [Self],
        dbias: &mut [Self],
        y: &[Self],
        dy: &[Self],
        rows: usize,
        cols: usize,
        acc_dbias: bool,
    );
    fn unary_forward(o: UnaryOp, y: &mut [Self], x: &[Self]);
    fn unary_backward(o: UnaryOp, dx: &mut [Self], x: &[Self], y: &[Self], dy: &[Self], acc: bool);
    fn binary_forward(
        o: BinaryOp,
        out: &mut [Self],
        a: &[Self],
        b: &[Self],
        r: usize,
        c: usize,
        bc: Broadcast,
    );
    fn binary_backward(
        o: BinaryOp,
        da: Grad<Self>,
        db: Grad<Self>,
        a: &[Self],
        b: &[Self],
        dy: &[Self],
        r: usize,
        c: usize,
        bc: Broadcast,
    );
    fn transpose(out: &mut [Self], x: &[Self], r: usize, c: usize);
    fn gather_rows(out: &mut [Self], src: &[Self], idx: &[Self], cols: usize);
    fn axpby(y: &mut [Self], alpha: Self, x: &[Self], beta: Self);
    fn scal(y: &mut [Self], alpha: Self);
    fn sum_forward(out: &mut [Self], x: &[Self], o: usize, n: usize, i: usize, s: Self, acc: bool);
    fn sum_backward(dx: &mut [Self], dy: &[Self], o: usize, n: usize, i: usize, s: Self, acc: bool);
    fn max_forward(out: &mut [Self], am: &mut [Self], x: &[Self], o: usize, n: usize, i: usize);
    fn max_backward(
        dx: &mut [Self],
        am: &[Self],
        dy: &[Self],
        o: usize,
        n: usize,
        i: usize,
        acc: bool,
    );
    fn softmax_forward(y: &mut [Self], x: &[Self], r: usize, c: usize);
    fn softmax_backward(dx: &mut [Self], y: &[Self], dy: &[Self], r: usize, c: usize, acc: bool);
    fn log_softmax_forward(y: &mut [Self], x: &[Self], r: usize, c: usize);
    fn log_softmax_backward(
        dx: &mut [Self],
        y: &[Self],
        dy: &[Self],
        r: usize,
        c: usize,
        acc: bool,
    );
    fn sce_forward(loss: &mut [Self], p: &mut [Self], x: &[Self], t: &[Self], r: usize, c: usize);
    fn sce_backward(
        dx: &mut [Self],
        p: &[Self],
        t: &[Self],
        dl: &[Self],
        r: usize,
        c: usize,
        acc: bool,
    );
    fn regression_forward(k: RegressionLoss, out: &mut [Self], p: &[Self], t: &[Self]);
    fn regression_backward(
        k: RegressionLoss,
        dp: &mut [Self],
        p: &[Self],
        t: &[Self],
        dy: &[Self],
        acc: bool,
    );
    fn bce_forward(out: &mut [Self], x: &[Self], t: &[Self]);
    fn bce_backward(dx: &mut [Self], x: &[Self], t: &[Self], dy: &[Self], acc: bool);
    fn dropout_forward(y: &mut [Self], m: &mut [Self], x: &[Self], p: f32, seed: u64, off: u64);
    fn dropout_backward(dx: &mut [Self], m: &[Self], dy: &[Self], acc: bool);
    fn bn_train(
        y: &mut [Self],
        mean: &mut [Self],
        var: &mut [Self],
        x: &[Self],
        g: &[Self],
        b: &[Self],
        r: usize,
        c: usize,
        eps: f32,
    );
    fn bn_eval(
        y: &mut [Self],
        x: &[Self],
        g: &[Self],
        b: &[Self],
        rm: &[Self],
        rv: &[Self],
        r: usize,
        c: usize,
        eps: f32,
    );
    fn bn_backward(
        dx: Grad<Self>,
        dg: Grad<Self>,
        db: Grad<Self>,
        x: &[Self],
        mean: &[Self],
        var: &[Self],
        g: &[Self],
        dy: &[Self],
        r: usize,
        c: usize,
        eps: f32,
    );
    fn sgd(p: &mut [Self], g: &[Self], v: &mut [Self], hp: SgdParams);
    fn adam(p: &mut [Self], g: &[Self], m: &mut [Self], v: &mut [Self], hp: AdamParams);
    fn rmsprop(p: &mut [Self], g: &[Self], s: &mut [Self], b: &mut [Self], hp: RmspropParams);
    fn sum_squares(x: &[Self]) -> f64;
}

macro_rules! elem_impl {
    ($t:ty, $variant:ident, $act:path, $ew:path, $rd:path, $sm:path, $ls:path, $dr:path, $bn:path, $op:path, $matmul:path) => {
        impl Elem for $t {
            fn get(s: SliceRef<'_>) -> Option<&[Self]> {
                match s {
                    SliceRef::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn get_mut(s: SliceMut<'_>) -> Option<&mut [Self]> {
                match s {
                    SliceMut::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn matmul(
                c: &mut [Self],
                ldc: usize,
                a: MatRef<Self>,
                b: MatRef<Self>,
                acc: bool,
                e: Epilogue<Self>,
            ) {
                $matmul(c, ldc, a, b, acc, e)
            }
            fn activation_forward(a: Activation, y: &mut [Self], x: &[Self]) {
                {
                    use $act as m;
                    m::activation_forward(a, y, x)
                }
            }
            fn activation_backward(
                a: Activation,
                dx: &mut [Self],
                x: &[Self],
                y: &[Self],
                dy: &[Self],
                acc: bool,
            ) {
                {
                    use $act as m;
                    m::activation_backward(a, dx, x, y, dy, acc)
                }
            }
            fn bias_act_backward(
                a: Activation,
                dpre: &mut [Self],
                dbias: &mut [Self],
                y: &[Self],
                dy: &[Self],
                rows: usize,
                cols: usize,
                acc_dbias: bool,
            ) {
                {
                    use $act as m;
                    m::bias_act_backward(a, dpre, dbias, &[], y, dy, rows, cols, false, acc_dbias)
                }
            }
            fn unary_forward(o: UnaryOp, y: &mut [Self], x: &[Self]) {
                {
                    use $ew as m;
                    m::unary_forward(o, y, x)
                }
            }
            fn unary_backward(
                o: UnaryOp,
                dx: &mut [Self],
                x: &[Self],
                y: &[Self],
                dy: &[Self],
                acc: bool,
            ) {
                {
                    use $ew as m;
                    m::unary_backward(o, dx, x, y, dy, acc)
                }
            }
            fn binary_forward(
                o: BinaryOp,
                out: &mut [Self],
                a: &[Self],
                b: &[Self],
                r: usize,
                c: usize,
                bc: Broadcast,
            ) {
                {
                    use $ew as m;
                    m::binary_forward(o, out, a, b, r, c, bc)
                }
            }
            fn binary_backward(
                o: BinaryOp,
                da: Grad<Self>,
                db: Grad<Self>,
                a: &[Self],
                b: &[Self],
                dy: &[Self],
                r: usize,
                c: usize,
                bc: Broadcast,
            ) {
                {
                    use $ew as m;
                    m::binary_backward(o, da, db, a, b, dy, r, c, bc)
                }
            }
            fn transpose(out: &mut [Self], x: &[Self], r: usize, c: usize) {
                {
                    use $ew as m;
                    m::transpose(out, x, r, c)
                }
            }
            fn gather_rows(out: &mut [Self], src: &[Self], idx: &[Self], cols: usize) {
                {
                    use $ew as m;
                    m::gather_rows(out, src, idx, cols)
                }
            }
            fn axpby(y: &mut [Self], alpha: Self, x: &[Self], beta: Self) {
                {
                    use $ew as m;
                    m::axpby(y, alpha, x, beta)
                }
            }
            fn scal(y: &mut [Self], alpha: Self) {
                {
                    use $ew as m;
                    m::scal(y, alpha)
                }
            }
            fn sum_forward(
                out: &mut [Self],
                x: &[Self],
                o: usize,
                n: usize,
                i: usize,
                s: Self,
                acc: bool,
            ) {
                {
                    use $rd as m;
                    m::sum_forward(out, x, o, n, i, s, acc)
                }
            }
            fn sum_backward(
                dx: &mut [Self],
                dy: &[Self],
                o: usize,
                n: usize,
                i: usize,
                s: Self,
                acc: bool,
            ) {
                {
                    use $rd as m;
                    m::sum_backward(dx, dy, o, n, i, s, acc)
                }
            }
            fn max_forward(
                out: &mut [Self],
                am: &mut [Self],
                x: &[Self],
                o: usize,
                n: usize,
                i: usize,
            ) {
                {
                    use $rd as m;
                    m::max_forward(out, am, x, o, n, i)
                }
            }
            fn max_backward(
                dx: &mut [Self],
                am: &[Self],
                dy: &[Self],
                o: usize,
                n: usize,
                i: usize,
                acc: bool,
            ) {
                {
                    use $rd as m;
                    m::max_backward(dx, am, dy, o, n, i, acc)
                }
            }
            fn softmax_forward(y: &mut [Self], x: &[Self], r: usize, c: usize) {
                {
                    use $sm as m;
                    m::softmax_forward(y, x, r, c)
                }
            }
            fn softmax_backward(
                dx: &mut [Self],
                y: &[Self],
                dy: &[Self],
                r: usize,
                c: usize,
                acc: bool,
            ) {
                {
                    use $sm as m;
                    m::softmax_backward(dx, y, dy, r, c, acc)
                }
            }
            fn log_softmax_forward(y: &mut [Self], x: &[Self], r: usize, c: usize) {
                {
                    use $sm as m;
                    m::log_softmax_forward(y, x, r, c)
                }
            }
            fn log_softmax_backward(
                dx: &mut [Self],
                y: &[Self],
                dy: &[Self],
                r: usize,
                c: usize,
                acc: bool,
            ) {
                {
                    use $sm as m;
                    m::log_softmax_backward(dx, y, dy, r, c, acc)
                }
            }
            fn sce_forward(
                loss: &mut [Self],
                p: &mut [Self],
                x: &[Self],
                t: &[Self],
                r: usize,
                c: usize,
            ) {
                {
                    use $sm as m;
                    m::softmax_cross_entropy_forward(loss, p, x, t, r, c)
                }
            }
            fn sce_backward(
                dx: &mut [Self],
                p: &[Self],
                t: &[Self],
                dl: &[Self],
                r: usize,
                c: usize,
                acc: bool,
            ) {
                {
                    use $sm as m;
                    m::softmax_cross_entropy_backward(dx, p, t, dl, r, c, acc)
                }
            }
            fn regression_forward(k: RegressionLoss, out: &mut [Self], p: &[Self], t: &[Self]) {
                {
                    use $ls as m;
                    m::regression_loss_forward(k, out, p, t)
                }
            }
            fn regression_backward(
                k: RegressionLoss,
                dp: &mut [Self],
                p: &[Self],
                t: &[Self],
                dy: &[Self],
                acc: bool,
            ) {
                {
                    use $ls as m;
                    m::regression_loss_backward(k, dp, p, t, dy, acc)
                }
            }
            fn bce_forward(out: &mut [Self], x: &[Self], t: &[Self]) {
                {
                    use $ls as m;
                    m::bce_with_logits_forward(out, x, t)
                }
            }
            fn bce_backward(dx: &mut [Self], x: &[Self], t: &[Self], dy: &[Self], acc: bool) {
                {
                    use $ls as m;
                    m::bce_with_logits_backward(dx, x, t, dy, acc)
                }
            }
            fn dropout_forward(
                y: &mut [Self],
                mk: &mut [Self],
                x: &[Self],
                p: f32,
                seed: u64,
                off: u64,
            ) {
                {
                    use $dr as m;
                    m::dropout_forward(y, mk, x, p, seed, off)
                }
            }
            fn dropout_backward(dx: &mut [Self], mk: &[Self], dy: &[Self], acc: bool) {
                {
                    use $dr as m;
                    m::dropout_backward(dx, mk, dy, acc)
                }
            }
            fn bn_train(
                y: &mut [Self],
                mean: &mut [Self],
                var: &mut [Self],
                x: &[Self],
                g: &[Self],
                b: &[Self],
                r: usize,
                c: usize,
                eps: f32,
            ) {
                {
                    use $bn as m;
                    m::batchnorm_forward_train(y, mean, var, x, g, b, r, c, eps)
                }
            }
            fn bn_eval(
                y: &mut [Self],
                x: &[Self],
                g: &[Self],
                b: &[Self],
                rm: &[Self],
                rv: &[Self],
                r: usize,
                c: usize,
                eps: f32,
            ) {
                {
                    use $bn as m;
                    m::batchnorm_forward_eval(y, x, g, b, rm, rv, r, c, eps)
                }
            }
            fn bn_backward(
                dx: Grad<Self>,
                dg: Grad<Self>,
                db: Grad<Self>,
                x: &[Self],
                mean: &[Self],
                var: &[Self],
                g: &[Self],
                dy: &[Self],
                r: usize,
                c: usize,
                eps: f32,
            ) {
                {
                    use $bn as m;
                    m::batchnorm_backward(dx, dg, db, x, mean, var, g, dy, r, c, eps)
                }
            }
            fn sgd(p: &mut [Self], g: &[Self], v: &mut [Self], hp: SgdParams) {
                {
                    use $op as m;
                    m::sgd_step(p, g, v, hp)
                }
            }
            fn adam(p: &mut [Self], g: &[Self], mo: &mut [Self], v: &mut [Self], hp: AdamParams) {
                {
                    use $op as m;
                    m::adam_step(p, g, mo, v, hp)
                }
            }
            fn rmsprop(
                p: &mut [Self],
                g: &[Self],
                s: &mut [Self],
                b: &mut [Self],
                hp: RmspropParams,
            ) {
                {
                    use $op as m;
                    m::rmsprop_step(p, g, s, b, hp)
                }
            }
            fn sum_squares(x: &[Self]) -> f64 {
                {
                    use $op as m;
                    m::sum_squares(x)
                }
            }
        }
    };
}

elem_impl!(
    f32,
    F32,
    act,
    ew,
    rd,
    sm,
    ls,
    dr,
    bn,
    op,
    mm::matmul_forward
);
elem_impl!(
    f64,
    F64,
    act::reference,
    ew::reference,
    rd::reference,
    sm::reference,
    ls::reference,
    dr::reference,
    bn::reference,
    op::reference,
    mm::reference::matmul_forward
);
