//! Criterion GEMM benches: `cargo bench -p neurite-benches --bench gemm [-- FILTER]`.
//! Names follow `<isa>_gemm_<shape>`; each shape also runs `matrixmultiply` as the peer
//! (`mm_gemm_<shape>`), in the same run. Shapes: `neurite_benches::gemm_shapes` (quick table).
//! `NEURITE_THREADS` sets the thread count (default: one thread, the targets' setting).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use neurite_benches::{BenchOptions, GemmData, gemm_shapes, run_matrixmultiply, run_neurite_gemm};

fn gemm(c: &mut Criterion) {
    let isa = neurite_kernels::isa::active();
    let threads = std::env::var("NEURITE_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let opts = BenchOptions {
        quick: true,
        ..BenchOptions::default()
    };
    let mut g = c.benchmark_group("gemm");
    for s in gemm_shapes(&opts) {
        let mut d = GemmData::new(&s);
        g.throughput(Throughput::Elements(s.flops() as u64));
        let id = s.name.replace(' ', "_");
        g.bench_function(format!("{isa}_gemm_{id}_t{threads}"), |b| {
            b.iter(|| run_neurite_gemm(&s, &mut d, isa, threads))
        });
        g.bench_function(format!("mm_gemm_{id}"), |b| {
            b.iter(|| run_matrixmultiply(&s, &mut d))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1));
    targets = gemm
}
criterion_main!(benches);
