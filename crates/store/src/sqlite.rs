//! SQLite: the embedded default. WAL so readers never wait for the writer, one write
//! connection, `synchronous=FULL` so that an acknowledged payment survives power loss (NORMAL
//! could lose the last commits), foreign keys on, and a busy timeout for the CLI working on
//! the same file while the server runs.

use crate::sql::Writer;
use crate::{Backend, Result, Signals, SqlStore};
use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::Executor;
use std::time::Duration;

const PRAGMAS: &str = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
    PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;";

pub async fn open(url: &str) -> Result<SqlStore> {
    install_default_drivers();
    let pool = |max: u32| {
        AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(|conn, _| {
                Box::pin(async move { conn.execute(PRAGMAS).await.map(|_| ()) })
            })
    };
    let write = pool(1).connect(url).await?;
    let read = pool(4).connect(url).await?;
    let signals = Signals::new(None);
    Ok(SqlStore::new(
        Backend::Sqlite,
        Writer::grouped(write),
        read,
        signals,
    ))
}
