//! Checkpoints: the complete training state in one safetensors file (weights, buffers,
//! optimizer moments, callback weight snapshots as tensors; epoch, step, learning-rate state,
//! history and callback states as JSON metadata), written atomically. Resuming from one
//! continues bit-for-bit where the run stopped: every random choice in training is a function
//! of the seed and the epoch or step counters saved here.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use neurite_engine::io::{self, HostTensor};
use neurite_engine::nn::Mlp;
use neurite_engine::{Optimizer, Tensor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bundle::EpochRecord;
use crate::error::{Error, Result};

pub const CHECKPOINT_FORMAT: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainState {
    pub format: u32,
    /// Completed epochs.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub step: u64,
    pub lr_scale: f64,
    pub opt_step: u64,
    pub history: Vec<EpochRecord>,
    pub callbacks: BTreeMap<String, Value>,
    pub run_id: String,
    pub data_sha256: String,
    /// The merged training configuration the run uses.
    pub config: Value,
    pub version: u32,
    /// Optional extra (incremental parent, replay).
    pub extra: Value,
}

pub fn save(
    path: &Path,
    state: &TrainState,
    model: &Mlp,
    opt: &Optimizer,
    snapshots: &[(&str, &Mlp)],
) -> Result<()> {
    let mut entries = io::store_to_host(&model.params, "params/")?;
    entries.extend(io::store_to_host(&model.buffers, "buffers/")?);
    for (i, t) in opt.state().iter().enumerate() {
        entries.push((
            format!("optimizer/{i}"),
            HostTensor {
                shape: vec![t.numel()],
                data: t.to_vec_f32()?,
            },
        ));
    }
    for (name, m) in snapshots {
        entries.extend(io::store_to_host(
            &m.params,
            &format!("snapshot/{name}/params/"),
        )?);
        entries.extend(io::store_to_host(
            &m.buffers,
            &format!("snapshot/{name}/buffers/"),
        )?);
    }
    let json = serde_json::to_string(state).map_err(|e| Error::Config(e.to_string()))?;
    let meta = HashMap::from([("neurite_checkpoint".to_string(), json)]);
    // Atomic (a killed run leaves the previous checkpoint whole) but not fsynced: a
    // checkpoint is replaced every few seconds and only has to survive the process.
    io::atomic_write_fast(path, &io::write_tensors(&entries, meta)?)?;
    Ok(())
}

/// Load a checkpoint into `model` and `opt` (built with the run's architecture and optimizer);
/// returns the state and the named weight snapshots.
pub fn load(
    path: &Path,
    model: &mut Mlp,
    opt: &mut Optimizer,
) -> Result<(TrainState, BTreeMap<String, Mlp>)> {
    let src = path.display().to_string();
    let bytes = io::read_file(path)?;
    let (tensors, meta) = io::read_tensors(&bytes, &src)?;
    let json = meta
        .get("neurite_checkpoint")
        .ok_or_else(|| Error::Manifest {
            path: path.into(),
            detail: "not a neurite checkpoint".into(),
        })?;
    let state: TrainState = serde_json::from_str(json).map_err(|e| Error::Manifest {
        path: path.into(),
        detail: e.to_string(),
    })?;
    if state.format > CHECKPOINT_FORMAT {
        return Err(Error::Manifest {
            path: path.into(),
            detail: format!(
                "checkpoint format {} is newer than this neurite",
                state.format
            ),
        });
    }
    io::store_from_host(&mut model.params, "params/", &tensors, &src)?;
    io::store_from_host(&mut model.buffers, "buffers/", &tensors, &src)?;
    let device = model.params.device();
    for (i, slot) in opt.state_mut().iter_mut().enumerate() {
        let key = format!("optimizer/{i}");
        let t = tensors.get(&key).ok_or_else(|| Error::Manifest {
            path: path.into(),
            detail: format!("missing {key}"),
        })?;
        if t.data.len() != slot.numel() {
            return Err(Error::Manifest {
                path: path.into(),
                detail: format!(
                    "{key} has {} values, expected {}",
                    t.data.len(),
                    slot.numel()
                ),
            });
        }
        *slot = Tensor::from_slice(&t.data, slot.numel(), device)?;
    }
    opt.step = state.opt_step;
    let mut snaps = BTreeMap::new();
    let names: std::collections::BTreeSet<String> = tensors
        .keys()
        .filter_map(|k| k.strip_prefix("snapshot/"))
        .filter_map(|k| k.split('/').next())
        .map(String::from)
        .collect();
    for name in names {
        let mut m = model.clone();
        io::store_from_host(
            &mut m.params,
            &format!("snapshot/{name}/params/"),
            &tensors,
            &src,
        )?;
        io::store_from_host(
            &mut m.buffers,
            &format!("snapshot/{name}/buffers/"),
            &tensors,
            &src,
        )?;
        snaps.insert(name, m);
    }
    Ok((state, snaps))
}
