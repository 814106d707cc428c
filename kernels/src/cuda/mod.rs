//! CUDA kernels, compiled at run time by NVRTC for the device's own architecture.
//!
//! Layout:
//! - `*.cu` + `common.cuh` in this folder: the kernel sources, one file per family, embedded
//!   with `include_str!` ([`Module`]). Kernel names are `<op>_<forward|backward>_f32` (plus a
//!   tile/layout suffix for the GEMM variants).
//! - [`nvrtc`]: compiles a module with NVRTC (through cudarc's `nvrtc::sys` layer, so it can ask
//!   for a CUBIN with `nvrtcGetCUBIN`) and caches the result on disk.
//! - [`device`]: one [`Gpu`] per device ordinal (context, stream, lazily loaded module table),
//!   the non-panicking availability probe, and [`diagnose`] for `neurite doctor`.
//! - [`ops`]: typed launchers over raw device pointers ([`DevPtr`]) and explicit sizes, the CUDA
//!   twins of `cpu::*` (same semantics, including the accumulate flags). They know nothing about
//!   tensors; the engine validates lengths and calls them.
//!
//! # Binary format and caching
//! Each module is compiled to a **CUBIN for the device's exact `sm_XY`**, which the driver loads
//! without JIT, so an NVRTC newer than the driver cannot cause
//! `CUDA_ERROR_UNSUPPORTED_PTX_VERSION` through PTX ISA versions. Only when the device is newer
//! than every architecture the NVRTC knows do we emit PTX for the newest one and let the driver
//! JIT it. Results are cached in `$NEURITE_CUDA_CACHE`, else `$XDG_CACHE_HOME/neurite/cuda`, else
//! `~/.cache/neurite/cuda`, keyed by (FNV-1a hash of the sources and options, NVRTC version,
//! architecture, output kind); `NEURITE_CUDA_CACHE=off` disables the cache. Modules are
//! compiled and loaded lazily, on the first launch of one of their kernels.
//!
//! Other environment variables: `NEURITE_CUDA_DUMP=<dir>` writes every compiled image (and the
//! PTX) there; `NEURITE_CUDA_PTX=1` forces PTX output (driver JIT); `NEURITE_SGEMM_TILE=<tile>`
//! forces one GEMM tile configuration (see [`ops::TILES`]).
//!
//! # cudarc version pin: `cuda-13000`, dynamic loading
//! cudarc needs an explicit CUDA version feature to build without a toolkit. We pin
//! `cuda-13000` (root `Cargo.toml`), after reading cudarc 0.19.10's sources:
//! - With `dynamic-loading`, every library is `dlopen`ed by name on first use and **each symbol
//!   is resolved lazily**, on the first call of that function (a `OnceLock` per function). So
//!   the version feature only matters for the functions we actually call.
//! - The candidate file names come from the pinned major version: with `cuda-13000` they are
//!   `libnvrtc.so`, `libnvrtc.so.13`, `libnvrtc.so.12`, `.11`, … (same for `libcublas`), so
//!   both the CUDA 12 pip wheels used in CI (`libnvrtc.so.12`) and the CUDA 13 libraries of the
//!   GPU machines (driver 580, `libnvrtc.so.13` from the `nvidia-cuda-nvrtc` cu13 wheel or
//!   `/usr/local/cuda/lib64`) are found. With `cuda-12080`, `.so.13` is never tried: a CUDA-13
//!   machine would need an unversioned `libnvrtc.so`/`libcublas.so` development symlink.
//! - The NVRTC entry points we call (create/compile/destroy program, get log, get CUBIN/PTX,
//!   version, supported archs) have the same signatures in 12.x and 13.x; 13's `nvrtcResult`
//!   is a superset. The driver entry points we call (init, device queries, primary context,
//!   streams, async alloc/free, copies, memset, module load, launch, events) exist with the
//!   same ABI in every CUDA 12 and 13 driver; we avoid the few that changed in 13
//!   (`cuDeviceGetUuid_v2`, `cuCtxCreate_v4`, managed-memory `_v2` calls).
//! - libcuda itself is `libcuda.so.1` on every driver.
//!
//! # Probing
//! cudarc panics when a library cannot be loaded, so every entry point first calls the
//! non-panicking `is_culib_present()` probes (driver and NVRTC) and turns a missing library,
//! a failed `cuInit`, no device or a bad ordinal into [`Error::Unavailable`] with the reason.

pub mod device;
pub mod nvrtc;
pub mod ops;

pub use cudarc;
pub use device::{DeviceInfo, Gpu, diagnose, probe};
pub use ops::DevPtr;

use std::fmt;

