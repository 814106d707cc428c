//! Every `.cu` file compiles with NVRTC for sm_80 and sm_90 and assembles with `ptxas -v`
//! without errors or register spills; every kernel the launchers name exists. Needs no GPU and
//! no driver, only libnvrtc (and ptxas for the assembly half):
//!
//! ```sh
//! eval "$(kernels/scripts/install-nvrtc.sh)"      # pip wheels into .nv/, prints the exports
//! cargo test -p neurite-kernels --features cuda --test nvrtc_compile -- --nocapture
//! ```
//! Without libnvrtc the test prints "skipped: <reason>" and passes; without ptxas
//! (`NEURITE_PTXAS` or `ptxas` on PATH) the ptxas half is skipped the same way, and the
//! register report comes from NVRTC's own `--ptxas-options=-v` log instead.
#![cfg(feature = "cuda")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use neurite_kernels::cuda::Module;
use neurite_kernels::cuda::nvrtc::{self, Output, Target};

const ARCHS: [u32; 2] = [80, 90];

fn ptxas() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NEURITE_PTXAS").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("ptxas"))
            .find(|p| p.is_file())
    })
}

/// Per-kernel resource usage parsed from `ptxas -v` output.
#[derive(Debug, Default, Clone)]
struct Usage {
    kernel: String,
    regs: u32,
    smem: u32,
    stack: u32,
    spill_stores: u32,
    spill_loads: u32,
}

fn num_before(line: &str, unit: &str) -> Option<u32> {
    let i = line.find(unit)?;
    line[..i].split_whitespace().last()?.parse().ok()
}

fn parse_ptxas(log: &str) -> Vec<Usage> {
    let mut out: Vec<Usage> = Vec::new();
    for line in log.lines() {
        if let Some(rest) = line
            .split("Compiling entry function '")
            .nth(1)
            .or_else(|| line.split("Function properties for ").nth(1))
        {
            let name = rest.split('\'').next().unwrap_or(rest).trim().to_string();
            if out.last().is_none_or(|u| u.kernel != name) {
                out.push(Usage {
                    kernel: name,
                    ..Default::default()
                });
            }
            continue;
        }
        let Some(u) = out.last_mut() else { continue };
        if line.contains("spill stores") {
            u.stack = num_before(line, "bytes stack frame").unwrap_or(0);
            u.spill_stores = num_before(line, "bytes spill stores").unwrap_or(0);
            u.spill_loads = num_before(line, "bytes spill loads").unwrap_or(0);
        }
        if line.contains("registers") {
            u.regs = num_before(line, "registers").unwrap_or(0);
            u.smem = num_before(line, "bytes smem").unwrap_or(0);
        }
    }
    out
}

/// Kernel names quoted in the launcher source (`"…_f32"`, `"…_f64"`, GEMM tile names).
fn launcher_kernels() -> BTreeSet<String> {
    let src = include_str!("../src/cuda/ops.rs");
    let mut names: BTreeSet<String> = src
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            (s.ends_with("_f32") || s.ends_with("_f64") || s.ends_with("_generic"))
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(str::to_string)
        .collect();
    for t in neurite_kernels::cuda::ops::TILES {
        names.extend(t.kernels.iter().map(|k| k.to_string()));
    }
    names
}

fn ptx_entries(ptx: &str) -> BTreeSet<String> {
    ptx.lines()
        .filter_map(|l| l.split(".entry ").nth(1))
        .map(|r| r.split('(').next().unwrap_or(r).trim().to_string())
        .collect()
}

struct Job {
    arch: u32,
    module: Module,
    failures: Vec<String>,
    entries: BTreeSet<String>,
    usage: Vec<Usage>,
}

/// NVRTC → PTX → `ptxas -v` (or NVRTC's CUBIN with its own ptxas report when no ptxas is
/// installed), plus NVRTC's CUBIN for sm_90 (the path the runtime takes) for every module but
/// the large GEMM tiles.
fn check_module(arch: u32, m: Module, ptxas: Option<&Path>, tmp: &Path) -> Job {
    let mut job = Job {
        arch,
        module: m,
        failures: Vec::new(),
        entries: BTreeSet::new(),
        usage: Vec::new(),
    };
    let what = format!("{} ({}) sm_{arch}", m.name(), m.file_name());
    let target = |output| Target { arch, output };
    let ptx = match nvrtc::compile(m, target(Output::Ptx), &[]) {
        Ok(c) => c,
        Err(e) => {
            job.failures.push(format!("{what}: {e}"));
            return job;
        }
    };
    if !ptx.log.trim().is_empty() {
        println!("{what} NVRTC log:\n{}", ptx.log);
    }
    job.entries = ptx_entries(&String::from_utf8_lossy(&ptx.image));
    let cubin_opts: &[&str] = if ptxas.is_some() {
        &[]
    } else {
        &["--ptxas-options=-v", "--ptxas-options=--warn-on-spills"]
    };
    let mut report = String::new();
    // The CUBIN path (what the runtime loads) once per module for sm_90; the large GEMM tiles
    // are skipped there when ptxas already assembles their PTX (they take seconds each).
    let big_gemm = m.file_name() == "matmul.cu" && m != Module::Gemm32x32x8;
    if ptxas.is_none() || (arch == 90 && !big_gemm) {
        match nvrtc::compile(m, target(Output::Cubin), cubin_opts) {
            Ok(c) if c.image.starts_with(b"\x7fELF") => report = c.log,
            Ok(_) => job
                .failures
                .push(format!("{what}: NVRTC's CUBIN is not an ELF image")),
            Err(e) => job.failures.push(format!("{what} (cubin): {e}")),
        }
    }
    if let Some(px) = ptxas {
        let f = tmp.join(format!("{}_{arch}.ptx", m.name()));
        std::fs::write(&f, &ptx.image).unwrap();
        let out = Command::new(px)
            .arg(format!("-arch=sm_{arch}"))
            .args(["-v", "--warn-on-spills", "-o"])
            .arg(tmp.join(format!("{}_{arch}.cubin", m.name())))
            .arg(&f)
            .output()
            .expect("run ptxas");
        report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            job.failures
                .push(format!("{what}: ptxas failed ({}):\n{report}", out.status));
        }
    }
    for line in report.lines() {
        let l = line.to_ascii_lowercase();
        if l.contains("error") || (l.contains("warning") && l.contains("spill")) {
            job.failures.push(format!("{what}: {line}"));
        }
    }
    job.usage = parse_ptxas(&report);
    if job.usage.is_empty() {
        job.failures
            .push(format!("{what}: no ptxas report parsed:\n{report}"));
    }
    for u in &job.usage {
        if u.spill_stores > 0 || u.spill_loads > 0 {
            job.failures.push(format!(
                "{what}: {} spills ({} B stores, {} B loads)",
                u.kernel, u.spill_stores, u.spill_loads
            ));
        }
    }
    job
}

