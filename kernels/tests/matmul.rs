//! GEMM: every ISA tier this CPU runs, against the `f64` reference, over the awkward sizes
//! {1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129, 257}, all four transpose layouts,
//! padded strides, accumulate on/off, with/without epilogue (bias + relu / gelu / tanh),
//! serial and threaded (threshold forced to 0), plus proptest shapes and `matrixmultiply` as a
//! second oracle. Tolerance: `|x − ref| ≤ (atol + rtol·|ref|)·(1 + k/16)`. Failures print the
//! first mismatches.

use neurite_kernels::Isa;
use neurite_kernels::cpu::activation::Activation;
use neurite_kernels::cpu::matmul::{
    self, Epilogue, MatRef, matmul_forward_isa_threads, set_parallel_threshold,
};
use neurite_kernels::rng::Rng;
use proptest::prelude::*;

const SIZES: [usize; 16] = [1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129, 257];

fn rand_vec(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| (rng.next_f64() * 2.0 - 1.0) as f32)
        .collect()
}

/// A `rows × cols` operand stored row-major (`t == false`) or as the transpose of a stored
/// `cols × rows` matrix (`t == true`), with `pad` extra floats per stored row.
struct Operand {
    data: Vec<f32>,
    rows: usize,
    cols: usize,
    t: bool,
    ld: usize,
}

impl Operand {
    fn new(rng: &mut Rng, rows: usize, cols: usize, t: bool, pad: usize) -> Operand {
        let (sr, sc) = if t { (cols, rows) } else { (rows, cols) };
        let ld = sc + pad;
        Operand {
            data: rand_vec(rng, sr * ld),
            rows,
            cols,
            t,
            ld,
        }
    }
    fn view(&self) -> MatRef<'_, f32> {
        if self.t {
            MatRef {
                data: &self.data,
                rows: self.rows,
                cols: self.cols,
                rs: 1,
                cs: self.ld,
            }
        } else {
            MatRef {
                data: &self.data,
                rows: self.rows,
                cols: self.cols,
                rs: self.ld,
                cs: 1,
            }
        }
    }
    fn view64<'a>(&self, buf: &'a [f64]) -> MatRef<'a, f64> {
        let v = self.view();
        MatRef {
            data: buf,
            rows: v.rows,
            cols: v.cols,
            rs: v.rs,
            cs: v.cs,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Case {
    m: usize,
    n: usize,
    k: usize,
    ta: bool,
    tb: bool,
    acc: bool,
    epi: Option<Activation>,
}

fn act_name(e: Option<Activation>) -> &'static str {
    e.map_or("none", |a| a.name())
}

