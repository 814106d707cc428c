//! Running a forward pass for a request: small requests on the async thread, batched with the
//! other small requests ready at the same moment ([`crate::batch`]), where a few microseconds
//! of work costs less than a thread hand-off; large ones on the blocking pool, at most one per
//! CPU at a time, so a big batch never stalls small requests.

use std::sync::Arc;

use neurite_pipeline::Predictions;

use crate::error::{Result, ServeError};
use crate::input::Rows;
use crate::state::AppState;
use crate::store::Loaded;

pub async fn predict(state: &AppState, model: &Arc<Loaded>, rows: Rows) -> Result<Predictions> {
    let n = rows.cells.len();
    state
        .metrics
        .unknown_categories(&model.name, model.version, &rows.unknown_categories);
    let work = n.saturating_mul(model.macs_per_row);
    if work <= state.limits.offload_above_macs {
        return crate::batch::predict(model, rows.cells, state.limits.offload_above_macs).await;
    }
    let _permit = state
        .heavy
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ServeError::Unavailable)?;
    let m = model.clone();
    tokio::task::spawn_blocking(move || m.bundle.predict_rows(&rows.cells))
        .await
        .map_err(|e| ServeError::Internal(format!("forward pass task failed: {e}")))?
        .map_err(ServeError::from)
}
