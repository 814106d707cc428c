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