/// The compiled modules: one per kernel source file, except the GEMM, whose source is compiled
/// once per tile configuration (`-DSGEMM_TILE=<n>`), so that only the tiles in use are compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Module {
    Elementwise,
    Reduce,
    Softmax,
    Loss,
    Dropout,
    BatchNorm,
    Optim,
    Gemm128x128x8,
    Gemm128x128x16,
    Gemm128x64x8,
    Gemm64x64x8,
    Gemm32x32x8,
    Gemm128x128x8w,
    Gemm128x128x16w,
}

impl Module {
    pub const ALL: [Module; 14] = [
        Module::Elementwise,
        Module::Reduce,
        Module::Softmax,
        Module::Loss,
        Module::Dropout,
        Module::BatchNorm,
        Module::Optim,
        Module::Gemm128x128x8,
        Module::Gemm128x128x16,
        Module::Gemm128x64x8,
        Module::Gemm64x64x8,
        Module::Gemm32x32x8,
        Module::Gemm128x128x8w,
        Module::Gemm128x128x16w,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Module::Elementwise => "elementwise",
            Module::Reduce => "reduce",
            Module::Softmax => "softmax",
            Module::Loss => "loss",
            Module::Dropout => "dropout",
            Module::BatchNorm => "batchnorm",
            Module::Optim => "optim",
            Module::Gemm128x128x8 => "matmul_128x128x8",
            Module::Gemm128x128x16 => "matmul_128x128x16",
            Module::Gemm128x64x8 => "matmul_128x64x8",
            Module::Gemm64x64x8 => "matmul_64x64x8",
            Module::Gemm32x32x8 => "matmul_32x32x8",
            Module::Gemm128x128x8w => "matmul_128x128x8w",
            Module::Gemm128x128x16w => "matmul_128x128x16w",
        }
    }

    /// The source file this module is compiled from.
    pub fn file_name(self) -> &'static str {
        match self {
            Module::Elementwise => "elementwise.cu",
            Module::Reduce => "reduce.cu",
            Module::Softmax => "softmax.cu",
            Module::Loss => "loss.cu",
            Module::Dropout => "dropout.cu",
            Module::BatchNorm => "batchnorm.cu",
            Module::Optim => "optim.cu",
            _ => "matmul.cu",
        }
    }

    pub fn source(self) -> &'static str {
        match self {
            Module::Elementwise => include_str!("elementwise.cu"),
            Module::Reduce => include_str!("reduce.cu"),
            Module::Softmax => include_str!("softmax.cu"),
            Module::Loss => include_str!("loss.cu"),
            Module::Dropout => include_str!("dropout.cu"),
            Module::BatchNorm => include_str!("batchnorm.cu"),
            Module::Optim => include_str!("optim.cu"),
            _ => include_str!("matmul.cu"),
        }
    }

    /// Extra NVRTC options (preprocessor defines) of this module.
    pub fn defines(self) -> Vec<String> {
        let tile = match self {
            Module::Gemm128x128x8 => 0,
            Module::Gemm128x128x16 => 1,
            Module::Gemm128x64x8 => 2,
            Module::Gemm64x64x8 => 3,
            Module::Gemm32x32x8 => 4,
            Module::Gemm128x128x8w => 5,
            Module::Gemm128x128x16w => 6,
            _ => return Vec::new(),
        };
        vec![format!("-DSGEMM_TILE={tile}")]
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Headers every module may `#include` (passed to NVRTC in memory).
pub const HEADERS: [(&str, &str); 1] = [("common.cuh", include_str!("common.cuh"))];

/// CUDA failures, each with a human-readable reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// CUDA cannot be used here: no driver library, no device, bad ordinal, no NVRTC, …
    Unavailable(String),
    /// A driver call failed.
    Driver(String),
    /// NVRTC rejected a kernel source (the log says why).
    Compile { module: String, log: String },
    /// Bad arguments to a launcher (the engine validates before calling, so this is a bug).
    Invalid(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unavailable(s) => write!(f, "{s}"),
            Error::Driver(s) => write!(f, "CUDA driver error: {s}"),
            Error::Compile { module, log } => {
                write!(f, "NVRTC failed to compile {module}:\n{log}")
            }
            Error::Invalid(s) => write!(f, "invalid CUDA kernel arguments: {s}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<cudarc::driver::DriverError> for Error {
    fn from(e: cudarc::driver::DriverError) -> Self {
        Error::Driver(format!("{e:?}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The Linux file names cudarc's dynamic loader tries for library `name` (`libname.so`,
/// `libname.so.13`, `.12`, …), in order, without duplicates.
pub fn lib_candidates(name: &str) -> Vec<String> {
    let plain = format!("lib{name}.so");
    let mut out: Vec<String> = Vec::new();
    for c in cudarc::get_lib_name_candidates(name) {
        let versioned = c
            .strip_prefix(&plain)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'));
        if versioned && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Run `f`, turning a panic (cudarc panics when a library or symbol is missing) into an error.
pub(crate) fn no_panic<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::Unavailable(format!("{what}: {msg}")))
        }
    }
}
