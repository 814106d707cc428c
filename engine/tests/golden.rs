//! Golden test: two tiny MLPs trained for 5 steps must match an independent numpy
//! implementation (`golden/make_golden.py` → `golden/golden.json`) in loss, gradients and
//! parameters after every step: to 1e-5 in f32; in f64 the first loss and gradients to 1e-10
//! and everything after an update to 1e-7 (the optimizer's hyperparameters are f32).

use std::collections::HashMap;

use neurite_engine::backend;
use neurite_engine::nn::{ActivationSpec, BiasInit, Init, LayerSpec, Mlp, MlpSpec};
use neurite_engine::{DType, Device, Loss, Optimizer, OptimizerSpec, Tape, Tensor};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Arr {
    shape: Vec<usize>,
    data: Vec<f64>,
}

#[derive(Deserialize)]
struct Layer {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    out: usize,
}

#[derive(Deserialize)]
struct Opt {
    #[serde(rename = "type")]
    kind: String,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
}

#[derive(Deserialize)]
struct Step {
    loss: f64,
    grads: HashMap<String, Arr>,
    params_after: HashMap<String, Arr>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    layers: Vec<Layer>,
    loss: String,
    optimizer: Opt,
    x: Arr,
    y: Arr,
    params_init: HashMap<String, Arr>,
    steps: Vec<Step>,
}

fn fixture() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/golden.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: got {g}, want {w} (tol {tol})"
        );
    }
}

/// `tol0` bounds the first step's loss and gradients (before any update); `tol` everything
/// else. Optimizer hyperparameters are f32 by design, so in an f64 run every update carries the
/// f32 rounding of `lr` (~1e-8 relative) and later steps inherit it.
fn run_case(case: &Case, dtype: DType, tol0: f64, tol: f64) {
    let layers = case
        .layers
        .iter()
        .map(|l| match l.kind.as_str() {
            "linear" => LayerSpec::Linear {
                units: l.out,
                bias: true,
                init: Init::Auto,
                bias_init: BiasInit::Zeros,
            },
            act => LayerSpec::Activation {
                activation: ActivationSpec::parse(act).unwrap(),
            },
        })
        .collect();
    let spec = MlpSpec {
        input_dim: case.x.shape[1],
        layers,
    };
    let mut model = Mlp::new(spec, 0, dtype, Device::Cpu).unwrap();
    for (name, arr) in &case.params_init {
        let id = model
            .params
            .find(name)
            .unwrap_or_else(|| panic!("no parameter {name}"));
        assert_eq!(model.params.spec(id).shape.dims(), arr.shape.as_slice());
        let v: Vec<f32> = arr.data.iter().map(|&x| x as f32).collect();
        model.params.set_f32(id, &v).unwrap();
        if dtype == DType::F64 {
            // set_f32 rounds through f32; write the exact doubles for the f64 run.
            let r = model.params.spec(id).range();
            model.params.flat_mut().as_f64_slice_mut().unwrap()[r].copy_from_slice(&arr.data);
        }
    }
    let o = &case.optimizer;
    let ospec = match o.kind.as_str() {
        "adam" => OptimizerSpec::Adam {
            lr: o.lr,
            beta1: o.beta1,
            beta2: o.beta2,
            eps: o.eps,
            weight_decay: o.weight_decay,
        },
        "adamw" => OptimizerSpec::AdamW {
            lr: o.lr,
            beta1: o.beta1,
            beta2: o.beta2,
            eps: o.eps,
            weight_decay: o.weight_decay,
        },
        other => panic!("optimizer {other}"),
    };
    let loss_fn = match case.loss.as_str() {
        "softmax_cross_entropy" => Loss::CrossEntropy,
        "mse" => Loss::Mse,
        other => panic!("loss {other}"),
    };
    let mut opt = Optimizer::new(ospec, &model.params).unwrap();
    let mut grads = model.params.zeros_like().unwrap();
    let mut tape = Tape::new();
    let xs: Vec<f32> = case.x.data.iter().map(|&v| v as f32).collect();
    let ys: Vec<f32> = case.y.data.iter().map(|&v| v as f32).collect();
    for (k, step) in case.steps.iter().enumerate() {
        let loss_val;
        {
            let Mlp {
                arch,
                params,
                buffers,
            } = &mut model;
            let mut g = tape.graph(params, true, 0);
            // Inputs in the run's own precision (f64 inputs must not round through f32).
            let (x, y) = if dtype == DType::F64 {
                let xt =
                    Tensor::from_vec_f64(case.x.data.clone(), case.x.shape.as_slice()).unwrap();
                let yt =
                    Tensor::from_vec_f64(case.y.data.clone(), case.y.shape.as_slice()).unwrap();
                (g.input(&xt).unwrap(), g.input(&yt).unwrap())
            } else {
                (
                    g.input_from_slice(&xs, case.x.shape.as_slice()).unwrap(),
                    g.input_from_slice(&ys, case.y.shape.as_slice()).unwrap(),
                )
            };
            let out = arch.forward(&mut g, x, buffers).unwrap();
            let loss = loss_fn.forward(&mut g, out, y, None).unwrap();
            loss_val = g.to_vec_f64(loss).unwrap()[0];
            backend::fill(grads.view_mut(), 0.0).unwrap();
            g.backward(loss, &mut grads).unwrap();
        }
        let what = format!("{} {:?} step {k}", case.name, dtype);
        let tol_lg = if k == 0 { tol0 } else { tol };
        close(&format!("{what} loss"), &[loss_val], &[step.loss], tol_lg);
        let gh = grads.to_vec_f64().unwrap();
        for (name, arr) in &step.grads {
            let r = model.params.spec(model.params.find(name).unwrap()).range();
            close(&format!("{what} grad {name}"), &gh[r], &arr.data, tol_lg);
        }
        opt.step(&mut model.params, &grads).unwrap();
        let ph = model.params.flat().to_vec_f64().unwrap();
        for (name, arr) in &step.params_after {
            let r = model.params.spec(model.params.find(name).unwrap()).range();
            close(&format!("{what} param {name}"), &ph[r], &arr.data, tol);
        }
    }
}

#[test]
fn golden_mlp_f32_matches_numpy_to_1e5() {
    for case in &fixture().cases {
        run_case(case, DType::F32, 1e-5, 1e-5);
    }
}

#[test]
fn golden_mlp_f64_matches_numpy_tightly() {
    for case in &fixture().cases {
        run_case(case, DType::F64, 1e-10, 1e-7);
    }
}
