//! `neurite doctor`: what this machine offers neurite (CPU features and the kernel tier in use;
//! CUDA driver, NVRTC, libraries and devices, or exactly why CUDA is unavailable).

use anyhow::Result;
use clap::Args;
use neurite_kernels::isa::{self, Isa};
use serde_json::{Map, Value, json};

#[derive(Args)]
pub struct DoctorArgs {
    /// Print the facts as one JSON object
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: DoctorArgs) -> Result<()> {
    let cuda = neurite_engine::backend::cuda::diagnose();
    let supported: Vec<&str> = Isa::supported().iter().map(|i| i.name()).collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if a.json {
        let c: Map<String, Value> = cuda.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let v = json!({
            "neurite": env!("CARGO_PKG_VERSION"),
            "arch": std::env::consts::ARCH,
            "threads": threads,
            "cpu_features": isa::cpu_features(),
            "kernel_tiers": supported,
            "kernel_tier": isa::active().name(),
            "neurite_isa": std::env::var("NEURITE_ISA").ok(),
            "cuda": c,
        });
        println!("{v}");
        return Ok(());
    }
    println!(
        "neurite {} on {} ({threads} threads)",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    );
    println!("CPU features:  {}", isa::cpu_features().join(" "));
    println!("kernel tiers:  {} (this CPU)", supported.join(", "));
    let forced = std::env::var("NEURITE_ISA")
        .map(|v| format!(" (NEURITE_ISA={v})"))
        .unwrap_or_default();
    println!("kernel tier:   {}{forced}", isa::active());
    println!("CUDA:");
    for (k, v) in cuda {
        println!("  {k:<14} {v}");
    }
    Ok(())
}
