//! The expiry sweeper: a session past `expires_at` becomes `EXPIRED` (with its event) within
//! a fraction of a second. Every node runs one; row locks make them agree.

use crate::state::AppState;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const TICK: Duration = Duration::from_millis(200);
const BATCH: i64 = 500;

pub async fn run(state: AppState, stop: CancellationToken) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = expire_once(&state).await {
            tracing::warn!(error = %e, "expiry sweep failed");
        }
    }
}

/// One sweep; tests call it directly after moving the clock.
pub async fn expire_once(state: &AppState) -> Result<usize, kassa_store::StoreError> {
    let mut total = 0;
    loop {
        let n = state.store.expire_due(state.now(), BATCH).await?;
        total += n;
        if n < BATCH as usize {
            if total > 0 {
                metrics::counter!("kassa_sessions_expired_total").increment(total as u64);
            }
            return Ok(total);
        }
    }
}
