//! Live training status: `GET /api/runs` lists `<logs>/<run>.jsonl` files, and
//! `GET /api/runs/{run}/events` streams their records as server-sent events while a training
//! writes them (one JSON object per line; each complete line becomes one event whose `id` is
//! its line number, so a reconnecting browser resumes with `Last-Event-ID`). In Lambda mode
//! the stream returns the lines written so far and ends; the browser reconnects.
//!
//! Line format (written by `neurite train`): `{"epoch": 3, "loss": 0.41, "val_loss": 0.44,
//! "accuracy": 0.88, ...}`: `epoch` and `loss` always, any other numeric field is a metric.
//! Lines without `epoch` (e.g. `{"event": "end"}`) are status records.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use serde_json::{Map, Value, json};

use crate::api::history_charts;
use crate::error::{Result, ServeError};
use crate::http_util::{Body, Request, Response, header_str, ok_json};
use crate::state::{AppState, RunMode};

/// Open event streams at most (each polls its file twice a second).
pub const MAX_STREAMS: usize = 64;
static STREAMS: AtomicUsize = AtomicUsize::new(0);
const POLL: Duration = Duration::from_millis(400);
const KEEPALIVE: Duration = Duration::from_secs(15);

/// The records of a JSONL log (lines that are JSON objects); `None` when unreadable.
pub fn read_history(path: &Path) -> Option<Vec<Map<String, Value>>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
            .filter_map(|v| match v {
                Value::Object(m) if m.contains_key("epoch") => Some(m),
                _ => None,
            })
            .collect(),
    )
}

fn run_path(state: &AppState, run: &str) -> PathBuf {
    state.logs_dir.join(format!("{run}.jsonl"))
}

pub async fn runs(state: &AppState) -> Result<Response> {
    let dir = state.logs_dir.clone();
    let runs = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return out;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(run) = name.strip_suffix(".jsonl") else {
                continue;
            };
            if neurite_pipeline::registry::validate_name(run).is_err() {
                continue;
            }
            let meta = e.metadata().ok();
            let modified = meta
                .as_ref()
                .and_then(|m| m.modified().ok())
                .map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339());
            let size = meta.as_ref().map(|m| m.len()).unwrap_or(0);
            let last = if size <= 8 << 20 {
                read_history(&e.path()).and_then(|h| h.last().cloned())
            } else {
                None
            };
            out.push(json!({"run": run, "modified": modified, "bytes": size, "last": last}));
        }
        out.sort_by(|a, b| b["modified"].as_str().cmp(&a["modified"].as_str()));
        out
    })
    .await
    .map_err(|e| ServeError::Internal(e.to_string()))?;
    Ok(ok_json(&json!({"logs_dir": state.logs_dir, "runs": runs})))
}

pub async fn chart(state: &AppState, run: &str) -> Result<Response> {
    let p = run_path(state, run);
    let hist = tokio::task::spawn_blocking(move || read_history(&p))
        .await
        .map_err(|e| ServeError::Internal(e.to_string()))?
        .ok_or_else(|| ServeError::NotFound(format!("no training log named {run:?}")))?;
    let charts: Vec<Value> = history_charts("", &hist)
        .into_iter()
        .map(|(t, svg)| json!({"title": t, "svg": svg}))
        .collect();
    Ok(ok_json(
        &json!({"run": run, "epochs": hist.len(), "last": hist.last(), "charts": charts}),
    ))
}

/// Complete lines of `buf` as SSE events numbered from `*line_no + 1`; keeps the partial tail.
fn take_events(buf: &mut Vec<u8>, line_no: &mut u64, after: u64, out: &mut Vec<u8>) {
    let Some(end) = buf.iter().rposition(|&b| b == b'\n') else {
        return;
    };
    let rest = buf.split_off(end + 1);
    for line in buf.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        *line_no += 1;
        if *line_no <= after {
            continue;
        }
        // Re-serialize: one line of JSON, never a raw line that could break the framing.
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            out.extend_from_slice(format!("id: {line_no}\ndata: {v}\n\n").as_bytes());
        }
    }
    *buf = rest;
}

fn sse_response(body: Body) -> Response {
    let mut r = http::Response::new(body);
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

struct StreamGuard;

impl Drop for StreamGuard {
    fn drop(&mut self) {
        STREAMS.fetch_sub(1, Ordering::SeqCst);
    }
}

pub async fn events(state: &AppState, run: &str, req: &Request) -> Result<Response> {
    let path = run_path(state, run);
    if tokio::fs::metadata(&path).await.is_err() {
        return Err(ServeError::NotFound(format!(
            "no training log named {run:?} (expected {run}.jsonl in the logs folder)"
        )));
    }
    let after: u64 = header_str(req.headers(), "last-event-id")
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    if state.mode == RunMode::Lambda {
        let mut buf = tokio::fs::read(&path).await?;
        let (mut n, mut out) = (0u64, b"retry: 3000\n\n".to_vec());
        take_events(&mut buf, &mut n, after, &mut out);
        return Ok(sse_response(Body::Full(Bytes::from(out))));
    }
    if STREAMS.fetch_add(1, Ordering::SeqCst) >= MAX_STREAMS {
        STREAMS.fetch_sub(1, Ordering::SeqCst);
        return Err(ServeError::Unavailable);
    }
    let guard = StreamGuard;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    let mut shutdown = state.shutdown_rx.clone();
    tokio::spawn(async move {
        let _guard = guard;
        if tx
            .send(Bytes::from_static(b"retry: 2000\n\n"))
            .await
            .is_err()
        {
            return;
        }
        let (mut offset, mut line_no, mut buf) = (0u64, 0u64, Vec::new());
        let mut idle = Duration::ZERO;
        loop {
            let mut out = Vec::new();
            if let Ok(meta) = tokio::fs::metadata(&path).await {
                if meta.len() < offset {
                    // Truncated or replaced: start over.
                    offset = 0;
                    line_no = 0;
                    buf.clear();
                    out.extend_from_slice(b"event: reset\ndata: {}\n\n");
                }
                if meta.len() > offset
                    && let Ok(chunk) = read_from(&path, offset).await
                {
                    offset += chunk.len() as u64;
                    buf.extend_from_slice(&chunk);
                    take_events(&mut buf, &mut line_no, after, &mut out);
                }
            }
            if out.is_empty() && idle >= KEEPALIVE {
                out.extend_from_slice(b": keep-alive\n\n");
            }
            if !out.is_empty() {
                idle = Duration::ZERO;
                if tx.send(Bytes::from(out)).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => idle += POLL,
                _ = tx.closed() => return,
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    });
    Ok(sse_response(Body::Stream(rx)))
}

async fn read_from(path: &Path, offset: u64) -> std::io::Result<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut f = tokio::fs::File::open(path).await?;
    f.seek(std::io::SeekFrom::Start(offset)).await?;
    let mut v = Vec::new();
    f.take(4 << 20).read_to_end(&mut v).await?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_numbered_events() {
        let mut buf = b"{\"epoch\":1,\"loss\":0.5}\n{\"epoch\":2,\"loss\":0.4}\n{\"epo".to_vec();
        let (mut n, mut out) = (0, Vec::new());
        take_events(&mut buf, &mut n, 1, &mut out);
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s, "id: 2\ndata: {\"epoch\":2,\"loss\":0.4}\n\n");
        assert_eq!(buf, b"{\"epo");
        assert_eq!(n, 2);
    }
}
