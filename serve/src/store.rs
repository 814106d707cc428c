//! The models this server answers for: a snapshot of the registry (served models, their
//! versions and aliases) swapped atomically when the registry changes, and the loaded bundles.
//!
//! Requests read the current snapshot without locking and hold the loaded model in an `Arc`,
//! so a refresh (a new version, a moved alias) never fails a request already in flight: it
//! finishes on the bundle it started with, and the next request sees the new snapshot. A
//! version an alias moves to is loaded *before* the new snapshot is published.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use neurite_engine::nn::LayerSpec;
use neurite_pipeline::registry::validate_name;
use neurite_pipeline::{Bundle, InputField, ModelRef, Registry};

use crate::aliases::{self, ALIASES_FILE, Stamp};
use crate::error::{Result, ServeError};

/// Check a model, version, alias or run name (no path can leave its folder).
pub fn check_name(s: &str) -> Result<()> {
    validate_name(s).map_err(|e| ServeError::BadRequest(plain(e)))
}

/// A pipeline error's message without the "invalid configuration:" prefix.
fn plain(e: neurite_pipeline::Error) -> String {
    match e {
        neurite_pipeline::Error::Config(m) => m,
        other => other.to_string(),
    }
}

/// What `--model` asked to serve: a name, optionally pinned to a version or an alias.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeSpec {
    pub name: String,
    pub pin: Option<VersionSel>,
}

/// Which version of a model a request wants.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum VersionSel {
    /// The model's default: its pin, else the latest version.
    Default,
    Number(u32),
    Alias(String),
}

impl VersionSel {
    /// `3` or `v3` → a version number; anything else (validated) → an alias.
    pub fn parse(s: &str) -> Result<VersionSel> {
        if let Some(k) = s
            .strip_prefix('v')
            .unwrap_or(s)
            .parse::<u32>()
            .ok()
            .filter(|&k| k > 0)
        {
            return Ok(VersionSel::Number(k));
        }
        check_name(s)?;
        Ok(VersionSel::Alias(s.to_string()))
    }

    /// A strict version number (`/versions/{v}` routes).
    pub fn parse_number(s: &str) -> Result<VersionSel> {
        s.strip_prefix('v')
            .unwrap_or(s)
            .parse::<u32>()
            .ok()
            .filter(|&k| k > 0)
            .map(VersionSel::Number)
            .ok_or_else(|| {
                ServeError::BadRequest(format!("version {s:?} is not a positive integer"))
            })
    }
}

impl ServeSpec {
    pub fn parse(s: &str) -> Result<ServeSpec> {
        let r = ModelRef::parse(s.trim()).map_err(|e| ServeError::Config(e.to_string()))?;
        let pin = match r.version {
            None => None,
            Some(v) => Some(VersionSel::parse(&v).map_err(|e| ServeError::Config(e.to_string()))?),
        };
        Ok(ServeSpec { name: r.name, pin })
    }

    /// `name` or `name@pin`, parseable back by [`ServeSpec::parse`].
    pub fn parse_ref(s: &str) -> Result<(String, VersionSel)> {
        let r = ModelRef::parse(s.trim()).map_err(|e| ServeError::BadRequest(plain(e)))?;
        let sel = match r.version {
            None => VersionSel::Default,
            Some(v) => VersionSel::parse(&v)?,
        };
        Ok((r.name, sel))
    }
}

/// A model version ready to predict, with what requests are checked against.
#[derive(Debug)]
pub struct Loaded {
    pub name: String,
    pub version: u32,
    pub bundle: Bundle,
    pub schema: Vec<InputField>,
    /// Field name → position in `schema`.
    pub index: HashMap<String, usize>,
    /// Multiply-adds of one row's forward pass.
    pub macs_per_row: usize,
    /// Queue of the small requests waiting for this model's next forward pass.
    pub batcher: crate::batch::Batcher,
}

