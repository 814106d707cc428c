//! Softmax and the fused softmax + cross-entropy, every ISA tier against the reference (and the
//! fused cross-entropy against the composite log_softmax + gather), over awkward row widths.

mod common;

use common::{SIZES, assert_close, rand_vec};
use neurite_kernels::Isa;
use neurite_kernels::cpu::softmax::{self, reference};

#[test]
fn softmax_forward_all_tiers() {
    for isa in Isa::supported() {
        for &cols in &SIZES {
            for rows in [1, 3, 8] {
                let x = rand_vec(cols as u64, rows * cols, -20.0, 20.0);
                let mut want = vec![0.0f32; rows * cols];
                reference::softmax_forward(&mut want, &x, rows, cols);
                let mut got = vec![f32::NAN; rows * cols];
                softmax::softmax_forward_isa(isa, &mut got, &x, rows, cols);
                assert_close(
                    &format!("{isa} softmax {rows}x{cols}"),
                    &got,
                    &want,
                    1e-7,
                    1e-5,
                );
            }
        }
    }
}

#[test]
fn cross_entropy_forward_backward_all_tiers() {
    for isa in Isa::supported() {
        for &cols in SIZES.iter().chain(&[1000]) {
            for rows in [1, 2, 5, 128] {
                let n = rows * cols;
                let logits = rand_vec((cols * 31 + rows) as u64, n, -15.0, 15.0);
                let targets: Vec<f32> = (0..rows).map(|i| ((i * 7) % cols) as f32).collect();
                let (mut l0, mut p0) = (vec![0.0f32; rows], vec![0.0f32; n]);
                reference::softmax_cross_entropy_forward(
                    &mut l0, &mut p0, &logits, &targets, rows, cols,
                );
                // composite oracle: −log_softmax[t]
                let mut ls = vec![0.0f32; n];
                reference::log_softmax_forward(&mut ls, &logits, rows, cols);
                let comp: Vec<f32> = (0..rows)
                    .map(|i| -ls[i * cols + targets[i] as usize])
                    .collect();
                assert_close("reference vs composite", &l0, &comp, 1e-5, 1e-5);
                let (mut l1, mut p1) = (vec![f32::NAN; rows], vec![f32::NAN; n]);
                softmax::softmax_cross_entropy_forward_isa(
                    isa, &mut l1, &mut p1, &logits, &targets, rows, cols,
                );
                let what = format!("{isa} xent {rows}x{cols}");
                assert_close(&format!("{what} loss"), &l1, &l0, 1e-5, 1e-5);
                assert_close(&format!("{what} probs"), &p1, &p0, 1e-7, 1e-5);
                let dl = rand_vec(5, rows, 0.0, 1.0);
                for acc in [false, true] {
                    let init = rand_vec(6, n, -1.0, 1.0);
                    let mut want = init.clone();
                    reference::softmax_cross_entropy_backward(
                        &mut want, &p0, &targets, &dl, rows, cols, acc,
                    );
                    let mut got = if acc { init.clone() } else { vec![f32::NAN; n] };
                    softmax::softmax_cross_entropy_backward_isa(
                        isa, &mut got, &p0, &targets, &dl, rows, cols, acc,
                    );
                    assert_close(&format!("{what} bwd acc={acc}"), &got, &want, 1e-7, 1e-6);
                }
            }
        }
    }
}

#[test]
#[should_panic(expected = "target out of range")]
fn cross_entropy_rejects_bad_targets() {
    let (mut l, mut p) = (vec![0.0f32; 1], vec![0.0f32; 3]);
    softmax::softmax_cross_entropy_forward(&mut l, &mut p, &[1.0, 2.0, 3.0], &[3.0], 1, 3);
}
