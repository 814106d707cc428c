//! Opportunistic batching of small requests. A forward pass of one row costs almost as much
//! as one of a few rows (the weights are read, and packed, either way), so concurrent small
//! requests for the same model version are run as one batch: the first request starts a
//! batch, lets the other ready connections run once (one `yield_now`, no timer, so an idle
//! server adds no delay), takes every request queued by then (up to [`MAX_BATCH_ROWS`] rows),
//! runs one forward pass and splits the predictions back. Batches run in a spawned task, so a
//! request whose client disconnects cannot strand the others. A batch that fails (it should not:
//! every row was checked first) is retried request by request, so one request's problem is
//! never another's.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use neurite_pipeline::Predictions;
use tokio::sync::oneshot;

use crate::error::{Result, ServeError};
use crate::store::Loaded;

/// Forward passes run for small requests, and the requests and rows they served (all models):
/// requests / passes is the mean batch size (`/metrics`).
pub static PASSES: AtomicU64 = AtomicU64::new(0);
pub static REQUESTS: AtomicU64 = AtomicU64::new(0);
pub static ROWS: AtomicU64 = AtomicU64::new(0);

/// Rows of one batched forward pass at most.
pub const MAX_BATCH_ROWS: usize = 256;

struct Job {
    rows: Vec<Vec<String>>,
    reply: oneshot::Sender<Result<Predictions>>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// A batch leader is collecting or running.
    active: bool,
    /// Rows per batch at most (bounded by work, see [`predict`]).
    max_rows: usize,
}

#[derive(Default)]
pub struct Batcher {
    q: Mutex<Queue>,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Batcher")
    }
}

/// Rows `a..b` of a batch's predictions.
pub fn slice(p: &Predictions, a: usize, b: usize) -> Predictions {
    match p {
        Predictions::Classes {
            labels,
            class,
            proba,
        } => {
            let k = labels.len();
            Predictions::Classes {
                labels: labels.clone(),
                class: class.get(a..b).unwrap_or(&[]).to_vec(),
                proba: proba.get(a * k..b * k).unwrap_or(&[]).to_vec(),
            }
        }
        Predictions::Values { targets, values } => {
            let t = targets.len();
            Predictions::Values {
                targets: targets.clone(),
                values: values.get(a * t..b * t).unwrap_or(&[]).to_vec(),
            }
        }
        Predictions::Labels {
            names,
            proba,
            decision,
        } => {
            let l = names.len();
            Predictions::Labels {
                names: names.clone(),
                proba: proba.get(a * l..b * l).unwrap_or(&[]).to_vec(),
                decision: decision.get(a * l..b * l).unwrap_or(&[]).to_vec(),
            }
        }
    }
}

fn run(model: &Loaded, jobs: Vec<Job>) {
    PASSES.fetch_add(1, Ordering::Relaxed);
    REQUESTS.fetch_add(jobs.len() as u64, Ordering::Relaxed);
    ROWS.fetch_add(
        jobs.iter().map(|j| j.rows.len() as u64).sum(),
        Ordering::Relaxed,
    );
    if jobs.len() == 1 {
        for j in jobs {
            let _ = j
                .reply
                .send(model.bundle.predict_rows(&j.rows).map_err(ServeError::from));
        }
        return;
    }
    let mut all = Vec::with_capacity(jobs.iter().map(|j| j.rows.len()).sum());
    let mut bounds = Vec::with_capacity(jobs.len());
    for j in &jobs {
        let a = all.len();
        all.extend(j.rows.iter().cloned());
        bounds.push((a, all.len()));
    }
    match model.bundle.predict_rows(&all) {
        Ok(p) => {
            for (j, (a, b)) in jobs.into_iter().zip(bounds) {
                let _ = j.reply.send(Ok(slice(&p, a, b)));
            }
        }
        Err(_) => {
            for j in jobs {
                let _ = j
                    .reply
                    .send(model.bundle.predict_rows(&j.rows).map_err(ServeError::from));
            }
        }
    }
}

/// Run one batch from the queue; `true` when more requests are waiting (leadership stays
/// taken), `false` when the queue is empty (leadership released).
fn round(model: &Loaded) -> bool {
    let jobs = {
        let mut q = model.batcher.q.lock().unwrap_or_else(|p| p.into_inner());
        let (mut n, mut take) = (0, 0);
        for j in &q.jobs {
            if take > 0 && n + j.rows.len() > q.max_rows {
                break;
            }
            n += j.rows.len();
            take += 1;
        }
        q.jobs.drain(..take).collect::<Vec<_>>()
    };
    if !jobs.is_empty() {
        run(model, jobs);
    }
    let mut q = model.batcher.q.lock().unwrap_or_else(|p| p.into_inner());
    if q.jobs.is_empty() {
        q.active = false;
        false
    } else {
        true
    }
}

/// Lead batches until the queue is empty, one batch per task: first let the other ready
/// connections parse their requests and join, then run.
fn lead(model: Arc<Loaded>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        tokio::task::yield_now().await;
        if round(&model) {
            tokio::spawn(lead(model));
        }
    })
}

/// Predict `rows` (a small request) together with whatever other small requests for the same
/// model are ready; a batch holds at most [`MAX_BATCH_ROWS`] rows and `max_macs` multiply-adds
/// (the async threads' budget), unless a single request alone is larger.
pub async fn predict(
    model: &Arc<Loaded>,
    rows: Vec<Vec<String>>,
    max_macs: usize,
) -> Result<Predictions> {
    let (tx, rx) = oneshot::channel();
    let leader = {
        let mut q = model.batcher.q.lock().unwrap_or_else(|p| p.into_inner());
        q.max_rows = (max_macs / model.macs_per_row.max(1)).clamp(1, MAX_BATCH_ROWS);
        q.jobs.push(Job { rows, reply: tx });
        !std::mem::replace(&mut q.active, true)
    };
    if leader {
        // A task of its own: a request whose client goes away cannot strand the queue.
        tokio::spawn(lead(model.clone()));
    }
    rx.await
        .map_err(|_| ServeError::Internal("batched forward pass dropped a request".into()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_split_a_batch() {
        let p = Predictions::Classes {
            labels: vec!["a".into(), "b".into()],
            class: vec![0, 1, 1],
            proba: vec![0.9, 0.1, 0.2, 0.8, 0.4, 0.6],
        };
        assert_eq!(
            slice(&p, 1, 3),
            Predictions::Classes {
                labels: vec!["a".into(), "b".into()],
                class: vec![1, 1],
                proba: vec![0.2, 0.8, 0.4, 0.6],
            }
        );
        let v = Predictions::Values {
            targets: vec!["x".into(), "y".into()],
            values: vec![1.0, 2.0, 3.0, 4.0],
        };
        assert_eq!(
            slice(&v, 1, 2),
            Predictions::Values {
                targets: vec!["x".into(), "y".into()],
                values: vec![3.0, 4.0],
            }
        );
    }
}
