//! A `kassa serve` process of any version, for `--compare`: started in playground mode on a
//! free loopback port, configured only through the KASSA_* variables every release reads (an
//! older binary knows none of this one's flags), its demo API key read from the credentials
//! it prints on stdout, and stopped like `kill` does (SIGTERM: in-flight work finishes).

use anyhow::{bail, Context};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

/// Start-up includes migrating a fresh database, slow for a debug build on a busy machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

pub struct Served {
    child: Child,
    pub url: String,
    pub api_key: String,
    pub pid: u32,
}

/// Starts `binary serve` on `database_url` with `env` added; its log goes to `dir`/serve.err.
pub async fn start(
    binary: &Path,
    database_url: &str,
    dir: &Path,
    env: &[(&str, String)],
) -> anyhow::Result<Served> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let log = dir.join("serve.err");
    let mut child = Command::new(binary)
        .arg("serve")
        .env("KASSA_DATABASE_URL", database_url)
        .env("KASSA_BIND", format!("127.0.0.1:{port}"))
        .env("KASSA_MODE", "playground")
        .env("KASSA_LOG", "warn")
        // The bench drives one API key as fast as it can (as scripts/bench/run does).
        .env("KASSA_RATE_LIMIT", "1000000/s")
        .env("KASSA_RATE_LIMIT_BURST", "1000000")
        // Device streams keep their connection slot: a 10,000-device push run needs more
        // than the default 10,000 (lowered at start to what the open-file limit allows).
        .env("KASSA_MAX_CONNECTIONS", "20000")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log)?)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {} serve", binary.display()))?;
    let pid = child.id().context("the server exited at once")?;
    let stdout = child.stdout.take().context("the server's stdout")?;
    let url = format!("http://127.0.0.1:{port}");
    let ready = tokio::time::timeout(START_TIMEOUT, async {
        let api_key = demo_api_key(stdout).await?;
        healthy(&url, &mut child).await?;
        anyhow::Ok(api_key)
    })
    .await;
    let failed = |why: String| {
        let tail = log_tail(&log);
        anyhow::anyhow!("{} serve: {why}; its log ends:\n{tail}", binary.display())
    };
    let api_key = match ready {
        Ok(Ok(key)) => key,
        Ok(Err(e)) => return Err(failed(format!("{e:#}"))),
        Err(_) => return Err(failed(format!("not ready after {START_TIMEOUT:?}"))),
    };
    Ok(Served {
        child,
        url,
        api_key,
        pid,
    })
}

/// Reads the playground's printed credentials up to the `api_key` line, then keeps reading
/// so the server never writes into a full or closed pipe.
async fn demo_api_key(stdout: ChildStdout) -> anyhow::Result<String> {
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await? {
        if let Some(key) = line.trim().strip_prefix("api_key") {
            let key = key.trim().to_string();
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Ok(key);
        }
    }
    bail!("it printed no demo api_key (is the database fresh and the mode playground?)")
}

async fn healthy(url: &str, child: &mut Child) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let health = format!("{url}/healthz");
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("it exited ({status})");
        }
        if let Ok(r) = http.get(&health).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

impl Served {
    /// SIGTERM through `kill(1)` (this crate has no unsafe code to call kill(2) with), then
    /// SIGKILL if it has not stopped in time.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => {
                eprintln!(
                    "bench: server {} still running {:?} after SIGTERM; killing it",
                    self.pid,
                    started.elapsed()
                );
                self.child.kill().await?;
            }
        }
        Ok(())
    }
}
