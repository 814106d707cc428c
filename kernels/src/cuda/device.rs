//! One [`Gpu`] per device ordinal: the context, the single stream all work goes to, the
//! compile target, and the lazily loaded module table. Plus the non-panicking probe and the
//! `neurite doctor` report.
//!
//! Why one stream per device, with cudarc's per-buffer event tracking turned off: every kernel,
//! copy and free is issued in order on that stream, so it already serialises all accesses, and
//! the tracking would add two CUDA events per buffer and per launch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, result, sys};
use cudarc::nvrtc::Ptx;

use super::nvrtc::{self, Output, Target};
use super::{Error, Module, Result, no_panic};

/// What a device is.
#[derive(Clone, Debug)]
pub struct DeviceInfo {
    pub ordinal: usize,
    pub name: String,
    /// Compute capability `(major, minor)`.
    pub cc: (i32, i32),
    pub sm_count: i32,
    pub total_mem: usize,
    /// `cuDriverGetVersion`, e.g. 13000 for CUDA 13.0.
    pub driver_version: i32,
}

/// A CUDA device ready for launches.
pub struct Gpu {
    info: DeviceInfo,
    target: Target,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    modules: Mutex<[Option<Arc<CudaModule>>; Module::ALL.len()]>,
    functions: Mutex<HashMap<&'static str, CudaFunction>>,
    /// Index into `ops::TILES` of the tile for large GEMMs, measured once (`ops::pick_tile`).
    pub(crate) large_tile: OnceLock<usize>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gpu(cuda:{} {})", self.info.ordinal, self.info.name)
    }
}

type Table = Mutex<HashMap<usize, Result<Arc<Gpu>>>>;

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Whether libcuda can be loaded (never panics).
pub fn driver_present() -> bool {
    // SAFETY: only tries to dlopen the candidate names.
    unsafe { sys::is_culib_present() }
}

fn driver_candidates() -> Vec<String> {
    super::lib_candidates("cuda")
}

/// Initialise the driver and count devices, without panicking.
fn driver_init() -> Result<i32> {
    if !driver_present() {
        return Err(Error::Unavailable(format!(
            "no NVIDIA driver: none of {:?} could be loaded (is this a machine with an NVIDIA GPU \
             and its driver installed?)",
            driver_candidates()
        )));
    }
    no_panic("CUDA driver", || {
        result::init().map_err(|e| Error::Unavailable(format!("cuInit failed: {e:?}")))?;
        let n = CudaContext::device_count()
            .map_err(|e| Error::Unavailable(format!("cuDeviceGetCount failed: {e:?}")))?;
        Ok(n)
    })
}

/// The driver's CUDA version, e.g. 13000.
pub fn driver_version() -> Result<i32> {
    driver_init()?;
    no_panic("cuDriverGetVersion", || {
        let mut v = 0;
        // SAFETY: valid out-pointer.
        unsafe { sys::cuDriverGetVersion(&mut v) }
            .result()
            .map_err(Error::from)?;
        Ok(v)
    })
}

/// Check that device `ordinal` can run our kernels: driver, device, NVRTC, and one module
/// compiled and loaded. Cached per ordinal (the reason too, when it fails).
pub fn probe(ordinal: usize) -> Result<Arc<Gpu>> {
    Gpu::get(ordinal)
}

impl Gpu {
    /// The device `ordinal`, set up on first use (see [`probe`]).
    pub fn get(ordinal: usize) -> Result<Arc<Gpu>> {
        let mut t = table().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = t.get(&ordinal) {
            return r.clone();
        }
        let r = Gpu::open(ordinal).map(Arc::new);
        if let Ok(g) = &r {
            // Compile (or load from the cache) one small module now, so a broken NVRTC or
            // driver/NVRTC mismatch is reported by `--device cuda` up front.
            if let Err(e) = g.module(Module::Elementwise) {
                let e = Error::Unavailable(format!("cuda:{ordinal}: {e}"));
                t.insert(ordinal, Err(e.clone()));
                return Err(e);
            }
        }
        t.insert(ordinal, r.clone());
        r
    }

