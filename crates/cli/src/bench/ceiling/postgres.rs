//! The PostgreSQL ceiling: `pgbench` running scripts/bench/<shape>.pgbench on a fresh
//! database made with the real migrations and scripts/bench/setup.sql, beside the server's.

use super::{Ceiling, Job, Run, Shape};
use crate::bench::scratch::{pg_database_name, PgScratch};
use anyhow::{bail, Context};
use sqlx::{Connection, Executor};
use std::path::PathBuf;

fn script_of(shape: Shape) -> &'static str {
    match shape {
        Shape::Create => include_str!("../../../../../scripts/bench/create.pgbench"),
        Shape::Lifecycle => include_str!("../../../../../scripts/bench/lifecycle.pgbench"),
    }
}

pub(super) async fn measure(url: &str, job: &Job, clients: u32) -> anyhow::Result<Ceiling> {
    let scratch = format!("{}_ceiling", pg_database_name(url)?);
    let db = prepare(url, &scratch, &job.setup).await?;
    let result = pgbench(&db.url, job, clients).await;
    db.drop_database().await?;
    result
}

/// A fresh database `name` beside `url`'s with the server's schema and the bench's set-up.
pub(super) async fn prepare(url: &str, name: &str, setup: &str) -> anyhow::Result<PgScratch> {
    let db = PgScratch::create(url, name).await?;
    let ready = async {
        let mut conn = sqlx::PgConnection::connect(db.url.as_str()).await?;
        sqlx::migrate!("../store/migrations/postgres")
            .run(&mut conn)
            .await?;
        sqlx::raw_sql(setup).execute(&mut conn).await?;
        // The create script's device counter (PostgreSQL only, so not in the portable
        // setup.sql).
        conn.execute("CREATE SEQUENCE bench_device").await?;
        conn.execute("VACUUM ANALYZE").await?;
        conn.close().await?;
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = ready {
        let _ = db.drop_database().await;
        return Err(e);
    }
    Ok(db)
}

fn pgbench_binary() -> PathBuf {
    let in_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("pgbench").is_file()))
        .unwrap_or(false);
    if in_path {
        return "pgbench".into();
    }
    // Debian installs it beside the server, outside PATH.
    std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|d| d.path().join("bin/pgbench"))
        .filter(|p| p.is_file())
        .max()
        .unwrap_or_else(|| "pgbench".into())
}

pub(super) async fn pgbench(
    url: &reqwest::Url,
    job: &Job,
    clients: u32,
) -> anyhow::Result<Ceiling> {
    let shape = job.shape;
    let name = format!("kassa-{}-{}.pgbench", shape.name(), std::process::id());
    let script = std::env::temp_dir().join(name);
    std::fs::write(&script, script_of(shape))?;
    let threads = clients.min(2);
    let mut cmd = tokio::process::Command::new(pgbench_binary());
    cmd.args(["-n", "-M", "prepared"])
        .args(["-c", &clients.to_string(), "-j", &threads.to_string()])
        .args(match job.run {
            Run::For(d) => ["-T".into(), d.as_secs().max(1).to_string()],
            // Per client: the test runs one client.
            Run::Times(n) => ["-t".into(), n.to_string()],
        })
        .args(["-D", &format!("now={}", job.now)])
        .arg("-f")
        .arg(&script)
        .args(["-h", url.host_str().unwrap_or("127.0.0.1")])
        .args(["-p", &url.port().unwrap_or(5432).to_string()])
        .args([
            "-U",
            if url.username().is_empty() {
                "postgres"
            } else {
                url.username()
            },
        ])
        .arg(url.path().trim_start_matches('/'));
    if let Some(password) = url.password() {
        cmd.env("PGPASSWORD", password);
    }
    let output = cmd
        .output()
        .await
        .context("running pgbench (install postgresql-contrib)")?;
    let _ = std::fs::remove_file(&script);
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "pgbench failed: {}\n{stdout}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // pgbench counts runs of the whole script, so this is lifecycles/s for lifecycle.pgbench.
    let tps = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .with_context(|| format!("no tps in pgbench's output:\n{stdout}"))?;
    let host = url.host_str().unwrap_or("");
    Ok(Ceiling {
        shape,
        per_s: tps,
        how: format!(
            "pgbench, {clients} clients over TCP to {host}, {}.pgbench, {}",
            shape.name(),
            job.run.describe()
        ),
    })
}
