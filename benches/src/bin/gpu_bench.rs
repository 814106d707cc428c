//! GPU benchmark: our SGEMM against cuBLAS FP32 (CUDA events, median of trials, correctness
//! against cuBLAS), and one training epoch of the 60000×784, 784-256-128-10 ReLU MLP
//! (softmax cross-entropy, Adam, batch 128, synthetic data) on the GPU against the CPU path.
//!
//! ```text
//! gpu_bench info                 device report (what `neurite doctor` prints for CUDA)
//! gpu_bench sgemm                SGEMM table: ours (picked tile and every tile) vs cuBLAS
//! gpu_bench epoch-gpu [EPOCHS]   GPU epochs (1 warm-up + EPOCHS timed, default 3)
//! gpu_bench epoch-cpu [STEPS]    CPU steps (timed, default 40) extrapolated to an epoch
//! gpu_bench all                  info, sgemm, epoch-gpu
//! ```
//! Every measurement is also printed as one `RESULT <key> <value>` line for
//! `benches/gpu/check.sh`, which runs the CPU half under `taskset -c 0,1` (the 2-core
//! reference machine) and prints the final table. Build: `cargo build --release -p
//! neurite-benches --features cuda --bin gpu_bench` (see `benches/gpu/bundle.sh`).

use std::time::Instant;

use cudarc::cublas::{result as cublas, sys as cublas_sys};
use neurite_engine::backend;
use neurite_engine::nn::{ActivationSpec, BiasInit, Init, LayerSpec, Mlp, MlpSpec};
use neurite_engine::{DType, Device, Loss, Optimizer, OptimizerSpec, Tape, Tensor};
use neurite_kernels::cpu::activation::Activation;
use neurite_kernels::cuda::cudarc::driver::{CudaSlice, CudaStream, DevicePtr, sys as drv};
use neurite_kernels::cuda::ops::{self, Gemm, GpuMat, TILES, Tile};
use neurite_kernels::cuda::{DevPtr, Gpu};
use neurite_kernels::rng::{self, Rng};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let what = args.first().map_or("all", String::as_str);
    let num = |d: usize| args.get(1).and_then(|s| s.parse().ok()).unwrap_or(d);
    let res = match what {
        "info" => info(),
        "sgemm" => sgemm(),
        "epoch-gpu" => epoch_gpu(num(3)),
        "epoch-cpu" => epoch_cpu(num(40)),
        "all" => info().and_then(|_| sgemm()).and_then(|_| epoch_gpu(3)),
        _ => {
            eprintln!("usage: gpu_bench [info|sgemm|epoch-gpu [EPOCHS]|epoch-cpu [STEPS]|all]");
            std::process::exit(2);
        }
    };
    if let Err(e) = res {
        eprintln!("gpu_bench {what}: {e}");
        println!(
            "RESULT error.{what} \"{}\"",
            e.to_string().replace('"', "'")
        );
        std::process::exit(1);
    }
}

fn info() -> Res<()> {
    for (k, v) in backend::cuda::diagnose() {
        println!("{k}: {v}");
    }
    let gpu = Gpu::get(0)?;
    println!(
        "RESULT device \"{} cc {}.{} {} SMs\"",
        gpu.info().name,
        gpu.info().cc.0,
        gpu.info().cc.1,
        gpu.info().sm_count
    );
    Ok(())
}

// ---- SGEMM -----------------------------------------------------------------------------------

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Median milliseconds per call of `f` over `trials` event-timed runs of `reps` calls.
fn time_ms(
    stream: &CudaStream,
    reps: usize,
    trials: usize,
    mut f: impl FnMut() -> Res<()>,
) -> Res<f64> {
    for _ in 0..3 {
        f()?;
    }
    stream.synchronize()?;
    let flags = Some(drv::CUevent_flags::CU_EVENT_DEFAULT);
    let mut v = Vec::with_capacity(trials);
    for _ in 0..trials {
        let start = stream.record_event(flags)?;
        for _ in 0..reps {
            f()?;
        }
        let end = stream.record_event(flags)?;
        v.push(start.elapsed_ms(&end)? as f64 / reps as f64);
    }
    Ok(median(v))
}

