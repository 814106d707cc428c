//! NVRTC: compile a kernel module to a CUBIN (or PTX), with an on-disk cache.
//!
//! Uses cudarc's raw `nvrtc::sys` bindings (dynamically loaded), because the safe wrapper only
//! returns PTX and we want a CUBIN for the device's exact architecture (see the module docs of
//! [`crate::cuda`]). Needs no GPU and no driver: the NVRTC compile test
//! (`kernels/tests/nvrtc_compile.rs`) runs it on CPU-only CI machines.

use std::ffi::{CStr, CString, c_char, c_int};
use std::path::PathBuf;

use cudarc::nvrtc::sys;

use super::{Error, HEADERS, Module, Result, no_panic};

/// Bumped whenever the cache key or file format changes.
const CACHE_FORMAT: u32 = 1;

/// What NVRTC should produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Output {
    /// Machine code for exactly `sm_<arch>` (loaded without JIT).
    Cubin,
    /// PTX for `compute_<arch>` (JIT-compiled by the driver at load time).
    Ptx,
}

/// A compile target: `arch` is `10·major + minor` of the compute capability (90 = sm_90).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    pub arch: u32,
    pub output: Output,
}

impl Target {
    pub fn describe(&self) -> String {
        match self.output {
            Output::Cubin => format!("sm_{} cubin", self.arch),
            Output::Ptx => format!("compute_{} ptx", self.arch),
        }
    }
}

/// A compiled module image.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// CUBIN bytes, or PTX text (without a trailing NUL).
    pub image: Vec<u8>,
    pub target: Target,
    /// NVRTC's log (warnings; ptxas statistics when `-Xptxas -v` was passed).
    pub log: String,
    /// Whether the image came from the disk cache.
    pub cached: bool,
}

/// Whether libnvrtc can be loaded (never panics).
pub fn available() -> bool {
    // SAFETY: only tries to dlopen the candidate names.
    unsafe { sys::is_culib_present() }
}

fn check(what: &str, r: sys::nvrtcResult) -> Result<()> {
    if r == sys::nvrtcResult::NVRTC_SUCCESS {
        Ok(())
    } else {
        Err(Error::Driver(format!("{what}: {r:?}")))
    }
}

fn require() -> Result<()> {
    if available() {
        Ok(())
    } else {
        Err(Error::Unavailable(format!(
            "NVRTC not found: none of {:?} could be loaded. Install the CUDA toolkit's NVRTC \
             (or `pip install nvidia-cuda-nvrtc` for CUDA 13, `nvidia-cuda-nvrtc-cu12` for 12) \
             and put its lib directory on LD_LIBRARY_PATH",
            nvrtc_candidates()
        )))
    }
}

/// The library file names cudarc tries for NVRTC.
pub fn nvrtc_candidates() -> Vec<String> {
    super::lib_candidates("nvrtc")
}

/// NVRTC's version `(major, minor)`.
pub fn version() -> Result<(i32, i32)> {
    require()?;
    no_panic("nvrtcVersion", || {
        let (mut major, mut minor) = (0, 0);
        // SAFETY: two valid out-pointers.
        check("nvrtcVersion", unsafe {
            sys::nvrtcVersion(&mut major, &mut minor)
        })?;
        Ok((major, minor))
    })
}

/// The `sm_XY` architectures this NVRTC can compile for, as `10·major + minor`, ascending.
pub fn supported_archs() -> Result<Vec<u32>> {
    require()?;
    no_panic("nvrtcGetSupportedArchs", || {
        let mut n: c_int = 0;
        // SAFETY: valid out-pointer; then a buffer of exactly n ints.
        check("nvrtcGetNumSupportedArchs", unsafe {
            sys::nvrtcGetNumSupportedArchs(&mut n)
        })?;
        let mut v = vec![0 as c_int; n.max(0) as usize];
        check("nvrtcGetSupportedArchs", unsafe {
            sys::nvrtcGetSupportedArchs(v.as_mut_ptr())
        })?;
        let mut v: Vec<u32> = v.into_iter().map(|a| a as u32).collect();
        v.sort_unstable();
        Ok(v)
    })
}

