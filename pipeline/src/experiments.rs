//! Experiment tracking as plain files: `experiments/<experiment>/<run-id>/` holds `run.json`
//! (parameters, status, timing, final metrics, the model version) and `metrics.csv` /
//! `metrics.jsonl` (one line per epoch).
//!
//! A run is `running` while its process lives; `finished`, `failed` or `interrupted` when it
//! ends. A run whose process died without saying so (killed, power loss) is reported as
//! `crashed`: its record says `running` but its process is gone.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bundle::{EpochRecord, Manifest};
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Finished,
    Failed,
    Interrupted,
    /// Derived when reading: `running` in the record but the process is gone.
    Crashed,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub experiment: String,
    pub model: String,
    pub version: u32,
    pub data_path: String,
    pub status: RunStatus,
    pub pid: u32,
    pub host: String,
    pub started: String,
    pub ended: Option<String>,
    pub duration_secs: Option<f64>,
    pub params: Value,
    /// Final metrics by split.
    pub metrics: Value,
    pub error: Option<String>,
    pub resumed: u32,
}

pub struct Experiments {
    pub root: PathBuf,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// This machine's host name (claims and run records say where a process runs).
pub fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

fn alive(pid: u32, host_name: &str) -> bool {
    if host_name != host() {
        return true; // another machine's run: assume it lives
    }
    Path::new(&format!("/proc/{pid}")).exists()
}

impl Experiments {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Experiments { root: root.into() }
    }

    fn run_dir(&self, experiment: &str, run_id: &str) -> PathBuf {
        self.root.join(experiment).join(run_id)
    }

    fn write(&self, r: &RunRecord) -> Result<()> {
        let dir = self.run_dir(&r.experiment, &r.run_id);
        let bytes = serde_json::to_vec_pretty(r).map_err(|e| Error::Config(e.to_string()))?;
        neurite_engine::io::atomic_write_fast(&dir.join("run.json"), &bytes)?;
        Ok(())
    }

    /// Record the start (or resumption) of a run; returns its folder.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &self,
        experiment: &str,
        run_id: &str,
        model: &str,
        version: u32,
        data: &Path,
        params: &Value,
        resumed: bool,
    ) -> Result<PathBuf> {
        crate::registry::validate_name(experiment)?;
        let dir = self.run_dir(experiment, run_id);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let previous = self.read(&dir.join("run.json")).ok();
        let r = RunRecord {
            run_id: run_id.into(),
            experiment: experiment.into(),
            model: model.into(),
            version,
            data_path: data.display().to_string(),
            status: RunStatus::Running,
            pid: std::process::id(),
            host: host(),
            started: previous
                .as_ref()
                .map(|p| p.started.clone())
                .unwrap_or_else(now),
            ended: None,
            duration_secs: None,
            params: params.clone(),
            metrics: Value::Null,
            error: None,
            resumed: previous.map(|p| p.resumed).unwrap_or(0) + u32::from(resumed),
        };
        self.write(&r)?;
        Ok(dir)
    }

    pub fn finish(
        &self,
        experiment: &str,
        run_id: &str,
        status: RunStatus,
        manifest: Option<&Manifest>,
        error: Option<&str>,
        secs: f64,
    ) -> Result<()> {
        let p = self.run_dir(experiment, run_id).join("run.json");
        let mut r = self.read(&p)?;
        r.status = status;
        r.ended = Some(now());
        r.duration_secs = Some(secs);
        r.error = error.map(String::from);
        if let Some(m) = manifest {
            r.metrics = serde_json::to_value(&m.metrics).unwrap_or(Value::Null);
        }
        self.write(&r)
    }

    fn read(&self, p: &Path) -> Result<RunRecord> {
        let t = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
        let mut r: RunRecord = serde_json::from_str(&t).map_err(|e| Error::Manifest {
            path: p.into(),
            detail: e.to_string(),
        })?;
        if r.status == RunStatus::Running && !alive(r.pid, &r.host) {
            r.status = RunStatus::Crashed;
        }
        Ok(r)
    }

    /// Runs of one experiment (or all), oldest first.
    pub fn list(&self, experiment: Option<&str>) -> Result<Vec<RunRecord>> {
        let mut out = Vec::new();
        let exps: Vec<String> = match experiment {
            Some(e) => vec![e.to_string()],
            None => match std::fs::read_dir(&self.root) {
                Ok(rd) => rd
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect(),
                Err(_) => Vec::new(),
            },
        };
        for e in exps {
            crate::registry::validate_name(&e)?;
            let Ok(rd) = std::fs::read_dir(self.root.join(&e)) else {
                continue;
            };
            for run in rd.filter_map(|x| x.ok()) {
                let p = run.path().join("run.json");
                if p.is_file() {
                    out.push(self.read(&p)?);
                }
            }
        }
        out.sort_by(|a, b| a.started.cmp(&b.started).then(a.run_id.cmp(&b.run_id)));
        Ok(out)
    }

    /// A run by id (searched in every experiment) with its per-epoch history.
    pub fn get(&self, run_id: &str) -> Result<(RunRecord, Vec<EpochRecord>)> {
        crate::registry::validate_name(run_id)?;
        let r = self
            .list(None)?
            .into_iter()
            .find(|r| r.run_id == run_id)
            .ok_or_else(|| {
                Error::Config(format!("no run {run_id:?} under {}", self.root.display()))
            })?;
        let p = self.run_dir(&r.experiment, run_id).join("metrics.jsonl");
        let hist = std::fs::read_to_string(&p)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        Ok((r, hist))
    }
}
