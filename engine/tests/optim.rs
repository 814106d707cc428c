//! Optimizer updates against closed-form values of PyTorch's documented algorithms, and
//! clipping by global norm. (Adam and AdamW are also covered step by step by the golden test.)

use neurite_engine::{
    DType, Device, Optimizer, OptimizerSpec, ParamBuilder, Tensor, clip_grad_norm,
};

fn run(spec: OptimizerSpec, p0: f64, grads: &[f64]) -> f64 {
    let mut pb = ParamBuilder::new();
    pb.add("w", [1], vec![p0]).unwrap();
    let mut params = pb.build(DType::F64, Device::Cpu).unwrap();
    let mut opt = Optimizer::new(spec, &params).unwrap();
    for &g in grads {
        let gt = Tensor::from_vec_f64(vec![g], [1]).unwrap();
        opt.step(&mut params, &gt).unwrap();
    }
    params.flat().as_f64_slice().unwrap()[0]
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-6 * (1.0 + b.abs()), "{a} vs {b}");
}

#[test]
fn sgd_plain_momentum_nesterov_and_weight_decay() {
    let lr = 0.1f32;
    close(
        run(
            OptimizerSpec::Sgd {
                lr,
                momentum: 0.0,
                nesterov: false,
                weight_decay: 0.0,
            },
            1.0,
            &[0.5, 0.5],
        ),
        1.0 - 0.1,
    );
    // momentum 0.9: v1 = 0.5, p1 = 1 − 0.05; v2 = 0.9·0.5 + 0.5 = 0.95, p2 = p1 − 0.095
    close(
        run(
            OptimizerSpec::Sgd {
                lr,
                momentum: 0.9,
                nesterov: false,
                weight_decay: 0.0,
            },
            1.0,
            &[0.5, 0.5],
        ),
        1.0 - 0.05 - 0.095,
    );
    // nesterov: step uses g + μ·v: step1 0.5 + 0.45 = 0.95; v2 = 0.95, step2 0.5 + 0.855 = 1.355
    close(
        run(
            OptimizerSpec::Sgd {
                lr,
                momentum: 0.9,
                nesterov: true,
                weight_decay: 0.0,
            },
            1.0,
            &[0.5, 0.5],
        ),
        1.0 - 0.095 - 0.1355,
    );
    // L2 weight decay adds wd·p to the gradient: g = 0.5 + 0.1·2 = 0.7
    close(
        run(
            OptimizerSpec::Sgd {
                lr,
                momentum: 0.0,
                nesterov: false,
                weight_decay: 0.1,
            },
            2.0,
            &[0.5],
        ),
        2.0 - 0.07,
    );
}

#[test]
fn adam_first_step_is_lr_times_sign() {
    // With bias correction the first Adam step is lr·g/(|g| + eps) ≈ lr·sign(g).
    let p = run(OptimizerSpec::adam(0.01), 1.0, &[3.0]);
    close(p, 1.0 - 0.01 * 3.0 / (3.0 + 1e-8));
    let p = run(
        OptimizerSpec::AdamW {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.5,
        },
        1.0,
        &[3.0],
    );
    close(p, 1.0 - 0.01 * 0.5 - 0.01 * 3.0 / (3.0 + 1e-8));
}

#[test]
fn rmsprop_steps() {
    let (lr, a, eps) = (0.01f64, 0.99f64, 1e-8f64);
    // s1 = 0.01·g², p1 = p0 − lr·g/(√s1 + eps)
    let g = 2.0;
    let s1 = (1.0 - a) * g * g;
    let p1 = 1.0 - lr * g / (s1.sqrt() + eps);
    let s2 = a * s1 + (1.0 - a) * g * g;
    let p2 = p1 - lr * g / (s2.sqrt() + eps);
    close(
        run(
            OptimizerSpec::RmsProp {
                lr: 0.01,
                alpha: 0.99,
                eps: 1e-8,
                momentum: 0.0,
                weight_decay: 0.0,
            },
            1.0,
            &[g, g],
        ),
        p2,
    );
    // with momentum 0.5: b1 = u1, b2 = 0.5·u1 + u2
    let (u1, u2) = (g / (s1.sqrt() + eps), g / (s2.sqrt() + eps));
    close(
        run(
            OptimizerSpec::RmsProp {
                lr: 0.01,
                alpha: 0.99,
                eps: 1e-8,
                momentum: 0.5,
                weight_decay: 0.0,
            },
            1.0,
            &[g, g],
        ),
        1.0 - lr * u1 - lr * (0.5 * u1 + u2),
    );
}

#[test]
fn clip_by_global_norm() {
    let mut g = Tensor::from_vec(vec![3.0, 4.0], [2]).unwrap();
    let n = clip_grad_norm(&mut g, 1.0).unwrap();
    assert!((n - 5.0).abs() < 1e-6);
    let v = g.to_vec_f32().unwrap();
    assert!(
        (v[0] - 0.6).abs() < 1e-5 && (v[1] - 0.8).abs() < 1e-5,
        "{v:?}"
    );
    let mut g = Tensor::from_vec(vec![0.3, 0.4], [2]).unwrap();
    clip_grad_norm(&mut g, 1.0).unwrap();
    assert_eq!(g.to_vec_f32().unwrap(), vec![0.3, 0.4]);
}

#[test]
fn invalid_hyperparameters_are_errors() {
    let pb = ParamBuilder::new().build(DType::F32, Device::Cpu).unwrap();
    assert!(Optimizer::new(OptimizerSpec::adam(-1.0), &pb).is_err());
    assert!(
        Optimizer::new(
            OptimizerSpec::Adam {
                lr: 0.1,
                beta1: 1.0,
                beta2: 0.9,
                eps: 1e-8,
                weight_decay: 0.0
            },
            &pb
        )
        .is_err()
    );
    assert!(
        Optimizer::new(
            OptimizerSpec::Sgd {
                lr: 0.1,
                momentum: 0.0,
                nesterov: true,
                weight_decay: 0.0
            },
            &pb
        )
        .is_err()
    );
}