/// Run one case on every tier × {1, 2} threads; return the failures as text.
fn check(case: Case, rng: &mut Rng) -> Vec<String> {
    let Case {
        m,
        n,
        k,
        ta,
        tb,
        acc,
        epi,
    } = case;
    let a = Operand::new(rng, m, k, ta, (m + k) % 3);
    let b = Operand::new(rng, k, n, tb, (n + 2 * k) % 4);
    let ldc = n + (m % 2) * 5;
    let c_len = if m == 0 { 0 } else { (m - 1) * ldc + n };
    let c0 = rand_vec(rng, c_len + 3);
    let bias = rand_vec(rng, n);
    // f64 oracle
    let a64: Vec<f64> = a.data.iter().map(|&v| v as f64).collect();
    let b64: Vec<f64> = b.data.iter().map(|&v| v as f64).collect();
    let bias64: Vec<f64> = bias.iter().map(|&v| v as f64).collect();
    let mut want: Vec<f64> = c0.iter().map(|&v| v as f64).collect();
    let epi64 = match epi {
        None => Epilogue::none(),
        Some(act) => Epilogue::bias_act(Some(&bias64[..]), act),
    };
    matmul::reference::matmul_forward(&mut want, ldc, a.view64(&a64), b.view64(&b64), acc, epi64);
    let epi32 = match epi {
        None => Epilogue::none(),
        Some(act) => Epilogue::bias_act(Some(&bias[..]), act),
    };
    let scale = 1.0 + k as f64 / 16.0;
    let mut fails = Vec::new();
    for isa in Isa::supported() {
        for threads in [1, 2] {
            let mut got = if acc {
                c0.clone()
            } else {
                // Never read when not accumulating: NaN must not leak through.
                let mut g = vec![f32::NAN; c0.len()];
                for i in 0..m {
                    for j in n..ldc.min(g.len() - i * ldc) {
                        g[i * ldc + j] = c0[i * ldc + j];
                    }
                }
                g[c_len..].copy_from_slice(&c0[c_len..]);
                g
            };
            matmul_forward_isa_threads(isa, threads, &mut got, ldc, a.view(), b.view(), acc, epi32);
            let mut bad = 0;
            for i in 0..m {
                for j in 0..ldc {
                    let idx = i * ldc + j;
                    if idx >= c_len {
                        break;
                    }
                    let (g, w) = (got[idx] as f64, want[idx]);
                    let ok = if j < n {
                        (g - w).abs() <= (2e-6 + 2e-6 * w.abs()) * scale
                    } else {
                        got[idx].to_bits() == c0[idx].to_bits() // padding untouched
                    };
                    if !ok {
                        if bad < 3 {
                            fails.push(format!(
                                "{isa} t={threads} {case:?} epi={} C[{i},{j}] = {g} want {w}",
                                act_name(epi)
                            ));
                        }
                        bad += 1;
                    }
                }
            }
            if got[c_len..] != c0[c_len..] {
                fails.push(format!(
                    "{isa} t={threads} {case:?}: wrote past the end of C"
                ));
            }
            if bad > 3 {
                fails.push(format!(
                    "... {bad} mismatches in total for {isa} t={threads}"
                ));
            }
        }
    }
    fails
}

fn run_cases(cases: &[Case]) {
    set_parallel_threshold(0);
    let mut rng = Rng::new(17);
    let mut fails = Vec::new();
    for &c in cases {
        fails.extend(check(c, &mut rng));
        if fails.len() > 20 {
            break;
        }
    }
    assert!(
        fails.is_empty(),
        "{} failures, first ones:\n{}",
        fails.len(),
        fails.join("\n")
    );
}

fn shapes_for(s: usize) -> [(usize, usize, usize); 6] {
    [
        (s, s, s),
        (s, 33, 17),
        (17, s, 31),
        (31, 17, s),
        (1, s, 65),
        (s, 1, 7),
    ]
}

#[test]
fn awkward_sizes_all_layouts_plain() {
    let mut cases = Vec::new();
    for s in SIZES {
        for (m, n, k) in shapes_for(s) {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                for acc in [false, true] {
                    cases.push(Case {
                        m,
                        n,
                        k,
                        ta,
                        tb,
                        acc,
                        epi: None,
                    });
                }
            }
        }
    }
    run_cases(&cases);
}

#[test]
fn awkward_sizes_with_epilogue() {
    let acts = [
        Activation::Relu,
        Activation::Gelu,
        Activation::Tanh,
        Activation::Identity,
        Activation::Sigmoid,
        Activation::LeakyRelu(0.1),
    ];
    let mut cases = Vec::new();
    for (si, s) in SIZES.into_iter().enumerate() {
        for (hi, (m, n, k)) in shapes_for(s).into_iter().enumerate() {
            for (li, (ta, tb)) in [(false, false), (false, true), (true, false)]
                .into_iter()
                .enumerate()
            {
                cases.push(Case {
                    m,
                    n,
                    k,
                    ta,
                    tb,
                    acc: (si + li) % 2 == 0,
                    epi: Some(acts[(si + hi + li) % acts.len()]),
                });
            }
        }
    }
    run_cases(&cases);
}

#[test]
fn k_zero_and_empty() {
    let mut cases = Vec::new();
    for (m, n) in [(0, 5), (5, 0), (3, 4), (17, 33)] {
        for acc in [false, true] {
            for epi in [None, Some(Activation::Relu)] {
                cases.push(Case {
                    m,
                    n,
                    k: 0,
                    ta: false,
                    tb: false,
                    acc,
                    epi,
                });
            }
        }
    }
    run_cases(&cases);
}

