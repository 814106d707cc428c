//! Shared helpers of the kernel tests: random data, tolerance checks that print the first
//! mismatches.
#![allow(dead_code)]

use neurite_kernels::rng::Rng;

/// The awkward lengths every kernel is run on.
pub const SIZES: [usize; 16] = [1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129, 257];

pub fn rand_vec(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n)
        .map(|_| (lo + (hi - lo) * r.next_f64()) as f32)
        .collect()
}

/// `|got − want| ≤ atol + rtol·|want|` elementwise (NaN equal to NaN); panics listing the first
/// mismatches.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let mut bad = Vec::new();
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let (g, w) = (g as f64, w as f64);
        let ok = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= atol + rtol * w.abs();
        if !ok {
            bad.push(format!(
                "  [{i}] got {g:e} want {w:e} (diff {:e})",
                (g - w).abs()
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{what}: {} mismatches, first:\n{}",
        bad.len(),
        bad.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
}
