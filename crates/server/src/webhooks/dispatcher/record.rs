//! Recording finished attempts: in batches, one transaction each, retried a few times.

use crate::state::AppState;
use kassa_store::AttemptRecord;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// Attempts recorded per transaction.
const RECORD_BATCH: usize = 512;

/// Writes finished attempts in batches; wakes the dispatcher when a recorded attempt let a
/// later event of its session go.
pub(super) async fn record(
    state: AppState,
    mut records: mpsc::UnboundedReceiver<AttemptRecord>,
    wake: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while let Some(first) = records.recv().await {
        batch.push(first);
        while batch.len() < RECORD_BATCH {
            match records.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        for retry in 0..5 {
            match state.store.record_attempts(&batch, state.now()).await {
                Ok(released) => {
                    if released {
                        wake.notify_one();
                    }
                    break;
                }
                // Unrecorded attempts are retried when their lease runs out: at least once.
                Err(e) => {
                    tracing::warn!(error = %e, retry, "cannot record webhook attempts");
                    tokio::time::sleep(Duration::from_millis(500 << retry)).await;
                }
            }
        }
        batch.clear();
    }
}
