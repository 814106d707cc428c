//! The model registry: plain folders `models/<name>/v<k>/` holding a bundle each, plus
//! `models/<name>/aliases.json` (alias → version, e.g. `{"production": 3}`) and the append-only
//! `models/<name>/aliases.history.jsonl` (one JSON object per promote or rollback).
//!
//! A new version is written into a hidden temporary folder and renamed into place; `rename`
//! of a folder onto an existing non-empty one fails, so two concurrent trainings of one name
//! get distinct versions (the loser retries with the next number) and a crash mid-write never
//! leaves a half-written version visible. Names are validated, so a reference can never point
//! outside the registry folder. Writes to a model's folder take `models/<name>/.lock`
//! (an OS file lock, released when the process dies).

use std::path::{Path, PathBuf};

use neurite_engine::nn::Mlp;

use std::collections::BTreeMap;
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::bundle::{Bundle, MANIFEST_FILE, Manifest};
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct Registry {
    pub root: PathBuf,
}

/// A parsed `name[@version]` reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelRef {
    pub name: String,
    /// `None` means the latest version.
    pub version: Option<String>,
}

impl ModelRef {
    pub fn parse(s: &str) -> Result<ModelRef> {
        let (name, version) = match s.split_once('@') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (s, None),
        };
        validate_name(name)?;
        if let Some(v) = &version {
            validate_name(v)?;
        }
        Ok(ModelRef {
            name: name.to_string(),
            version,
        })
    }
}

/// Model and version names: 1-64 of `[A-Za-z0-9._-]`, not starting with `.` or `-`.
pub fn validate_name(s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('.')
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "invalid model name {s:?}: use 1-64 letters, digits, '.', '_' or '-', not starting with '.' or '-'"
        )))
    }
}

fn parse_version_dir(name: &str) -> Option<u32> {
    name.strip_prefix('v')
        .and_then(|n| n.parse().ok())
        .filter(|&k| k > 0)
}

/// `v3` or `3` → 3.
pub fn parse_version(s: &str) -> Option<u32> {
    s.strip_prefix('v')
        .unwrap_or(s)
        .parse()
        .ok()
        .filter(|&k| k > 0)
}

/// An alias name: a valid name that does not read as a version number.
pub fn validate_alias(s: &str) -> Result<()> {
    validate_name(s)?;
    if parse_version(s).is_some() {
        return Err(Error::Config(format!(
            "alias {s:?} would read as a version number; choose a name such as \"production\""
        )));
    }
    Ok(())
}

/// One promote or rollback, as recorded in `aliases.history.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AliasEvent {
    pub time: String,
    pub alias: String,
    pub action: String,
    pub version: u32,
    pub previous: Option<u32>,
}

/// Held while a process writes to a model's folder; released on drop (or process death).
pub struct ModelLock {
    _file: std::fs::File,
}

impl Registry {
    pub fn new(root: impl Into<PathBuf>) -> Registry {
        Registry { root: root.into() }
    }

