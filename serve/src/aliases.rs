//! `models/<name>/aliases.json`: a JSON object mapping alias → version number, e.g.
//! `{"production": 3, "staging": 4}`, written atomically by `neurite models promote`.
//! The server re-reads it when its modification time or size changes.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use neurite_pipeline::registry::validate_name;

pub const ALIASES_FILE: &str = "aliases.json";

/// What identifies one state of the file: (modification time, length). `None`: no file.
pub type Stamp = Option<(SystemTime, u64)>;

pub fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Parse the file's text. Invalid alias names and non-positive versions are errors.
pub fn parse(text: &str) -> Result<BTreeMap<String, u32>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let obj = v
        .as_object()
        .ok_or("expected a JSON object mapping alias to version number")?;
    let mut out = BTreeMap::new();
    for (alias, ver) in obj {
        validate_name(alias).map_err(|e| e.to_string())?;
        let k = ver
            .as_u64()
            .filter(|&k| k > 0 && k <= u32::MAX as u64)
            .ok_or_else(|| format!("alias {alias:?}: version must be a positive integer"))?;
        out.insert(alias.clone(), k as u32);
    }
    Ok(out)
}

/// Read `aliases.json` from a model folder; no file is an empty map.
pub fn read(model_dir: &Path) -> Result<BTreeMap<String, u32>, String> {
    let path = model_dir.join(ALIASES_FILE);
    match std::fs::read_to_string(&path) {
        Ok(t) => parse(&t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let m = parse(r#"{"production": 3, "staging": 4}"#).unwrap();
        assert_eq!(m["production"], 3);
        assert_eq!(m["staging"], 4);
        assert!(parse(r#"{"../x": 1}"#).is_err());
        assert!(parse(r#"{"p": 0}"#).is_err());
        assert!(parse(r#"{"p": "3"}"#).is_err());
        assert!(parse(r#"[1]"#).is_err());
        assert!(parse("{").is_err());
    }
}
