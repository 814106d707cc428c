//! GPU tests: every backend function on `Device::Cuda(0)` against the CPU path, on awkward
//! sizes, and a short MLP training run on the GPU against the same run on the CPU.
//!
//! Without a usable device every test prints "skipped: no CUDA device (<reason>)" and passes,
//! so this file runs (and is cheap) on CPU-only CI. On a GPU machine:
//! `cargo test -p neurite-engine --features cuda --test cuda -- --nocapture`.
#![cfg(feature = "cuda")]

use neurite_engine::backend::{self, Mat};
use neurite_engine::nn::{ActivationSpec, BiasInit, Init, LayerSpec, Mlp, MlpSpec};
use neurite_engine::{
    Activation, DType, Device, DeviceRequest, Error, Loss, Optimizer, OptimizerSpec, Tape, Tensor,
};
use neurite_kernels::cpu::elementwise::{BinaryOp, Broadcast, UnaryOp};
use neurite_kernels::cpu::loss::RegressionLoss;
use neurite_kernels::cpu::optim::{AdamParams, RmspropParams, SgdParams};
use neurite_kernels::rng::Rng;

/// The CUDA device, or `None` after printing why the test is skipped.
///
/// `NEURITE_CUDA_TEST_ON_CPU=1` runs the comparisons with the CPU standing in for the GPU: a
/// dry run of this harness (shapes, indexing, and tolerances against real f32 rounding) on
/// machines without a GPU. It proves nothing about the CUDA kernels.
fn device() -> Option<Device> {
    if std::env::var("NEURITE_CUDA_TEST_ON_CPU").is_ok_and(|v| v == "1") {
        return Some(Device::Cpu);
    }
    match backend::cuda::ensure_available(0) {
        Ok(()) => Some(Device::Cuda(0)),
        Err(e) => {
            println!("skipped: no CUDA device ({e})");
            None
        }
    }
}

fn randn(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| r.normal() as f32 * scale).collect()
}

fn uniform(seed: u64, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n)
        .map(|_| lo + (hi - lo) * r.next_f64() as f32)
        .collect()
}

fn classes(seed: u64, n: usize, k: usize) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| r.below(k as u64) as f32).collect()
}

/// Run `f` on CPU f32 tensors and on copies of them on `dev`; return the outputs of both runs.
/// Outputs start as copies of `outs` (so accumulate flags see the same initial values).
fn run_both(
    dev: Device,
    ins: &[&[f32]],
    outs: &[&[f32]],
    f: impl Fn(&[Tensor], &mut [Tensor]) -> Result<(), Error>,
) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    run_with(DType::F32, dev, ins, outs, f)
}

/// As [`run_both`], with the CPU side in f64 (the same reference code, generic over the
/// element type): for reductions, whose f32 CPU result carries more rounding error (sequential
/// sums) than the GPU's tree sums, so a comparison with it would test the CPU.
fn run_f64(
    dev: Device,
    ins: &[&[f32]],
    outs: &[&[f32]],
    f: impl Fn(&[Tensor], &mut [Tensor]) -> Result<(), Error>,
) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    run_with(DType::F64, dev, ins, outs, f)
}

fn run_with(
    cpu_dtype: DType,
    dev: Device,
    ins: &[&[f32]],
    outs: &[&[f32]],
    f: impl Fn(&[Tensor], &mut [Tensor]) -> Result<(), Error>,
) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let mk = |d: &[f32], dev: Device| match (dev, cpu_dtype) {
        (Device::Cpu, DType::F64) => {
            Tensor::from_vec_f64(d.iter().map(|&v| v as f64).collect(), d.len()).unwrap()
        }
        _ => Tensor::from_slice(d, d.len(), dev).unwrap(),
    };
    let run = |dev: Device| {
        let i: Vec<Tensor> = ins.iter().map(|d| mk(d, dev)).collect();
        let mut o: Vec<Tensor> = outs.iter().map(|d| mk(d, dev)).collect();
        f(&i, &mut o).unwrap_or_else(|e| panic!("on {dev}: {e}"));
        o.iter()
            .map(|t| t.to_vec_f32().unwrap())
            .collect::<Vec<_>>()
    };
    (run(Device::Cpu), run(dev))
}

/// `|gpu − cpu| ≤ atol + rtol·|cpu|` element by element (NaN must match NaN).
fn assert_close(what: &str, gpu: &[f32], cpu: &[f32], atol: f32, rtol: f32) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths differ");
    let mut bad = Vec::new();
    for (i, (&g, &c)) in gpu.iter().zip(cpu).enumerate() {
        let ok = if c.is_nan() {
            g.is_nan()
        } else {
            (g - c).abs() <= atol + rtol * c.abs()
        };
        if !ok {
            bad.push((i, g, c));
        }
    }
    if !bad.is_empty() {
        let show: Vec<String> = bad
            .iter()
            .take(8)
            .map(|(i, g, c)| format!("[{i}] gpu {g} cpu {c}"))
            .collect();
        panic!(
            "{what}: {} of {} elements differ (atol {atol}, rtol {rtol}): {}",
            bad.len(),
            cpu.len(),
            show.join(", ")
        );
    }
}

