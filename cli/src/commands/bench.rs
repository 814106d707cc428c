//! `neurite bench kernels`: GEMM (squares and MLP shapes), fused kernels and a training step,
//! in GFLOP/s, % of this machine's measured FMA peak and against `matrixmultiply`, at one
//! thread and all threads (the suite lives in `neurite_benches`).

use anyhow::Result;
use clap::{Args, Subcommand};
use neurite_benches::{BenchOptions, format_report, run_kernel_bench};

#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// The kernel benchmark suite.
    Kernels {
        /// Fewer shapes and shorter timing (about 10-20 s).
        #[arg(long)]
        quick: bool,
        /// The "all threads" count (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Only entries whose name contains this.
        #[arg(long)]
        filter: Option<String>,
        /// Skip square GEMMs above this size.
        #[arg(long, default_value_t = 2048)]
        max_square: usize,
        /// Time on the wall clock instead of thread CPU time.
        #[arg(long)]
        wall: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(a: BenchArgs) -> Result<()> {
    match a.command {
        BenchCommand::Kernels {
            quick,
            threads,
            filter,
            max_square,
            wall,
            json,
        } => {
            let opts = BenchOptions {
                quick,
                threads,
                filter,
                max_square,
                wall,
            };
            let report = run_kernel_bench(&opts);
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", format_report(&report));
            }
            Ok(())
        }
    }
}
