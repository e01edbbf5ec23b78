//! The raw database ceiling: how many of a scenario's write transactions the database itself
//! commits per second, on the real schema and indexes, with the rows the server writes but no
//! HTTP, no authentication, no reads and no locks beyond what the rows take. Two shapes:
//! a create (session row, timeline entry, event: one transaction) and a lifecycle (the
//! create, the card tap's activation and the finalize with its order: three transactions,
//! counted as one). PostgreSQL: `pgbench` with scripts/bench/<shape>.pgbench on a fresh
//! database beside the server's. SQLite: one writer connection (SQLite has one writer) on a
//! fresh file in the server's database directory, with the server's pragmas.

mod postgres;
mod rows;
mod sqlite;
#[cfg(test)]
mod tests;

use super::scratch::is_postgres;
use anyhow::bail;
use std::time::Duration;

const SETUP: &str = include_str!("../../../../../scripts/bench/setup.sql");

/// Devices per second of a create ceiling: well above any commit rate this machine reaches,
/// so no two open sessions share a device.
const DEVICES_PER_SECOND: u64 = 15_000;

/// Which of the server's write paths the ceiling repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One create: a transaction of three inserts.
    Create,
    /// Create, activate, finalize: three transactions (3 + 3 + 6 rows, two of them updates).
    Lifecycle,
}

impl Shape {
    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Lifecycle => "lifecycle",
        }
    }

    /// What one repetition is called in the report.
    pub fn unit(self) -> &'static str {
        match self {
            Self::Create => "tx/s",
            Self::Lifecycle => "lifecycles/s",
        }
    }

    /// Devices to set up: a create needs a free one each time; a lifecycle ends its session,
    /// so each writer reuses its own.
    fn devices(self, run: Run, writers: u32) -> u64 {
        match (self, run) {
            (Self::Create, Run::For(d)) => d.as_secs().max(1) * DEVICES_PER_SECOND,
            (Self::Create, Run::Times(n)) => n * u64::from(writers.max(1)),
            (Self::Lifecycle, _) => u64::from(writers.max(1)),
        }
    }
}

/// How long a ceiling runs: for a time (a measurement), or a number of repetitions per writer
/// (the tests, which compare the rows written with the server's).
#[derive(Debug, Clone, Copy)]
pub(super) enum Run {
    For(Duration),
    #[cfg_attr(not(test), allow(dead_code))]
    Times(u64),
}

impl Run {
    fn describe(self) -> String {
        match self {
            Self::For(d) => format!("{} s", d.as_secs_f64()),
            Self::Times(n) => format!("{n} times"),
        }
    }
}

pub struct Ceiling {
    pub shape: Shape,
    pub per_s: f64,
    pub how: String,
}

/// What one measurement repeats, for how long, and the set-up it starts from.
pub(super) struct Job {
    shape: Shape,
    run: Run,
    /// scripts/bench/setup.sql with its numbers filled in.
    setup: String,
    /// Every row's time (unix ms).
    now: i64,
}

impl Job {
    /// A job for `writers` at once, from now.
    pub(super) fn new(shape: Shape, run: Run, writers: u32) -> Self {
        let now = chrono::Utc::now().timestamp_millis();
        Self {
            shape,
            run,
            setup: setup(shape.devices(run, writers), now),
            now,
        }
    }
}

pub async fn measure(
    database_url: &str,
    shape: Shape,
    duration: Duration,
    clients: u32,
) -> anyhow::Result<Ceiling> {
    let run = Run::For(duration);
    if is_postgres(database_url) {
        let clients = clients.max(1);
        postgres::measure(database_url, &Job::new(shape, run, clients), clients).await
    } else if database_url.starts_with("sqlite:") {
        sqlite::measure(database_url, &Job::new(shape, run, 1)).await
    } else {
        bail!("--ceiling needs a postgres:// or sqlite: database URL (--database-url)")
    }
}

/// scripts/bench/setup.sql for `devices` devices, its rows stamped `now`.
fn setup(devices: u64, now: i64) -> String {
    SETUP
        .replace(":devices", &devices.to_string())
        .replace(":now", &now.to_string())
}