fn check_all(what: &str, (cpu, gpu): (Vec<Vec<f32>>, Vec<Vec<f32>>), atol: f32, rtol: f32) {
    for (k, (g, c)) in gpu.iter().zip(&cpu).enumerate() {
        assert_close(&format!("{what} (output {k})"), g, c, atol, rtol);
    }
}

fn pair_mut(o: &mut [Tensor]) -> (&mut Tensor, &mut Tensor) {
    let (a, b) = o.split_at_mut(1);
    (&mut a[0], &mut b[0])
}

fn triple_mut(o: &mut [Tensor]) -> (&mut Tensor, &mut Tensor, &mut Tensor) {
    let (a, rest) = o.split_at_mut(1);
    let (b, c) = rest.split_at_mut(1);
    (&mut a[0], &mut b[0], &mut c[0])
}

const LENS: [usize; 5] = [1, 31, 257, 4099, 100_003];
const SHAPES: [(usize, usize); 6] = [(1, 1), (3, 7), (33, 65), (128, 10), (257, 1031), (2, 5000)];

const ACTS: [Activation; 7] = [
    Activation::Identity,
    Activation::Relu,
    Activation::LeakyRelu(0.01),
    Activation::Elu(1.0),
    Activation::Gelu,
    Activation::Sigmoid,
    Activation::Tanh,
];

#[test]
fn unavailable_cuda_fails_cleanly() {
    // Runs everywhere: with no device, `cuda` errors with a reason and `auto` falls back.
    match backend::cuda::ensure_available(0) {
        Ok(()) => {
            assert_eq!(DeviceRequest::Auto.resolve().unwrap(), Device::Cuda(0));
            println!("CUDA available: nothing to check for the unavailable path");
        }
        Err(e) => {
            let msg = e.to_string();
            println!("CUDA unavailable as expected here: {msg}");
            assert!(matches!(e, Error::CudaUnavailable(_)), "{e:?}");
            assert!(DeviceRequest::Cuda(0).resolve().is_err());
            assert_eq!(DeviceRequest::Auto.resolve().unwrap(), Device::Cpu);
            assert!(Tensor::zeros(4, DType::F32, Device::Cuda(0)).is_err());
            assert!(Tensor::from_slice(&[1.0], 1, Device::Cuda(0)).is_err());
            let diag = backend::cuda::diagnose();
            assert!(diag.iter().any(|(k, _)| k == "cuda"), "{diag:?}");
        }
    }
    // A bad ordinal is always an error, never a panic.
    assert!(backend::cuda::ensure_available(1 << 20).is_err());
}

#[test]
fn doctor_lines() {
    let Some(Device::Cuda(_)) = device() else {
        return;
    };
    let diag = backend::cuda::diagnose();
    for (k, v) in &diag {
        println!("{k}: {v}");
    }
    assert!(
        diag.iter()
            .any(|(k, v)| k == "cuda" && v.starts_with("available"))
    );
}

#[test]
fn storage_round_trip_and_views() {
    let Some(dev @ Device::Cuda(_)) = device() else {
        return;
    };
    for n in [0usize, 1, 5, 1000] {
        let v = randn(n as u64, n, 1.0);
        let t = Tensor::from_slice(&v, n, dev).unwrap();
        assert_eq!(t.device(), dev);
        assert_eq!(t.to_vec_f32().unwrap(), v);
        let c = t.clone();
        assert_eq!(c.to_vec_f32().unwrap(), v);
        let z = Tensor::zeros(n, DType::F32, dev).unwrap();
        assert!(z.to_vec_f32().unwrap().iter().all(|&x| x == 0.0));
    }
    // Windows: write into the middle of a buffer, read a window back.
    let mut t = Tensor::zeros(10, DType::F32, dev).unwrap();
    match t.storage_mut().slice_mut(3..6) {
        neurite_engine::SliceMut::Cuda(mut c) => c.copy_from_host(&[1.0, 2.0, 3.0]).unwrap(),
        _ => unreachable!(),
    }
    let back = backend::to_host_f64(t.storage().slice(2..7)).unwrap();
    assert_eq!(back, vec![0.0, 1.0, 2.0, 3.0, 0.0]);
    // Mismatched lengths and devices are typed errors.
    let small = Tensor::zeros(3, DType::F32, dev).unwrap();
    assert!(backend::copy(t.view_mut(), small.view()).is_err());
    let cpu = Tensor::zeros(10, DType::F32, Device::Cpu).unwrap();
    assert!(backend::copy(t.view_mut(), cpu.view()).is_err());
}

