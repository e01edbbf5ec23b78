//! `kassa bench`: drives a running server through its real HTTP API (and the device
//! WebSocket) with `kassa-client`, the client merchants use, reports throughput and latency
//! percentiles, and — with `--ceiling` — measures in the same invocation what the database
//! alone can commit for the same transactions, so the result is a ratio to this machine's
//! limit rather than a number without a scale. With `--compare A,B` it starts each of two
//! server binaries in turn on a fresh database and prints the ratio B/A.
//!
//! Phases: set up simulated devices (untimed), run the scenario for `--duration` (closed loop
//! with `--concurrency` workers, or open loop at `--rate` per second), clean up, measure the
//! ceiling, print a table and, as the last line, one JSON object.

mod api;
mod args;
mod ceiling;
mod compare;
mod create;
mod driver;
mod lifecycle;
mod phone;
mod push;
mod report;
mod scratch;
mod server;
mod webhooks;

pub use args::BenchArgs;
use args::Scenario;

use anyhow::{bail, Context};
use std::net::SocketAddr;

/// The server a run drives.
pub struct Target {
    pub url: String,
    pub api_key: String,
    /// Its database: the backend's label and where the ceiling runs.
    pub database_url: String,
    pub server_pid: Option<u32>,
}

/// Runs one benchmark, or with `--compare` a series. `configured_db` is the configured
/// database (`kassa serve`'s default).
pub async fn run(args: BenchArgs, configured_db: &str) -> anyhow::Result<()> {
    args.check()?;
    if let Some(binaries) = &args.compare {
        return compare::run(&args, &binaries[0], &binaries[1]).await;
    }
    let target = Target {
        url: args.url.clone(),
        api_key: args.api_key.clone().context("--api-key is required")?,
        database_url: args.database_url.clone().unwrap_or(configured_db.into()),
        server_pid: args.server_pid,
    };
    print(&measure(&args, &target).await?);
    Ok(())
}

/// Drives `target` as `args` say and measures the ceiling if asked; prints only progress.
pub async fn measure(args: &BenchArgs, target: &Target) -> anyhow::Result<report::Summary> {
    let stripe = match args.scenario {
        Scenario::Phone => Some(stripe_args(args)?),
        _ => None,
    };
    let db = &target.database_url;
    let backend = args
        .backend_label
        .clone()
        .unwrap_or_else(|| backend_of(db).into());
    let api = api::Api::new(&target.url, &target.api_key, args.concurrency)?;
    api.check()
        .await
        .with_context(|| format!("cannot use the server at {}", target.url))?;

    let rss_idle = target.server_pid.map(report::rss);
    let load_before = report::loadavg();
    let devices = args
        .devices
        .unwrap_or(args.concurrency)
        .max(args.concurrency);
    eprintln!(
        "bench {}: setting up {devices} simulated devices",
        args.scenario.name()
    );
    let hook = match args.scenario {
        Scenario::Webhooks => Some(webhooks::Hook::start(&api).await?),
        _ => None,
    };
    let slots = driver::setup(&api, args.scenario, devices, args.concurrency).await?;
    if let Some((addr, key)) = &stripe {
        eprintln!("bench phone: fake Stripe on {addr}; pairing {devices} phones");
        phone::setup(&api, *addr, key, &slots).await?;
    }
    eprintln!(
        "bench {}: {} for {:?} ({})",
        args.scenario.name(),
        target.url,
        args.duration,
        match args.rate {
            Some(r) => format!("open loop at {r}/s, at most {} in flight", args.concurrency),
            None => format!("closed loop, {} workers", args.concurrency),
        }
    );
    let outcome = driver::drive(&api, args.scenario, slots, args.duration, args.rate).await;
    if let Some(hook) = hook {
        hook.stop(&api).await;
    }
    let load_after = report::loadavg();
    let rss_loaded = target.server_pid.map(report::rss);

    let ceiling = match args.scenario.ceiling_shape().filter(|_| args.ceiling) {
        Some(shape) => {
            eprintln!(
                "bench: measuring the {backend} ceiling for a {}",
                shape.name()
            );
            Some(ceiling::measure(db, shape, args.duration, args.ceiling_clients).await?)
        }
        None => None,
    };
    Ok(report::Summary {
        scenario: args.scenario.name(),
        backend,
        outcome,
        ceiling,
        rss_idle: rss_idle.flatten(),
        rss_loaded: rss_loaded.flatten(),
        load_before,
        load_after,
    })
}

/// One run's report (the phone scenario's adapter cost first).
pub fn print(summary: &report::Summary) {
    if summary.scenario == Scenario::Phone.name() {
        phone::print_adapter_cost(&summary.outcome.steps);
    }
    summary.print();
}

/// The phone scenario's fake Stripe address and key; it pairs one phone per worker, because
/// the server pairs only 10 devices a minute per client address.
fn stripe_args(args: &BenchArgs) -> anyhow::Result<(SocketAddr, String)> {
    if args.devices.is_some() {
        bail!(
            "--scenario phone uses one phone and one simulated device per worker: drop --devices"
        );
    }
    let (Some(addr), Some(key)) = (args.fake_stripe, args.stripe_secret_key.clone()) else {
        bail!(
            "--scenario phone needs --fake-stripe 127.0.0.1:PORT and the server's Stripe test key \
             (--stripe-secret-key or KASSA_STRIPE_SECRET_KEY)"
        );
    };
    Ok((addr, key))
}

fn backend_of(url: &str) -> &'static str {
    if url.starts_with("sqlite:") {
        "sqlite"
    } else if scratch::is_postgres(url) {
        "postgres"
    } else {
        "unknown"
    }
}