fn upload(gpu: &Gpu, data: &[f32]) -> Res<(CudaSlice<f32>, DevPtr)> {
    let buf = gpu.stream().clone_htod(data)?;
    let (p, _) = buf.device_ptr(gpu.stream());
    Ok((buf, DevPtr(p)))
}

fn uniform(seed: u64, n: usize) -> Vec<f32> {
    (0..n as u64)
        .map(|i| rng::uniform_f32(seed, i) * 2.0 - 1.0)
        .collect()
}

struct Case {
    name: &'static str,
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
}

fn sgemm() -> Res<()> {
    let gpu = Gpu::get(0)?;
    if !unsafe { cublas_sys::is_culib_present() } {
        println!("RESULT error.cublas \"libcublas not found: no cuBLAS comparison\"");
        return Err("libcublas not found (add its lib directory to LD_LIBRARY_PATH)".into());
    }
    let stream = gpu.stream().clone();
    gpu.context().bind_to_thread()?;
    let handle = cublas::create_handle()?;
    // SAFETY: a fresh handle and this device's stream.
    unsafe {
        cublas::set_stream(handle, stream.cu_stream() as _)?;
        // Default math: FP32 stays FP32 (no TF32 tensor cores for cublasSgemm).
        cublas_sys::cublasSetMathMode(handle, cublas_sys::cublasMath_t::CUBLAS_DEFAULT_MATH)
            .result()?;
    }
    if let Ok(v) = std::env::var("NVIDIA_TF32_OVERRIDE") {
        println!("note: NVIDIA_TF32_OVERRIDE={v}");
    }
    let t = Instant::now();
    let large = ops::large_tile(&gpu).name;
    println!(
        "large-GEMM tile for this device: {large} (chosen in {:.2} s, compiles included)",
        t.elapsed().as_secs_f64()
    );
    println!("RESULT sgemm.large_tile {large}");
    let cases = [
        Case {
            name: "4096x4096x4096 nn",
            m: 4096,
            k: 4096,
            n: 4096,
            ta: false,
            tb: false,
        },
        Case {
            name: "4096x4096x4096 nt",
            m: 4096,
            k: 4096,
            n: 4096,
            ta: false,
            tb: true,
        },
        Case {
            name: "4096x4096x4096 tn",
            m: 4096,
            k: 4096,
            n: 4096,
            ta: true,
            tb: false,
        },
        Case {
            name: "128x784*784x256 nn",
            m: 128,
            k: 784,
            n: 256,
            ta: false,
            tb: false,
        },
        Case {
            name: "128x784*784x256 nt (x*Wt)",
            m: 128,
            k: 784,
            n: 256,
            ta: false,
            tb: true,
        },
        Case {
            name: "128x256*256x128 nn",
            m: 128,
            k: 256,
            n: 128,
            ta: false,
            tb: false,
        },
        Case {
            name: "128x128*128x10 nn",
            m: 128,
            k: 128,
            n: 10,
            ta: false,
            tb: false,
        },
        Case {
            name: "784x128*128x256 nn",
            m: 784,
            k: 128,
            n: 256,
            ta: false,
            tb: false,
        },
        Case {
            name: "784x128*128x256 tn (A^T)",
            m: 784,
            k: 128,
            n: 256,
            ta: true,
            tb: false,
        },
    ];
    println!(
        "{:<28} {:>12} {:>10} {:>10} {:>8} {:>10}  best tile",
        "sgemm (m x k x n)", "ours TFLOP/s", "cuBLAS", "ours/cuBLAS", "maxrel", "best TF/s"
    );
    let mut mismatches = 0;
    for c in &cases {
        let (m, k, n) = (c.m, c.k, c.n);
        let (_a, pa) = upload(&gpu, &uniform(1, m * k))?;
        let (_b, pb) = upload(&gpu, &uniform(2, k * n))?;
        let (cours, pc) = upload(&gpu, &vec![0.0; m * n])?;
        let (cref, pr) = upload(&gpu, &vec![0.0; m * n])?;
        let am = if c.ta {
            GpuMat::row_major(pa, k, m).t()
        } else {
            GpuMat::row_major(pa, m, k)
        };
        let bm = if c.tb {
            GpuMat::row_major(pb, n, k).t()
        } else {
            GpuMat::row_major(pb, k, n)
        };
        let g = Gemm {
            a: am,
            b: bm,
            c: pc,
            ldc: n,
            accumulate: false,
            bias: None,
            act: Activation::Identity,
        };
        let flops = 2.0 * (m * n * k) as f64;
        let reps = ((3e-3 / (flops / 3e13)) as usize).clamp(1, 500);
        let trials = 7;
        let tflops = |ms: f64| flops / (ms * 1e-3) / 1e12;
        // SAFETY (all launches): the buffers hold what am/bm/ldc describe.
        let ours_ms = time_ms(&stream, reps, trials, || {
            unsafe { ops::matmul(&gpu, &g) }?;
            Ok(())
        })?;
        let picked = ops::pick_tile(&gpu, m, n).name;
        let mut best: (f64, &Tile) = (f64::MAX, &TILES[0]);
        for t in &TILES {
            let ms = time_ms(&stream, reps, trials, || {
                unsafe { ops::matmul_with_tile(&gpu, &g, t) }?;
                Ok(())
            })?;
            println!(
                "RESULT sgemm.{}.tile.{} {:.2}",
                key(c.name),
                t.name,
                tflops(ms)
            );
            if ms < best.0 {
                best = (ms, t);
            }
        }
        // cuBLAS, column-major: Cᵀ (n×m) = op(B)ᵀ-storage × op(A)ᵀ-storage.
        let (opa, lda) = if c.tb {
            (cublas_sys::cublasOperation_t::CUBLAS_OP_T, k)
        } else {
            (cublas_sys::cublasOperation_t::CUBLAS_OP_N, n)
        };
        let (opb, ldb) = if c.ta {
            (cublas_sys::cublasOperation_t::CUBLAS_OP_T, m)
        } else {
            (cublas_sys::cublasOperation_t::CUBLAS_OP_N, k)
        };
        let (alpha, beta) = (1.0f32, 0.0f32);
        let cublas_call = || -> Res<()> {
            // SAFETY: device pointers of live buffers with the sizes above.
            unsafe {
                cublas::sgemm(
                    handle,
                    opa,
                    opb,
                    n as i32,
                    m as i32,
                    k as i32,
                    &alpha,
                    pb.0 as *const f32,
                    lda as i32,
                    pa.0 as *const f32,
                    ldb as i32,
                    &beta,
                    pr.0 as *mut f32,
                    n as i32,
                )?;
            }
            Ok(())
        };
        let cublas_ms = time_ms(&stream, reps, trials, cublas_call)?;
        // Correctness against cuBLAS (ours last ran with the best tile: rerun the pick).
        unsafe { ops::matmul(&gpu, &g) }?;
        cublas_call()?;
        let (o, r) = (stream.clone_dtoh(&cours)?, stream.clone_dtoh(&cref)?);
        let scale = r.iter().fold(0.0f32, |a, v| a.max(v.abs())).max(1e-30);
        let maxrel = o
            .iter()
            .zip(&r)
            .fold(0.0f32, |a, (x, y)| a.max((x - y).abs()))
            / scale;
        let (ours, theirs) = (tflops(ours_ms), tflops(cublas_ms));
        println!(
            "{:<28} {:>12.2} {:>10.2} {:>9.0}% {:>8.1e} {:>10.2}  {} (picked {picked})",
            c.name,
            ours,
            theirs,
            100.0 * ours / theirs,
            maxrel,
            tflops(best.0),
            best.1.name
        );
        let kk = key(c.name);
        println!("RESULT sgemm.{kk}.ours {ours:.3}");
        println!("RESULT sgemm.{kk}.picked {picked}");
        println!("RESULT sgemm.{kk}.cublas {theirs:.3}");
        println!(
            "RESULT sgemm.{kk}.best {:.3} {}",
            tflops(best.0),
            best.1.name
        );
        println!("RESULT sgemm.{kk}.maxrel {maxrel:.2e}");
        if maxrel > 1e-4 {
            println!(
                "MISMATCH {}: ours differs from cuBLAS by {maxrel:.2e}",
                c.name
            );
            mismatches += 1;
        }
    }
    // SAFETY: created above, destroyed once.
    unsafe { cublas::destroy_handle(handle) }?;
    if mismatches > 0 {
        return Err(format!("{mismatches} case(s) differ from cuBLAS").into());
    }
    Ok(())
}