#[test]
fn copy_fill_axpby_scal_transpose_gather() {
    let Some(dev) = device() else { return };
    for &n in &LENS {
        let x = randn(1, n, 1.0);
        let y = randn(2, n, 1.0);
        let r = run_both(dev, &[&x], &[&y], |i, o| {
            backend::copy(o[0].view_mut(), i[0].view())
        });
        check_all("copy", r, 0.0, 0.0);
        let r = run_both(dev, &[], &[&y], |_, o| backend::fill(o[0].view_mut(), -2.5));
        check_all("fill", r, 0.0, 0.0);
        let r = run_both(dev, &[&x], &[&y], |i, o| {
            backend::axpby(o[0].view_mut(), 0.7, i[0].view(), -1.3)
        });
        check_all("axpby", r, 1e-6, 1e-6);
        let r = run_both(dev, &[], &[&y], |_, o| backend::scal(o[0].view_mut(), 0.3));
        check_all("scal", r, 0.0, 1e-7);
    }
    for &(rows, cols) in &SHAPES {
        let x = randn(3, rows * cols, 1.0);
        let out = vec![0.0; rows * cols];
        let r = run_both(dev, &[&x], &[&out], |i, o| {
            backend::transpose(o[0].view_mut(), i[0].view(), rows, cols)
        });
        check_all(&format!("transpose {rows}x{cols}"), r, 0.0, 0.0);
        let idx = classes(4, 2 * rows + 1, rows);
        let out = vec![0.0; idx.len() * cols];
        let r = run_both(dev, &[&x, &idx], &[&out], |i, o| {
            backend::gather_rows(o[0].view_mut(), i[0].view(), i[1].view(), cols)
        });
        check_all(&format!("gather_rows {rows}x{cols}"), r, 0.0, 0.0);
    }
}

#[test]
fn activations_forward_backward() {
    let Some(dev) = device() else { return };
    for act in ACTS {
        for &n in &LENS {
            let x = randn(n as u64, n, 3.0);
            let y0 = vec![0.0; n];
            let (cpu, gpu) = run_both(dev, &[&x], &[&y0], |i, o| {
                backend::activation_forward(act, o[0].view_mut(), i[0].view())
            });
            assert_close(
                &format!("{act:?} forward n={n}"),
                &gpu[0],
                &cpu[0],
                1e-6,
                2e-6,
            );
            let y = cpu[0].clone();
            let dy = randn(7, n, 1.0);
            for acc in [false, true] {
                let dx0 = randn(9, n, 1.0);
                let r = run_both(dev, &[&x, &y, &dy], &[&dx0], |i, o| {
                    backend::activation_backward(
                        act,
                        o[0].view_mut(),
                        i[0].view(),
                        i[1].view(),
                        i[2].view(),
                        acc,
                    )
                });
                check_all(&format!("{act:?} backward n={n} acc={acc}"), r, 1e-6, 2e-6);
            }
        }
    }
}

#[test]
fn unary_forward_backward() {
    let Some(dev) = device() else { return };
    let ops = [
        UnaryOp::Neg,
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Sqrt,
        UnaryOp::Scale(-1.7),
        UnaryOp::AddScalar(0.25),
        UnaryOp::Abs,
        UnaryOp::Square,
    ];
    for op in ops {
        for &n in &LENS {
            let positive = matches!(op, UnaryOp::Log | UnaryOp::Sqrt);
            let x = if positive {
                uniform(n as u64, n, 0.05, 4.0)
            } else {
                randn(n as u64, n, 2.0)
            };
            let (cpu, gpu) = run_both(dev, &[&x], &[&vec![0.0; n]], |i, o| {
                backend::unary_forward(op, o[0].view_mut(), i[0].view())
            });
            assert_close(
                &format!("{op:?} forward n={n}"),
                &gpu[0],
                &cpu[0],
                1e-6,
                2e-6,
            );
            let y = cpu[0].clone();
            let dy = randn(3, n, 1.0);
            for acc in [false, true] {
                let r = run_both(dev, &[&x, &y, &dy], &[&randn(5, n, 1.0)], |i, o| {
                    backend::unary_backward(
                        op,
                        o[0].view_mut(),
                        i[0].view(),
                        i[1].view(),
                        i[2].view(),
                        acc,
                    )
                });
                check_all(&format!("{op:?} backward n={n} acc={acc}"), r, 1e-6, 2e-6);
            }
        }
    }
}

