//! `kassa bench`'s command line: what to drive, how hard, against which server (or, with
//! `--compare`, which two server binaries), and the checks on combinations clap cannot state.

use super::ceiling::Shape;
use anyhow::bail;
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// A test-mode API key of the merchant to drive (the server must be in playground mode).
    /// Not needed with `--compare`, which reads the key each server prints.
    #[arg(long, env = "KASSA_API_KEY", required_unless_present = "compare")]
    pub api_key: Option<String>,
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
    /// Also measure the raw database ceiling for the scenario's own write transactions (a
    /// create's for create, push and webhooks; a lifecycle's three for lifecycle): pgbench on
    /// PostgreSQL, a direct writer on SQLite, next to the server's database.
    #[arg(long)]
    pub ceiling: bool,
    /// Clients for the PostgreSQL ceiling (the server's pool has 16 connections).
    #[arg(long, default_value_t = 16)]
    pub ceiling_clients: u32,
    /// Where the server's database is; picks the backend label and the ceiling's database.
    /// Defaults to KASSA_DATABASE_URL / the config, like `kassa serve`. With `--compare`: a
    /// `postgres://…/NAME` URL gives each run a fresh database NAME_a0, NAME_b0, … on that
    /// server (dropped after it); `sqlite:///DIR/FILE` or nothing, a fresh SQLite file in a
    /// new directory under DIR or the temporary directory (removed after it).
    #[arg(long)]
    pub database_url: Option<String>,
    /// The backend name to report (default: from the database URL).
    #[arg(long)]
    pub backend_label: Option<String>,
    /// The server's process id, to report its resident memory (VmRSS, VmHWM).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Compare two server binaries, A and B (`--compare /tmp/kassa-before,target/release/kassa`):
    /// for each run, a fresh database and `<binary> serve` in playground mode on a free
    /// loopback port (configured only through KASSA_* variables, so any version works), the
    /// scenario driven by this binary, the server stopped; then each one's figures and B/A.
    #[arg(long, value_name = "A,B", value_delimiter = ',', num_args = 1,
          conflicts_with_all = ["url", "server_pid"])]
    pub compare: Option<Vec<PathBuf>>,
    /// With `--compare`: rounds of one run each; odd rounds run B first (A B, B A, A B, …) so
    /// that a machine getting busier or quieter during the runs favours neither.
    #[arg(long, default_value_t = 1, requires = "compare")]
    pub rounds: u32,
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

    /// The write transactions one operation commits, which `--ceiling` measures alone. A
    /// phone operation is two sales, one of them through Stripe: no raw database shape
    /// matches it.
    pub fn ceiling_shape(self) -> Option<Shape> {
        match self {
            Self::Create | Self::Push | Self::Webhooks => Some(Shape::Create),
            Self::Lifecycle => Some(Shape::Lifecycle),
            Self::Phone => None,
        }
    }
}

impl BenchArgs {
    /// The rules that span several options.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.concurrency == 0 {
            bail!("--concurrency must be at least 1");
        }
        if self.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
            bail!("--rate must be a positive number of operations per second");
        }
        if self.ceiling && self.scenario.ceiling_shape().is_none() {
            bail!(
                "--ceiling: no raw database ceiling matches --scenario {}",
                self.scenario.name()
            );
        }
        if let Some(binaries) = &self.compare {
            if binaries.len() != 2 {
                bail!(
                    "--compare takes two server binaries, A,B (got {})",
                    binaries.len()
                );
            }
            if self.rounds == 0 {
                bail!("--rounds must be at least 1");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn parse(args: &[&str]) -> Result<BenchArgs, clap::Error> {
        let argv = std::iter::once("bench").chain(args.iter().copied());
        Cli::try_parse_from(argv).map(|c| c.bench)
    }

    #[test]
    fn compare_takes_two_binaries_and_needs_no_api_key() {
        let args = parse(&["--compare", "/tmp/a,/tmp/b", "--rounds", "3"]).unwrap();
        let binaries = args.compare.clone().unwrap();
        assert_eq!(binaries, [PathBuf::from("/tmp/a"), PathBuf::from("/tmp/b")]);
        assert_eq!(args.rounds, 3);
        assert!(args.api_key.is_none());
        args.check().unwrap();
    }

    #[test]
    fn compare_refuses_one_or_three_binaries() {
        for list in ["/tmp/a", "/tmp/a,/tmp/b,/tmp/c"] {
            let args = parse(&["--compare", list]).unwrap();
            assert!(args.check().is_err(), "{list} accepted");
        }
    }

    #[test]
    fn compare_starts_its_own_servers() {
        let url = parse(&["--compare", "a,b", "--url", "http://127.0.0.1:1"]);
        assert!(url.is_err(), "--url accepted with --compare");
        let pid = parse(&["--compare", "a,b", "--server-pid", "1"]);
        assert!(pid.is_err(), "--server-pid accepted with --compare");
    }

    #[test]
    fn rounds_only_with_compare() {
        assert!(parse(&["--api-key", "k", "--rounds", "2"]).is_err());
        assert!(parse(&["--compare", "a,b", "--rounds", "0"])
            .unwrap()
            .check()
            .is_err());
    }

    #[test]
    fn the_ceiling_follows_the_scenario() {
        let shape = |s: &str| {
            let args = parse(&["--api-key", "k", "--scenario", s, "--ceiling"]).unwrap();
            args.check().map(|()| args.scenario.ceiling_shape())
        };
        assert_eq!(shape("create").unwrap(), Some(Shape::Create));
        assert_eq!(shape("push").unwrap(), Some(Shape::Create));
        assert_eq!(shape("webhooks").unwrap(), Some(Shape::Create));
        assert_eq!(shape("lifecycle").unwrap(), Some(Shape::Lifecycle));
        assert!(shape("phone").is_err(), "phone has no ceiling to divide by");
    }
}
