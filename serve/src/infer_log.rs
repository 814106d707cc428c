//! The inference log: one JSON line per prediction request (time, route, model, version,
//! rows, latency, status) to stdout or a file. In server mode lines are buffered and a writer
//! thread writes them out every 100 ms (lines are dropped, and counted, if 64 MiB pile up); in
//! Lambda mode each line is written and flushed before the response goes back, since the
//! sandbox may freeze right after.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;

use crate::error::{Result, ServeError};

#[derive(Clone, Debug, PartialEq)]
pub enum Sink {
    Off,
    Stdout,
    File(PathBuf),
}

impl Sink {
    pub fn parse(s: &str) -> Sink {
        match s {
            "off" | "none" | "" => Sink::Off,
            "stdout" | "-" => Sink::Stdout,
            p => Sink::File(PathBuf::from(p)),
        }
    }
}

#[derive(Serialize)]
pub struct Entry<'a> {
    pub time: String,
    pub route: &'a str,
    pub model: Option<&'a str>,
    pub version: Option<u32>,
    pub rows: usize,
    pub latency_ms: f64,
    pub status: u16,
}

enum Mode {
    Off,
    /// Lines accumulate in a buffer that a writer thread empties every 100 ms (or sooner
    /// when it holds 256 KiB): no wake-up, no context switch per request.
    Buffered {
        shared: Arc<Shared>,
        handle: Mutex<Option<JoinHandle<()>>>,
    },
    Sync(Mutex<Box<dyn Write + Send>>),
}

struct Shared {
    buf: Mutex<Vec<u8>>,
    cv: Condvar,
    stop: AtomicBool,
}

/// Past this many buffered bytes (the writer is stuck), new lines are dropped and counted.
const MAX_BUFFERED: usize = 64 << 20;
const WAKE_AT: usize = 256 << 10;
const FLUSH_EVERY: Duration = Duration::from_millis(100);

pub struct InferLog {
    mode: Mode,
    pub dropped: AtomicU64,
}

fn open(sink: &Sink) -> Result<Box<dyn Write + Send>> {
    Ok(match sink {
        Sink::Off => Box::new(std::io::sink()),
        Sink::Stdout => Box::new(std::io::stdout()),
        Sink::File(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| {
                        ServeError::Config(format!("inference log {}: {e}", p.display()))
                    })?,
            )
        }
    })
}

fn writer_loop(shared: Arc<Shared>, mut out: Box<dyn Write + Send>) {
    let mut spare = Vec::new();
    loop {
        let stopping = shared.stop.load(Ordering::SeqCst);
        {
            let mut g = shared.buf.lock().unwrap_or_else(|p| p.into_inner());
            if g.is_empty() && !stopping {
                g = shared
                    .cv
                    .wait_timeout(g, FLUSH_EVERY)
                    .map(|r| r.0)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
            std::mem::swap(&mut *g, &mut spare);
        }
        if !spare.is_empty() {
            let _ = out.write_all(&spare);
            let _ = out.flush();
            spare.clear();
        }
        if stopping {
            let g = shared.buf.lock().unwrap_or_else(|p| p.into_inner());
            if g.is_empty() {
                return;
            }
        }
    }
}

impl InferLog {
    /// `sync`: write in the request path (Lambda).
    pub fn new(sink: &Sink, sync: bool) -> Result<InferLog> {
        let mode = match sink {
            Sink::Off => Mode::Off,
            s if sync => Mode::Sync(Mutex::new(open(s)?)),
            s => {
                let out = open(s)?;
                let shared = Arc::new(Shared {
                    buf: Mutex::new(Vec::with_capacity(WAKE_AT)),
                    cv: Condvar::new(),
                    stop: AtomicBool::new(false),
                });
                let sh = shared.clone();
                let handle = std::thread::Builder::new()
                    .name("inference-log".into())
                    .spawn(move || writer_loop(sh, out))?;
                Mode::Buffered {
                    shared,
                    handle: Mutex::new(Some(handle)),
                }
            }
        };
        Ok(InferLog {
            mode,
            dropped: AtomicU64::new(0),
        })
    }

    pub fn enabled(&self) -> bool {
        !matches!(self.mode, Mode::Off)
    }

    pub fn write(&self, e: &Entry) {
        if !self.enabled() {
            return;
        }
        let mut line = match serde_json::to_vec(e) {
            Ok(l) => l,
            Err(_) => return,
        };
        line.push(b'\n');
        match &self.mode {
            Mode::Off => {}
            Mode::Sync(w) => {
                let mut w = w.lock().unwrap_or_else(|p| p.into_inner());
                let _ = w.write_all(&line);
                let _ = w.flush();
            }
            Mode::Buffered { shared, .. } => {
                let mut g = shared.buf.lock().unwrap_or_else(|p| p.into_inner());
                if g.len() + line.len() > MAX_BUFFERED {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                g.extend_from_slice(&line);
                if g.len() >= WAKE_AT {
                    shared.cv.notify_one();
                }
            }
        }
    }

    /// Write out everything buffered and stop the writer (at shutdown).
    pub fn close(&self) {
        if let Mode::Buffered { shared, handle } = &self.mode {
            shared.stop.store(true, Ordering::SeqCst);
            shared.cv.notify_one();
            if let Some(h) = handle.lock().unwrap_or_else(|p| p.into_inner()).take() {
                let _ = h.join();
            }
        }
    }
}

/// Now, as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_lines_to_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/infer.jsonl");
        let log = InferLog::new(&Sink::File(p.clone()), false).unwrap();
        for i in 0..3 {
            log.write(&Entry {
                time: now(),
                route: "v1_predict",
                model: Some("iris"),
                version: Some(1),
                rows: i,
                latency_ms: 0.5,
                status: 200,
            });
        }
        log.close();
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2]["rows"], 2);
        assert_eq!(lines[0]["model"], "iris");
        assert_eq!(Sink::parse("off"), Sink::Off);
    }
}