#[test]
fn binary_forward_backward_with_broadcast() {
    let Some(dev) = device() else { return };
    let ops = [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div];
    let bcs = [
        Broadcast::None,
        Broadcast::Row,
        Broadcast::Col,
        Broadcast::Scalar,
    ];
    for op in ops {
        for bc in bcs {
            for &(rows, cols) in &SHAPES {
                let n = rows * cols;
                let blen = bc.b_len(rows, cols);
                let a = randn(1, n, 1.0);
                // Keep divisors away from zero.
                let b: Vec<f32> = uniform(2, blen, 0.5, 2.0)
                    .iter()
                    .zip(classes(3, blen, 2))
                    .map(|(v, s)| if s == 0.0 { *v } else { -*v })
                    .collect();
                let what = format!("{op:?} {bc:?} {rows}x{cols}");
                let r = run_both(dev, &[&a, &b], &[&vec![0.0; n]], |i, o| {
                    backend::binary_forward(
                        op,
                        o[0].view_mut(),
                        i[0].view(),
                        i[1].view(),
                        rows,
                        cols,
                        bc,
                    )
                });
                check_all(&format!("{what} forward"), r, 1e-6, 1e-6);
                let dy = randn(4, n, 1.0);
                for acc in [false, true] {
                    let da0 = randn(5, n, 1.0);
                    let db0 = randn(6, blen, 1.0);
                    let r = run_f64(dev, &[&a, &b, &dy], &[&da0, &db0], |i, o| {
                        let (da, db) = pair_mut(o);
                        backend::binary_backward(
                            op,
                            Some((da.view_mut(), acc)),
                            Some((db.view_mut(), acc)),
                            i[0].view(),
                            i[1].view(),
                            i[2].view(),
                            rows,
                            cols,
                            bc,
                        )
                    });
                    // db sums up to rows·cols terms of magnitude ~1 in f32.
                    let tol = 2e-6 * (n as f32).sqrt().max(1.0);
                    check_all(&format!("{what} backward acc={acc}"), r, tol, 1e-5);
                }
            }
        }
    }
}

#[test]
fn reductions_sum_max() {
    let Some(dev) = device() else { return };
    let shapes: [(usize, usize, usize); 9] = [
        (1, 1, 1),
        (1, 100_003, 1),
        (3, 5000, 1),
        (1000, 10, 1),
        (1, 128, 256),
        (7, 33, 65),
        (2, 3, 100_001),
        (300, 700, 1),
        (1, 1_000_000, 1),
    ];
    for (outer, n, inner) in shapes {
        let x = randn(n as u64, outer * n * inner, 1.0);
        let what = format!("{outer}x{n}x{inner}");
        for acc in [false, true] {
            let o0 = randn(2, outer * inner, 1.0);
            let r = run_f64(dev, &[&x], &[&o0], |i, o| {
                backend::sum_forward(o[0].view_mut(), i[0].view(), outer, n, inner, 0.5, acc)
            });
            let tol = 1e-6 * (n as f32).sqrt() + 1e-6;
            check_all(&format!("sum_forward {what} acc={acc}"), r, tol, 1e-5);
            let dy = randn(3, outer * inner, 1.0);
            let dx0 = randn(4, outer * n * inner, 1.0);
            let r = run_both(dev, &[&dy], &[&dx0], |i, o| {
                backend::sum_backward(o[0].view_mut(), i[0].view(), outer, n, inner, 0.5, acc)
            });
            check_all(&format!("sum_backward {what} acc={acc}"), r, 1e-6, 1e-6);
        }
        // Max with ties (values rounded to a coarse grid) and a NaN.
        let mut xq: Vec<f32> = x.iter().map(|v| (v * 2.0).round()).collect();
        if xq.len() > 10 {
            let mid = xq.len() / 2;
            xq[mid] = f32::NAN;
        }
        let m0 = vec![0.0; outer * inner];
        let (cpu, gpu) = run_both(dev, &[&xq], &[&m0, &m0], |i, o| {
            let (out, am) = pair_mut(o);
            backend::max_forward(out.view_mut(), am.view_mut(), i[0].view(), outer, n, inner)
        });
        assert_close(&format!("max_forward {what}"), &gpu[0], &cpu[0], 0.0, 0.0);
        assert_close(
            &format!("max_forward argmax {what}"),
            &gpu[1],
            &cpu[1],
            0.0,
            0.0,
        );
        let argmax = cpu[1].clone();
        let dy = randn(5, outer * inner, 1.0);
        for acc in [false, true] {
            let dx0 = randn(6, outer * n * inner, 1.0);
            let r = run_both(dev, &[&argmax, &dy], &[&dx0], |i, o| {
                backend::max_backward(
                    o[0].view_mut(),
                    i[0].view(),
                    i[1].view(),
                    outer,
                    n,
                    inner,
                    acc,
                )
            });
            check_all(&format!("max_backward {what} acc={acc}"), r, 0.0, 0.0);
        }
    }
    // Σx² (f64 on both sides).
    for &n in &LENS {
        let x = randn(n as u64, n, 1.0);
        let c = Tensor::from_slice(&x, n, Device::Cpu).unwrap();
        let g = Tensor::from_slice(&x, n, dev).unwrap();
        let (sc, sg) = (
            backend::sum_squares(c.view()).unwrap(),
            backend::sum_squares(g.view()).unwrap(),
        );
        assert!(
            (sc - sg).abs() <= 1e-9 * sc.max(1.0),
            "sum_squares {sc} vs {sg}"
        );
    }
}

