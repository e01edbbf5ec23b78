//! Gauges sampled rather than counted: the webhook queue's depth (one table, so every node
//! reports the same value) and this node's database pools. Refreshed when `/metrics` is
//! scraped, so a scrape shows the values of that moment, and on a timer. SQLite's group-commit
//! counters are read the same way.

use crate::state::AppState;
use kassa_store::PoolStats;
use std::time::Duration;
use tokio::time::{interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// How often the timer refreshes.
pub const EVERY: Duration = Duration::from_secs(10);
/// The longest a scrape waits for the queue count; past it the scrape shows the last values.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// Refreshes the gauges every `EVERY` until `stop`.
pub async fn run(state: AppState, stop: CancellationToken) {
    let mut tick = interval(EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => refresh(&state).await,
        }
    }
}

/// Samples the pools, then counts the queue (the count's own connection is not in the pool
/// sample). A failed or slow count keeps the previous queue values and is logged.
pub async fn refresh(state: &AppState) {
    for pool in state.store.pool_stats() {
        set_pool(&pool);
    }
    if let Some(groups) = state.store.write_groups() {
        metrics::counter!("kassa_db_group_commits_total").absolute(groups.commits);
        metrics::counter!("kassa_db_group_commit_writers_total").absolute(groups.writers);
    }
    let depth = tokio::time::timeout(QUERY_TIMEOUT, state.store.queue_depth(state.now())).await;
    match depth {
        Ok(Ok(depth)) => {
            metrics::gauge!("kassa_webhook_queue_pending").set(depth.pending as f64);
            metrics::gauge!("kassa_webhook_queue_due").set(depth.due as f64);
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "could not count the webhook queue"),
        Err(_) => tracing::warn!("counting the webhook queue timed out"),
    }
}

fn set_pool(pool: &PoolStats) {
    let connections = |state: &'static str| metrics::gauge!("kassa_db_pool_connections", "pool" => pool.name, "state" => state);
    connections("idle").set(f64::from(pool.idle));
    connections("busy").set(f64::from(pool.busy()));
    metrics::gauge!("kassa_db_pool_max_connections", "pool" => pool.name).set(f64::from(pool.max));
}