    fn open(ordinal: usize) -> Result<Gpu> {
        let count = driver_init()?;
        if count == 0 {
            return Err(Error::Unavailable(
                "no CUDA device: the driver loaded but reports 0 devices".into(),
            ));
        }
        if ordinal >= count as usize {
            return Err(Error::Unavailable(format!(
                "no CUDA device {ordinal}: the driver reports {count} device(s)"
            )));
        }
        if !nvrtc::available() {
            return Err(Error::Unavailable(format!(
                "NVRTC not found: none of {:?} could be loaded. Install NVRTC (CUDA toolkit, or \
                 `pip install nvidia-cuda-nvrtc`) and add its lib directory to LD_LIBRARY_PATH",
                nvrtc::nvrtc_candidates()
            )));
        }
        let driver_version = driver_version()?;
        no_panic("CUDA context", || {
            let ctx = CudaContext::new(ordinal).map_err(|e| {
                Error::Unavailable(format!("cuda:{ordinal}: context creation failed: {e:?}"))
            })?;
            // SAFETY: all work goes to the one stream below (see the module docs), so no buffer
            // is ever used on two streams.
            unsafe { ctx.disable_event_tracking() };
            let stream = ctx.new_stream()?;
            let attr = |a| ctx.attribute(a).map_err(Error::from);
            let cc = ctx.compute_capability()?;
            let info = DeviceInfo {
                ordinal,
                name: ctx.name()?,
                cc,
                sm_count: attr(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?,
                total_mem: ctx.total_mem()?,
                driver_version,
            };
            let target = nvrtc::target_for(cc)?;
            Ok(Gpu {
                info,
                target,
                ctx,
                stream,
                modules: Mutex::new(Default::default()),
                functions: Mutex::new(HashMap::new()),
                large_tile: OnceLock::new(),
            })
        })
    }

    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    pub fn ordinal(&self) -> usize {
        self.info.ordinal
    }

    /// What the kernels are compiled to on this device.
    pub fn target(&self) -> Target {
        self.target
    }

    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// The stream every kernel and copy of this device runs on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// Wait for all queued work; reports errors of earlier asynchronous launches.
    pub fn synchronize(&self) -> Result<()> {
        self.stream.synchronize().map_err(Error::from)
    }

    /// A zeroed device buffer of `len` f32 (at least one element is allocated, so `len == 0`
    /// works; the caller keeps the logical length).
    pub fn alloc_zeros(&self, len: usize) -> Result<CudaSlice<f32>> {
        self.stream
            .alloc_zeros::<f32>(len.max(1))
            .map_err(Error::from)
    }

    /// The loaded module, compiling (or reading from the cache) on first use.
    pub fn module(&self, m: Module) -> Result<Arc<CudaModule>> {
        let mut mods = self.modules.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(md) = &mods[m.index()] {
            return Ok(md.clone());
        }
        let compiled = nvrtc::compile_cached(m, self.target)?;
        let ptx = match self.target.output {
            Output::Cubin => Ptx::from_binary(compiled.image),
            Output::Ptx => Ptx::from_src(String::from_utf8_lossy(&compiled.image).into_owned()),
        };
        let md = self.ctx.load_module(ptx).map_err(|e| {
            let hint = match nvrtc::version() {
                Ok((maj, _)) if maj * 1000 > self.info.driver_version => format!(
                    " (NVRTC {maj}.x is newer than the driver's CUDA {}.{}: use an NVRTC no \
                     newer than the driver)",
                    self.info.driver_version / 1000,
                    self.info.driver_version % 1000 / 10
                ),
                _ => String::new(),
            };
            Error::Driver(format!(
                "loading {} ({}) failed: {e:?}{hint}",
                m.name(),
                self.target.describe()
            ))
        })?;
        mods[m.index()] = Some(md.clone());
        Ok(md)
    }

    /// Compile and load every module (for `neurite doctor` and tests).
    pub fn load_all(&self) -> Result<()> {
        for m in Module::ALL {
            self.module(m)?;
        }
        Ok(())
    }

    /// A kernel by name (cached after the first lookup).
    pub fn function(&self, m: Module, name: &'static str) -> Result<CudaFunction> {
        if let Some(f) = self
            .functions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return Ok(f.clone());
        }
        let f = self.module(m)?.load_function(name).map_err(|e| {
            Error::Driver(format!("kernel {name} not found in {}: {e:?}", m.name()))
        })?;
        self.functions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, f.clone());
        Ok(f)
    }

    /// `(free, total)` device memory in bytes.
    pub fn mem_info(&self) -> Result<(usize, usize)> {
        self.ctx.mem_get_info().map_err(Error::from)
    }
}