#[test]
fn softmax_family_and_cross_entropy() {
    let Some(dev) = device() else { return };
    for &(rows, cols) in &SHAPES {
        let n = rows * cols;
        let x = randn(rows as u64, n, 3.0);
        let what = format!("{rows}x{cols}");
        let (cpu, gpu) = run_f64(dev, &[&x], &[&vec![0.0; n]], |i, o| {
            backend::softmax_forward(o[0].view_mut(), i[0].view(), rows, cols)
        });
        assert_close(&format!("softmax {what}"), &gpu[0], &cpu[0], 1e-7, 1e-5);
        let y = cpu[0].clone();
        let (cpu_l, gpu_l) = run_f64(dev, &[&x], &[&vec![0.0; n]], |i, o| {
            backend::log_softmax_forward(o[0].view_mut(), i[0].view(), rows, cols)
        });
        assert_close(
            &format!("log_softmax {what}"),
            &gpu_l[0],
            &cpu_l[0],
            1e-5,
            1e-5,
        );
        let ly = cpu_l[0].clone();
        let dy = randn(9, n, 1.0);
        for acc in [false, true] {
            let dx0 = randn(10, n, 1.0);
            let r = run_f64(dev, &[&y, &dy], &[&dx0], |i, o| {
                backend::softmax_backward(
                    o[0].view_mut(),
                    i[0].view(),
                    i[1].view(),
                    rows,
                    cols,
                    acc,
                )
            });
            check_all(&format!("softmax_backward {what} acc={acc}"), r, 1e-5, 1e-5);
            let r = run_f64(dev, &[&ly, &dy], &[&dx0], |i, o| {
                backend::log_softmax_backward(
                    o[0].view_mut(),
                    i[0].view(),
                    i[1].view(),
                    rows,
                    cols,
                    acc,
                )
            });
            let tol = 1e-5 * (cols as f32).sqrt();
            check_all(
                &format!("log_softmax_backward {what} acc={acc}"),
                r,
                tol,
                1e-5,
            );
        }
        let t = classes(11, rows, cols);
        let (cpu, gpu) = run_f64(
            dev,
            &[&x, &t],
            &[&vec![0.0; rows], &vec![0.0; n]],
            |i, o| {
                let (loss, probs) = pair_mut(o);
                backend::softmax_cross_entropy_forward(
                    loss.view_mut(),
                    probs.view_mut(),
                    i[0].view(),
                    i[1].view(),
                    rows,
                    cols,
                )
            },
        );
        assert_close(&format!("xent loss {what}"), &gpu[0], &cpu[0], 1e-5, 1e-5);
        assert_close(&format!("xent probs {what}"), &gpu[1], &cpu[1], 1e-7, 1e-5);
        let probs = cpu[1].clone();
        let dloss = randn(12, rows, 1.0);
        for acc in [false, true] {
            let r = run_f64(dev, &[&probs, &t, &dloss], &[&randn(13, n, 1.0)], |i, o| {
                backend::softmax_cross_entropy_backward(
                    o[0].view_mut(),
                    i[0].view(),
                    i[1].view(),
                    i[2].view(),
                    rows,
                    cols,
                    acc,
                )
            });
            check_all(&format!("xent backward {what} acc={acc}"), r, 1e-6, 1e-6);
        }
    }
}

