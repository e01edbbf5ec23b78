//! Retention: events and their delivery log are kept for `event_retention` (the events feed
//! and redelivery reach that far back), and so are card processors' webhook events;
//! idempotency keys for `idempotency_retention`; older
//! rows are deleted in small batches once a minute, by every node (deletes of the same rows
//! by two nodes are harmless). Sessions and orders are business records and stay.

use crate::state::AppState;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const EVERY: Duration = Duration::from_secs(60);
/// Events deleted per transaction, so that no prune holds locks for long.
const BATCH: i64 = 1000;

pub async fn run(state: AppState, stop: CancellationToken) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = prune_once(&state, &stop).await {
            tracing::warn!(error = %e, "retention prune failed");
        }
    }
}

/// One pass; tests call it directly after moving the clock. Returns the events deleted.
pub async fn prune_once(
    state: &AppState,
    stop: &CancellationToken,
) -> Result<usize, kassa_store::StoreError> {
    let now = state.now();
    let keys_before = before(now, state.config.idempotency_retention);
    let keys = state.store.purge_idempotency_keys(keys_before).await?;
    let events_before = before(now, state.config.event_retention);
    let processor_events = state.store.prune_processor_events(events_before).await?;
    let mut events = 0;
    while !stop.is_cancelled() {
        let n = state.store.prune_events(events_before, BATCH).await?;
        events += n;
        if n < BATCH as usize {
            break;
        }
    }
    if keys > 0 || events > 0 || processor_events > 0 {
        tracing::info!(
            events,
            idempotency_keys = keys,
            processor_events,
            "pruned past retention"
        );
        metrics::counter!("kassa_pruned_events_total").increment(events as u64);
    }
    Ok(events)
}

/// `now - keep`; a retention longer than the calendar keeps everything.
fn before(now: kassa_core::Timestamp, keep: Duration) -> kassa_core::Timestamp {
    chrono::Duration::from_std(keep)
        .ok()
        .and_then(|keep| now.checked_sub_signed(keep))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
}
