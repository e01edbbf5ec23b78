//! Building and running the service: store, state, router, workers, graceful shutdown.

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::state::AppState;
use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub struct App {
    pub state: AppState,
    pub store: Arc<kassa_store::SqlStore>,
    stop: CancellationToken,
    /// Whether `serve` runs the webhook dispatcher (off when tests step it).
    dispatcher: bool,
}

/// Buckets (seconds) for request and attempt latency: 5 ms .. 30 s, past the webhook timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Buckets (seconds) for delivery lag: from the first attempt (~ms) through the retry schedule
/// (hours), so a p99 over a day of backlog still falls in a bucket.
const LAG_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 7200.0, 36000.0,
];

/// Every histogram is rendered as a Prometheus histogram (buckets), never a summary:
/// quantiles of a summary cannot be added up across nodes, bucket counters can.
fn metrics_builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets(LATENCY_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(
                    "kassa_webhook_delivery_lag_seconds".into(),
                ),
                LAG_BUCKETS,
            )
        })
        .expect("metric buckets are non-empty constants")
}

/// The process has one metrics recorder; every `App` in it (tests run several) shares it.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            metrics_builder()
                .install_recorder()
                .unwrap_or_else(|_| metrics_builder().build_recorder().handle())
        })
        .clone()
}

impl App {
    /// Connects to the database (running migrations) and assembles the state.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let store = kassa_store::connect(&config.database_url)
            .await
            .with_context(|| format!("cannot open database {}", redact(&config.database_url)))?;
        // Before anything can lease a delivery: frees what an earlier process of this
        // database left leased, and (SQLite) refuses a second server on the same file.
        store
            .join(&config.database_url)
            .await
            .context("cannot start serving this database")?;
        let pusher = crate::push::Pusher::from_config(&config.push, clock.clone())
            .context("invalid [push] configuration")?;
        let processors = crate::processors::Processors::from_config(
            config.mode,
            &config.processors,
            store.clone(),
        )
        .context("invalid [processors] configuration")?;
        if processors
            .stripe
            .as_ref()
            .is_some_and(|s| s.webhook_secret().is_none())
        {
            tracing::warn!(
                "Stripe is configured without KASSA_STRIPE_WEBHOOK_SECRET: Stripe's webhooks are \
                 refused and reader results arrive by polling only"
            );
        }
        let rate_limits = Arc::new(crate::http::limits::RateLimits::new(
            config.rate_limit,
            config.auth_failure_limit,
        ));
        let state = AppState {
            store: store.clone(),
            signals: store.signals().clone(),
            config: Arc::new(config),
            clock,
            pusher,
            processors,
            metrics: metrics_handle(),
            registration_limiter: Arc::new(crate::state::registration_limiter()),
            rate_limits,
            hub: Arc::new(crate::hub::Hub::default()),
        };
        Ok(Self {
            state,
            store,
            stop: CancellationToken::new(),
            dispatcher: true,
        })
    }

    /// Serves without a webhook dispatcher: deliveries wait, unleased, until someone steps
    /// `webhooks::Dispatcher::dispatch_once` (tests do, instead of sleeping).
    pub fn without_dispatcher(mut self) -> Self {
        self.dispatcher = false;
        self
    }

    /// A token that stops the server and its workers when cancelled.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Serves on `listener` until the stop token is cancelled, then finishes in-flight requests.
    pub async fn serve(self, listener: TcpListener) -> anyhow::Result<()> {
        let workers = self.spawn_workers();
        let router = crate::http::router(self.state.clone());
        crate::listener::serve(listener, router, &self.state.config, self.stop.clone()).await;
        self.stop.cancel();
        for w in workers {
            let _ = w.await;
        }
        self.store.close().await;
        Ok(())
    }

    fn spawn_workers(&self) -> Vec<JoinHandle<()>> {
        let (state, stop) = (&self.state, &self.stop);
        let mut workers = vec![
            tokio::spawn(crate::sweeper::run(state.clone(), stop.clone())),
            tokio::spawn(crate::stream::route(state.clone(), stop.clone())),
            tokio::spawn(crate::gauges::run(state.clone(), stop.clone())),
            tokio::spawn(crate::webhooks::reaper::run(
                self.store.clone(),
                state.clock.clone(),
                stop.clone(),
            )),
            tokio::spawn(crate::retention::run(state.clone(), stop.clone())),
            tokio::spawn(crate::processors::reconciler::run(
                state.clone(),
                stop.clone(),
            )),
        ];
        if self.dispatcher {
            workers.push(tokio::spawn(crate::webhooks::run(
                state.clone(),
                stop.clone(),
            )));
        }
        workers
    }
}

/// Database URLs may carry a password; logs get the scheme and host only.
pub fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((_, host)) => format!("{}://…@{host}", url.split(':').next().unwrap_or("")),
        None => url.to_string(),
    }
}
