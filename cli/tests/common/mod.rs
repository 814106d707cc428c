//! The workspace the CLI integration tests run `neurite` in: models, logs and experiments
//! under one temp folder, wired through a global config so nothing is written into the
//! repository.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The repository root (the shipped datasets are read from `data/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub struct Ws {
    dir: tempfile::TempDir,
}

impl Ws {
    pub fn new() -> Ws {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let yaml = format!(
            "paths:\n  models: {}\n  logs: {}\n  experiments: {}\n",
            p.join("models").display(),
            p.join("logs").display(),
            p.join("experiments").display()
        );
        std::fs::write(p.join("neurite.yaml"), yaml).unwrap();
        Ws { dir }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    /// `neurite ARGS` run from the repository root with this workspace's configuration.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_neurite"));
        c.current_dir(root())
            .env("NEURITE_CONFIG", self.path().join("neurite.yaml"))
            .args(args);
        c
    }
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }
    /// Stdout of a command that must succeed.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
    /// The JSON printed by a command that must succeed.
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
    /// Stderr of a command that must fail without a panic.
    pub fn err(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(!o.status.success(), "{args:?} succeeded");
        let e = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(!e.contains("panicked"), "{e}");
        e
    }
    /// Write `text` to `name` in the workspace; its path.
    pub fn file(&self, name: &str, text: &str) -> String {
        let p = self.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }
}