#[test]
fn losses_forward_backward() {
    let Some(dev) = device() else { return };
    let kinds = [
        RegressionLoss::Mse,
        RegressionLoss::Mae,
        RegressionLoss::Huber(0.7),
    ];
    for &n in &LENS {
        let p = randn(1, n, 2.0);
        let t = randn(2, n, 2.0);
        let dy = randn(3, n, 1.0);
        for k in kinds {
            let r = run_both(dev, &[&p, &t], &[&vec![0.0; n]], |i, o| {
                backend::regression_loss_forward(k, o[0].view_mut(), i[0].view(), i[1].view())
            });
            check_all(&format!("{k:?} forward n={n}"), r, 1e-6, 1e-6);
            for acc in [false, true] {
                let r = run_both(dev, &[&p, &t, &dy], &[&randn(4, n, 1.0)], |i, o| {
                    backend::regression_loss_backward(
                        k,
                        o[0].view_mut(),
                        i[0].view(),
                        i[1].view(),
                        i[2].view(),
                        acc,
                    )
                });
                check_all(&format!("{k:?} backward n={n} acc={acc}"), r, 1e-6, 1e-6);
            }
        }
        let x = randn(5, n, 4.0);
        let tb = uniform(6, n, 0.0, 1.0);
        let r = run_both(dev, &[&x, &tb], &[&vec![0.0; n]], |i, o| {
            backend::bce_with_logits_forward(o[0].view_mut(), i[0].view(), i[1].view())
        });
        check_all(&format!("bce forward n={n}"), r, 1e-6, 2e-6);
        for acc in [false, true] {
            let r = run_both(dev, &[&x, &tb, &dy], &[&randn(7, n, 1.0)], |i, o| {
                backend::bce_with_logits_backward(
                    o[0].view_mut(),
                    i[0].view(),
                    i[1].view(),
                    i[2].view(),
                    acc,
                )
            });
            check_all(&format!("bce backward n={n} acc={acc}"), r, 1e-6, 2e-6);
        }
    }
}

#[test]
fn dropout_masks_are_bit_identical() {
    let Some(dev) = device() else { return };
    for &n in &LENS {
        for (p, seed, offset) in [(0.5f32, 7u64, 0u64), (0.1, 123, 4096), (0.9, u64::MAX, 17)] {
            let x = randn(8, n, 1.0);
            let z = vec![0.0; n];
            let (cpu, gpu) = run_both(dev, &[&x], &[&z, &z], |i, o| {
                let (y, mask) = pair_mut(o);
                backend::dropout_forward(
                    y.view_mut(),
                    mask.view_mut(),
                    i[0].view(),
                    p,
                    seed,
                    offset,
                )
            });
            // Bit for bit: same keep decisions (counter RNG) and the same scale.
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&gpu[1]), bits(&cpu[1]), "dropout mask n={n} p={p}");
            assert_eq!(bits(&gpu[0]), bits(&cpu[0]), "dropout output n={n} p={p}");
            let mask = cpu[1].clone();
            let dy = randn(9, n, 1.0);
            for acc in [false, true] {
                let r = run_both(dev, &[&mask, &dy], &[&randn(10, n, 1.0)], |i, o| {
                    backend::dropout_backward(o[0].view_mut(), i[0].view(), i[1].view(), acc)
                });
                check_all(&format!("dropout backward n={n} acc={acc}"), r, 0.0, 1e-7);
            }
        }
    }
}

#[test]
fn batchnorm_train_eval_backward() {
    let Some(dev) = device() else { return };
    for &(rows, cols) in &[(2usize, 1usize), (3, 7), (128, 10), (257, 65), (1000, 3)] {
        let n = rows * cols;
        let x = randn(1, n, 2.0);
        let gamma = uniform(2, cols, 0.5, 1.5);
        let beta = randn(3, cols, 1.0);
        let what = format!("{rows}x{cols}");
        let z = vec![0.0; n];
        let zc = vec![0.0; cols];
        let (cpu, gpu) = run_f64(dev, &[&x, &gamma, &beta], &[&z, &zc, &zc], |i, o| {
            let (y, mean, var) = triple_mut(o);
            backend::batchnorm_forward_train(
                y.view_mut(),
                mean.view_mut(),
                var.view_mut(),
                i[0].view(),
                i[1].view(),
                i[2].view(),
                rows,
                cols,
                1e-5,
            )
        });
        let tol = 1e-5 * (rows as f32).sqrt();
        assert_close(&format!("bn y {what}"), &gpu[0], &cpu[0], tol, 1e-4);
        assert_close(&format!("bn mean {what}"), &gpu[1], &cpu[1], tol, 1e-5);
        assert_close(&format!("bn var {what}"), &gpu[2], &cpu[2], tol, 1e-4);
        let (mean, var) = (cpu[1].clone(), cpu[2].clone());
        let r = run_f64(dev, &[&x, &gamma, &beta, &mean, &var], &[&z], |i, o| {
            backend::batchnorm_forward_eval(
                o[0].view_mut(),
                i[0].view(),
                i[1].view(),
                i[2].view(),
                i[3].view(),
                i[4].view(),
                rows,
                cols,
                1e-5,
            )
        });
        check_all(&format!("bn eval {what}"), r, 1e-6, 1e-5);
        let dy = randn(4, n, 1.0);
        for acc in [false, true] {
            let (dx0, dg0, db0) = (randn(5, n, 1.0), randn(6, cols, 1.0), randn(7, cols, 1.0));
            let r = run_f64(
                dev,
                &[&x, &mean, &var, &gamma, &dy],
                &[&dx0, &dg0, &db0],
                |i, o| {
                    let (dx, dg, db) = triple_mut(o);
                    backend::batchnorm_backward(
                        Some((dx.view_mut(), acc)),
                        Some((dg.view_mut(), !acc)),
                        Some((db.view_mut(), acc)),
                        i[0].view(),
                        i[1].view(),
                        i[2].view(),
                        i[3].view(),
                        i[4].view(),
                        rows,
                        cols,
                        1e-5,
                    )
                },
            );
            check_all(
                &format!("bn backward {what} acc={acc}"),
                r,
                tol * 10.0,
                1e-4,
            );
        }
    }
}

