//! Optimizer updates over a flat buffer: every ISA tier bit-identical to the reference (same
//! operations, same order), over awkward lengths and several steps, for SGD (plain, momentum,
//! Nesterov, weight decay) and Adam / AdamW.

mod common;

use common::{SIZES, rand_vec};
use neurite_kernels::Isa;
use neurite_kernels::cpu::optim::{self, AdamParams, SgdParams, reference};

#[test]
fn adam_and_adamw_bit_identical() {
    for isa in Isa::supported() {
        for &n in SIZES.iter().chain(&[235_146]) {
            for decoupled in [false, true] {
                let mut p0 = rand_vec(1, n, -1.0, 1.0);
                let (mut m0, mut v0) = (vec![0.0f32; n], vec![0.0f32; n]);
                let (mut p1, mut m1, mut v1) = (p0.clone(), m0.clone(), v0.clone());
                for step in 1..=4u64 {
                    let g = rand_vec(step, n, -0.1, 0.1);
                    let hp = AdamParams {
                        lr: 1e-3,
                        beta1: 0.9,
                        beta2: 0.999,
                        eps: 1e-8,
                        weight_decay: 0.01,
                        decoupled,
                        step,
                    };
                    reference::adam_step(&mut p0, &g, &mut m0, &mut v0, hp);
                    optim::adam_step_isa(isa, &mut p1, &g, &mut m1, &mut v1, hp);
                }
                assert_eq!(p0, p1, "{isa} n={n} decoupled={decoupled} params");
                assert_eq!(m0, m1, "{isa} n={n} m");
                assert_eq!(v0, v1, "{isa} n={n} v");
            }
        }
    }
}

#[test]
fn sgd_bit_identical() {
    for isa in Isa::supported() {
        for &n in &SIZES {
            for (momentum, nesterov, wd) in
                [(0.0, false, 0.0), (0.9, false, 1e-4), (0.9, true, 0.0)]
            {
                let mut p0 = rand_vec(2, n, -1.0, 1.0);
                let mut v0 = vec![0.0f32; n];
                let (mut p1, mut v1) = (p0.clone(), v0.clone());
                for step in 1..=3u64 {
                    let g = rand_vec(step + 10, n, -0.1, 0.1);
                    let hp = SgdParams {
                        lr: 0.1,
                        momentum,
                        nesterov,
                        weight_decay: wd,
                    };
                    reference::sgd_step(&mut p0, &g, &mut v0, hp);
                    optim::sgd_step_isa(isa, &mut p1, &g, &mut v1, hp);
                }
                assert_eq!(
                    p0, p1,
                    "{isa} n={n} momentum={momentum} nesterov={nesterov}"
                );
                assert_eq!(v0, v1, "{isa} n={n}");
            }
        }
    }
}

/// Lengths at and above the threading threshold, with tails that are not whole 16-float runs.
fn threaded_lengths() -> [usize; 4] {
    let min = optim::PARALLEL_MIN_PARAMS;
    [min, min + 17, 3 * min + 1, 235_146]
}

#[test]
fn threaded_updates_bit_identical_to_the_reference() {
    for isa in Isa::supported() {
        for n in threaded_lengths() {
            for threads in [1, 2, 3] {
                let g = rand_vec(21, n, -0.1, 0.1);
                let p = rand_vec(22, n, -1.0, 1.0);
                let s = rand_vec(23, n, 0.0, 0.01);

                let hp = AdamParams {
                    lr: 1e-3,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                    weight_decay: 0.01,
                    decoupled: true,
                    step: 3,
                };
                let (mut p0, mut m0, mut v0) = (p.clone(), s.clone(), s.clone());
                let (mut p1, mut m1, mut v1) = (p.clone(), s.clone(), s.clone());
                reference::adam_step(&mut p0, &g, &mut m0, &mut v0, hp);
                optim::adam_step_isa_threads(isa, threads, &mut p1, &g, &mut m1, &mut v1, hp);
                let what = format!("adam {isa} n={n} threads={threads}");
                assert!(p0 == p1 && m0 == m1 && v0 == v1, "{what}");

                for momentum in [0.0, 0.9] {
                    let hp = SgdParams {
                        lr: 0.1,
                        momentum,
                        nesterov: false,
                        weight_decay: 1e-4,
                    };
                    // Without momentum the velocity is never touched (and may be empty).
                    let vlen = if momentum == 0.0 { 0 } else { n };
                    let (mut p0, mut v0) = (p.clone(), s[..vlen].to_vec());
                    let (mut p1, mut v1) = (p.clone(), s[..vlen].to_vec());
                    reference::sgd_step(&mut p0, &g, &mut v0, hp);
                    optim::sgd_step_isa_threads(isa, threads, &mut p1, &g, &mut v1, hp);
                    let what = format!("sgd {isa} n={n} threads={threads} momentum={momentum}");
                    assert!(p0 == p1 && v0 == v1, "{what}");
                }
            }
        }
    }
    for n in threaded_lengths() {
        for threads in [1, 2, 3] {
            let g = rand_vec(31, n, -0.1, 0.1);
            let p = rand_vec(32, n, -1.0, 1.0);
            let s = rand_vec(33, n, 0.0, 0.01);
            let hp = optim::RmspropParams {
                lr: 1e-2,
                alpha: 0.99,
                eps: 1e-8,
                momentum: 0.9,
                weight_decay: 0.0,
            };
            let (mut p0, mut s0, mut b0) = (p.clone(), s.clone(), s.clone());
            let (mut p1, mut s1, mut b1) = (p.clone(), s.clone(), s.clone());
            reference::rmsprop_step(&mut p0, &g, &mut s0, &mut b0, hp);
            optim::rmsprop_step_threads(threads, &mut p1, &g, &mut s1, &mut b1, hp);
            assert!(
                p0 == p1 && s0 == s1 && b0 == b1,
                "rmsprop n={n} threads={threads}"
            );
        }
    }
}
