//! Test support: every test gets its own database, on either backend, so tests never share
//! state. PostgreSQL is reached through `KASSA_TEST_PG_URL` (default: the local server).

use crate::{Backend, Result};
use sqlx::Executor;
use std::time::{SystemTime, UNIX_EPOCH};

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const PREFIX: &str = "kassa_test_";
/// A test's database is in use for seconds (the whole suite runs in under twenty minutes);
/// an hour let a day of runs pile up ~2,000 databases (20 GB) and fill a disk.
const STALE_AFTER_SECS: u64 = 600;

/// Runs `work` with session transitions taking the transaction on PostgreSQL too (they take
/// one statement there otherwise), so the conformance suite can check both paths.
pub async fn transactions_only<F: std::future::Future>(work: F) -> F::Output {
    crate::sql::TRANSACTIONS_ONLY.scope((), work).await
}

/// The admin URL of the PostgreSQL server tests use.
pub fn pg_admin_url() -> String {
    std::env::var("KASSA_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG.to_string())
}

/// A URL for a new, empty database of `backend`; SQLite files go under the temp dir.
pub async fn fresh_database_url(backend: Backend) -> Result<String> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let name = format!("{PREFIX}{secs}_{}", uuid::Uuid::new_v4().simple());
    match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            Ok(format!("sqlite://{}?mode=rwc", path.display()))
        }
        Backend::Postgres => {
            let admin = pg_admin_url();
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await?;
            drop_stale(&mut conn, secs).await?;
            conn.execute(format!("CREATE DATABASE {name}").as_str())
                .await?;
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            Ok(format!("{base}/{name}"))
        }
    }
}

/// Drops test databases left by runs more than ten minutes old, so a developer's server does
/// not fill up; a running test's database is never that old.
async fn drop_stale(conn: &mut sqlx::PgConnection, now: u64) -> Result<()> {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'kassa_test_%'")
            .fetch_all(&mut *conn)
            .await?;
    for (name,) in names {
        let born: u64 = name[PREFIX.len()..]
            .split('_')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(now);
        if now.saturating_sub(born) > STALE_AFTER_SECS {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
    Ok(())
}