/// Pick the target for a device of compute capability `(major, minor)`: a CUBIN for exactly
/// that architecture when NVRTC knows it, else PTX for the newest architecture it knows (the
/// driver JIT-compiles it). `NEURITE_CUDA_PTX=1` forces PTX.
pub fn target_for(cc: (i32, i32)) -> Result<Target> {
    let arch = (cc.0.max(0) * 10 + cc.1.max(0)) as u32;
    let archs = supported_archs()?;
    let force_ptx = std::env::var("NEURITE_CUDA_PTX").is_ok_and(|v| v == "1");
    if archs.contains(&arch) {
        return Ok(Target {
            arch,
            output: if force_ptx {
                Output::Ptx
            } else {
                Output::Cubin
            },
        });
    }
    // A CUBIN runs on later minor versions of its major architecture.
    if let Some(a) = archs
        .iter()
        .copied()
        .filter(|&a| a < arch && a / 10 == arch / 10)
        .max()
    {
        return Ok(Target {
            arch: a,
            output: if force_ptx {
                Output::Ptx
            } else {
                Output::Cubin
            },
        });
    }
    match archs.iter().copied().filter(|&a| a < arch).max() {
        Some(a) => Ok(Target {
            arch: a,
            output: Output::Ptx,
        }),
        None => Err(Error::Unavailable(format!(
            "this NVRTC cannot compile for sm_{arch} (it supports {archs:?})"
        ))),
    }
}

/// The NVRTC options for a module and target (also part of the cache key).
pub fn options(module: Module, target: Target) -> Vec<String> {
    let arch = match target.output {
        Output::Cubin => format!("--gpu-architecture=sm_{}", target.arch),
        Output::Ptx => format!("--gpu-architecture=compute_{}", target.arch),
    };
    let mut o = vec![arch, "--std=c++17".into(), "--fmad=true".into()];
    o.extend(module.defines());
    o
}

/// Compile `module` for `target`, through the disk cache.
pub fn compile_cached(module: Module, target: Target) -> Result<Compiled> {
    let (maj, min) = version()?;
    let opts = options(module, target);
    let key = cache_key(module, &opts);
    let ext = match target.output {
        Output::Cubin => "cubin",
        Output::Ptx => "ptx",
    };
    let file = format!(
        "{}-{key:016x}-nvrtc{maj}.{min}-{}.{ext}",
        module.name(),
        match target.output {
            Output::Cubin => format!("sm_{}", target.arch),
            Output::Ptx => format!("compute_{}", target.arch),
        }
    );
    let dir = cache_dir();
    if let Some(dir) = &dir
        && let Ok(image) = std::fs::read(dir.join(&file))
        && !image.is_empty()
    {
        return Ok(Compiled {
            image,
            target,
            log: String::new(),
            cached: true,
        });
    }
    let out = compile(module, target, &[])?;
    if let Some(dir) = &dir {
        // Best effort: a read-only home only costs a recompile next time.
        if std::fs::create_dir_all(dir).is_ok() {
            let tmp = dir.join(format!("{file}.{}.tmp", std::process::id()));
            if std::fs::write(&tmp, &out.image).is_ok() {
                let _ = std::fs::rename(&tmp, dir.join(&file));
            }
            let _ = std::fs::remove_file(&tmp);
        }
    }
    Ok(out)
}

/// Compile `module` for `target` with NVRTC (no cache). `extra` options are appended (the
/// compile test passes `--ptxas-options=-v`).
pub fn compile(module: Module, target: Target, extra: &[&str]) -> Result<Compiled> {
    let mut opts = options(module, target);
    opts.extend(extra.iter().map(|s| s.to_string()));
    let (image, log) = compile_source(module.name(), module.source(), &HEADERS, &opts, target)?;
    if let Ok(dir) = std::env::var("NEURITE_CUDA_DUMP") {
        let dir = PathBuf::from(dir);
        let _ = std::fs::create_dir_all(&dir);
        let ext = match target.output {
            Output::Cubin => "cubin",
            Output::Ptx => "ptx",
        };
        let _ = std::fs::write(
            dir.join(format!("{}.{}.{ext}", module.name(), target.arch)),
            &image,
        );
    }
    Ok(Compiled {
        image,
        target,
        log,
        cached: false,
    })
}