fn key(name: &str) -> String {
    name.split_whitespace()
        .next()
        .unwrap_or(name)
        .replace('*', "_")
        + "_"
        + name.split_whitespace().nth(1).unwrap_or("")
}

// ---- the epoch --------------------------------------------------------------------------------

const ROWS: usize = 60_000;
const FEATURES: usize = 784;
const CLASSES: usize = 10;
const BATCH: usize = 128;

struct Data {
    x: Vec<f32>,
    y: Vec<f32>,
}

/// Uniform features in [−1, 1) and labels from a fixed random linear teacher (learnable).
fn data() -> Data {
    let x = uniform(42, ROWS * FEATURES);
    let mut r = Rng::new(7);
    let teacher: Vec<f32> = (0..FEATURES * CLASSES).map(|_| r.normal() as f32).collect();
    let y = x
        .chunks_exact(FEATURES)
        .map(|row| {
            let mut best = (f32::MIN, 0usize);
            for c in 0..CLASSES {
                let s: f32 = row
                    .iter()
                    .enumerate()
                    .map(|(f, v)| v * teacher[f * CLASSES + c])
                    .sum();
                if s > best.0 {
                    best = (s, c);
                }
            }
            best.1 as f32
        })
        .collect();
    Data { x, y }
}

fn model(device: Device) -> Res<(Mlp, Optimizer)> {
    let lin = |units| LayerSpec::Linear {
        units,
        bias: true,
        init: Init::Auto,
        bias_init: BiasInit::Zeros,
    };
    let relu = || LayerSpec::Activation {
        activation: ActivationSpec::Relu,
    };
    let spec = MlpSpec {
        input_dim: FEATURES,
        layers: vec![lin(256), relu(), lin(128), relu(), lin(CLASSES)],
    };
    let model = Mlp::new(spec, 1, DType::F32, device)?;
    let opt = Optimizer::new(OptimizerSpec::adam(1e-3), &model.params)?;
    Ok((model, opt))
}

