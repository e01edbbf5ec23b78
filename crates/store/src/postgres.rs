//! PostgreSQL: production, several nodes on one database. Read-modify-write takes row locks
//! (`FOR UPDATE`), queues are claimed with `SKIP LOCKED`, and commit notices cross nodes with
//! `LISTEN/NOTIFY` (see `notify.rs`), sent after commit by one notifier task per node.

use crate::key_cache::{KeyCache, KEYS_CHANNEL};
use crate::notify::{Notice, CHANNEL};
use crate::signals::Outbound;
use crate::sql::Writer;
use crate::{Backend, Result, Signals, SqlStore};
use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::postgres::PgListener;
use sqlx::{AnyPool, Connection};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// More connections than this is slower, not faster, on a small machine (see LIMITS.md).
const POOL_SIZE: u32 = 16;

/// A pooled connection idle longer than this is checked before use; one in steady use is
/// not, since the check is a round trip of its own on every statement (sqlx's default).
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

pub async fn open(url: &str) -> Result<SqlStore> {
    install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(Duration::from_secs(30))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= CHECK_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect(url)
        .await?;
    let (outbound, queue) = mpsc::unbounded_channel();
    let signals = Signals::new(Some(outbound));
    let write = Writer::plain(pool.clone());
    let store = SqlStore::new(Backend::Postgres, write, pool.clone(), signals);
    tokio::spawn(notifier(pool, queue));
    let mut listener = PgListener::connect(url).await?;
    listener.listen_all([CHANNEL, KEYS_CHANNEL]).await?;
    tokio::spawn(relay(listener, store.signals.clone(), store.keys.clone()));
    Ok(store)
}

/// Most notices sent by one statement.
const NOTIFY_BATCH: usize = 32;

/// Sends this node's notices after their commits, in commit order, one statement at a time:
/// notices that queue up while one statement is in flight go together in the next, so under
/// load the notify-queue lock is taken once per batch and never across a WAL flush.
async fn notifier(pool: AnyPool, mut queue: mpsc::UnboundedReceiver<Outbound>) {
    let mut batch = Vec::with_capacity(NOTIFY_BATCH);
    while queue.recv_many(&mut batch, NOTIFY_BATCH).await > 0 {
        let calls: Vec<String> = (0..batch.len())
            .map(|i| format!("pg_notify($1, ${})", i + 2))
            .collect();
        let sql = format!("SELECT {}", calls.join(", "));
        let mut query = sqlx::query(&sql).bind(CHANNEL);
        for (notice, _) in &batch {
            // Ids, a status and a flag always encode; an empty payload would only be skipped.
            query = query.bind(serde_json::to_string(notice).unwrap_or_default());
        }
        if let Err(e) = query.execute(&pool).await {
            tracing::warn!(error = %e, notices = batch.len(), "NOTIFY failed; notices lost");
        }
        for (_, sent) in batch.drain(..) {
            let _ = sent.send(());
        }
    }
}

/// Republishes every node's commit notices to this node's subscribers, and drops the cached
/// API keys when any node revokes one. When the listener's connection drops, sqlx reconnects
/// it; notices sent meanwhile are lost, which is why subscribers treat notices as hints and
/// the database as the truth, and why the key cache is dropped then too.
async fn relay(mut listener: PgListener, signals: Signals, keys: Arc<KeyCache>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) if n.channel() == KEYS_CHANNEL => keys.clear(),
            Ok(Some(n)) => match serde_json::from_str::<Notice>(n.payload()) {
                Ok(notice) => signals.publish(notice),
                Err(e) => tracing::warn!(error = %e, "ignoring malformed notice"),
            },
            Ok(None) => {
                tracing::warn!("notice listener lost its connection; reconnecting");
                keys.clear();
            }
            Err(e) => {
                tracing::warn!(error = %e, "notice listener failed; retrying");
                keys.clear();
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}