#[test]
fn optimizer_steps() {
    let Some(dev) = device() else { return };
    for &n in &LENS {
        let p = randn(1, n, 1.0);
        let g = randn(2, n, 0.1);
        let s1 = randn(3, n, 0.1);
        let s2: Vec<f32> = uniform(4, n, 0.0, 0.01);
        for (momentum, nesterov) in [(0.0, false), (0.9, false), (0.9, true)] {
            let hp = SgdParams {
                lr: 0.1,
                momentum,
                nesterov,
                weight_decay: 0.01,
            };
            let r = run_both(dev, &[&g], &[&p, &s1], |i, o| {
                let (p, v) = pair_mut(o);
                backend::sgd_step(p.view_mut(), i[0].view(), v.view_mut(), hp)
            });
            check_all(&format!("sgd n={n} {hp:?}"), r, 1e-6, 1e-6);
        }
        for (decoupled, step) in [(false, 1u64), (true, 7)] {
            let hp = AdamParams {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.01,
                decoupled,
                step,
            };
            let r = run_both(dev, &[&g], &[&p, &s1, &s2], |i, o| {
                let (p, m, v) = triple_mut(o);
                backend::adam_step(p.view_mut(), i[0].view(), m.view_mut(), v.view_mut(), hp)
            });
            check_all(&format!("adam n={n} {hp:?}"), r, 1e-6, 1e-5);
        }
        for momentum in [0.0, 0.9] {
            let hp = RmspropParams {
                lr: 1e-2,
                alpha: 0.99,
                eps: 1e-8,
                momentum,
                weight_decay: 0.0,
            };
            let r = run_both(dev, &[&g], &[&p, &s2, &s1], |i, o| {
                let (p, sq, b) = triple_mut(o);
                backend::rmsprop_step(p.view_mut(), i[0].view(), sq.view_mut(), b.view_mut(), hp)
            });
            check_all(&format!("rmsprop n={n} {hp:?}"), r, 1e-5, 1e-5);
        }
    }
}

#[test]
fn matmul_layouts_accumulate_bias_activation() {
    let Some(dev) = device() else { return };
    let shapes: [(usize, usize, usize); 10] = [
        (1, 1, 1),
        (7, 13, 5),
        (33, 17, 65),
        (128, 784, 256),
        (127, 129, 131),
        (257, 64, 1),
        (1, 300, 257),
        (200, 3, 300),
        (784, 128, 256),
        (64, 0, 9),
    ];
    for (m, k, n) in shapes {
        let a = randn(1, m * k, 1.0);
        let b = randn(2, k * n, 1.0);
        let bias = randn(3, n, 1.0);
        let c0 = randn(4, m * n, 1.0);
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            for (acc, with_bias, act) in [
                (false, false, Activation::Identity),
                (true, false, Activation::Identity),
                (false, true, Activation::Relu),
                (true, true, Activation::Tanh),
                (false, true, Activation::Gelu),
            ] {
                let what =
                    format!("{m}x{k}x{n} ta={ta} tb={tb} acc={acc} bias={with_bias} {act:?}");
                let r = run_f64(dev, &[&a, &b, &bias], &[&c0], |i, o| {
                    // A stored (m×k) or (k×m) and viewed transposed, same for B.
                    let am = if ta {
                        Mat::row_major(i[0].view(), k, m).t()
                    } else {
                        Mat::row_major(i[0].view(), m, k)
                    };
                    let bm = if tb {
                        Mat::row_major(i[1].view(), n, k).t()
                    } else {
                        Mat::row_major(i[1].view(), k, n)
                    };
                    backend::matmul(
                        o[0].view_mut(),
                        n,
                        am,
                        bm,
                        acc,
                        with_bias.then(|| i[2].view()),
                        act,
                    )
                });
                let tol = 2e-6 * (k.max(1) as f32);
                check_all(&format!("matmul {what}"), r, tol, 1e-4);
            }
        }
    }
    // Strided C (ldc > n) and sub-views starting at an odd offset (unaligned: scalar loads).
    let (m, k, n, ldc) = (37usize, 29usize, 23usize, 31usize);
    let a = randn(5, 1 + m * k, 1.0);
    let b = randn(6, 1 + k * n, 1.0);
    let c0 = randn(7, m * ldc, 1.0);
    let r = run_f64(dev, &[&a, &b], &[&c0], |i, o| {
        let am = Mat::row_major(i[0].storage().slice(1..1 + m * k), m, k);
        let bm = Mat::row_major(i[1].storage().slice(1..1 + k * n), k, n);
        backend::matmul(
            o[0].view_mut(),
            ldc,
            am,
            bm,
            true,
            None,
            Activation::Identity,
        )
    });
    check_all("matmul strided/unaligned", r, 1e-4, 1e-4);
}

