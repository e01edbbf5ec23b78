//! PostgreSQL: production, several nodes on one database. Read-modify-write takes row locks
//! (`FOR UPDATE`), queues are claimed with `SKIP LOCKED`, and commit notices cross nodes with
//! `LISTEN/NOTIFY` (see `notify.rs`).

use crate::notify::{Notice, CHANNEL};
use crate::{Backend, Result, SqlStore};
use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::postgres::PgListener;
use std::time::Duration;
use tokio::sync::broadcast;

/// More connections than this is slower, not faster, on a small machine (see LIMITS.md).
const POOL_SIZE: u32 = 16;

pub async fn open(url: &str) -> Result<SqlStore> {
    install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await?;
    let store = SqlStore::new(Backend::Postgres, pool.clone(), pool);
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    tokio::spawn(relay(listener, store.notices.clone()));
    Ok(store)
}

/// Republishes every node's commit notices to this node's subscribers. When the listener's
/// connection drops, sqlx reconnects it; notices sent meanwhile are lost, which is why
/// subscribers treat notices as hints and the database as the truth.
async fn relay(mut listener: PgListener, notices: broadcast::Sender<Notice>) {
    loop {
        match listener.recv().await {
            Ok(n) => match serde_json::from_str::<Notice>(n.payload()) {
                Ok(notice) => {
                    let _ = notices.send(notice);
                }
                Err(e) => tracing::warn!(error = %e, "ignoring malformed notice"),
            },
            Err(e) => {
                tracing::warn!(error = %e, "notice listener failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}
