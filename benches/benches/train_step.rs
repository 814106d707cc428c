//! Criterion bench of one training step (forward, softmax cross-entropy, backward, Adam) of the
//! 784-256-128-10 ReLU MLP at batch 128, and of 64-100-10 at batch 32 (the default model on the
//! digits data): `cargo bench -p neurite-benches --bench train_step`.
//! Throughput is reported in samples. `NEURITE_THREADS` sets the thread count (default 1).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use neurite_benches::{DIGITS_MLP, MNIST_MLP, TrainBench};

fn train(c: &mut Criterion) {
    let threads = std::env::var("NEURITE_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    neurite_kernels::set_num_threads(threads);
    let mut g = c.benchmark_group("train_step");
    for (dims, batch) in [(&MNIST_MLP[..], 128), (&DIGITS_MLP[..], 32)] {
        let mut tb = TrainBench::mlp(dims, batch);
        let dims: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_function(
            format!(
                "{}_train_{}_b{batch}_t{threads}",
                neurite_kernels::isa::active(),
                dims.join("-")
            ),
            |b| b.iter(|| tb.step()),
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = train
}
criterion_main!(benches);
