//! `kassa bench --compare A,B`: the same scenario against two server binaries (say main's and
//! a branch's), back to back in one invocation, each run on a fresh database and a fresh
//! server, driven by this binary's load generator so only the server differs. With
//! `--rounds N` the order alternates (A B, B A, …) so a machine getting busier or quieter
//! favours neither. Prints each run's report, then each binary's figures over all its runs
//! and B/A; the last line is one JSON object.

use super::driver::histogram;
use super::report::{ms, round, Summary};
use super::scratch::{is_postgres, pg_database_name, PgScratch, TempDir};
use super::{measure, print, server, BenchArgs, Target};
use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub async fn run(args: &BenchArgs, a: &Path, b: &Path) -> anyhow::Result<()> {
    for binary in [a, b] {
        if !binary.is_file() {
            bail!("--compare: no server binary at {}", binary.display());
        }
    }
    let binaries = [a, b];
    let mut runs: [Vec<Summary>; 2] = [Vec::new(), Vec::new()];
    for r in 0..args.rounds {
        let order = if r % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            let name = format!("{}{r}", ["a", "b"][side]);
            eprintln!(
                "bench --compare: round {} of {}, {} = {}",
                r + 1,
                args.rounds,
                name.to_uppercase(),
                binaries[side].display()
            );
            let summary = one_run(args, binaries[side], &name).await?;
            print(&summary);
            runs[side].push(summary);
        }
    }
    let [a_runs, b_runs] = &runs;
    let sides = [Side::of(a, a_runs), Side::of(b, b_runs)];
    print_comparison(args, &sides, a_runs, b_runs);
    Ok(())
}

/// One run of `binary`: a fresh database named after `name`, its server, the scenario (and
/// the ceiling), the server stopped and the database dropped.
async fn one_run(args: &BenchArgs, binary: &Path, name: &str) -> anyhow::Result<Summary> {
    let base = args.database_url.as_deref();
    let parent = base
        .and_then(|url| url.strip_prefix("sqlite://"))
        .and_then(|file| Path::new(file).parent())
        .filter(|dir| !dir.as_os_str().is_empty())
        .map_or_else(std::env::temp_dir, Path::to_path_buf);
    let dir = TempDir::new(&parent, &format!("kassa-compare-{name}"))?;
    let pg = match base.filter(|url| is_postgres(url)) {
        Some(url) => {
            let db = format!("{}_{name}", pg_database_name(url)?);
            Some(PgScratch::create(url, &db).await?)
        }
        None => None,
    };
    let database_url = match &pg {
        Some(db) => db.url.to_string(),
        None => format!("sqlite://{}/kassa.db?mode=rwc", dir.path().display()),
    };
    let result = async {
        let served = server::start(binary, &database_url, dir.path(), &stripe_env(args)).await?;
        let target = Target {
            url: served.url.clone(),
            api_key: served.api_key.clone(),
            database_url: database_url.clone(),
            server_pid: Some(served.pid),
        };
        let summary = measure(args, &target).await;
        served.stop().await?;
        summary
    }
    .await;
    if let Some(db) = pg {
        db.drop_database().await?;
    }
    result.with_context(|| format!("--compare run {name} ({})", binary.display()))
}

/// `phone`: the server gets Stripe at the fake the bench starts, as scripts/bench/run does.
fn stripe_env(args: &BenchArgs) -> Vec<(&'static str, String)> {
    match (args.fake_stripe, &args.stripe_secret_key) {
        (Some(addr), Some(key)) => vec![
            ("KASSA_STRIPE_API_BASE", format!("http://{addr}")),
            ("KASSA_STRIPE_SECRET_KEY", key.clone()),
        ],
        _ => Vec::new(),
    }
}

/// One binary's figures over all its runs: operations over time, percentiles of every
/// sample, the mean ceiling.
struct Side {
    binary: PathBuf,
    per_s: f64,
    p50: f64,
    p99: f64,
    errors: u64,
    ceiling: Option<f64>,
}

