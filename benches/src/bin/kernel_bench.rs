//! `neurite-kernel-bench [--json] [--quick] [--wall] [--threads N] [--filter S]
//! [--max-square N]`:
//! the kernel benchmark suite as a plain binary (what `neurite bench kernels` runs, and what
//! `benches/compare/kernels.sh` calls for the neurite column).

use neurite_benches::{BenchOptions, print_report, run_kernel_bench};

fn main() {
    // This thread runs every kernel call: make it a pool worker (see `threads::init_pool`).
    neurite_kernels::init_pool();
    let mut opts = BenchOptions::default();
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--json" => json = true,
            "--quick" => opts.quick = true,
            "--wall" => opts.wall = true,
            "--threads" => opts.threads = args.next().and_then(|s| s.parse().ok()),
            "--filter" => opts.filter = args.next(),
            "--max-square" => {
                opts.max_square = args.next().and_then(|s| s.parse().ok()).unwrap_or(2048)
            }
            "-h" | "--help" => {
                eprintln!(
                    "usage: neurite-kernel-bench [--json] [--quick] [--wall] [--threads N] [--filter S] [--max-square N]"
                );
                return;
            }
            other => {
                eprintln!("unknown argument {other:?}");
                std::process::exit(2);
            }
        }
    }
    let report = run_kernel_bench(&opts);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("report serialises")
        );
    } else {
        print_report(&report);
    }
}
