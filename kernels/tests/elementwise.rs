//! Activations (forward, backward, fused bias+activation backward), the vector math they use,
//! row/column sums and dropout: every ISA tier this CPU runs against the reference, over the
//! awkward lengths, with accumulate on/off. Tolerance `atol + rtol·|ref|`; failures print the
//! first mismatches.

mod common;

use common::{SIZES, assert_close, rand_vec};
use neurite_kernels::Isa;
use neurite_kernels::cpu::activation::{self as act, Activation, VectorFn, reference};
use neurite_kernels::cpu::{dropout, reduce};

const ACTS: [Activation; 7] = [
    Activation::Identity,
    Activation::Relu,
    Activation::LeakyRelu(0.1),
    Activation::Elu(1.0),
    Activation::Gelu,
    Activation::Sigmoid,
    Activation::Tanh,
];

fn simd_tiers() -> Vec<Isa> {
    Isa::supported()
        .into_iter()
        .filter(|&i| i != Isa::Reference)
        .collect()
}

#[test]
fn vector_math_accuracy_against_libm() {
    // Dense grids over the ranges that matter (plus the saturating tails).
    let n = 200_001;
    let grid = |lo: f32, hi: f32| -> Vec<f32> {
        (0..n)
            .map(|i| lo + (hi - lo) * i as f32 / (n - 1) as f32)
            .collect()
    };
    for isa in simd_tiers() {
        for (fun, lo, hi, abs_tol, rel_tol) in [
            (VectorFn::Exp, -87.0f32, 88.0f32, 0.0, 3e-7),
            (VectorFn::Erf, -6.0, 6.0, 2e-7, 0.0),
            (VectorFn::Tanh, -12.0, 12.0, 1e-7, 1e-6),
            (VectorFn::Sigmoid, -30.0, 30.0, 1e-7, 1e-6),
        ] {
            let x = grid(lo, hi);
            let mut y = vec![0.0f32; n];
            act::vector_math_isa(isa, fun, &mut y, &x);
            let mut worst = (0.0f64, 0.0f32);
            for (&xi, &yi) in x.iter().zip(&y) {
                let want = match fun {
                    VectorFn::Exp => (xi as f64).exp(),
                    VectorFn::Erf => libm::erf(xi as f64),
                    VectorFn::Tanh => (xi as f64).tanh(),
                    VectorFn::Sigmoid => 1.0 / (1.0 + (-(xi as f64)).exp()),
                };
                let err = (yi as f64 - want).abs();
                let excess = err - (abs_tol + rel_tol * want.abs());
                if excess > worst.0 {
                    worst = (excess, xi);
                }
            }
            assert!(
                worst.0 <= 0.0,
                "{isa} {fun:?}: error above tolerance by {:e} at x = {}",
                worst.0,
                worst.1
            );
        }
        // special values
        let x = [
            f32::NEG_INFINITY,
            -200.0,
            0.0,
            200.0,
            f32::INFINITY,
            f32::NAN,
        ];
        let mut y = [0.0f32; 6];
        act::vector_math_isa(isa, VectorFn::Exp, &mut y, &x);
        assert_eq!(
            &y[..5],
            &[0.0, 0.0, 1.0, f32::INFINITY, f32::INFINITY],
            "{isa} exp"
        );
        assert!(y[5].is_nan(), "{isa} exp(NaN)");
        act::vector_math_isa(isa, VectorFn::Sigmoid, &mut y, &x);
        assert_eq!(&y[..5], &[0.0, 0.0, 0.5, 1.0, 1.0], "{isa} sigmoid");
        act::vector_math_isa(isa, VectorFn::Tanh, &mut y, &x);
        assert_eq!(&y[..5], &[-1.0, -1.0, 0.0, 1.0, 1.0], "{isa} tanh");
    }
}

