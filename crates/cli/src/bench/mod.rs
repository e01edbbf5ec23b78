//! `kassa bench`: drives a running server through its real HTTP API (and the device
//! WebSocket) with `kassa-client`, the client merchants use, reports throughput and latency
//! percentiles, and — with `--ceiling` — measures in the same invocation what the database
//! alone can commit for the same transaction shape, so the result is a ratio to this
//! machine's limit rather than a number without a scale.
//!
//! Phases: set up simulated devices (untimed), run the scenario for `--duration` (closed loop
//! with `--concurrency` workers, or open loop at `--rate` per second), clean up, measure the
//! ceiling, print a table and, as the last line, one JSON object.

mod api;
mod ceiling;
mod create;
mod driver;
mod lifecycle;
mod phone;
mod push;
mod report;
mod webhooks;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// A test-mode API key of the merchant to drive (the server must be in playground mode).
    #[arg(long, env = "KASSA_API_KEY")]
    pub api_key: String,
    #[arg(long, value_enum, default_value_t = Scenario::Create)]
    pub scenario: Scenario,
    /// How long to drive load, e.g. `10s`.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Requests in flight: closed-loop workers, or the most in flight in `--rate` mode.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Open loop: start this many operations per second, whatever the latency; latency is
    /// measured from each operation's scheduled start (no coordinated omission).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Simulated devices to create up front (default: one per worker). With more devices than
    /// operations in the run, no device is reused, so no cancel is needed to free one.
    #[arg(long)]
    pub devices: Option<usize>,
    /// Also measure the raw database ceiling for a create's transaction (pgbench on
    /// PostgreSQL, a direct writer on SQLite) next to the server's database.
    #[arg(long)]
    pub ceiling: bool,
    /// Clients for the PostgreSQL ceiling (the server's pool has 16 connections).
    #[arg(long, default_value_t = 16)]
    pub ceiling_clients: u32,
    /// Where the server's database is; picks the backend label and the ceiling's database.
    /// Defaults to KASSA_DATABASE_URL / the config, like `kassa serve`.
    #[arg(long)]
    pub database_url: Option<String>,
    /// The backend name to report (default: from the database URL).
    #[arg(long)]
    pub backend_label: Option<String>,
    /// The server's process id, to report its resident memory (VmRSS, VmHWM).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// `phone`: where the bench starts its fake Stripe (loopback only). The server must run
    /// with `KASSA_STRIPE_API_BASE=http://<this address>`.
    #[arg(long)]
    pub fake_stripe: Option<SocketAddr>,
    /// `phone`: the server's Stripe test key (`sk_test_…`), the one the fake accepts.
    #[arg(long, env = "KASSA_STRIPE_SECRET_KEY", hide_env_values = true)]
    pub stripe_secret_key: Option<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Session creates, each on a device with no open session.
    Create,
    /// Create → simulate-tap → FINALIZED with an order.
    Lifecycle,
    /// Create → the device's WebSocket frame announcing it.
    Push,
    /// Create → its `ipp.session.created` webhook arriving at a local receiver.
    Webhooks,
    /// A card sale on a phone through Stripe (a fake the bench runs) against the same sale
    /// on a simulated device, step by step: create, payment CARD_TAP, finalize.
    Phone,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Lifecycle => "lifecycle",
            Self::Push => "push",
            Self::Webhooks => "webhooks",
            Self::Phone => "phone",
        }
    }
}

/// Runs one benchmark. `database_url` is the configured database (`kassa serve`'s default).
pub async fn run(args: BenchArgs, configured_db: &str) -> anyhow::Result<()> {
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    if args.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        bail!("--rate must be a positive number of operations per second");
    }
    let stripe = match args.scenario {
        Scenario::Phone => Some(stripe_args(&args)?),
        _ => None,
    };
    let db = args.database_url.clone().unwrap_or(configured_db.into());
    let backend = args
        .backend_label
        .clone()
        .unwrap_or_else(|| backend_of(&db).into());
    let api = api::Api::new(&args.url, &args.api_key, args.concurrency)?;
    api.check()
        .await
        .with_context(|| format!("cannot use the server at {}", args.url))?;

    let rss_idle = args.server_pid.map(report::rss);
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
        args.url,
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
    let rss_loaded = args.server_pid.map(report::rss);

    let ceiling = if args.ceiling {
        eprintln!("bench: measuring the {backend} ceiling for a create's transaction");
        Some(ceiling::measure(&db, args.duration, args.ceiling_clients).await?)
    } else {
        None
    };
    let summary = report::Summary {
        scenario: args.scenario.name(),
        backend,
        outcome,
        ceiling,
        rss_idle: rss_idle.flatten(),
        rss_loaded: rss_loaded.flatten(),
        load_before,
        load_after,
    };
    if args.scenario == Scenario::Phone {
        phone::print_adapter_cost(&summary.outcome.steps);
    }
    summary.print();
    Ok(())
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
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        "postgres"
    } else {
        "unknown"
    }
}
