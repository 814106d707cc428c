//! Weights on disk: safetensors files holding parameter stores by name, and atomic file writes
//! (temp file in the same folder, fsync, rename, fsync of the folder), so a crash mid-write
//! leaves the previous file intact.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::params::ParamStore;

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Write `bytes` to `path` atomically and durably (fsync of the file and its folder).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_replace(path, bytes, true)
}

/// Write `bytes` to `path` atomically but without fsync: readers and a restarted process
/// never see a partial file, but an operating-system crash may lose the latest version.
/// For frequent, replaceable files (training checkpoints, logs).
pub fn atomic_write_fast(path: &Path, bytes: &[u8]) -> Result<()> {
    write_replace(path, bytes, false)
}

fn write_replace(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = dir.join(format!(".{name}.tmp.{}.{}", std::process::id(), unique()));
    let res = (|| {
        let mut f = fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
        f.write_all(bytes).map_err(|e| io_err(&tmp, e))?;
        if durable {
            f.sync_all().map_err(|e| io_err(&tmp, e))?;
        }
        drop(f);
        fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
        if durable {
            // Make the rename itself durable.
            if let Ok(d) = fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ N.fetch_add(1, Ordering::Relaxed).rotate_left(48)
}

/// Serialize parameter stores (names must be unique across them) into safetensors bytes.
/// Pass at most one metadata key for byte-identical output across processes (safetensors
/// writes the metadata map in `HashMap` order).
pub fn to_safetensors(
    stores: &[&ParamStore],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let mut bufs: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for store in stores {
        let host = store.flat().to_vec_f64()?;
        for spec in store.specs() {
            let vals = &host[spec.range()];
            let (dt, bytes) = match store.dtype() {
                DType::F32 => (
                    Dtype::F32,
                    vals.iter()
                        .flat_map(|&v| (v as f32).to_le_bytes())
                        .collect(),
                ),
                DType::F64 => (
                    Dtype::F64,
                    vals.iter().flat_map(|&v| v.to_le_bytes()).collect(),
                ),
            };
            bufs.push((spec.name.clone(), dt, spec.shape.dims().to_vec(), bytes));
        }
    }
    let views = bufs
        .iter()
        .map(|(n, dt, s, b)| TensorView::new(*dt, s.clone(), b).map(|v| (n.clone(), v)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Weights {
            path: "<memory>".into(),
            detail: e.to_string(),
        })?;
    let meta = if metadata.is_empty() {
        None
    } else {
        Some(metadata)
    };
    safetensors::serialize(views, meta).map_err(|e| Error::Weights {
        path: "<memory>".into(),
        detail: e.to_string(),
    })
}

/// Fill parameter stores from safetensors bytes. Every parameter must be present with the right
/// shape and a float dtype, and the file must hold nothing else; `source` names the file in
/// errors. Returns the file's metadata.
pub fn load_safetensors(
    bytes: &[u8],
    stores: &mut [&mut ParamStore],
    source: &str,
) -> Result<HashMap<String, String>> {
    let bad = |detail: String| Error::Weights {
        path: source.to_string(),
        detail,
    };
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let mut expected = 0usize;
    for store in stores.iter_mut() {
        let specs = store.specs().to_vec();
        for (k, spec) in specs.iter().enumerate() {
            expected += 1;
            let view = st
                .tensor(&spec.name)
                .map_err(|_| bad(format!("missing tensor {:?}", spec.name)))?;
            if view.shape() != spec.shape.dims() {
                return Err(bad(format!(
                    "tensor {:?} has shape {:?}, the model expects {}",
                    spec.name,
                    view.shape(),
                    spec.shape
                )));
            }
            let data = view.data();
            let vals: Vec<f32> = match view.dtype() {
                Dtype::F32 => data
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
                Dtype::F64 => data
                    .chunks_exact(8)
                    .map(|c| {
                        f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                    })
                    .collect(),
                other => {
                    return Err(bad(format!(
                        "tensor {:?} has dtype {other:?}; expected F32",
                        spec.name
                    )));
                }
            };
            if let Some(i) = vals.iter().position(|v| !v.is_finite()) {
                return Err(bad(format!(
                    "tensor {:?} element {i} is not finite",
                    spec.name
                )));
            }
            store.set_f32(crate::params::ParamId(k), &vals)?;
        }
    }
    let n = st.names().len();
    if n != expected {
        return Err(bad(format!(
            "file holds {n} tensors, the model has {expected}"
        )));
    }
    Ok(meta.metadata().clone().unwrap_or_default())
}

/// Read a whole file with a typed error naming it.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| io_err(path, e))
}

/// A host copy of a named tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Serialize named f32 tensors and string metadata as safetensors bytes.
pub fn write_tensors(
    entries: &[(String, HostTensor)],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let bytes: Vec<Vec<u8>> = entries
        .iter()
        .map(|(_, t)| t.data.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views = entries
        .iter()
        .zip(&bytes)
        .map(|((n, t), b)| TensorView::new(Dtype::F32, t.shape.clone(), b).map(|v| (n.clone(), v)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Weights {
            path: "<memory>".into(),
            detail: e.to_string(),
        })?;
    let meta = if metadata.is_empty() {
        None
    } else {
        Some(metadata)
    };
    safetensors::serialize(views, meta).map_err(|e| Error::Weights {
        path: "<memory>".into(),
        detail: e.to_string(),
    })
}

/// Read every tensor (as f32) and the metadata of safetensors bytes; `source` names the file
/// in errors.
pub fn read_tensors(
    bytes: &[u8],
    source: &str,
) -> Result<(HashMap<String, HostTensor>, HashMap<String, String>)> {
    let bad = |detail: String| Error::Weights {
        path: source.to_string(),
        detail,
    };
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!(
                "tensor {name:?} has dtype {:?}; expected F32",
                view.dtype()
            )));
        }
        let data = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        out.insert(
            name,
            HostTensor {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    Ok((out, meta.metadata().clone().unwrap_or_default()))
}

/// Every parameter of `store` as `(prefix + name, host tensor)`.
pub fn store_to_host(store: &ParamStore, prefix: &str) -> Result<Vec<(String, HostTensor)>> {
    let host = store.flat().to_vec_f32()?;
    Ok(store
        .specs()
        .iter()
        .map(|s| {
            (
                format!("{prefix}{}", s.name),
                HostTensor {
                    shape: s.shape.dims().to_vec(),
                    data: host[s.range()].to_vec(),
                },
            )
        })
        .collect())
}

/// Fill `store` from `(prefix + name)` tensors, checking shapes.
pub fn store_from_host(
    store: &mut ParamStore,
    prefix: &str,
    tensors: &HashMap<String, HostTensor>,
    source: &str,
) -> Result<()> {
    for k in 0..store.specs().len() {
        let spec = store.specs()[k].clone();
        let key = format!("{prefix}{}", spec.name);
        let t = tensors.get(&key).ok_or_else(|| Error::Weights {
            path: source.into(),
            detail: format!("missing tensor {key:?}"),
        })?;
        if t.shape != spec.shape.dims() {
            return Err(Error::Weights {
                path: source.into(),
                detail: format!(
                    "tensor {key:?} has shape {:?}, expected {}",
                    t.shape, spec.shape
                ),
            });
        }
        store.set_f32(crate::params::ParamId(k), &t.data)?;
    }
    Ok(())
}