#[test]
fn activation_forward_backward_all_tiers() {
    for isa in simd_tiers() {
        for a in ACTS {
            for &n in SIZES.iter().chain(&[1000]) {
                let x = rand_vec(n as u64, n, -5.0, 5.0);
                let dy = rand_vec(n as u64 + 1, n, -2.0, 2.0);
                let mut want = vec![0.0f32; n];
                reference::activation_forward(a, &mut want, &x);
                let mut got = vec![f32::NAN; n];
                act::activation_forward_isa(isa, a, &mut got, &x);
                assert_close(&format!("{isa} {a:?} fwd n={n}"), &got, &want, 1e-6, 1e-5);
                let y = want;
                for accumulate in [false, true] {
                    let init = rand_vec(7, n, -1.0, 1.0);
                    let mut want = init.clone();
                    reference::activation_backward(a, &mut want, &x, &y, &dy, accumulate);
                    let mut got = if accumulate {
                        init.clone()
                    } else {
                        vec![f32::NAN; n]
                    };
                    act::activation_backward_isa(isa, a, &mut got, &x, &y, &dy, accumulate);
                    assert_close(
                        &format!("{isa} {a:?} bwd n={n} acc={accumulate}"),
                        &got,
                        &want,
                        2e-6,
                        1e-5,
                    );
                }
            }
        }
    }
}

#[test]
fn fused_bias_activation_backward() {
    for isa in Isa::supported() {
        for a in ACTS {
            for (rows, cols) in [(1, 1), (3, 17), (7, 64), (16, 65), (33, 129), (128, 256)] {
                let n = rows * cols;
                let x = rand_vec(1, n, -3.0, 3.0);
                let mut y = vec![0.0f32; n];
                reference::activation_forward(a, &mut y, &x);
                let dy = rand_vec(2, n, -1.0, 1.0);
                for (acc_p, acc_b) in [(false, false), (true, true), (false, true)] {
                    let p0 = rand_vec(3, n, -1.0, 1.0);
                    let b0 = rand_vec(4, cols, -1.0, 1.0);
                    // composite oracle: activation backward, then column sums
                    let mut g = vec![0.0f32; n];
                    reference::activation_backward(a, &mut g, &x, &y, &dy, false);
                    let want_p: Vec<f32> = (0..n)
                        .map(|k| if acc_p { p0[k] + g[k] } else { g[k] })
                        .collect();
                    let want_b: Vec<f32> = (0..cols)
                        .map(|j| {
                            let s: f32 = (0..rows).map(|i| g[i * cols + j]).sum();
                            if acc_b { b0[j] + s } else { s }
                        })
                        .collect();
                    let mut dp = if acc_p { p0.clone() } else { vec![f32::NAN; n] };
                    let mut db = if acc_b {
                        b0.clone()
                    } else {
                        vec![f32::NAN; cols]
                    };
                    act::bias_act_backward_isa(
                        isa, a, &mut dp, &mut db, &x, &y, &dy, rows, cols, acc_p, acc_b,
                    );
                    let what = format!("{isa} {a:?} {rows}x{cols} acc={acc_p},{acc_b}");
                    assert_close(&format!("{what} dpre"), &dp, &want_p, 2e-6, 1e-5);
                    assert_close(
                        &format!("{what} dbias"),
                        &db,
                        &want_b,
                        1e-5 * rows as f64,
                        1e-5,
                    );
                }
            }
        }
    }
}

#[test]
fn sums_all_tiers() {
    for isa in simd_tiers() {
        for &n in &SIZES {
            for (outer, inner) in [(1, 1), (3, 1), (1, 17), (2, 33), (1, 256), (5, 7)] {
                let x = rand_vec(n as u64, outer * n * inner, -1.0, 1.0);
                for acc in [false, true] {
                    let init = rand_vec(9, outer * inner, -1.0, 1.0);
                    let mut want = init.clone();
                    reduce::reference::sum_forward(&mut want, &x, outer, n, inner, 0.5, acc);
                    let mut got = if acc {
                        init.clone()
                    } else {
                        vec![f32::NAN; outer * inner]
                    };
                    reduce::sum_forward_isa(isa, &mut got, &x, outer, n, inner, 0.5, acc);
                    assert_close(
                        &format!("{isa} sum outer={outer} n={n} inner={inner} acc={acc}"),
                        &got,
                        &want,
                        1e-6 * n as f64,
                        1e-5,
                    );
                }
            }
        }
    }
}