/// MLP shapes exactly as the engine calls them (forward x·Wᵀ with the fused epilogue, and
/// both backward products).
#[test]
fn mlp_shapes() {
    let mut cases = Vec::new();
    for (b, i, o) in [
        (128, 784, 256),
        (128, 256, 128),
        (128, 128, 10),
        (1, 784, 256),
    ] {
        cases.push(Case {
            m: b,
            n: o,
            k: i,
            ta: false,
            tb: true,
            acc: false,
            epi: Some(Activation::Relu),
        });
        cases.push(Case {
            m: b,
            n: i,
            k: o,
            ta: false,
            tb: false,
            acc: true,
            epi: None,
        });
        cases.push(Case {
            m: o,
            n: i,
            k: b,
            ta: true,
            tb: false,
            acc: true,
            epi: None,
        });
    }
    run_cases(&cases);
}

/// Strides of 1024 floats and more take the packing path even for operands that are read in
/// place at smaller strides (see `driver.rs`); cover both sides of that switch.
#[test]
fn large_strides_pack_instead_of_in_place() {
    run_cases(&relu_cases(&[
        (50, 1030, 20, false, false),
        (1030, 70, 20, true, false),
        (13, 1100, 9, false, false),
        (1029, 40, 5, true, false),
    ]));
}

/// Each `(m, n, k, ta, tb)` with and without accumulation, bias + ReLU epilogue.
fn relu_cases(shapes: &[(usize, usize, usize, bool, bool)]) -> Vec<Case> {
    let mut cases = Vec::new();
    for &(m, n, k, ta, tb) in shapes {
        for acc in [false, true] {
            cases.push(Case {
                m,
                n,
                k,
                ta,
                tb,
                acc,
                epi: Some(Activation::Relu),
            });
        }
    }
    cases
}

/// A packed (not read in place) with more than one column block packs each A block once and
/// reuses it across the column blocks (`driver.rs`), in blocks of up to 1024 rows; large C
/// prefetches its tiles. Covers two row blocks, two k blocks (accumulation across them), B in
/// place and packed, a partial last B panel, and row-major A with 1024-float rows.
#[test]
fn packed_a_reused_across_column_blocks() {
    run_cases(&relu_cases(&[
        (1030, 530, 264, true, false),
        (1030, 530, 264, true, true),
        (41, 600, 1024, false, false),
    ]));
}

/// Outputs at most one wide panel wide (`n ≤ 16`) with many rows go through `direct` on the
/// AVX2 tier, B packed first when its rows are not contiguous (`driver.rs`); long k included
/// (the packed B panel is then deeper than a cache block). Strides between 256 and 1024 floats
/// are read in place on the AVX-512 tier and packed on the AVX2 tier; cover both.
#[test]
fn narrow_outputs_and_mid_strides() {
    let mut cases = Vec::new();
    for (m, n, k) in [
        (65, 10, 300),
        (129, 16, 33),
        (40, 1, 257),
        (300, 3, 7),
        (70, 300, 40),
        (300, 70, 520),
    ] {
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            for (acc, epi) in [(false, None), (true, Some(Activation::Relu))] {
                cases.push(Case {
                    m,
                    n,
                    k,
                    ta,
                    tb,
                    acc,
                    epi,
                });
            }
        }
    }
    run_cases(&cases);
}

/// Narrow `x·Wᵀ` outputs (`n ≤ 4`: binary and regression heads) take the `dot_narrow` kernels
/// at any `m`, in row slabs when threaded; `n = 5` is the first width past them. Row-major A
/// and column-major B is the only layout they serve (the others are covered above). Even `m`
/// gives a contiguous C (`ldc == n`: the epilogue's flat pass), odd `m` padded rows.
#[test]
fn narrow_x_wt_heads() {
    const M: [usize; 9] = [1, 2, 3, 7, 17, 63, 64, 65, 257];
    const K: [usize; 7] = [1, 3, 7, 17, 63, 65, 257];
    let variants = [
        (false, None),
        (true, None),
        (false, Some(Activation::Sigmoid)),
        (true, Some(Activation::Relu)),
    ];
    let mut cases = Vec::new();
    for n in 1..=5 {
        for m in M {
            for k in K {
                for (acc, epi) in variants {
                    cases.push(Case {
                        m,
                        n,
                        k,
                        ta: false,
                        tb: true,
                        acc,
                        epi,
                    });
                }
            }
        }
    }
    run_cases(&cases);
}