    /// Names of the models in the registry, sorted.
    pub fn models(&self) -> Result<Vec<String>> {
        let rd = match std::fs::read_dir(&self.root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&self.root, e)),
        };
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| validate_name(n).is_ok())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Version numbers of `name`, ascending.
    pub fn versions(&self, name: &str) -> Result<Vec<u32>> {
        validate_name(name)?;
        let dir = self.root.join(name);
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut v: Vec<u32> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join(MANIFEST_FILE).is_file())
            .filter_map(|e| e.file_name().to_str().and_then(parse_version_dir))
            .collect();
        v.sort_unstable();
        Ok(v)
    }

    /// The folder of a model version.
    pub fn resolve(&self, r: &ModelRef) -> Result<(PathBuf, u32)> {
        let versions = self.versions(&r.name)?;
        if versions.is_empty() {
            let models = self.models()?;
            let hint = if models.is_empty() {
                " (the registry is empty: train one with `neurite train`)".to_string()
            } else {
                format!(" (models: {})", models.join(", "))
            };
            return Err(Error::UnknownModel {
                name: r.name.clone(),
                dir: self.root.clone(),
                hint,
            });
        }
        let k = match &r.version {
            None => *versions.last().unwrap_or(&1),
            Some(v) => match parse_version(v) {
                Some(k) if versions.contains(&k) => k,
                Some(_) => {
                    return Err(Error::UnknownVersion {
                        name: r.name.clone(),
                        version: v.clone(),
                        available: versions
                            .iter()
                            .map(|k| format!("v{k}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
                None => {
                    let aliases = self.aliases(&r.name)?;
                    match aliases.get(v) {
                        Some(&k) if versions.contains(&k) => k,
                        Some(&k) => {
                            return Err(Error::UnknownVersion {
                                name: r.name.clone(),
                                version: format!("{v} (alias of v{k}, which no longer exists)"),
                                available: versions
                                    .iter()
                                    .map(|k| format!("v{k}"))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            });
                        }
                        None => {
                            let known: Vec<String> = aliases.keys().cloned().collect();
                            return Err(Error::UnknownVersion {
                                name: r.name.clone(),
                                version: v.clone(),
                                available: format!(
                                    "{}{}",
                                    versions
                                        .iter()
                                        .map(|k| format!("v{k}"))
                                        .collect::<Vec<_>>()
                                        .join(", "),
                                    if known.is_empty() {
                                        String::new()
                                    } else {
                                        format!("; aliases: {}", known.join(", "))
                                    }
                                ),
                            });
                        }
                    }
                }
            },
        };
        Ok((self.root.join(&r.name).join(format!("v{k}")), k))
    }

    /// Load `name[@version]`.
    pub fn load(&self, reference: &str) -> Result<Bundle> {
        let r = ModelRef::parse(reference)?;
        let (dir, _) = self.resolve(&r)?;
        Bundle::load(&dir)
    }

    /// Save a new version of `manifest.name`; fills in `manifest.version` and returns the folder.
    pub fn save(&self, manifest: &mut Manifest, model: &Mlp) -> Result<PathBuf> {
        validate_name(&manifest.name)?;
        let base = self.root.join(&manifest.name);
        std::fs::create_dir_all(&base).map_err(|e| Error::io(&base, e))?;
        let _lock = self.lock(&manifest.name)?;
        let tmp = base.join(format!(".tmp-{}-{}", std::process::id(), nanos()));
        let mut attempts = 0;
        loop {
            let k = self.versions(&manifest.name)?.last().copied().unwrap_or(0) + 1 + attempts;
            manifest.version = k;
            std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
            Bundle::write_files(manifest, model, &tmp)?;
            let dest = base.join(format!("v{k}"));
            match rename_dir_no_replace(&tmp, &dest) {
                Ok(()) => return Ok(dest),
                Err(_) if attempts < 100 => attempts += 1,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&tmp);
                    return Err(Error::io(&dest, e));
                }
            }
        }
    }
}

impl Registry {
    /// Take the model's write lock (blocks until free).
    pub fn lock(&self, name: &str) -> Result<ModelLock> {
        validate_name(name)?;
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let path = dir.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        file.lock().map_err(|e| Error::io(&path, e))?;
        Ok(ModelLock { _file: file })
    }

    fn aliases_path(&self, name: &str) -> PathBuf {
        self.root.join(name).join("aliases.json")
    }

    fn history_path(&self, name: &str) -> PathBuf {
        self.root.join(name).join("aliases.history.jsonl")
    }

    /// The aliases of `name` (alias → version).
    pub fn aliases(&self, name: &str) -> Result<BTreeMap<String, u32>> {
        validate_name(name)?;
        let p = self.aliases_path(name);
        match std::fs::read_to_string(&p) {
            Ok(t) => serde_json::from_str(&t).map_err(|e| Error::Manifest {
                path: p,
                detail: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    /// Every promote and rollback of `name`, oldest first.
    pub fn alias_history(&self, name: &str) -> Result<Vec<AliasEvent>> {
        validate_name(name)?;
        let p = self.history_path(name);
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&p, e)),
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| Error::Manifest {
                    path: p.clone(),
                    detail: format!("line {}: {e}", i + 1),
                })
            })
            .collect()
    }

    fn write_alias(
        &self,
        name: &str,
        alias: &str,
        version: u32,
        action: &str,
    ) -> Result<Option<u32>> {
        let mut aliases = self.aliases(name)?;
        let previous = aliases.insert(alias.to_string(), version);
        let json = serde_json::to_vec_pretty(&aliases).map_err(|e| Error::Config(e.to_string()))?;
        let event = AliasEvent {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            alias: alias.to_string(),
            action: action.to_string(),
            version,
            previous,
        };
        // History first: a crash between the two leaves the alias unchanged and one extra
        // history line, never an alias change without its record.
        let hp = self.history_path(name);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&hp)
            .map_err(|e| Error::io(&hp, e))?;
        let line = serde_json::to_string(&event).map_err(|e| Error::Config(e.to_string()))?;
        writeln!(f, "{line}")
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(&hp, e))?;
        neurite_engine::io::atomic_write(&self.aliases_path(name), &json)?;
        Ok(previous)
    }

    /// Point `alias` at the version `reference` resolves to; returns (version, previous).
    pub fn promote(&self, reference: &str, alias: &str) -> Result<(u32, Option<u32>)> {
        validate_alias(alias)?;
        let r = ModelRef::parse(reference)?;
        let _lock = self.lock(&r.name)?;
        let (_, k) = self.resolve(&r)?;
        let prev = self.write_alias(&r.name, alias, k, "promote")?;
        Ok((k, prev))
    }

    /// Move `alias` back to the version it pointed to before its latest promotion (promotions
    /// form a stack; each rollback pops one). Returns (from, to).
    pub fn rollback(&self, name: &str, alias: &str) -> Result<(u32, u32)> {
        validate_alias(alias)?;
        let _lock = self.lock(name)?;
        let mut stack: Vec<u32> = Vec::new();
        for e in self
            .alias_history(name)?
            .into_iter()
            .filter(|e| e.alias == alias)
        {
            match e.action.as_str() {
                "rollback" => {
                    stack.pop();
                }
                _ => stack.push(e.version),
            }
        }
        let current = self.aliases(name)?.get(alias).copied();
        let Some(cur) = current else {
            return Err(Error::Config(format!(
                "model {name:?} has no alias {alias:?}"
            )));
        };
        if stack.len() < 2 {
            return Err(Error::Config(format!(
                "alias {name}@{alias} (v{cur}) has no earlier version to roll back to"
            )));
        }
        let to = stack[stack.len() - 2];
        if !self.versions(name)?.contains(&to) {
            return Err(Error::Config(format!(
                "cannot roll {name}@{alias} back to v{to}: that version was removed"
            )));
        }
        self.write_alias(name, alias, to, "rollback")?;
        Ok((cur, to))
    }

    /// Delete a version. Refused while an alias points to it, unless `force` (which also drops
    /// those aliases).
    pub fn remove(&self, reference: &str, force: bool) -> Result<u32> {
        let r = ModelRef::parse(reference)?;
        let _lock = self.lock(&r.name)?;
        let (dir, k) = self.resolve(&r)?;
        let pointing: Vec<String> = self
            .aliases(&r.name)?
            .into_iter()
            .filter(|(_, v)| *v == k)
            .map(|(a, _)| a)
            .collect();
        if !pointing.is_empty() && !force {
            return Err(Error::Config(format!(
                "{}@v{k} is aliased as {}; promote another version first or use --force",
                r.name,
                pointing.join(", ")
            )));
        }
        if !pointing.is_empty() {
            let mut aliases = self.aliases(&r.name)?;
            aliases.retain(|_, v| *v != k);
            let json =
                serde_json::to_vec_pretty(&aliases).map_err(|e| Error::Config(e.to_string()))?;
            neurite_engine::io::atomic_write(&self.aliases_path(&r.name), &json)?;
        }
        // Rename first so readers never see a half-deleted version.
        let trash = self
            .root
            .join(&r.name)
            .join(format!(".removed-v{k}-{}", nanos()));
        std::fs::rename(&dir, &trash).map_err(|e| Error::io(&dir, e))?;
        std::fs::remove_dir_all(&trash).map_err(|e| Error::io(&trash, e))?;
        Ok(k)
    }
}

