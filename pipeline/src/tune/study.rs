//! A study as plain files, safe for several processes on several machines sharing the folder
//! (a local disk or a network file system with hard links and atomic renames):
//!
//! ```text
//! experiments/<study>/
//!   study.json                  what is tuned and how (space, sampler, metric, base config)
//!   trials/000007.claim.0       trial 7 is being run (pid, host, params; mtime = heartbeat)
//!   trials/000007.progress.json its monitored values so far (for the pruners of others)
//!   trials/000007.json          its result: written once, never replaced
//!   final-000012.claim.0        the best trial (12) is being registered as a model
//!   final.json                  the registered model
//!   work/                       scratch folders of running trials
//! ```
//!
//! A process killed mid-write may leave a hidden `.tmp-*` file; it is never read, and is
//! removed once older than the stale age.
//!
//! The protocol:
//! - **Exclusive creation** is a hard link from a fully written temporary file (`link` fails
//!   when the name exists), so a claim or a result appears whole or not at all, and at most
//!   once. `study.json` is created the same way: the first process defines the study and the
//!   others join it.
//! - **Claiming** trial `i`: create `i.claim.0`. Ids are taken lowest first, up to the budget.
//! - **Liveness**: the owner touches its claims every `stale/4` (the heartbeat). A claim is
//!   dead when its process is gone (same host: `/proc/<pid>`, a zombie counts as gone) or its
//!   heartbeat is older than `stale` (default 60 s, `NEURITE_TUNE_STALE_SECS`; other hosts).
//!   A dead claim `i.claim.g` is taken over by creating `i.claim.<g+1>` — one process wins
//!   each generation — and the trial is rerun with the parameters the dead claim recorded.
//! - **Results**: `i.json` is created exclusively, so if a claim was wrongly judged dead (a
//!   host whose heartbeats stalled for longer than `stale`) and two processes ran the trial,
//!   the first result stays and the second is dropped: no trial is ever recorded twice, and a
//!   trial is lost only while its claim looks alive.
//! - A process that is interrupted keeps its claim file and stops heartbeating it; once the
//!   process is gone the claim is dead and the trial is rerun on `--resume`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::pruners::PrunerSettings;
use super::samplers::SamplerSettings;
use super::space::Params;
use crate::error::{Error, Result};
use crate::task::Task;

pub const STUDY_FILE: &str = "study.json";
pub const FINAL_FILE: &str = "final.json";
pub const STUDY_FORMAT: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Minimize,
    Maximize,
}

impl Direction {
    pub fn minimize(self) -> bool {
        self == Direction::Minimize
    }

    /// Whether `a` is better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Direction::Minimize => a < b,
            Direction::Maximize => a > b,
        }
    }
}

/// `study.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyMeta {
    pub format: u32,
    pub name: String,
    pub created: String,
    pub data_path: String,
    pub data_sha256: String,
    /// Usable rows of the data (the indices of cross-validation folds refer to them).
    pub rows: usize,
    pub target: Vec<String>,
    pub task: Task,
    /// Objective: a metric of the validation split (or the mean over folds).
    pub metric: String,
    pub direction: Direction,
    pub sampler: SamplerSettings,
    pub pruner: PrunerSettings,
    /// Folds of cross-validation (`None`: the validation split).
    pub cv: Option<usize>,
    /// The trial budget (ids 0 … trials − 1).
    pub trials: usize,
    /// The search space in canonical form.
    pub space: Value,
    /// The training configuration trials start from.
    pub base_config: Value,
    /// The registry name the best model is saved under.
    pub model_name: String,
    pub neurite_version: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialState {
    Complete,
    Pruned,
    Failed,
    /// Derived from a live claim; never written as a result.
    Running,
}

