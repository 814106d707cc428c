//! Criterion benches of the fused kernels on every tier this CPU runs (`<isa>_<op>_<shape>`):
//! bias+activation forward/backward, softmax + cross-entropy forward/backward, row/column
//! sums, dropout, AdamW over the flat 784-256-128-10 parameter buffer.
//! `cargo bench -p neurite-benches --bench fused [-- FILTER]`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use neurite_kernels::Isa;
use neurite_kernels::cpu::activation::{self as act, Activation};
use neurite_kernels::cpu::optim::{self, AdamParams};
use neurite_kernels::cpu::{dropout, reduce, softmax};

fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut r = neurite_kernels::rng::Rng::new(seed);
    (0..n).map(|_| (r.next_f64() * 6.0 - 3.0) as f32).collect()
}

fn fused(c: &mut Criterion) {
    let mut g = c.benchmark_group("fused");
    let n = 128 * 256;
    let x = data(n, 1);
    let dy = data(n, 2);
    let mut y = vec![0.0f32; n];
    let mut dx = vec![0.0f32; n];
    for isa in Isa::supported() {
        g.throughput(Throughput::Elements(n as u64));
        for a in [
            Activation::Relu,
            Activation::LeakyRelu(0.01),
            Activation::Gelu,
            Activation::Sigmoid,
            Activation::Tanh,
        ] {
            g.bench_function(format!("{isa}_{}_fwd_128x256", a.name()), |b| {
                b.iter(|| act::activation_forward_isa(isa, a, &mut y, &x))
            });
            g.bench_function(format!("{isa}_{}_bwd_128x256", a.name()), |b| {
                b.iter(|| act::activation_backward_isa(isa, a, &mut dx, &x, &y, &dy, false))
            });
        }
        for (rows, cols) in [(128usize, 10usize), (512, 1000)] {
            let logits = data(rows * cols, 3);
            let t: Vec<f32> = (0..rows).map(|i| (i % cols) as f32).collect();
            let mut loss = vec![0.0f32; rows];
            let mut probs = vec![0.0f32; rows * cols];
            let dl = vec![1.0f32 / rows as f32; rows];
            let mut gl = vec![0.0f32; rows * cols];
            g.throughput(Throughput::Elements((rows * cols) as u64));
            g.bench_function(format!("{isa}_softmax_xent_fwd_{rows}x{cols}"), |b| {
                b.iter(|| {
                    softmax::softmax_cross_entropy_forward_isa(
                        isa, &mut loss, &mut probs, &logits, &t, rows, cols,
                    )
                })
            });
            g.bench_function(format!("{isa}_softmax_xent_bwd_{rows}x{cols}"), |b| {
                b.iter(|| {
                    softmax::softmax_cross_entropy_backward_isa(
                        isa, &mut gl, &probs, &t, &dl, rows, cols, false,
                    )
                })
            });
        }
        let mut o = vec![0.0f32; 256];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("{isa}_colsum_128x256"), |b| {
            b.iter(|| reduce::sum_forward_isa(isa, &mut o, &x, 1, 128, 256, 1.0, false))
        });
        let mut mask = vec![0.0f32; n];
        g.bench_function(format!("{isa}_dropout_fwd_128x256"), |b| {
            b.iter(|| dropout::dropout_forward_isa(isa, &mut y, &mut mask, &x, 0.1, 7, 0))
        });
        let np = 235_146;
        let gr = data(np, 5);
        let mut p = data(np, 6);
        let mut m = vec![0.0f32; np];
        let mut v = vec![0.0f32; np];
        let hp = AdamParams {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            decoupled: true,
            step: 10,
        };
        g.throughput(Throughput::Elements(np as u64));
        g.bench_function(format!("{isa}_adamw_{np}"), |b| {
            b.iter(|| optim::adam_step_isa(isa, &mut p, &gr, &mut m, &mut v, hp))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(200))
        .measurement_time(std::time::Duration::from_millis(700));
    targets = fused
}
criterion_main!(benches);
