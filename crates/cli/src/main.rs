//! `kassa`: the one binary. `serve` runs the service; `migrate` prepares the database;
//! `admin` manages merchants and API keys directly in the database; `bench` measures a running
//! server against the database's own ceiling.
#![forbid(unsafe_code)]

mod admin;
mod bench;
mod listen;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kassa_server::{App, Config, ServerMode};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "kassa",
    version,
    about = "In-person payment sessions, Kustom IPP compatible"
)]
struct Cli {
    /// TOML config file; environment variables (KASSA_*) override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service and its workers.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage merchants and API keys.
    #[command(subcommand)]
    Admin(admin::Admin),
    /// Forward a merchant's events, signed, to a local URL (like `stripe listen`).
    Listen(listen::ListenArgs),
    /// Measure a running server: throughput, latency and the database ceiling; or compare two
    /// server binaries (`--compare A,B`). See BENCHMARKS.md.
    Bench(bench::BenchArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    // A benchmark's output is its report; the libraries' info lines would only interleave.
    let bench = matches!(cli.command, Command::Bench(_)) && std::env::var_os("KASSA_LOG").is_none();
    init_tracing(if bench { "warn" } else { &config.log });
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            kassa_store::connect(&config.database_url).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Admin(cmd) => admin::run(cmd, &config).await,
        Command::Listen(args) => listen::run(args).await,
        Command::Bench(args) => bench::run(args, &config.database_url).await,
    }
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.bind.clone();
    let mode = config.mode;
    let app = App::build(config).await?;
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    if mode == ServerMode::Playground {
        // After binding, so the portal link has the real port (`KASSA_BIND=…:0`).
        print_demo(&app, listener.local_addr()?).await?;
    }
    let stop = app.stop_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight work");
        stop.cancel();
    });
    tracing::info!(address = %listener.local_addr()?, mode = ?mode, "kassa is serving");
    app.serve(listener).await
}

async fn print_demo(app: &App, address: std::net::SocketAddr) -> anyhow::Result<()> {
    let now = app.state.now();
    let Some(demo) = kassa_server::seed::demo_if_empty(app.state.store.as_ref(), now).await? else {
        return Ok(());
    };
    println!("Playground demo data (shown once; keep the API key and the portal password):");
    println!("  merchant_id  {}", demo.merchant.id);
    println!("  api_key      {}", demo.api_key);
    println!("  location_id  {}", demo.location.id);
    println!("  device_id    {}  (simulated)", demo.device.id);
    println!("  device_token {}", demo.device_token);
    println!(
        "  portal       http://{address}/portal  {} / {}",
        demo.portal_email, demo.portal_password
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