/// Short `x·Wᵀ` (m = 5-6) with long k runs `dot` on one thread on the AVX-512 tier
/// (`dot_long_k`) and the packed path on two; m = 7 and k = 255 are just past its bounds, and
/// m > 4 gives `dot` a second row block.
#[test]
fn short_x_wt_long_k() {
    let mut cases = Vec::new();
    for m in [5, 6, 7] {
        for k in [255, 256, 257, 784] {
            for n in [5, 33, 100] {
                for (acc, epi) in [
                    (false, None),
                    (true, Some(Activation::Relu)),
                    (false, Some(Activation::Gelu)),
                ] {
                    cases.push(Case {
                        m,
                        n,
                        k,
                        ta: false,
                        tb: true,
                        acc,
                        epi,
                    });
                }
            }
        }
    }
    run_cases(&cases);
}

/// `matrixmultiply` as an independent oracle on square shapes.
#[test]
fn agrees_with_matrixmultiply() {
    let mut rng = Rng::new(5);
    for n in [1usize, 16, 33, 100, 200] {
        let a = rand_vec(&mut rng, n * n);
        let b = rand_vec(&mut rng, n * n);
        let mut want = vec![0.0f32; n * n];
        unsafe {
            matrixmultiply::sgemm(
                n,
                n,
                n,
                1.0,
                a.as_ptr(),
                n as isize,
                1,
                b.as_ptr(),
                n as isize,
                1,
                0.0,
                want.as_mut_ptr(),
                n as isize,
                1,
            );
        }
        for isa in Isa::supported() {
            let mut got = vec![0.0f32; n * n];
            matmul_forward_isa_threads(
                isa,
                2,
                &mut got,
                n,
                MatRef::row_major(&a, n, n),
                MatRef::row_major(&b, n, n),
                false,
                Epilogue::none(),
            );
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-5 * (1.0 + w.abs()) * n as f32 / 8.0,
                    "{isa} n={n}"
                );
            }
        }
    }
}

/// The result does not depend on the thread count (bit-identical).
#[test]
fn deterministic_across_threads() {
    set_parallel_threshold(0);
    let mut rng = Rng::new(9);
    // (m, n, k, B as Wᵀ): packed products (split over m although m < n, the weight gradient's
    // shape; over n although m = n), and narrow `x·Wᵀ` heads whose row slabs cut the
    // `dot_narrow` row blocks differently at each thread count.
    for (m, n, k, tb) in [
        (130, 97, 300, false),
        (256, 784, 40, false),
        (128, 128, 50, true),
        (20, 3, 65, true),
        (100, 3, 300, true),
        (37, 1, 129, true),
        (50, 4, 33, true),
    ] {
        let a = Operand::new(&mut rng, m, k, false, 0);
        let b = Operand::new(&mut rng, k, n, tb, 0);
        for isa in Isa::supported() {
            let mut outs = Vec::new();
            for t in [1, 2, 3] {
                let mut c = vec![0.0f32; m * n];
                matmul_forward_isa_threads(
                    isa,
                    t,
                    &mut c,
                    n,
                    a.view(),
                    b.view(),
                    false,
                    Epilogue::none(),
                );
                outs.push(c);
            }
            assert!(
                outs.windows(2).all(|w| w[0] == w[1]),
                "{isa} m={m} n={n} k={k}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]
    #[test]
    fn random_shapes(m in 1usize..80, n in 1usize..80, k in 0usize..90, ta: bool, tb: bool,
                     acc: bool, e in 0usize..4, seed in 0u64..1000) {
        let epi = [None, Some(Activation::Relu), Some(Activation::Gelu),
                   Some(Activation::Sigmoid)][e];
        set_parallel_threshold(0);
        let mut rng = Rng::new(seed);
        let fails = check(Case { m, n, k, ta, tb, acc, epi }, &mut rng);
        prop_assert!(fails.is_empty(), "{}", fails.join("\n"));
    }
}
