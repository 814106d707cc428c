//! Criterion bench of one training step (forward, softmax cross-entropy, backward, Adam) of the
//! 784-256-128-10 ReLU MLP at batch 128: `cargo bench -p neurite-benches --bench train_step`.
//! Throughput is reported in samples. `NEURITE_THREADS` sets the thread count (default 1).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use neurite_benches::TrainBench;

fn train(c: &mut Criterion) {
    let threads = std::env::var("NEURITE_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    neurite_kernels::set_num_threads(threads);
    let mut g = c.benchmark_group("train_step");
    let mut tb = TrainBench::new(128);
    g.throughput(Throughput::Elements(128));
    g.bench_function(
        format!(
            "{}_train_784-256-128-10_b128_t{threads}",
            neurite_kernels::isa::active()
        ),
        |b| b.iter(|| tb.step()),
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = train
}
criterion_main!(benches);
