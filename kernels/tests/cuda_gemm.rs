//! GPU test: every SGEMM tile configuration × operand layout (nn, nt, tn, tt) × alignment
//! (16-byte aligned and misaligned by one element) × accumulate × bias/activation epilogue,
//! on awkward shapes, against an f64 reference product. Prints "skipped: no CUDA device
//! (<reason>)" and passes without a GPU.
//! `cargo test -p neurite-kernels --features cuda --test cuda_gemm -- --nocapture`
#![cfg(feature = "cuda")]

use std::sync::Arc;

use neurite_kernels::cpu::activation::{self, Activation};
use neurite_kernels::cuda::cudarc::driver::{CudaSlice, DevicePtr};
use neurite_kernels::cuda::ops::{self, Gemm, GpuMat, TILES};
use neurite_kernels::cuda::{DevPtr, Gpu};
use neurite_kernels::rng::Rng;

fn gpu() -> Option<Arc<Gpu>> {
    match Gpu::get(0) {
        Ok(g) => Some(g),
        Err(e) => {
            println!("skipped: no CUDA device ({e})");
            None
        }
    }
}

fn randn(seed: u64, n: usize) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| r.normal() as f32).collect()
}

/// `data` uploaded after `off` padding elements; returns the buffer and the data's address.
fn upload(gpu: &Gpu, data: &[f32], off: usize) -> (CudaSlice<f32>, DevPtr) {
    let mut host = vec![f32::NAN; off];
    host.extend_from_slice(data);
    host.push(f32::NAN);
    let buf = gpu.stream().clone_htod(&host).unwrap();
    let (p, _) = buf.device_ptr(gpu.stream());
    (buf, DevPtr(p).offset(off))
}

/// Row-major storage of the logical `rows × cols` matrix `v`, or of its transpose.
fn store(v: &[f32], rows: usize, cols: usize, transposed: bool) -> Vec<f32> {
    if !transposed {
        return v.to_vec();
    }
    let mut t = vec![0.0; v.len()];
    for i in 0..rows {
        for j in 0..cols {
            t[j * rows + i] = v[i * cols + j];
        }
    }
    t
}

#[test]
fn every_tile_layout_alignment_and_epilogue() {
    let Some(gpu) = gpu() else { return };
    let shapes: [(usize, usize, usize); 11] = [
        (1, 1, 1),
        (5, 3, 7),
        (31, 17, 33),
        (128, 784, 256),
        (129, 65, 127),
        (256, 128, 784),
        (300, 1, 2),
        (64, 256, 64),
        (130, 8, 130),
        (17, 1000, 19),
        (3, 0, 5),
    ];
    let epilogues = [
        (false, Activation::Identity),
        (true, Activation::Relu),
        (true, Activation::Sigmoid),
        (false, Activation::LeakyRelu(0.1)),
    ];
    let mut launches = 0;
    for (si, &(m, k, n)) in shapes.iter().enumerate() {
        let a = randn(10 + si as u64, m * k);
        let b = randn(20 + si as u64, k * n);
        let bias = randn(30, n);
        let c0 = randn(40, m * n);
        // f64 reference product and Σ|a·b| (for the rounding bound).
        let mut prod = vec![0.0f64; m * n];
        let mut absum = vec![0.0f64; m * n];
        for i in 0..m {
            for p in 0..k {
                let av = a[i * k + p] as f64;
                for j in 0..n {
                    let t = av * b[p * n + j] as f64;
                    prod[i * n + j] += t;
                    absum[i * n + j] += t.abs();
                }
            }
        }
        for ta in [false, true] {
            for tb in [false, true] {
                let sa = store(&a, m, k, ta);
                let sb = store(&b, k, n, tb);
                for off in [0usize, 1] {
                    let (_ab, pa) = upload(&gpu, &sa, off);
                    let (_bb, pb) = upload(&gpu, &sb, off);
                    let (_biasb, pbias) = upload(&gpu, &bias, off);
                    let am = if ta {
                        GpuMat::row_major(pa, k, m).t()
                    } else {
                        GpuMat::row_major(pa, m, k)
                    };
                    let bm = if tb {
                        GpuMat::row_major(pb, n, k).t()
                    } else {
                        GpuMat::row_major(pb, k, n)
                    };
                    for tile in &TILES {
                        for acc in [false, true] {
                            for &(with_bias, act) in &epilogues {
                                let (cb, pc) = upload(&gpu, &c0, off);
                                let g = Gemm {
                                    a: am,
                                    b: bm,
                                    c: pc,
                                    ldc: n,
                                    accumulate: acc,
                                    bias: with_bias.then_some(pbias),
                                    act,
                                };
                                // SAFETY: every buffer holds what GpuMat/ldc describe.
                                let kernel = unsafe { ops::matmul_with_tile(&gpu, &g, tile) }
                                    .unwrap_or_else(|e| panic!("{}: {e}", tile.name));
                                launches += 1;
                                let got = gpu.stream().clone_dtoh(&cb).unwrap();
                                let got = &got[off..off + m * n];
                                for idx in 0..m * n {
                                    let mut want = prod[idx];
                                    if acc {
                                        want += c0[idx] as f64;
                                    }
                                    if with_bias {
                                        want += bias[idx % n] as f64;
                                    }
                                    let want = activation::reference::apply(act, want);
                                    let tol = (4e-7 * k as f64 + 2e-7) * absum[idx]
                                        + 2e-6 * (1.0 + want.abs());
                                    let d = (got[idx] as f64 - want).abs();
                                    assert!(
                                        d <= tol,
                                        "{kernel} {m}x{k}x{n} ta={ta} tb={tb} off={off} \
                                         acc={acc} bias={with_bias} {act:?}: C[{}, {}] = {} \
                                         want {want} (tol {tol})",
                                        idx / n,
                                        idx % n,
                                        got[idx]
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    println!("{launches} GEMM launches checked");
}

#[test]
fn generic_strides() {
    let Some(gpu) = gpu() else { return };
    // Neither stride is 1: A(i, p) = a[i·2k + 2p], B(p, j) = b[p·3n·… ] (every other element).
    let (m, k, n) = (19usize, 23usize, 29usize);
    let a = randn(1, m * k * 2);
    let b = randn(2, k * n * 3);
    let (_ab, pa) = upload(&gpu, &a, 0);
    let (_bb, pb) = upload(&gpu, &b, 0);
    let (cb, pc) = upload(&gpu, &vec![0.0; m * n], 0);
    let g = Gemm {
        a: GpuMat {
            ptr: pa,
            rows: m,
            cols: k,
            rs: 2 * k,
            cs: 2,
        },
        b: GpuMat {
            ptr: pb,
            rows: k,
            cols: n,
            rs: 3 * n,
            cs: 3,
        },
        c: pc,
        ldc: n,
        accumulate: false,
        bias: None,
        act: Activation::Identity,
    };
    // SAFETY: a holds (m−1)·2k + (k−1)·2 + 1 ≤ 2mk elements, b likewise.
    let kernel = unsafe { ops::matmul(&gpu, &g) }.unwrap();
    assert_eq!(kernel, "matmul_forward_f32_generic");
    let got = gpu.stream().clone_dtoh(&cb).unwrap();
    for i in 0..m {
        for j in 0..n {
            let want: f64 = (0..k)
                .map(|p| a[i * 2 * k + 2 * p] as f64 * b[p * 3 * n + 3 * j] as f64)
                .sum();
            assert!(
                (got[i * n + j] as f64 - want).abs() < 1e-4,
                "generic C[{i},{j}] = {} want {want}",
                got[i * n + j]
            );
        }
    }
}