/// Train for `steps` batches (an epoch when `steps` ≥ the batch count) with data resident on
/// `device`; returns (seconds, first logged loss, last loss). The loss comes back to the host
/// every `log_every` steps and at the end; nothing else leaves the device.
#[allow(clippy::too_many_arguments)]
fn run_steps(
    device: Device,
    xs: &Tensor,
    ys: &Tensor,
    m: &mut Mlp,
    opt: &mut Optimizer,
    tape: &mut Tape,
    epoch: u64,
    steps: usize,
) -> Res<(f64, f64, f64)> {
    let t0 = Instant::now();
    let mut perm: Vec<u32> = (0..ROWS as u32).collect();
    Rng::new(epoch).shuffle(&mut perm);
    // One upload per epoch: the batch indices.
    let batches: Vec<Tensor> = perm
        .chunks(BATCH)
        .take(steps)
        .map(|c| {
            let v: Vec<f32> = c.iter().map(|&i| i as f32).collect();
            Tensor::from_slice(&v, v.len(), device)
        })
        .collect::<Result<_, _>>()?;
    let mut grads = m.params.zeros_like()?;
    let (mut first, mut last) = (f64::NAN, f64::NAN);
    let log_every = 100;
    for (step, idx) in batches.iter().enumerate() {
        let Mlp {
            arch,
            params,
            buffers,
        } = &mut *m;
        let mut g = tape.graph(params, true, epoch * 1000 + step as u64);
        let xv = g.gather_rows(xs, idx)?;
        let yv = g.gather_rows(ys, idx)?;
        let yv = g.reshape(yv, [idx.numel()])?;
        let out = arch.forward(&mut g, xv, buffers)?;
        let loss = Loss::CrossEntropy.forward(&mut g, out, yv, None)?;
        g.backward_fresh(loss, &mut grads)?;
        if step % log_every == 0 || step + 1 == batches.len() {
            last = g.to_vec_f64(loss)?[0];
            if first.is_nan() {
                first = last;
            }
        }
        opt.step(&mut m.params, &grads)?;
    }
    Ok((t0.elapsed().as_secs_f64(), first, last))
}