/// Compile one source with in-memory headers; returns the image and the log.
pub fn compile_source(
    name: &str,
    src: &str,
    headers: &[(&str, &str)],
    opts: &[String],
    target: Target,
) -> Result<(Vec<u8>, String)> {
    require()?;
    let cerr = |e: std::ffi::NulError| Error::Invalid(format!("NUL byte in {name}: {e}"));
    let c_src = CString::new(src).map_err(cerr)?;
    let c_name = CString::new(format!("{name}.cu")).map_err(cerr)?;
    let h_src: Vec<CString> = headers
        .iter()
        .map(|(_, s)| CString::new(*s))
        .collect::<std::result::Result<_, _>>()
        .map_err(cerr)?;
    let h_name: Vec<CString> = headers
        .iter()
        .map(|(n, _)| CString::new(*n))
        .collect::<std::result::Result<_, _>>()
        .map_err(cerr)?;
    let c_opts: Vec<CString> = opts
        .iter()
        .map(|o| CString::new(o.as_str()))
        .collect::<std::result::Result<_, _>>()
        .map_err(cerr)?;
    no_panic("NVRTC", || {
        let hp: Vec<*const c_char> = h_src.iter().map(|c| c.as_ptr()).collect();
        let hn: Vec<*const c_char> = h_name.iter().map(|c| c.as_ptr()).collect();
        let op: Vec<*const c_char> = c_opts.iter().map(|c| c.as_ptr()).collect();
        let mut prog: sys::nvrtcProgram = std::ptr::null_mut();
        // SAFETY: every pointer is a NUL-terminated string that outlives the program; the
        // header arrays have `headers.len()` entries.
        check("nvrtcCreateProgram", unsafe {
            sys::nvrtcCreateProgram(
                &mut prog,
                c_src.as_ptr(),
                c_name.as_ptr(),
                hp.len() as c_int,
                hp.as_ptr(),
                hn.as_ptr(),
            )
        })?;
        let res = (|| {
            // SAFETY: `prog` is a valid program; `op` holds `op.len()` option strings.
            let rc = unsafe { sys::nvrtcCompileProgram(prog, op.len() as c_int, op.as_ptr()) };
            let log = program_log(prog);
            if rc != sys::nvrtcResult::NVRTC_SUCCESS {
                return Err(Error::Compile {
                    module: name.to_string(),
                    log: format!("{rc:?}\n{log}"),
                });
            }
            let image = match target.output {
                Output::Cubin => {
                    let mut n = 0usize;
                    check("nvrtcGetCUBINSize", unsafe {
                        sys::nvrtcGetCUBINSize(prog, &mut n)
                    })?;
                    let mut buf = vec![0u8; n];
                    check("nvrtcGetCUBIN", unsafe {
                        sys::nvrtcGetCUBIN(prog, buf.as_mut_ptr() as *mut c_char)
                    })?;
                    buf
                }
                Output::Ptx => {
                    let mut n = 0usize;
                    check("nvrtcGetPTXSize", unsafe {
                        sys::nvrtcGetPTXSize(prog, &mut n)
                    })?;
                    let mut buf = vec![0u8; n];
                    check("nvrtcGetPTX", unsafe {
                        sys::nvrtcGetPTX(prog, buf.as_mut_ptr() as *mut c_char)
                    })?;
                    while buf.last() == Some(&0) {
                        buf.pop();
                    }
                    buf
                }
            };
            Ok((image, log))
        })();
        // SAFETY: `prog` was created above and is destroyed once.
        unsafe {
            sys::nvrtcDestroyProgram(&mut prog);
        }
        res
    })
}

fn program_log(prog: sys::nvrtcProgram) -> String {
    let mut n = 0usize;
    // SAFETY: valid program; the buffer holds n bytes including the NUL.
    unsafe {
        if sys::nvrtcGetProgramLogSize(prog, &mut n) != sys::nvrtcResult::NVRTC_SUCCESS || n == 0 {
            return String::new();
        }
        let mut buf = vec![0 as c_char; n];
        if sys::nvrtcGetProgramLog(prog, buf.as_mut_ptr()) != sys::nvrtcResult::NVRTC_SUCCESS {
            return String::new();
        }
        CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned()
    }
}

/// The cache folder, or `None` when caching is off or no home is known.
pub fn cache_dir() -> Option<PathBuf> {
    if let Ok(v) = std::env::var("NEURITE_CUDA_CACHE") {
        if v.is_empty() || v == "off" || v == "0" {
            return None;
        }
        return Some(PathBuf::from(v));
    }
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("neurite").join("cuda"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".cache").join("neurite").join("cuda"))
}

/// FNV-1a over the module source, the headers and the options (stable across Rust versions,
/// unlike `DefaultHasher`).
fn cache_key(module: Module, opts: &[String]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    feed(&CACHE_FORMAT.to_le_bytes());
    feed(module.source().as_bytes());
    for (n, s) in HEADERS {
        feed(n.as_bytes());
        feed(s.as_bytes());
    }
    for o in opts {
        feed(o.as_bytes());
    }
    h
}