/// Paths of loaded shared libraries whose file name contains `needle` (Linux: from
/// `/proc/self/maps`).
pub fn loaded_libraries(needle: &str) -> Vec<String> {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return Vec::new();
    };
    let mut out: Vec<String> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| {
            p.starts_with('/')
                && p.rsplit('/')
                    .next()
                    .is_some_and(|f| f.starts_with(needle) && f.contains(".so"))
        })
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Key/value lines describing CUDA here, for `neurite doctor`: driver and NVRTC versions, the
/// library files actually loaded, every device (name, memory, compute capability, target), the
/// kernel cache, or exactly why CUDA is unavailable.
pub fn diagnose() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |k: &str, v: String| out.push((k.to_string(), v));
    push(
        "cuda.build",
        "compiled in (cudarc 0.19, CUDA 13.0 bindings, libraries loaded at run time)".into(),
    );
    let count = match driver_init() {
        Ok(n) => n,
        Err(e) => {
            push("cuda", format!("unavailable: {e}"));
            return out;
        }
    };
    match driver_version() {
        Ok(v) => push(
            "cuda.driver",
            format!("CUDA {}.{} ({v})", v / 1000, v % 1000 / 10),
        ),
        Err(e) => push("cuda.driver", format!("unknown: {e}")),
    }
    push("cuda.driver.library", join(loaded_libraries("libcuda")));
    if nvrtc::available() {
        match nvrtc::version() {
            Ok((a, b)) => push("cuda.nvrtc", format!("{a}.{b}")),
            Err(e) => push("cuda.nvrtc", format!("unknown: {e}")),
        }
        if let Ok(archs) = nvrtc::supported_archs() {
            push(
                "cuda.nvrtc.archs",
                archs
                    .iter()
                    .map(|a| format!("sm_{a}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
    } else {
        push(
            "cuda.nvrtc",
            format!(
                "not found: none of {:?} could be loaded (add NVRTC's lib directory to \
                 LD_LIBRARY_PATH)",
                nvrtc::nvrtc_candidates()
            ),
        );
    }
    push(
        "cuda.cache",
        nvrtc::cache_dir().map_or("off".into(), |d| d.display().to_string()),
    );
    push("cuda.devices", count.to_string());
    if count == 0 {
        push("cuda", "unavailable: no CUDA device".into());
        return out;
    }
    let mut ok = 0;
    for ord in 0..count as usize {
        let key = format!("cuda:{ord}");
        match Gpu::get(ord) {
            Ok(g) => {
                let i = g.info();
                let free = g
                    .mem_info()
                    .map(|(f, _)| format!(", {} free", gib(f)))
                    .unwrap_or_default();
                push(
                    &key,
                    format!(
                        "{}, compute capability {}.{}, {} SMs, {}{free}, kernels: {}",
                        i.name,
                        i.cc.0,
                        i.cc.1,
                        i.sm_count,
                        gib(i.total_mem),
                        g.target().describe()
                    ),
                );
                ok += 1;
            }
            Err(e) => push(&key, format!("unavailable: {e}")),
        }
    }
    // After the first compile, so the NVRTC library is loaded by then.
    if nvrtc::available() {
        push("cuda.nvrtc.library", join(loaded_libraries("libnvrtc")));
    }
    if ok > 0 {
        push("cuda", format!("available ({ok} device(s))"));
    } else {
        push("cuda", "unavailable (see above)".into());
    }
    out
}

fn join(v: Vec<String>) -> String {
    if v.is_empty() {
        "(not loaded yet)".into()
    } else {
        v.join(", ")
    }
}

fn gib(bytes: usize) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}