#[test]
fn dropout_all_tiers_match_reference() {
    for isa in simd_tiers() {
        for &n in SIZES.iter().chain(&[10_000]) {
            let x = rand_vec(3, n, -1.0, 1.0);
            let (mut y0, mut m0) = (vec![0.0f32; n], vec![0.0f32; n]);
            dropout::reference::dropout_forward(&mut y0, &mut m0, &x, 0.3, 42, 1000);
            let (mut y1, mut m1) = (vec![f32::NAN; n], vec![f32::NAN; n]);
            dropout::dropout_forward_isa(isa, &mut y1, &mut m1, &x, 0.3, 42, 1000);
            assert_eq!(m0, m1, "{isa} mask n={n}");
            assert_eq!(y0, y1, "{isa} y n={n}");
            let dy = rand_vec(4, n, -1.0, 1.0);
            for acc in [false, true] {
                let mut want = x.clone();
                dropout::reference::dropout_backward(&mut want, &m0, &dy, acc);
                let mut got = x.clone();
                dropout::dropout_backward_isa(isa, &mut got, &m0, &dy, acc);
                assert_eq!(want, got, "{isa} bwd n={n} acc={acc}");
            }
        }
    }
    // keep rate and scale
    let n = 100_000;
    let x = vec![1.0f32; n];
    let (mut y, mut m) = (vec![0.0f32; n], vec![0.0f32; n]);
    dropout::dropout_forward(&mut y, &mut m, &x, 0.25, 7, 0);
    let kept = m.iter().filter(|&&v| v > 0.0).count() as f64 / n as f64;
    assert!((kept - 0.75).abs() < 0.01, "keep rate {kept}");
    assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
}

/// The SIMD tiers decide keep/drop on the generator's integer bits against
/// `rng::keep_threshold(p)` instead of comparing floats: the masks must still equal the
/// reference's for any rate (including 0, rates at an exact 2⁻²⁴ step, ≥ 1 and NaN), seed and
/// offset, at any length and start.
fn dropout_masks_case(n: usize, p: f32, seed: u64, offset: u64) {
    let x = rand_vec(5, n, -2.0, 2.0);
    let (mut y0, mut m0) = (vec![0.0f32; n], vec![0.0f32; n]);
    dropout::reference::dropout_forward(&mut y0, &mut m0, &x, p, seed, offset);
    for isa in simd_tiers() {
        let (mut y1, mut m1) = (vec![f32::NAN; n], vec![f32::NAN; n]);
        dropout::dropout_forward_isa(isa, &mut y1, &mut m1, &x, p, seed, offset);
        assert_eq!(m0, m1, "{isa} mask n={n} p={p} seed={seed} offset={offset}");
        let same = y0.iter().zip(&y1).all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{isa} y n={n} p={p} seed={seed} offset={offset}");
    }
}

#[test]
fn dropout_edge_rates_match_reference() {
    let step = 1.0 / (1u32 << 24) as f32;
    for p in [
        0.0,
        -0.5,
        step,
        0.5,
        0.5 + step,
        0.5 - step / 2.0,
        1.0 - step,
        0.999,
        1.0,
        2.0,
        f32::NAN,
        f32::MIN_POSITIVE,
    ] {
        dropout_masks_case(1000, p, 42, 3);
    }
    // Rates right at and around the uniform values actually drawn, where a threshold off by
    // one step would flip a decision: an element's own value as the rate keeps it (`u ≥ p`),
    // the next f32 above drops it, the one below keeps it.
    let (seed, offset) = (42u64, 3u64);
    for i in [0u64, 5, 17] {
        let u = neurite_kernels::rng::uniform_f32(seed, offset + i);
        assert!(u > 0.0);
        for p in [
            u,
            f32::from_bits(u.to_bits() + 1),
            f32::from_bits(u.to_bits() - 1),
        ] {
            dropout_masks_case(64, p, seed, offset);
        }
    }
    // The last counter, u64::MAX, whose `i + 1` wraps to 0 inside the generator.
    dropout_masks_case(21, 0.3, 9, u64::MAX - 20);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, .. Default::default() })]
    #[test]
    fn dropout_random_cases_match_reference(
        n in 0usize..300,
        p in 0.0f32..1.0,
        seed: u64,
        offset in 0u64..(1u64 << 40),
    ) {
        dropout_masks_case(n, p, seed, offset);
    }
}
