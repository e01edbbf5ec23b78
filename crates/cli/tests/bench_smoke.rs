//! CI smoke of `kassa bench`: starts `kassa serve` (playground, a fresh SQLite file, port 0),
//! runs every available scenario for 2 seconds and checks only that the harness printed its
//! JSON line with no errors. Benchmarks are not tests: no timing is asserted here. The `phone`
//! scenario gets a server of its own, configured with Stripe at the fake the bench starts.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const KASSA: &str = env!("CARGO_BIN_EXE_kassa");

struct Server {
    child: Child,
    url: String,
    api_key: String,
    db_url: String,
    _dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts the server with `env` added and reads the demo API key (stdout) and the bound
/// address (the "kassa is serving" log line on stderr). `name` keeps each test's database
/// apart.
fn start_server(name: &str, env: &[(&str, &str)]) -> Server {
    let dir = std::env::temp_dir().join(format!("kassa-bench-smoke-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db_url = format!("sqlite://{}/kassa.db?mode=rwc", dir.display());
    let mut child = Command::new(KASSA)
        .arg("serve")
        .env("KASSA_DATABASE_URL", &db_url)
        .env("KASSA_BIND", "127.0.0.1:0")
        .env("KASSA_MODE", "playground")
        .env("KASSA_LOG", "info")
        // The bench drives one key as fast as it can: lift the per-key limit for it.
        .env("KASSA_RATE_LIMIT", "1000000/s")
        .env("KASSA_RATE_LIMIT_BURST", "1000000")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kassa serve");
    let mut stdout = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let api_key = stdout
        .by_ref()
        .find_map(|l| {
            l.trim()
                .strip_prefix("api_key")
                .map(|k| k.trim().to_string())
        })
        .expect("demo API key on stdout");
    // Keep reading both pipes so the server never writes into a closed or full one.
    std::thread::spawn(move || stdout.for_each(drop));
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = stderr.lines().map_while(Result::ok);
    let mut seen = Vec::new();
    let address = lines
        .by_ref()
        .find_map(|l| {
            let l = strip_ansi(&l);
            seen.push(l.clone());
            let at = l.find("address=")? + "address=".len();
            Some(l[at..].split_whitespace().next()?.to_string())
        })
        .unwrap_or_else(|| panic!("no bound address in the log:\n{}", seen.join("\n")));
    std::thread::spawn(move || lines.for_each(drop));
    Server {
        child,
        url: format!("http://{address}"),
        api_key,
        db_url,
        _dir: TempDir(dir),
    }
}

/// Log lines may be coloured even into a pipe.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

fn bench(server: &Server, scenario: &str, extra: &[&str]) -> Value {
    let output = Command::new(KASSA)
        .args(["bench", "--scenario", scenario, "--duration", "2s"])
        .args(["--concurrency", "4", "--url", &server.url])
        .args([
            "--api-key",
            &server.api_key,
            "--database-url",
            &server.db_url,
        ])
        .args(extra)
        .output()
        .expect("run kassa bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bench {scenario} failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().last().expect("bench printed something");
    let json: Value = serde_json::from_str(last).expect("the last line is JSON");
    assert_eq!(json["scenario"], scenario, "{stdout}");
    assert_eq!(json["backend"], "sqlite", "{stdout}");
    assert_eq!(json["errors"], 0, "{stdout}");
    assert!(json["throughput_per_s"].as_f64().unwrap() > 0.0, "{stdout}");
    json
}

#[test]
fn every_available_scenario_runs_and_reports() {
    let server = start_server("all", &[]);
    let create = bench(&server, "create", &["--ceiling"]);
    assert!(create["ceiling_per_s"].as_f64().unwrap() > 0.0);
    assert!(create["ratio"].as_f64().is_some());
    bench(&server, "lifecycle", &["--rate", "50"]);
    bench(&server, "push", &[]);
    bench(&server, "webhooks", &[]);
}

/// A test key the fake accepts; it never leaves 127.0.0.1.
const STRIPE_KEY: &str = "sk_test_kassa_bench_smoke";

#[test]
fn the_phone_scenario_runs_against_its_fake_stripe() {
    // The server needs the fake's address before the bench starts the fake there: take a free
    // port and let it go (another process could take it in between; none does in CI).
    let fake = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let base = format!("http://{fake}");
    let server = start_server(
        "phone",
        &[
            ("KASSA_STRIPE_SECRET_KEY", STRIPE_KEY),
            ("KASSA_STRIPE_API_BASE", &base),
        ],
    );
    let args = ["--fake-stripe", &fake, "--stripe-secret-key", STRIPE_KEY];
    bench(&server, "phone", &args);
    bench(&server, "phone", &[&args[..], &["--rate", "20"]].concat());
}