fn steps_per_epoch() -> usize {
    ROWS.div_ceil(BATCH)
}

fn epoch_gpu(epochs: usize) -> Res<()> {
    let device = Device::Cuda(0);
    backend::cuda::ensure_available(0)?;
    let d = data();
    let t = Instant::now();
    let xs = Tensor::from_slice(&d.x, [ROWS, FEATURES], device)?;
    let ys = Tensor::from_slice(&d.y, [ROWS, 1], device)?;
    let _ = ys.to_vec_f32()?; // wait for the uploads
    println!(
        "dataset upload: {:.3} s ({:.0} MB)",
        t.elapsed().as_secs_f64(),
        (d.x.len() * 4) as f64 / 1e6
    );
    let (mut m, mut opt) = model(device)?;
    let mut tape = Tape::new();
    let steps = steps_per_epoch();
    let (warm, f0, l0) = run_steps(device, &xs, &ys, &mut m, &mut opt, &mut tape, 0, steps)?;
    println!(
        "GPU warm-up epoch (kernel compile/load, pools): {warm:.3} s, loss {f0:.4} -> {l0:.4}"
    );
    let mut times = Vec::new();
    let mut last = l0;
    for e in 1..=epochs as u64 {
        let (s, f, l) = run_steps(device, &xs, &ys, &mut m, &mut opt, &mut tape, e, steps)?;
        println!(
            "GPU epoch {e}: {s:.3} s ({:.0} samples/s), loss {f:.4} -> {l:.4}",
            ROWS as f64 / s
        );
        times.push(s);
        last = l;
    }
    let med = median(times);
    println!("RESULT epoch.gpu.seconds {med:.4}");
    println!("RESULT epoch.gpu.samples_per_s {:.0}", ROWS as f64 / med);
    println!("RESULT epoch.gpu.loss_first {f0:.4}");
    println!("RESULT epoch.gpu.loss_last {last:.4}");
    Ok(())
}

fn epoch_cpu(steps: usize) -> Res<()> {
    let device = Device::Cpu;
    let d = data();
    let xs = Tensor::from_slice(&d.x, [ROWS, FEATURES], device)?;
    let ys = Tensor::from_slice(&d.y, [ROWS, 1], device)?;
    let (mut m, mut opt) = model(device)?;
    let mut tape = Tape::new();
    run_steps(device, &xs, &ys, &mut m, &mut opt, &mut tape, 0, 3)?; // warm-up
    let (s, f, l) = run_steps(device, &xs, &ys, &mut m, &mut opt, &mut tape, 1, steps)?;
    let per_step = s / steps as f64;
    let epoch = per_step * steps_per_epoch() as f64;
    println!(
        "CPU: {steps} steps in {s:.3} s ({:.2} ms/step, {:.0} samples/s), loss {f:.4} -> {l:.4}; \
         epoch of {} steps extrapolated: {epoch:.2} s",
        per_step * 1e3,
        BATCH as f64 / per_step,
        steps_per_epoch()
    );
    println!("RESULT epoch.cpu.seconds {epoch:.4}");
    println!(
        "RESULT epoch.cpu.samples_per_s {:.0}",
        BATCH as f64 / per_step
    );
    println!("RESULT epoch.cpu.steps_timed {steps}");
    Ok(())
}