#[test]
fn every_cu_file_compiles_and_assembles_without_spills() {
    if !nvrtc::available() {
        println!(
            "skipped: NVRTC not found (none of {:?} loads; run kernels/scripts/install-nvrtc.sh \
             and export what it prints)",
            nvrtc::nvrtc_candidates()
        );
        return;
    }
    let (maj, min) = nvrtc::version().expect("nvrtcVersion");
    let archs = nvrtc::supported_archs().expect("supported archs");
    let ptxas = ptxas();
    println!("NVRTC {maj}.{min}; supported: {archs:?}");
    match &ptxas {
        Some(p) => println!("ptxas: {}", p.display()),
        None => println!(
            "skipped: ptxas half (no NEURITE_PTXAS and no ptxas on PATH); using NVRTC's \
             --ptxas-options=-v report instead"
        ),
    }
    let tmp = std::env::temp_dir().join(format!("neurite-nvrtc-test-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();

    let mut jobs: Vec<(u32, Module)> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for arch in ARCHS {
        if archs.contains(&arch) {
            jobs.extend(Module::ALL.iter().map(|&m| (arch, m)));
        } else {
            failures.push(format!("NVRTC {maj}.{min} cannot target sm_{arch}"));
        }
    }
    // Compile on every core (the GEMM modules take seconds each).
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Job> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&(arch, m)) = jobs.get(i) else { break };
                        out.push(check_module(arch, m, ptxas.as_deref(), &tmp));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("compile thread"))
            .collect()
    });
    let mut table: Vec<(u32, String, Usage)> = Vec::new();
    let mut entries: BTreeSet<String> = BTreeSet::new();
    let mut results = results;
    results.sort_by_key(|j| (j.arch, j.module.name()));
    for j in results {
        failures.extend(j.failures);
        entries.extend(j.entries);
        table.extend(
            j.usage
                .into_iter()
                .map(|u| (j.arch, j.module.name().to_string(), u)),
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);

    for name in launcher_kernels() {
        if !entries.contains(&name) {
            failures.push(format!(
                "kernel {name} (named in ops.rs) is not in any .cu file"
            ));
        }
    }

    println!(
        "{:<6} {:<18} {:<36} {:>5} {:>7} {:>6} {:>7}",
        "arch", "module", "kernel", "regs", "smem", "stack", "spills"
    );
    for (arch, m, u) in &table {
        println!(
            "sm_{:<3} {:<18} {:<36} {:>5} {:>7} {:>6} {:>7}",
            arch,
            m,
            u.kernel,
            u.regs,
            u.smem,
            u.stack,
            u.spill_stores + u.spill_loads
        );
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn cache_key_changes_with_target() {
    // The option list (part of the cache key) names the architecture and output kind.
    let t = |arch, output| Target { arch, output };
    let m = Module::Elementwise;
    let a = nvrtc::options(m, t(80, Output::Cubin));
    let b = nvrtc::options(m, t(90, Output::Cubin));
    let c = nvrtc::options(m, t(90, Output::Ptx));
    assert_ne!(a, b);
    assert_ne!(b, c);
    // Each GEMM tile is its own module.
    assert_ne!(
        nvrtc::options(Module::Gemm32x32x8, t(90, Output::Cubin)),
        nvrtc::options(Module::Gemm64x64x8, t(90, Output::Cubin))
    );
}

#[test]
fn rng_matches_the_values_the_kernel_emulation_checks() {
    // kernels/tests/emu/emu_test.cpp checks common.cuh's nr_bits against these same values
    // (computed independently in Python), so the CPU and CUDA generators agree bit for bit.
    use neurite_kernels::rng;
    assert_eq!(rng::bits(7, 0), 0xa123_92ab_8d8b_263d);
    assert_eq!(rng::bits(7, 1), 0xf062_a853_731c_222f);
    assert_eq!(rng::bits(123_456_789, 987_654_321), 0xa78c_1b82_1387_e72d);
}