/// One trial (`trials/<id>.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    pub id: u64,
    pub state: TrialState,
    pub params: Params,
    /// The objective (validation metric, or its mean over folds).
    pub value: Option<f64>,
    /// The objective on each fold (cross-validation).
    #[serde(default)]
    pub fold_values: Vec<f64>,
    /// The pruning monitor by epoch (the first fold's, with cross-validation).
    #[serde(default)]
    pub intermediate: Vec<(usize, f64)>,
    /// The objective metric on the test split, for information only (never used to choose).
    #[serde(default)]
    pub test_value: Option<f64>,
    pub epochs_run: usize,
    pub duration_secs: f64,
    pub started: String,
    pub finished: Option<String>,
    pub pid: u32,
    pub host: String,
    /// The claim generation and nonce that produced this record.
    pub attempt: String,
    /// Why it failed, or why it was pruned.
    pub message: Option<String>,
}

impl TrialRecord {
    pub fn new(id: u64, params: Params) -> TrialRecord {
        TrialRecord {
            id,
            state: TrialState::Running,
            params,
            value: None,
            fold_values: Vec::new(),
            intermediate: Vec::new(),
            test_value: None,
            epochs_run: 0,
            duration_secs: 0.0,
            started: now(),
            finished: None,
            pid: std::process::id(),
            host: crate::experiments::host(),
            attempt: String::new(),
            message: None,
        }
    }
}

/// A claim file's content.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claim {
    pub id: u64,
    pub generation: u32,
    pub pid: u32,
    pub host: String,
    pub nonce: String,
    pub started: String,
    #[serde(default)]
    pub params: Option<Params>,
    #[serde(skip)]
    pub path: PathBuf,
}

/// `final.json`: the model registered for the best trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinalModel {
    pub trial: u64,
    pub value: f64,
    pub name: String,
    pub version: u32,
    pub path: String,
    pub registered: String,
}

pub enum Next {
    /// This process now owns the trial.
    Claimed(Claim),
    /// Every unfinished trial within the budget is being run by a live process.
    Busy,
    /// Every trial within the budget has a result.
    Done,
}

pub enum FinalClaim {
    /// Already registered.
    Done(FinalModel),
    /// This process registers it.
    Won(Claim),
    /// A live process is registering it.
    Wait,
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn nonce() -> String {
    let t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{:x}", std::process::id(), t)
}

/// Whether a process of this host is running (a zombie is not).
fn pid_alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true; // no procfs: only the heartbeat can tell
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesized command name.
        Ok(s) => !matches!(
            s.rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next()),
            Some('Z' | 'X')
        ),
        Err(_) => false,
    }
}

/// Create `dest` with `bytes`, failing with `AlreadyExists` when it exists. The content is
/// written to a temporary file first and hard-linked into place, so readers never see a
/// partial file; where hard links are not supported, `create_new` is used instead.
pub fn create_exclusive(dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".tmp-{}", nonce()));
    let write = |p: &Path, new: bool| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(new)
            .create(true)
            .truncate(true)
            .open(p)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    write(&tmp, true)?;
    let linked = std::fs::hard_link(&tmp, dest);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
        Err(_) => write(dest, true),
    }
}

fn io_err(p: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(p, e)
}

fn read_json<T: serde::de::DeserializeOwned>(p: &Path) -> Result<T> {
    let t = std::fs::read_to_string(p).map_err(io_err(p))?;
    serde_json::from_str(&t).map_err(|e| Error::Manifest {
        path: p.into(),
        detail: e.to_string(),
    })
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(v).map_err(|e| Error::Config(e.to_string()))
}

/// What the trials folder holds, from one listing.
#[derive(Default)]
struct Listing {
    done: BTreeSet<u64>,
    /// id → (highest claim generation, its path)
    claims: BTreeMap<u64, (u32, PathBuf)>,
}

/// Claims this process holds and heartbeats (process-wide: a claim made through one `Study`
/// value is alive for every other one of the same process).
static OWNED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn owned() -> std::sync::MutexGuard<'static, BTreeSet<PathBuf>> {
    OWNED.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct Study {
    pub dir: PathBuf,
    pub meta: StudyMeta,
    host: String,
    stale: Duration,
    /// Finished records (immutable once written).
    cache: Mutex<BTreeMap<u64, TrialRecord>>,
}

