//! Every backward rule checked against central finite differences in f64, over random shapes
//! (proptest). Inputs are drawn away from kinks (ReLU at 0, |x| at 0, Huber at ±δ, ties in max)
//! where a derivative is undefined.

use neurite_engine::autograd::gradcheck::gradcheck;
use neurite_engine::{Activation, DType, Device, Graph, Loss, ParamBuilder, Result, Var};
use neurite_kernels::cpu::elementwise::{BinaryOp, UnaryOp};
use neurite_kernels::rng::Rng;
use proptest::prelude::*;

#[derive(Clone, Copy)]
enum Dist {
    /// N(0,1) with |x| ≥ 0.1 (away from kinks at 0)
    AwayFromZero,
    /// in [0.5, 2]
    Positive,
    /// in [0.05, 0.95]
    Unit,
    /// class indices 0..k as floats
    Classes(usize),
}

fn draw(rng: &mut Rng, d: Dist, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| match d {
            Dist::AwayFromZero => {
                let v = rng.normal();
                if v.abs() < 0.1 {
                    0.1f64.copysign(v) + v
                } else {
                    v
                }
            }
            Dist::Positive => 0.5 + 1.5 * rng.next_f64(),
            Dist::Unit => 0.05 + 0.9 * rng.next_f64(),
            Dist::Classes(k) => rng.below(k as u64) as f64,
        })
        .collect()
}

/// Params (differentiated), constants, and `f` building a value; the checked scalar is
/// `Σ c ⊙ f(...)` with fixed random `c`.
fn check(
    seed: u64,
    params: &[(&[usize], Dist)],
    consts: &[(&[usize], Dist)],
    f: impl Fn(&mut Graph, &[Var], &[Var]) -> Result<Var>,
) {
    let mut rng = Rng::new(seed);
    let mut pb = ParamBuilder::new();
    let mut ids = Vec::new();
    for (i, (shape, d)) in params.iter().enumerate() {
        let n = shape.iter().product();
        ids.push(
            pb.add(format!("p{i}"), *shape, draw(&mut rng, *d, n))
                .unwrap(),
        );
    }
    let mut store = pb.build(DType::F64, Device::Cpu).unwrap();
    let cvals: Vec<(Vec<usize>, Vec<f32>)> = consts
        .iter()
        .map(|(s, d)| {
            (
                s.to_vec(),
                draw(&mut rng, *d, s.iter().product())
                    .into_iter()
                    .map(|v| v as f32)
                    .collect(),
            )
        })
        .collect();
    let wseed = rng.next_u64();
    let report = gradcheck(
        &mut store,
        |g| {
            let ps: Vec<Var> = ids.iter().map(|&id| g.param(id)).collect();
            let cs: Vec<Var> = cvals
                .iter()
                .map(|(s, v)| g.input_from_slice(v, s.as_slice()))
                .collect::<Result<_>>()?;
            let out = f(g, &ps, &cs)?;
            let shape = g.shape(out);
            let mut wr = Rng::new(wseed);
            let w: Vec<f32> = (0..shape.numel())
                .map(|_| (wr.normal() as f32) + 0.5)
                .collect();
            let wv = g.input_from_slice(&w, shape)?;
            let prod = g.mul(out, wv)?;
            g.sum_all(prod)
        },
        1e-6,
        1e-6,
        1e-5,
    )
    .unwrap();
    assert!(report.checked > 0);
    assert!(report.passed(), "gradient check failed: {report:?}");
}

fn dims() -> impl Strategy<Value = (usize, usize, usize)> {
    (1usize..5, 1usize..5, 1usize..5)
}