impl Loaded {
    pub fn load(name: &str, version: u32, dir: &Path) -> std::result::Result<Loaded, String> {
        let bundle = Bundle::load(dir).map_err(|e| e.to_string())?;
        let schema = bundle.input_schema();
        let index = schema
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i))
            .collect();
        let spec = &bundle.manifest.architecture;
        let mut width = spec.input_dim;
        let mut macs = 0usize;
        for l in &spec.layers {
            if let LayerSpec::Linear { units, .. } = l {
                macs = macs.saturating_add(width.saturating_mul(*units));
                width = *units;
            }
        }
        Ok(Loaded {
            name: name.to_string(),
            version,
            bundle,
            schema,
            index,
            macs_per_row: macs.max(1),
            batcher: crate::batch::Batcher::default(),
        })
    }

    /// Class labels for a classifier, `None` for regression.
    pub fn classes(&self) -> Option<&[String]> {
        match &self.bundle.manifest.target {
            neurite_pipeline::data::preprocess::TargetEncoder::Classes { labels, .. } => {
                Some(labels)
            }
            _ => None,
        }
    }

    /// Label names of a multi-label classifier, `None` otherwise.
    pub fn multilabel(&self) -> Option<&[String]> {
        match &self.bundle.manifest.target {
            neurite_pipeline::data::target::TargetEncoder::Multilabel { columns } => Some(columns),
            _ => None,
        }
    }

    /// Target column names.
    pub fn targets(&self) -> Vec<String> {
        self.bundle.manifest.target.columns()
    }
}

/// One version folder; its bundle is loaded once, on first use or by a refresh.
#[derive(Debug)]
pub struct Slot {
    pub version: u32,
    pub dir: PathBuf,
    loaded: OnceLock<Arc<Loaded>>,
    /// A load failed and was logged (refreshes retry quietly; requests still get the error).
    failed: std::sync::atomic::AtomicBool,
}

impl Slot {
    pub fn get(&self) -> Option<Arc<Loaded>> {
        self.loaded.get().cloned()
    }

    fn load(&self, name: &str) -> std::result::Result<Arc<Loaded>, String> {
        if let Some(l) = self.loaded.get() {
            return Ok(l.clone());
        }
        let l = Arc::new(Loaded::load(name, self.version, &self.dir)?);
        Ok(self.loaded.get_or_init(|| l).clone())
    }
}

#[derive(Debug, Clone)]
pub struct ModelEntry {
    pub name: String,
    pub pin: Option<VersionSel>,
    /// Every version folder of the model (ascending).
    pub versions: BTreeMap<u32, Arc<Slot>>,
    pub aliases: BTreeMap<String, u32>,
    aliases_stamp: Stamp,
}

impl ModelEntry {
    fn resolve_sel(&self, sel: &VersionSel) -> Option<u32> {
        match sel {
            VersionSel::Default => match &self.pin {
                Some(p) => self.resolve_sel(p),
                None => self.versions.keys().next_back().copied(),
            },
            VersionSel::Number(k) => self.versions.contains_key(k).then_some(*k),
            VersionSel::Alias(a) => self
                .aliases
                .get(a)
                .copied()
                .filter(|k| self.versions.contains_key(k)),
        }
    }

    /// The version the model answers with when none is asked for.
    pub fn default_version(&self) -> Option<u32> {
        self.resolve_sel(&VersionSel::Default)
    }

    /// Versions requests may use: all of them, or only the pinned one.
    pub fn served_versions(&self) -> Vec<u32> {
        match &self.pin {
            None => self.versions.keys().copied().collect(),
            Some(_) => self.default_version().into_iter().collect(),
        }
    }