impl Registry {
    /// Reserve the next version folder of `name` for a training run (checkpoints go into it
    /// while it trains). It stays invisible to [`Registry::versions`] until
    /// [`Registry::finalize`] writes its manifest, so a crashed run never shows as a model.
    pub fn reserve(&self, name: &str) -> Result<(u32, PathBuf)> {
        let _lock = self.lock(name)?;
        let base = self.root.join(name);
        let taken = std::fs::read_dir(&base)
            .map_err(|e| Error::io(&base, e))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().and_then(parse_version_dir))
            .max()
            .unwrap_or(0);
        let k = taken + 1;
        let dir = base.join(format!("v{k}"));
        std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok((k, dir))
    }

    /// Version folders of `name` that were reserved but never finalized (newest last).
    pub fn incomplete(&self, name: &str) -> Result<Vec<(u32, PathBuf)>> {
        validate_name(name)?;
        let base = self.root.join(name);
        let rd = match std::fs::read_dir(&base) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&base, e)),
        };
        let mut v: Vec<(u32, PathBuf)> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir() && !e.path().join(MANIFEST_FILE).exists())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(parse_version_dir)
                    .map(|k| (k, e.path()))
            })
            .collect();
        v.sort();
        Ok(v)
    }

    /// Write the bundle into a reserved folder; the manifest is written last, which is the
    /// moment the version becomes visible.
    pub fn finalize(&self, manifest: &Manifest, model: &Mlp, dir: &Path) -> Result<()> {
        let _lock = self.lock(&manifest.name)?;
        Bundle::write_files(manifest, model, dir)
    }
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Rename a folder only if the destination does not exist (a non-empty destination makes
/// `rename` fail on Linux; an empty one would be replaced, so check that case first).
fn rename_dir_no_replace(from: &Path, to: &Path) -> std::io::Result<()> {
    if to.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "version exists",
        ));
    }
    std::fs::rename(from, to)?;
    if let Some(parent) = to.parent()
        && let Ok(d) = std::fs::File::open(parent)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(ModelRef::parse("iris").is_ok());
        assert_eq!(
            ModelRef::parse("iris@v2").unwrap().version.as_deref(),
            Some("v2")
        );
        for bad in ["../etc", "a/b", ".hidden", "", "x@../../y", "-rf", "a b"] {
            assert!(ModelRef::parse(bad).is_err(), "{bad}");
        }
    }
}