const ACTS: [Activation; 7] = [
    Activation::Identity,
    Activation::Relu,
    Activation::LeakyRelu(0.1),
    Activation::Elu(1.0),
    Activation::Gelu,
    Activation::Sigmoid,
    Activation::Tanh,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn matmul_all_transposes((m, k, n) in dims(), ta: bool, tb: bool, seed: u64) {
        let sa: Vec<usize> = if ta { vec![k, m] } else { vec![m, k] };
        let sb: Vec<usize> = if tb { vec![n, k] } else { vec![k, n] };
        check(seed, &[(&sa, Dist::AwayFromZero), (&sb, Dist::AwayFromZero)], &[], |g, p, _| g.matmul_t(p[0], p[1], ta, tb));
    }

    #[test]
    fn linear_with_each_activation((b, i, o) in dims(), ai in 0usize..7, bias: bool, seed: u64) {
        let act = ACTS[ai];
        // Bias small and inputs away from zero keep ReLU-family pre-activations off the kink
        // with high probability; kinks are avoided by construction in the activation test.
        let (sx, sw, sb) = ([b, i], [o, i], [o]);
        let shapes: Vec<(&[usize], Dist)> = vec![(&sx[..], Dist::Positive), (&sw[..], Dist::Positive), (&sb[..], Dist::Positive)];
        let n = if bias { 3 } else { 2 };
        check(seed, &shapes[..n], &[], |g, p, _| g.linear(p[0], p[1], p.get(2).copied(), act));
    }

    #[test]
    fn activations((r, c, _) in dims(), ai in 0usize..7, seed: u64) {
        let act = ACTS[ai];
        check(seed, &[(&[r, c], Dist::AwayFromZero)], &[], |g, p, _| g.activation(p[0], act));
    }

    #[test]
    fn unary_ops((r, c, _) in dims(), oi in 0usize..8, seed: u64) {
        let ops = [UnaryOp::Neg, UnaryOp::Exp, UnaryOp::Log, UnaryOp::Sqrt, UnaryOp::Scale(-1.7), UnaryOp::AddScalar(0.3), UnaryOp::Abs, UnaryOp::Square];
        let op = ops[oi];
        let d = if matches!(op, UnaryOp::Log | UnaryOp::Sqrt) { Dist::Positive } else { Dist::AwayFromZero };
        check(seed, &[(&[r, c], d)], &[], |g, p, _| g.unary(p[0], op));
    }

    #[test]
    fn binary_ops_with_broadcast((r, c, _) in dims(), oi in 0usize..4, bi in 0usize..4, same: bool, seed: u64) {
        let op = [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div][oi];
        let sb: Vec<usize> = match bi { 0 => vec![r, c], 1 => vec![c], 2 => vec![r, 1], _ => vec![1] };
        let db = if op == BinaryOp::Div { Dist::Positive } else { Dist::AwayFromZero };
        if same {
            // a ∘ a: both gradients land in one buffer.
            check(seed, &[(&[r, c], Dist::Positive)], &[], |g, p, _| g.binary(p[0], p[0], op));
        } else {
            check(seed, &[(&[r, c], Dist::AwayFromZero), (&sb, db)], &[], |g, p, _| g.binary(p[0], p[1], op));
        }
    }

    #[test]
    fn reductions((a, b, c) in dims(), axis in 0usize..3, mean: bool, seed: u64) {
        check(seed, &[(&[a, b, c], Dist::AwayFromZero)], &[], |g, p, _| match (axis, mean) {
            (2, true) => g.mean_all(p[0]),
            (2, false) => g.sum_all(p[0]),
            (ax, true) => g.mean_axis(p[0], ax),
            (ax, false) => g.sum_axis(p[0], ax),
        });
    }

    #[test]
    fn max_per_axis((a, b, c) in dims(), axis in 0usize..3, seed: u64) {
        // Normal draws are distinct with probability 1, so the argmax is unique.
        check(seed, &[(&[a, b, c], Dist::AwayFromZero)], &[], |g, p, _| g.max_axis(p[0], axis));
    }

    #[test]
    fn reshape_and_transpose((r, c, _) in dims(), seed: u64) {
        check(seed, &[(&[r, c], Dist::AwayFromZero)], &[], |g, p, _| {
            let t = g.transpose(p[0])?;
            let s = g.reshape(t, [r * c])?;
            let s2 = g.reshape(s, [c, r])?;
            // use p[0] twice so a gradient accumulates
            let t2 = g.transpose(p[0])?;
            g.add(s2, t2)
        });
    }

    #[test]
    fn softmax_and_log_softmax((r, c, _) in dims(), log: bool, seed: u64) {
        check(seed, &[(&[r, c], Dist::AwayFromZero)], &[], |g, p, _| if log { g.log_softmax(p[0]) } else { g.softmax(p[0]) });
    }

    #[test]
    fn dropout_fixed_mask((r, c, _) in dims(), seed: u64) {
        check(seed, &[(&[r, c], Dist::AwayFromZero)], &[], |g, p, _| g.dropout(p[0], 0.4));
    }

    #[test]
    fn batch_norm_train((r, c, _) in dims(), seed: u64) {
        let r = r + 1; // at least 2 rows
        check(seed, &[(&[r, c], Dist::AwayFromZero), (&[c], Dist::Positive), (&[c], Dist::AwayFromZero)], &[], |g, p, _| {
            Ok(g.batch_norm(p[0], p[1], p[2], 1e-5)?.0)
        });
    }

    #[test]
    fn softmax_cross_entropy((r, c, _) in dims(), seed: u64) {
        check(seed, &[(&[r, c], Dist::AwayFromZero)], &[(&[r], Dist::Classes(c))], |g, p, k| g.softmax_cross_entropy(p[0], k[0]));
    }

    #[test]
    fn bce_with_logits((r, c, _) in dims(), seed: u64) {
        check(seed, &[(&[r, c], Dist::AwayFromZero)], &[(&[r, c], Dist::Unit)], |g, p, k| g.bce_with_logits(p[0], k[0]));
    }

    #[test]
    fn regression_losses((r, c, _) in dims(), li in 0usize..3, seed: u64) {
        // pred − target = AwayFromZero + 0 keeps MAE off 0; Huber δ=0.05 keeps |d| ≥ 0.1 > δ
        // off the joint, and δ=5 puts every |d| on the quadratic side.
        let kind = [Loss::Mse, Loss::Mae, Loss::Huber { delta: 0.05 }][li];
        check(seed, &[(&[r, c], Dist::AwayFromZero)], &[], |g, p, _| {
            let zeros = g.input_from_slice(&vec![0.0; r * c], [r, c])?;
            let per = match kind {
                Loss::Mse => g.regression_loss(p[0], zeros, neurite_kernels::cpu::loss::RegressionLoss::Mse)?,
                Loss::Mae => g.regression_loss(p[0], zeros, neurite_kernels::cpu::loss::RegressionLoss::Mae)?,
                _ => g.regression_loss(p[0], zeros, neurite_kernels::cpu::loss::RegressionLoss::Huber(0.05))?,
            };
            Ok(per)
        });
    }

    #[test]
    fn class_weighted_cross_entropy((r, c, _) in dims(), with_samples: bool, seed: u64) {
        let c = c + 1;
        check(seed, &[(&[r, c], Dist::AwayFromZero), (&[r], Dist::Positive)], &[(&[r], Dist::Classes(c)), (&[c], Dist::Positive)], |g, p, k| {
            Loss::CrossEntropy.forward_weighted(g, p[0], k[0], Some(k[1]), with_samples.then_some(p[1]))
        });
    }

    #[test]
    fn weighted_losses((r, c, _) in dims(), li in 0usize..5, seed: u64) {
        let loss = [Loss::Mse, Loss::Mae, Loss::Huber { delta: 5.0 }, Loss::CrossEntropy, Loss::BinaryCrossEntropy][li];
        let target: (Vec<usize>, Dist) = match loss {
            Loss::CrossEntropy => (vec![r], Dist::Classes(c)),
            Loss::BinaryCrossEntropy => (vec![r, c], Dist::Unit),
            _ => (vec![r, c], Dist::Unit),
        };
        // Regression targets in (0, 1) and predictions |x| ≥ 0.1 can coincide only on a
        // measure-zero set; MAE's kink is avoided with probability 1.
        check(seed, &[(&[r, c], Dist::AwayFromZero), (&[r], Dist::Positive)], &[(&target.0, target.1)], |g, p, k| {
            loss.forward(g, p[0], k[0], Some(p[1]))
        });
    }
}
