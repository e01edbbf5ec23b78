//! This process as a node of the delivery queue. A delivery's lease names the node that holds
//! it (`leased_by`), so that a node known to be dead loses its leases at once instead of when
//! they run out (the webhook timeout plus a margin: 45 s by default).
//!
//! * SQLite: one process owns the database. `join` takes an exclusive lock on a file beside it
//!   (`<database>.lock`), so a second `kassa serve` on the same file refuses to start, and then
//!   frees every lease: whoever held them is gone.
//! * PostgreSQL: every node takes an id from the `kassa_node_ids` sequence and holds a
//!   session-level advisory lock on it over a connection of its own. The lock dies with that
//!   connection, and so with the process (`kill -9` closes its sockets; a lost machine is
//!   noticed by the server's TCP keepalives, set short on that connection). Live nodes free the
//!   leases of nodes whose lock is gone (`free_dead_leases`, run every second).

use crate::{Backend, Result, SqlStore, StoreError};
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};
use std::io::Write;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::oneshot;

/// The advisory-lock namespace (first key) of node locks: "KA".
const LOCK_SPACE: i32 = 0x4b41;
/// How often the node's own connection is checked and, if it was lost, made again.
const KEEPALIVE: Duration = Duration::from_secs(5);
/// Server-side TCP keepalives of the node connection: a node whose machine vanished is
/// declared dead after about idle + interval × count seconds.
const TCP_KEEPALIVES: &str =
    "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3";

#[derive(Default)]
pub(crate) struct Node {
    /// 0 until `join`; on PostgreSQL then the id whose advisory lock this process holds.
    id: AtomicI64,
    /// SQLite: the lock file, held while serving.
    file: Mutex<Option<std::fs::File>>,
    /// PostgreSQL: ends the task that holds the lock (dropping its connection frees it).
    keeper: Mutex<Option<oneshot::Sender<()>>>,
}

impl Node {
    pub(crate) fn id(&self) -> i64 {
        self.id.load(Ordering::Relaxed)
    }

    /// Gives up the lock: the file's, or the node connection's.
    pub(crate) fn leave(&self) {
        self.file.lock().expect("node file lock").take();
        if let Some(stop) = self.keeper.lock().expect("node keeper lock").take() {
            let _ = stop.send(());
        }
    }
}

impl SqlStore {
    /// Makes this process a node of the delivery queue (see the module docs). `kassa serve`
    /// calls it once before dispatching; the CLI's other commands never lease and do not.
    pub async fn join(&self, url: &str) -> Result<()> {
        match self.backend {
            Backend::Sqlite => self.join_sqlite(url).await,
            Backend::Postgres => self.join_postgres(url).await,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// This node's id in leases (0 on SQLite, where one process owns the database).
    pub fn node_id(&self) -> i64 {
        self.node.id()
    }

    async fn join_sqlite(&self, url: &str) -> Result<()> {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
        let path = options.get_filename();
        if !path.as_os_str().is_empty() && path.as_os_str() != ":memory:" {
            let file = lock_file(&format!("{}.lock", path.display()))?;
            *self.node.file.lock().expect("node file lock") = Some(file);
        }
        let freed = sqlx::query(
            "UPDATE webhook_deliveries SET leased_until = NULL, leased_by = NULL \
             WHERE leased_until IS NOT NULL",
        )
        .execute(&self.write.pool)
        .await?
        .rows_affected();
        if freed > 0 {
            tracing::info!(freed, "freed the delivery leases of an earlier process");
        }
        Ok(())
    }

    async fn join_postgres(&self, url: &str) -> Result<()> {
        let mut conn = PgConnection::connect(url).await?;
        let (id,): (i64,) = sqlx::query_as("SELECT nextval('kassa_node_ids')")
            .fetch_one(&mut conn)
            .await?;
        hold_lock(&mut conn, id).await?;
        self.node.id.store(id, Ordering::Relaxed);
        let (stop, stopped) = oneshot::channel();
        *self.node.keeper.lock().expect("node keeper lock") = Some(stop);
        tokio::spawn(keep(url.to_string(), id, conn, stopped));
        tracing::info!(node = id, "joined the delivery queue as a node");
        Ok(())
    }

    /// PostgreSQL: frees the leases of nodes whose lock is gone; returns how many. SQLite has
    /// no other node, so nothing.
    pub async fn free_dead_leases(&self, now: kassa_core::Timestamp) -> Result<u64> {
        if self.backend != Backend::Postgres {
            return Ok(0);
        }
        let freed = sqlx::query(&format!(
            "UPDATE webhook_deliveries SET leased_until = NULL, leased_by = NULL \
             WHERE leased_until IS NOT NULL AND leased_until > $1 \
               AND leased_by IS NOT NULL AND leased_by <> $2 \
               AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' \
                 AND l.granted AND l.classid = {LOCK_SPACE} AND l.objsubid = 2 \
                 AND l.objid::bigint = webhook_deliveries.leased_by \
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
        ))
        .bind(crate::rows::ms(now))
        .bind(self.node.id())
        .execute(&self.write.pool)
        .await?
        .rows_affected();
        if freed > 0 {
            tracing::info!(freed, "freed the delivery leases of a dead node");
        }
        Ok(freed)
    }
}

/// Takes the exclusive lock on `path` (created if missing) and writes our pid into it.
fn lock_file(path: &str) -> Result<std::fs::File> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| StoreError::InUse(format!("cannot open the lock file {path}: {e}")))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(path).unwrap_or_default();
            return Err(StoreError::InUse(format!(
                "the database is in use by another kassa serve (pid {}); one process serves an \
                 SQLite database — use PostgreSQL for several nodes",
                holder.trim()
            )));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(StoreError::InUse(format!("cannot lock {path}: {e}")))
        }
    }
    // The pid is only for the message above; failing to write it changes nothing.
    let _ = file
        .set_len(0)
        .and_then(|()| write!(file, "{}", std::process::id()));
    Ok(file)
}

async fn hold_lock(conn: &mut PgConnection, id: i64) -> Result<()> {
    conn.execute(TCP_KEEPALIVES).await?;
    let key = i32::try_from(id).map_err(|_| StoreError::Invariant("node id beyond int4"))?;
    let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1, $2)")
        .bind(LOCK_SPACE)
        .bind(key)
        .fetch_one(conn)
        .await?;
    if locked {
        Ok(())
    } else {
        Err(StoreError::Invariant(
            "a node id from the sequence was locked",
        ))
    }
}

/// Holds the node's lock until told to stop. A lost connection is made again with the same
/// id: meanwhile other nodes may have freed our leases, so a delivery in flight may be sent
/// twice, which at-least-once delivery allows.
async fn keep(url: String, id: i64, mut conn: PgConnection, mut stop: oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            _ = &mut stop => break,
            () = tokio::time::sleep(KEEPALIVE) => {}
        }
        if conn.ping().await.is_ok() {
            continue;
        }
        tracing::warn!(node = id, "the node connection was lost; connecting again");
        match PgConnection::connect(&url).await {
            Ok(mut fresh) => match hold_lock(&mut fresh, id).await {
                Ok(()) => conn = fresh,
                Err(e) => tracing::warn!(node = id, error = %e, "cannot take the node lock"),
            },
            Err(e) => tracing::warn!(node = id, error = %e, "cannot reach the database"),
        }
    }
    let _ = conn.close().await;
}