impl Study {
    fn with_meta(dir: &Path, meta: StudyMeta) -> Study {
        let stale = std::env::var("NEURITE_TUNE_STALE_SECS")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| *v > 0.0)
            .unwrap_or(60.0);
        Study {
            dir: dir.to_path_buf(),
            meta,
            host: crate::experiments::host(),
            stale: Duration::from_secs_f64(stale),
            cache: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn exists(dir: &Path) -> bool {
        dir.join(STUDY_FILE).is_file()
    }

    /// Open an existing study.
    pub fn open(dir: &Path) -> Result<Study> {
        let p = dir.join(STUDY_FILE);
        if !p.is_file() {
            return Err(Error::Config(format!("no study at {}", dir.display())));
        }
        let meta: StudyMeta = read_json(&p)?;
        if meta.format > STUDY_FORMAT {
            return Err(Error::Manifest {
                path: p,
                detail: format!("study format {} is newer than this neurite", meta.format),
            });
        }
        Ok(Study::with_meta(dir, meta))
    }

    /// Create the study, or open it when another process created it first (`false`).
    pub fn create_or_open(dir: &Path, meta: StudyMeta) -> Result<(Study, bool)> {
        let trials = dir.join("trials");
        std::fs::create_dir_all(&trials).map_err(io_err(&trials))?;
        let p = dir.join(STUDY_FILE);
        match create_exclusive(&p, &to_json(&meta)?) {
            Ok(()) => Ok((Study::with_meta(dir, meta), true)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok((Study::open(dir)?, false))
            }
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    fn trials_dir(&self) -> PathBuf {
        self.dir.join("trials")
    }

    fn record_path(&self, id: u64) -> PathBuf {
        self.trials_dir().join(format!("{id:06}.json"))
    }

    fn progress_path(&self, id: u64) -> PathBuf {
        self.trials_dir().join(format!("{id:06}.progress.json"))
    }

    /// The scratch folder of one attempt at a trial.
    pub fn work_dir(&self, claim: &Claim) -> PathBuf {
        self.dir
            .join("work")
            .join(format!("{:06}-{}", claim.id, claim.nonce))
    }

    /// The current budget (re-read: another process may have raised it).
    pub fn budget(&self) -> Result<usize> {
        let m: StudyMeta = read_json(&self.dir.join(STUDY_FILE))?;
        Ok(m.trials)
    }

    /// Change the budget (`--resume --trials N`).
    pub fn set_budget(&mut self, n: usize) -> Result<()> {
        let mut m: StudyMeta = read_json(&self.dir.join(STUDY_FILE))?;
        m.trials = n;
        neurite_engine::io::atomic_write(&self.dir.join(STUDY_FILE), &to_json(&m)?)?;
        self.meta.trials = n;
        Ok(())
    }

    fn list(&self) -> Result<Listing> {
        let d = self.trials_dir();
        let mut l = Listing::default();
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(l),
            Err(e) => return Err(Error::io(&d, e)),
        };
        for e in rd.filter_map(|e| e.ok()) {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(".tmp-") {
                // A process killed while writing leaves its temporary file; a write takes
                // milliseconds, so one older than the stale age is litter.
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| SystemTime::now().duration_since(m).ok())
                    .is_some_and(|age| age > self.stale);
                if old {
                    let _ = std::fs::remove_file(e.path());
                }
                continue;
            }
            let Some((id, rest)) = name.split_once('.') else {
                continue;
            };
            let Ok(id) = id.parse::<u64>() else { continue };
            if rest == "json" {
                l.done.insert(id);
            } else if let Some(g) = rest.strip_prefix("claim.").and_then(|g| g.parse().ok()) {
                let slot = l.claims.entry(id).or_insert((g, e.path()));
                if g > slot.0 {
                    *slot = (g, e.path());
                }
            }
        }
        Ok(l)
    }

    fn read_claim(path: &Path) -> Option<Claim> {
        let t = std::fs::read_to_string(path).ok()?;
        let mut c: Claim = serde_json::from_str(&t).ok()?;
        c.path = path.to_path_buf();
        Some(c)
    }

    /// Whether the claim at `path` belongs to a live process.
    fn alive(&self, path: &Path, c: Option<&Claim>) -> bool {
        let Ok(md) = std::fs::metadata(path) else {
            return false;
        };
        let age = md
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .unwrap_or_default();
        let fresh = age < self.stale;
        match c {
            None => fresh, // unreadable: only its age can tell
            Some(c) if c.host == self.host => {
                if c.pid == std::process::id() {
                    owned().contains(path)
                } else {
                    pid_alive(c.pid) && fresh
                }
            }
            Some(_) => fresh,
        }
    }

    fn try_claim(&self, path: PathBuf, mut c: Claim) -> Result<Option<Claim>> {
        c.path = path.clone();
        match create_exclusive(&path, &to_json(&c)?) {
            Ok(()) => {
                owned().insert(path);
                Ok(Some(c))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    fn new_claim(&self, id: u64, generation: u32, params: Option<Params>) -> Claim {
        Claim {
            id,
            generation,
            pid: std::process::id(),
            host: self.host.clone(),
            nonce: nonce(),
            started: now(),
            params,
            path: PathBuf::new(),
        }
    }

    /// Claim the lowest trial id without a result or a live claim. `sample` proposes the
    /// parameters of a new trial from the trials so far; a trial taken over from a dead
    /// process keeps the parameters it recorded.
    pub fn claim_next(
        &self,
        budget: usize,
        sample: &mut dyn FnMut(u64, &[TrialRecord]) -> Result<Params>,
    ) -> Result<Next> {
        let listing = self.list()?;
        let mut busy = false;
        let mut history: Option<Vec<TrialRecord>> = None;
        for id in 0..budget as u64 {
            if listing.done.contains(&id) {
                continue;
            }
            let (generation, params) = match listing.claims.get(&id) {
                Some((g, path)) => {
                    let c = Study::read_claim(path);
                    if self.alive(path, c.as_ref()) {
                        busy = true;
                        continue;
                    }
                    if self.record_path(id).exists() {
                        continue; // finished after the listing
                    }
                    (g + 1, c.and_then(|c| c.params))
                }
                None => (0, None),
            };
            let params = match params {
                Some(p) => p,
                None => {
                    if history.is_none() {
                        history = Some(self.trials()?);
                    }
                    sample(id, history.as_deref().unwrap_or(&[]))?
                }
            };
            let path = self
                .trials_dir()
                .join(format!("{id:06}.claim.{generation}"));
            if let Some(c) = self.try_claim(path, self.new_claim(id, generation, Some(params)))? {
                // Older generations are dead; remove them (best effort).
                for g in 0..generation {
                    let _ =
                        std::fs::remove_file(self.trials_dir().join(format!("{id:06}.claim.{g}")));
                }
                return Ok(Next::Claimed(c));
            }
            busy = true; // another process won this id
        }
        Ok(if busy { Next::Busy } else { Next::Done })
    }

    /// Touch every claim this process holds (in any study) (call every [`Study::heartbeat_every`]).
    pub fn heartbeat(&self) {
        let held: Vec<PathBuf> = owned().iter().cloned().collect();
        for p in held {
            if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&p) {
                let _ = f.set_modified(SystemTime::now());
            }
        }
    }

    pub fn heartbeat_every(&self) -> Duration {
        (self.stale / 4).max(Duration::from_millis(200))
    }

    /// Publish a running trial's monitored values (for the pruners of other trials).
    pub fn write_progress(&self, claim: &Claim, curve: &[(usize, f64)]) -> Result<()> {
        let v = serde_json::json!({"id": claim.id, "attempt": claim.nonce, "intermediate": curve});
        neurite_engine::io::atomic_write_fast(&self.progress_path(claim.id), &to_json(&v)?)?;
        Ok(())
    }

    /// Record a trial's result. `false` when another attempt recorded it first (its result
    /// stands).
    pub fn finish(&self, claim: &Claim, rec: &TrialRecord) -> Result<bool> {
        let p = self.record_path(rec.id);
        let written = match create_exclusive(&p, &to_json(rec)?) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(Error::io(&p, e)),
        };
        owned().remove(&claim.path);
        if written {
            if let Ok(mut c) = self.cache.lock() {
                c.insert(rec.id, rec.clone());
            }
            // The result is what counts now: the claims and progress are litter.
            for g in 0..=claim.generation {
                let _ = std::fs::remove_file(
                    self.trials_dir().join(format!("{:06}.claim.{g}", rec.id)),
                );
            }
            let _ = std::fs::remove_file(self.progress_path(rec.id));
        }
        Ok(written)
    }

    /// Stop holding a claim without a result (interrupted): it is dead once this process
    /// ends, and the trial is rerun with the same parameters on resume.
    pub fn release(&self, claim: &Claim) {
        owned().remove(&claim.path);
    }

    /// Finished trials, by id.
    pub fn finished(&self) -> Result<Vec<TrialRecord>> {
        let listing = self.list()?;
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| Error::Config("study cache poisoned".into()))?;
        for id in &listing.done {
            if !cache.contains_key(id) {
                let r: TrialRecord = read_json(&self.record_path(*id))?;
                cache.insert(*id, r);
            }
        }
        Ok(cache.values().cloned().collect())
    }

    /// Finished trials and the running ones (with live claims), by id.
    pub fn trials(&self) -> Result<Vec<TrialRecord>> {
        let listing = self.list()?;
        let mut out = self.finished()?;
        let done: BTreeSet<u64> = out.iter().map(|t| t.id).collect();
        for (id, (_, path)) in &listing.claims {
            if done.contains(id) {
                continue;
            }
            let c = Study::read_claim(path);
            if !self.alive(path, c.as_ref()) {
                continue;
            }
            let Some(c) = c else { continue };
            let mut t = TrialRecord::new(*id, c.params.clone().unwrap_or_default());
            t.pid = c.pid;
            t.host = c.host.clone();
            t.started = c.started.clone();
            t.attempt = format!("{}:{}", c.generation, c.nonce);
            if let Ok(v) = std::fs::read_to_string(self.progress_path(*id))
                .map_err(|_| ())
                .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|_| ()))
                && v["attempt"] == c.nonce.as_str()
            {
                t.intermediate =
                    serde_json::from_value(v["intermediate"].clone()).unwrap_or_default();
                t.epochs_run = t.intermediate.last().map_or(0, |x| x.0);
            }
            out.push(t);
        }
        out.sort_by_key(|t| t.id);
        Ok(out)
    }

    /// The best completed trial (ties: the lower id).
    pub fn best(&self, trials: &[TrialRecord]) -> Option<TrialRecord> {
        let dir = self.meta.direction;
        trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .filter(|t| t.value.is_some_and(f64::is_finite))
            .fold(None::<&TrialRecord>, |b, t| match b {
                Some(b) if !dir.better(t.value.unwrap_or(0.0), b.value.unwrap_or(0.0)) => Some(b),
                _ => Some(t),
            })
            .cloned()
    }

    pub fn final_model(&self) -> Option<FinalModel> {
        read_json(&self.dir.join(FINAL_FILE)).ok()
    }

    /// Claim the registration of trial `id`'s model (one process does it per best trial).
    pub fn claim_final(&self, id: u64) -> Result<FinalClaim> {
        if let Some(f) = self.final_model().filter(|f| f.trial == id) {
            return Ok(FinalClaim::Done(f));
        }
        let stem = format!("final-{id:06}.claim.");
        let mut top: Option<(u32, PathBuf)> = None;
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            for e in rd.filter_map(|e| e.ok()) {
                let n = e.file_name();
                if let Some(g) = n
                    .to_str()
                    .and_then(|n| n.strip_prefix(&stem))
                    .and_then(|g| g.parse::<u32>().ok())
                    && top.as_ref().is_none_or(|t| g > t.0)
                {
                    top = Some((g, e.path()));
                }
            }
        }
        let generation = match &top {
            Some((g, p)) => {
                if self.alive(p, Study::read_claim(p).as_ref()) {
                    return Ok(FinalClaim::Wait);
                }
                g + 1
            }
            None => 0,
        };
        let path = self.dir.join(format!("{stem}{generation}"));
        Ok(
            match self.try_claim(path, self.new_claim(id, generation, None))? {
                Some(c) => FinalClaim::Won(c),
                None => FinalClaim::Wait,
            },
        )
    }

    /// Write `final.json` and drop the registration claim.
    pub fn finish_final(&self, claim: &Claim, f: &FinalModel) -> Result<()> {
        neurite_engine::io::atomic_write(&self.dir.join(FINAL_FILE), &to_json(f)?)?;
        owned().remove(&claim.path);
        let _ = std::fs::remove_file(&claim.path);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn meta(trials: usize) -> StudyMeta {
        StudyMeta {
            format: STUDY_FORMAT,
            name: "s".into(),
            created: now(),
            data_path: "d.csv".into(),
            data_sha256: "x".into(),
            rows: 10,
            target: vec!["y".into()],
            task: Task::Classification,
            metric: "accuracy".into(),
            direction: Direction::Maximize,
            sampler: SamplerSettings {
                kind: "random".into(),
                seed: 1,
                startup_trials: 10,
                grid_points: 5,
            },
            pruner: PrunerSettings::default(),
            cv: None,
            trials,
            space: json!({}),
            base_config: json!({}),
            model_name: "m".into(),
            neurite_version: "0".into(),
        }
    }

    fn done(s: &Study, c: &Claim, v: f64) -> bool {
        let mut r = TrialRecord::new(c.id, c.params.clone().unwrap_or_default());
        r.state = TrialState::Complete;
        r.value = Some(v);
        s.finish(c, &r).unwrap()
    }

    #[test]
    fn claims_are_exclusive_and_dead_ones_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let (a, created) = Study::create_or_open(dir.path(), meta(3)).unwrap();
        assert!(created);
        let (b, created) = Study::create_or_open(dir.path(), meta(99)).unwrap();
        assert!(
            !created && b.meta.trials == 3,
            "the first creator defines the study"
        );
        let mut sample =
            |id: u64, _: &[TrialRecord]| Ok(Params::from([("i".to_string(), json!(id))]));
        let Next::Claimed(c0) = a.claim_next(3, &mut sample).unwrap() else {
            panic!()
        };
        assert_eq!(c0.id, 0);
        // Trial 0 is held by a live claim (this process's).
        let Next::Claimed(c1) = a.claim_next(3, &mut sample).unwrap() else {
            panic!()
        };
        assert_eq!(c1.id, 1);
        // A claim by a dead process of this host is taken over with its parameters.
        let dead = Claim {
            pid: u32::MAX - 1,
            params: Some(Params::from([("i".to_string(), json!("kept"))])),
            ..a.new_claim(2, 0, None)
        };
        create_exclusive(
            &a.trials_dir().join("000002.claim.0"),
            &to_json(&dead).unwrap(),
        )
        .unwrap();
        let Next::Claimed(c2) = b.claim_next(3, &mut sample).unwrap() else {
            panic!()
        };
        assert_eq!((c2.id, c2.generation), (2, 1));
        assert_eq!(c2.params.as_ref().unwrap()["i"], "kept");
        assert!(matches!(b.claim_next(3, &mut sample).unwrap(), Next::Busy));
        assert!(done(&a, &c0, 0.5) && done(&a, &c1, 0.7) && done(&b, &c2, 0.6));
        // A second result for a trial is dropped; the first stands.
        assert!(!done(&b, &c1, 0.9));
        assert!(matches!(a.claim_next(3, &mut sample).unwrap(), Next::Done));
        let t = b.finished().unwrap();
        assert_eq!(t.iter().map(|t| t.id).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(b.best(&t).unwrap().id, 1);
        let names: Vec<String> = std::fs::read_dir(a.trials_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| n.ends_with(".json") && !n.contains("claim")),
            "{names:?}"
        );
        // Registration: one winner per best trial.
        let FinalClaim::Won(fc) = a.claim_final(1).unwrap() else {
            panic!()
        };
        assert!(matches!(a.claim_final(1).unwrap(), FinalClaim::Wait));
        let f = FinalModel {
            trial: 1,
            value: 0.7,
            name: "m".into(),
            version: 1,
            path: "p".into(),
            registered: now(),
        };
        a.finish_final(&fc, &f).unwrap();
        assert!(matches!(b.claim_final(1).unwrap(), FinalClaim::Done(x) if x == f));
    }

    #[test]
    fn zombies_and_missing_processes_are_dead() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(u32::MAX - 1));
    }
}
