//! The model registry: plain folders `models/<name>/v<k>/` holding a bundle each.
//!
//! A new version is written into a hidden temporary folder and renamed into place; `rename`
//! of a folder onto an existing non-empty one fails, so two concurrent trainings of one name
//! get distinct versions (the loser retries with the next number) and a crash mid-write never
//! leaves a half-written version visible. Names are validated, so a reference can never point
//! outside the registry folder.

use std::path::{Path, PathBuf};

use neurite_engine::nn::Mlp;

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
            Some(v) => {
                let k = v
                    .strip_prefix('v')
                    .unwrap_or(v)
                    .parse::<u32>()
                    .ok()
                    .filter(|k| versions.contains(k));
                k.ok_or_else(|| Error::UnknownVersion {
                    name: r.name.clone(),
                    version: v.clone(),
                    available: versions
                        .iter()
                        .map(|k| format!("v{k}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                })?
            }
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
    if let Some(parent) = to.parent() {
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
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
