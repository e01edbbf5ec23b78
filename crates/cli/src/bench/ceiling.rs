//! The raw database ceiling: how many create-shaped transactions (the session row, its
//! timeline entry and its event, in one transaction, on the real schema and indexes) the
//! database itself commits per second, with no HTTP, no authentication and no device lock.
//! PostgreSQL: `pgbench` with scripts/bench/create.pgbench on a fresh database beside the
//! server's. SQLite: one writer connection (SQLite has one writer) on a fresh file in the
//! server's database directory, with the server's pragmas (WAL, `synchronous=FULL`).

use anyhow::{bail, Context};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Executor};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SETUP: &str = include_str!("../../../../scripts/bench/setup.sql");
const PGBENCH_SCRIPT: &str = include_str!("../../../../scripts/bench/create.pgbench");

/// Devices per second of ceiling run: well above any commit rate this machine reaches.
const DEVICES_PER_SECOND: u64 = 15_000;

pub struct Ceiling {
    pub per_s: f64,
    pub how: String,
}

pub async fn measure(
    database_url: &str,
    duration: Duration,
    clients: u32,
) -> anyhow::Result<Ceiling> {
    let secs = duration.as_secs().max(1);
    let now = chrono::Utc::now().timestamp_millis();
    let setup = SETUP
        .replace(":devices", &(secs * DEVICES_PER_SECOND).to_string())
        .replace(":now", &now.to_string());
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        postgres(database_url, &setup, secs, now, clients.max(1)).await
    } else if database_url.starts_with("sqlite:") {
        sqlite(database_url, &setup, duration, now).await
    } else {
        bail!("--ceiling needs a postgres:// or sqlite: database URL (--database-url)")
    }
}

async fn postgres(
    url: &str,
    setup: &str,
    secs: u64,
    now: i64,
    clients: u32,
) -> anyhow::Result<Ceiling> {
    let server = reqwest::Url::parse(url).context("parsing the database URL")?;
    let db = server.path().trim_start_matches('/');
    let scratch = format!("{}_ceiling", if db.is_empty() { "kassa" } else { db });
    let mut ceiling_url = server.clone();
    ceiling_url.set_path(&scratch);
    ceiling_url.set_query(None);

    // DROP DATABASE takes a while and says "does not exist" at first: neither is news here.
    let mut admin = url
        .parse::<sqlx::postgres::PgConnectOptions>()?
        .disable_statement_logging()
        .connect()
        .await?;
    let drop = format!("DROP DATABASE IF EXISTS \"{scratch}\" WITH (FORCE)");
    // One statement each: PostgreSQL refuses CREATE/DROP DATABASE in a transaction.
    admin.execute(drop.as_str()).await?;
    admin
        .execute(format!("CREATE DATABASE \"{scratch}\"").as_str())
        .await?;
    let result = async {
        let mut conn = sqlx::PgConnection::connect(ceiling_url.as_str()).await?;
        sqlx::migrate!("../store/migrations/postgres")
            .run(&mut conn)
            .await?;
        sqlx::raw_sql(setup).execute(&mut conn).await?;
        // The script's device counter (PostgreSQL only, so not in the portable setup.sql).
        conn.execute("CREATE SEQUENCE bench_device").await?;
        conn.execute("VACUUM ANALYZE").await?;
        conn.close().await?;
        pgbench(&ceiling_url, secs, now, clients).await
    }
    .await;
    admin.execute(drop.as_str()).await?;
    result
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

async fn pgbench(url: &reqwest::Url, secs: u64, now: i64, clients: u32) -> anyhow::Result<Ceiling> {
    let script = std::env::temp_dir().join(format!("kassa-create-{}.pgbench", std::process::id()));
    std::fs::write(&script, PGBENCH_SCRIPT)?;
    let threads = clients.min(2);
    let mut cmd = tokio::process::Command::new(pgbench_binary());
    cmd.args(["-n", "-M", "prepared"])
        .args(["-c", &clients.to_string(), "-j", &threads.to_string()])
        .args(["-T", &secs.to_string(), "-D", &format!("now={now}")])
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
    let tps = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .with_context(|| format!("no tps in pgbench's output:\n{stdout}"))?;
    let host = url.host_str().unwrap_or("");
    Ok(Ceiling {
        per_s: tps,
        how: format!("pgbench, {clients} clients over TCP to {host}, create.pgbench, {secs} s"),
    })
}

/// The server's SQLite file from its URL (`sqlite://kassa.db?mode=rwc`, `sqlite:/abs/path`).
fn sqlite_path(url: &str) -> PathBuf {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

async fn sqlite(url: &str, setup: &str, duration: Duration, now: i64) -> anyhow::Result<Ceiling> {
    let server_db = sqlite_path(url);
    let dir = server_db
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file = dir.join(format!("kassa-ceiling-{}.db", std::process::id()));
    let result = sqlite_writer(&file, setup, duration, now).await;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.clone().into_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
    result
}

async fn sqlite_writer(
    file: &Path,
    setup: &str,
    duration: Duration,
    now: i64,
) -> anyhow::Result<Ceiling> {
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
    let items = r#"[{"type":"physical","name":"Espresso","quantity":2,"unit_price":3500,"total_amount":7000,"tax_rate":2500,"total_tax_amount":1400},{"type":"physical","name":"Kanelbulle","quantity":1,"unit_price":5500,"total_amount":5500,"tax_rate":2500,"total_tax_amount":1100}]"#;
    let started = Instant::now();
    let mut done: u64 = 0;
    while started.elapsed() < duration {
        let session = uuid::Uuid::now_v7().to_string();
        let mut tx = conn.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, merchant_id, device_id, location_id, status, order_amount, \
             order_tax_amount, purchase_currency, order_items, purchase_started_at, \
             purchase_completed_at, merchant_reference1, merchant_reference2, created_at, \
             updated_at, expires_at, payment_method, attempts, failure_reason, order_id, \
             auto_capture, last_sequence, version) VALUES ($1, 'bench-merchant', $2, \
             'bench-location', 'CREATED', 12500, 2500, 'SEK', $3, NULL, NULL, 'bench', NULL, $4, \
             $4, $5, NULL, 0, NULL, NULL, 1, 1, 1)",
        )
        .bind(&session)
        .bind(format!("bench-device-{}", done + 1))
        .bind(items)
        .bind(now)
        .bind(now + 300_000)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO session_timeline (session_id, sequence, kind, from_status, to_status, \
             actor, attempt_id, outcome, at) \
             VALUES ($1, 1, 'transition', NULL, 'CREATED', 'MERCHANT', NULL, NULL, $2)",
        )
        .bind(&session)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO events (id, merchant_id, type, session_id, sequence, status, \
             previous_status, order_id, failure_reason, merchant_reference1, created_at) \
             VALUES ($1, 'bench-merchant', 'ipp.session.created', $2, 1, 'CREATED', NULL, NULL, \
             NULL, 'bench', $3)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&session)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        done += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    conn.close().await?;
    Ok(Ceiling {
        per_s: done as f64 / elapsed,
        how: format!(
            "one sqlx writer, WAL, synchronous=FULL, {} in {}",
            done,
            file.parent().unwrap_or(Path::new(".")).display()
        ),
    })
}
