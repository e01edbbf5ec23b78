//! Frees the delivery leases of dead nodes every second (PostgreSQL; see `kassa_store`'s
//! `node.rs`), so that a crashed node's deliveries go out again about a second after it died
//! instead of when their leases run out. The dispatcher's next claim, on its next tick at the
//! latest, takes them.

use crate::clock::Clock;
use kassa_store::{Backend, SqlStore};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const EVERY: Duration = Duration::from_secs(1);

pub async fn run(store: Arc<SqlStore>, clock: Arc<dyn Clock>, stop: CancellationToken) {
    if store.backend() != Backend::Postgres {
        // One process owns an SQLite database: its leases were freed when it joined.
        return;
    }
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = store.free_dead_leases(clock.now()).await {
            tracing::warn!(error = %e, "cannot free the leases of dead nodes");
        }
    }
}