impl Side {
    fn of(binary: &Path, runs: &[Summary]) -> Self {
        let mut all = histogram();
        for run in runs {
            all.add(&run.outcome.primary)
                .expect("histograms with the same bounds add");
        }
        let ok: u64 = runs.iter().map(|r| r.outcome.ok).sum();
        let secs: f64 = runs.iter().map(|r| r.outcome.elapsed.as_secs_f64()).sum();
        let ceilings: Option<Vec<f64>> = runs
            .iter()
            .map(|r| r.ceiling.as_ref().map(|c| c.per_s))
            .collect();
        Self {
            binary: binary.to_path_buf(),
            per_s: ok as f64 / secs,
            p50: ms(&all, 0.5),
            p99: ms(&all, 0.99),
            errors: runs.iter().map(Summary::errors).sum(),
            ceiling: ceilings.map(|c| c.iter().sum::<f64>() / c.len() as f64),
        }
    }

    fn ratio(&self) -> Option<f64> {
        self.ceiling.map(|c| self.per_s / c)
    }

    fn json(&self) -> Value {
        json!({
            "binary": self.binary.display().to_string(),
            "throughput_per_s": round(self.per_s, 1),
            "p50_ms": self.p50,
            "p99_ms": self.p99,
            "errors": self.errors,
            "ceiling_per_s": self.ceiling.map(|c| round(c, 1)),
            "ratio": self.ratio().map(|r| round(r, 3)),
        })
    }
}

fn print_comparison(args: &BenchArgs, sides: &[Side; 2], a_runs: &[Summary], b_runs: &[Summary]) {
    let [a, b] = sides;
    let first = &a_runs[0];
    let by_round: Vec<f64> = a_runs
        .iter()
        .zip(b_runs)
        .map(|(a, b)| round(b.throughput() / a.throughput(), 3))
        .collect();
    let quotient = |b: Option<f64>, a: Option<f64>| Some(round(b? / a?, 3));
    println!();
    println!(
        "kassa bench --compare — scenario {} on {}, {} round(s) of {:?} ({})",
        first.scenario, first.backend, args.rounds, args.duration, first.outcome.mode
    );
    println!(
        "  {:<4} {:>12} {:>9} {:>9} {:>7} {:>12} {:>7}  binary",
        "", "per second", "p50 ms", "p99 ms", "errors", "ceiling/s", "ratio"
    );
    for (label, s) in [("A", a), ("B", b)] {
        println!(
            "  {label:<4} {:>12.1} {:>9.2} {:>9.2} {:>7} {:>12} {:>7}  {}",
            s.per_s,
            s.p50,
            s.p99,
            s.errors,
            s.ceiling.map_or("–".into(), |c| format!("{c:.1}")),
            s.ratio().map_or("–".into(), |r| format!("{r:.3}")),
            s.binary.display()
        );
    }
    let b_over_a = json!({
        "throughput": round(b.per_s / a.per_s, 3),
        "p50": quotient(Some(b.p50), Some(a.p50)),
        "p99": quotient(Some(b.p99), Some(a.p99)),
        "ratio": quotient(b.ratio(), a.ratio()),
    });
    let shown = |v: &Value| v.as_f64().map_or("–".into(), |x| format!("{x:.3}"));
    println!(
        "  {:<4} {:>12} {:>9} {:>9} {:>7} {:>12} {:>7}",
        "B/A",
        shown(&b_over_a["throughput"]),
        shown(&b_over_a["p50"]),
        shown(&b_over_a["p99"]),
        "",
        "",
        shown(&b_over_a["ratio"]),
    );
    println!("  B/A throughput by round: {by_round:?}");
    let line = json!({
        "compare": first.scenario,
        "backend": first.backend,
        "rounds": args.rounds,
        "a": a.json(),
        "b": b.json(),
        "b_over_a": b_over_a,
        "b_over_a_throughput_by_round": by_round,
    });
    println!("{line}");
}