/// A short training run (MLP with batch norm and dropout, softmax cross-entropy, AdamW, grad
/// clipping) on the GPU against the same run on the CPU: same initial weights, same batches,
/// same dropout masks; losses and predictions agree to float rounding (which grows slowly over
/// the steps, hence the widening tolerance).
#[test]
fn mlp_training_matches_cpu() {
    let Some(dev) = device() else { return };
    let spec = MlpSpec {
        input_dim: 20,
        layers: vec![
            LayerSpec::Linear {
                units: 64,
                bias: true,
                init: Init::Auto,
                bias_init: BiasInit::Zeros,
            },
            LayerSpec::Activation {
                activation: ActivationSpec::Relu,
            },
            LayerSpec::BatchNorm {
                eps: 1e-5,
                momentum: 0.1,
            },
            LayerSpec::Dropout { rate: 0.2 },
            LayerSpec::Linear {
                units: 33,
                bias: true,
                init: Init::Auto,
                bias_init: BiasInit::Zeros,
            },
            LayerSpec::Activation {
                activation: ActivationSpec::Tanh,
            },
            LayerSpec::Linear {
                units: 5,
                bias: true,
                init: Init::Auto,
                bias_init: BiasInit::Zeros,
            },
        ],
    };
    let (rows, steps) = (96usize, 30u64);
    let x = randn(11, rows * 20, 1.0);
    let y = classes(12, rows, 5);
    let run = |device: Device| -> (Vec<f64>, Vec<f32>) {
        let mut model = Mlp::new(spec.clone(), 3, DType::F32, device).unwrap();
        let opt_spec = OptimizerSpec::AdamW {
            lr: 3e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        };
        let mut opt = Optimizer::new(opt_spec, &model.params).unwrap();
        let mut grads = model.params.zeros_like().unwrap();
        let mut tape = Tape::new();
        let mut losses = Vec::new();
        for step in 0..steps {
            let Mlp {
                arch,
                params,
                buffers,
            } = &mut model;
            let mut g = tape.graph(params, true, step);
            let xv = g.input_from_slice(&x, [rows, 20]).unwrap();
            let yv = g.input_from_slice(&y, [rows]).unwrap();
            let out = arch.forward(&mut g, xv, buffers).unwrap();
            let loss = Loss::CrossEntropy.forward(&mut g, out, yv, None).unwrap();
            losses.push(g.to_vec_f64(loss).unwrap()[0]);
            backend::fill(grads.view_mut(), 0.0).unwrap();
            g.backward(loss, &mut grads).unwrap();
            neurite_engine::clip_grad_norm(&mut grads, 5.0).unwrap();
            opt.step(&mut model.params, &grads).unwrap();
        }
        let eval = model
            .predict(&Tensor::from_slice(&x, [rows, 20], device).unwrap())
            .unwrap()
            .to_vec_f32()
            .unwrap();
        (losses, eval)
    };
    let (lc, ec) = run(Device::Cpu);
    let (lg, eg) = run(dev);
    println!("step  cpu loss    gpu loss");
    for (i, (c, g)) in lc.iter().zip(&lg).enumerate() {
        println!("{i:>4}  {c:.6}  {g:.6}");
        // Rounding differences (summation order) grow slowly through training.
        let tol = 1e-3 * c.abs().max(1.0) * (1.0 + i as f64 / 5.0);
        assert!((c - g).abs() <= tol, "step {i}: cpu loss {c} vs gpu {g}");
    }
    assert!(
        lc.last().unwrap() < &(lc[0] * 0.8),
        "the CPU run did not learn"
    );
    assert_close("eval logits after training", &eg, &ec, 2e-2, 2e-2);
}