    /// Versions worth loading ahead of requests: the default and every aliased one.
    fn hot_versions(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.default_version().into_iter().collect();
        if self.pin.is_none() {
            v.extend(
                self.aliases
                    .values()
                    .filter(|k| self.versions.contains_key(k)),
            );
        }
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The version for `sel`, checking it is served.
    pub fn resolve(&self, sel: &VersionSel) -> Result<u32> {
        let what = match sel {
            VersionSel::Default => "the default version".to_string(),
            VersionSel::Number(k) => format!("version {k}"),
            VersionSel::Alias(a) => format!("alias {a:?}"),
        };
        let k = self.resolve_sel(sel).ok_or_else(|| {
            ServeError::NotFound(format!(
                "model {:?} has no {what} (versions: {}; aliases: {})",
                self.name,
                list(self.versions.keys()),
                if self.aliases.is_empty() {
                    "none".to_string()
                } else {
                    self.aliases
                        .iter()
                        .map(|(a, k)| format!("{a}→{k}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ))
        })?;
        if self.pin.is_some() && Some(k) != self.default_version() {
            return Err(ServeError::NotFound(format!(
                "model {:?} version {k} is not served here (this server serves only version {})",
                self.name,
                list(self.default_version().iter())
            )));
        }
        Ok(k)
    }
}

fn list<'a>(it: impl Iterator<Item = &'a u32>) -> String {
    let v: Vec<String> = it.map(|k| k.to_string()).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

#[derive(Debug, Default)]
pub struct Snapshot {
    pub models: BTreeMap<String, ModelEntry>,
}

pub struct ModelStore {
    pub registry: Registry,
    specs: Vec<ServeSpec>,
    current: ArcSwap<Snapshot>,
    /// Serializes refreshes (the periodic one and `POST /admin/reload`).
    refresh_lock: std::sync::Mutex<()>,
}

impl ModelStore {
    /// Scan the registry and load every served model's default and aliased versions.
    /// A named model that does not exist is an error; a broken bundle is logged and skipped.
    pub fn open(root: &Path, only: &[String]) -> Result<ModelStore> {
        let specs = only
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| ServeSpec::parse(s))
            .collect::<Result<Vec<_>>>()?;
        let store = ModelStore {
            registry: Registry::new(root),
            specs,
            current: ArcSwap::from_pointee(Snapshot::default()),
            refresh_lock: std::sync::Mutex::new(()),
        };
        store.refresh()?;
        let snap = store.snapshot();
        for s in &store.specs {
            let e = snap.models.get(&s.name).ok_or_else(|| {
                ServeError::Config(format!(
                    "model {:?} is not in the registry {}",
                    s.name,
                    root.display()
                ))
            })?;
            if e.default_version().is_none() {
                return Err(ServeError::Config(format!(
                    "model {:?}: {:?} does not name an existing version or alias",
                    s.name, s.pin
                )));
            }
        }
        Ok(store)
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    fn spec_for(&self, name: &str) -> Option<Option<VersionSel>> {
        if self.specs.is_empty() {
            return Some(None);
        }
        self.specs
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.pin.clone())
    }

    /// Re-read the registry; publish a new snapshot when anything changed. Returns whether it
    /// did. Blocking (file system): call it off the async threads.
    pub fn refresh(&self) -> Result<bool> {
        let _guard = self.refresh_lock.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.snapshot();
        let names = self
            .registry
            .models()
            .map_err(|e| ServeError::Config(e.to_string()))?;
        let mut models = BTreeMap::new();
        for name in names {
            let Some(pin) = self.spec_for(&name) else {
                continue;
            };
            let prev = old.models.get(&name);
            let nums = match self.registry.versions(&name) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(model = %name, "cannot list versions: {e}");
                    continue;
                }
            };
            let model_dir = self.registry.root.join(&name);
            let versions: BTreeMap<u32, Arc<Slot>> = nums
                .into_iter()
                .map(|k| {
                    let slot = prev.and_then(|p| p.versions.get(&k)).cloned();
                    let slot = slot.unwrap_or_else(|| {
                        Arc::new(Slot {
                            version: k,
                            dir: model_dir.join(format!("v{k}")),
                            loaded: OnceLock::new(),
                            failed: Default::default(),
                        })
                    });
                    (k, slot)
                })
                .collect();
            let st = aliases::stamp(&model_dir.join(ALIASES_FILE));
            let aliases = match prev {
                Some(p) if p.aliases_stamp == st => p.aliases.clone(),
                _ => match aliases::read(&model_dir) {
                    Ok(a) => a,
                    Err(e) => {
                        // A half-edited or broken file: keep serving the aliases we had.
                        tracing::warn!(model = %name, "ignoring {ALIASES_FILE}: {e}");
                        prev.map(|p| p.aliases.clone()).unwrap_or_default()
                    }
                },
            };
            let entry = ModelEntry {
                name: name.clone(),
                pin,
                versions,
                aliases,
                aliases_stamp: st,
            };
            for k in entry.hot_versions() {
                if let Some(slot) = entry.versions.get(&k)
                    && let Err(e) = slot.load(&name)
                    && !slot.failed.swap(true, std::sync::atomic::Ordering::Relaxed)
                {
                    tracing::error!(model = %name, version = k, "cannot load: {e}");
                }
            }
            if let Some(p) = prev {
                for (a, k) in &entry.aliases {
                    if p.aliases.get(a) != Some(k) {
                        tracing::info!(model = %name, alias = %a, version = k, "alias now points to version {k}");
                    }
                }
            }
            models.insert(name, entry);
        }
        let changed = !same(&old, &models);
        if changed {
            self.current.store(Arc::new(Snapshot { models }));
        }
        Ok(changed)
    }

    /// The loaded model for a request. Loading a version not yet in memory happens on a
    /// blocking thread.
    pub async fn get(&self, name: &str, sel: &VersionSel) -> Result<Arc<Loaded>> {
        check_name(name)?;
        let snap = self.snapshot();
        let entry = snap.models.get(name).ok_or_else(|| {
            ServeError::NotFound(format!(
                "no model named {name:?} is served here (models: {})",
                if snap.models.is_empty() {
                    "none".to_string()
                } else {
                    snap.models.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            ))
        })?;
        let k = entry.resolve(sel)?;
        let slot = entry
            .versions
            .get(&k)
            .cloned()
            .ok_or_else(|| ServeError::Internal(format!("{name} v{k}: slot missing")))?;
        if let Some(l) = slot.get() {
            return Ok(l);
        }
        let n = name.to_string();
        let res = tokio::task::spawn_blocking(move || slot.load(&n))
            .await
            .map_err(|e| ServeError::Internal(e.to_string()))?;
        res.map_err(|e| {
            tracing::error!(model = %name, version = k, "cannot load: {e}");
            ServeError::Internal(format!("model {name} v{k} could not be loaded: {e}"))
        })
    }

    /// The single served model when there is exactly one (for `/invocations`).
    pub fn only_model(&self) -> Option<String> {
        let snap = self.snapshot();
        (snap.models.len() == 1)
            .then(|| snap.models.keys().next().cloned())
            .flatten()
    }
}

fn same(old: &Snapshot, new: &BTreeMap<String, ModelEntry>) -> bool {
    old.models.len() == new.len()
        && old.models.iter().zip(new.iter()).all(|((na, a), (nb, b))| {
            na == nb
                && a.aliases == b.aliases
                && a.versions.len() == b.versions.len()
                && a.versions
                    .iter()
                    .zip(b.versions.iter())
                    .all(|((ka, sa), (kb, sb))| ka == kb && Arc::ptr_eq(sa, sb))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_selectors() {
        assert_eq!(VersionSel::parse("3").unwrap(), VersionSel::Number(3));
        assert_eq!(VersionSel::parse("v3").unwrap(), VersionSel::Number(3));
        assert_eq!(
            VersionSel::parse("production").unwrap(),
            VersionSel::Alias("production".into())
        );
        assert!(VersionSel::parse("../x").is_err());
        assert!(VersionSel::parse_number("prod").is_err());
        assert!(VersionSel::parse_number("0").is_err());
        let s = ServeSpec::parse("iris@production").unwrap();
        assert_eq!(s.pin, Some(VersionSel::Alias("production".into())));
        assert!(ServeSpec::parse("a/b").is_err());
    }
}
