//! The SQLite ceiling: one writer connection (SQLite has one writer) repeating the shape's
//! transactions on a fresh file in the server's database directory (the same disk), with the
//! server's pragmas: WAL, `synchronous=FULL`, foreign keys on.

use super::rows::{self, Ids};
use super::{Ceiling, Job, Run, Shape};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub(super) async fn measure(url: &str, job: &Job) -> anyhow::Result<Ceiling> {
    let server_db = sqlite_path(url);
    let dir = server_db
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file = dir.join(format!("kassa-ceiling-{}.db", std::process::id()));
    let result = async {
        let mut conn = prepare(&file, &job.setup).await?;
        let ceiling = writer(&mut conn, job).await?;
        conn.close().await?;
        anyhow::Ok(ceiling)
    }
    .await;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.clone().into_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
    result.map(|c| Ceiling {
        how: format!("{} in {}", c.how, dir.display()),
        ..c
    })
}

/// The server's SQLite file from its URL (`sqlite://kassa.db?mode=rwc`, `sqlite:/abs/path`).
fn sqlite_path(url: &str) -> PathBuf {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

/// A new database at `file` with the server's schema and the bench's set-up.
pub(super) async fn prepare(file: &Path, setup: &str) -> anyhow::Result<SqliteConnection> {
    let mut conn = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .connect()
        .await?;
    sqlx::migrate!("../store/migrations/sqlite")
        .run(&mut conn)
        .await?;
    sqlx::raw_sql(setup).execute(&mut conn).await?;
    Ok(conn)
}

/// Repeats the shape for as long as `run` says; a create takes the next device each time
/// (setup.sql made enough), a lifecycle frees its device and reuses the first.
pub(super) async fn writer(conn: &mut SqliteConnection, job: &Job) -> anyhow::Result<Ceiling> {
    let (shape, now) = (job.shape, job.now);
    let started = Instant::now();
    let mut done: u64 = 0;
    while match job.run {
        Run::For(duration) => started.elapsed() < duration,
        Run::Times(n) => done < n,
    } {
        let ids = Ids::new();
        match shape {
            Shape::Create => {
                let device = format!("bench-device-{}", done + 1);
                rows::create(conn, &ids, &device, now).await?;
            }
            Shape::Lifecycle => {
                rows::create(conn, &ids, "bench-device-1", now).await?;
                rows::activate(conn, &ids, now).await?;
                rows::finalize(conn, &ids, now).await?;
            }
        }
        done += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Ceiling {
        shape,
        per_s: done as f64 / elapsed,
        how: format!(
            "one sqlx writer, WAL, synchronous=FULL, {} {} shapes",
            done,
            shape.name()
        ),
    })
}
