//! The dispatcher: fans new outbox events out to endpoints, claims due deliveries (leased, so
//! a crashed node's work comes back; `SKIP LOCKED` on PostgreSQL, so nodes share the queue),
//! POSTs them signed with bounded concurrency, and records attempts in batches.
//!
//! It wakes on commit notices (every node's, through `LISTEN/NOTIFY` on PostgreSQL), when a
//! recorded attempt may have unblocked the next event of a session, and on a slow tick for
//! retries that come due. Nothing waits for a whole batch, so one slow endpoint cannot hold
//! back the others while permits remain.

use super::{envelope, guard, signature_header};
use crate::config::ServerMode;
use crate::state::AppState;
use kassa_store::{AttemptOutcome, AttemptRecord, DueDelivery, StoreError};
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, Notify, Semaphore};
use tokio_util::sync::CancellationToken;

/// Deliveries in flight at once, over all endpoints.
const CONCURRENCY: usize = 256;
/// Events fanned out per statement.
const FANOUT_BATCH: i64 = 1000;
/// Attempts recorded per transaction.
const RECORD_BATCH: usize = 512;
/// How often due retries are looked for when nothing else wakes the dispatcher.
const TICK: Duration = Duration::from_millis(250);
/// A lease outlives the request timeout by this much, so only a dead node loses it.
const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// The longest `Retry-After` honoured; a receiver cannot park an event for days.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);
/// Bytes of the response body kept in the log.
const SNIPPET_BYTES: usize = 512;

pub struct Dispatcher {
    state: AppState,
    client: reqwest::Client,
    permits: Arc<Semaphore>,
    live: bool,
}

impl Dispatcher {
    pub fn new(state: AppState) -> Self {
        let live = state.config.mode == ServerMode::Live;
        let mut client = reqwest::Client::builder()
            .timeout(state.config.webhook_timeout)
            // A redirect could lead to an address the guard never saw.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Kassa-Webhooks/", env!("CARGO_PKG_VERSION")));
        if live {
            client = client.dns_resolver(Arc::new(guard::PublicOnly));
        }
        Self {
            client: client.build().expect("the webhook HTTP client builds"),
            permits: Arc::new(Semaphore::new(CONCURRENCY)),
            live,
            state,
        }
    }

    /// One whole round, for tests that step the dispatcher instead of sleeping: fans out new
    /// events, attempts everything due and records the attempts. Returns how many it made.
    pub async fn dispatch_once(&self) -> Result<usize, StoreError> {
        self.fan_out().await?;
        let due = self.claim(CONCURRENCY as i64).await?;
        let n = due.len();
        let records = futures::future::join_all(due.into_iter().map(|d| self.attempt(d))).await;
        self.state
            .store
            .record_attempts(&records, self.state.now())
            .await?;
        Ok(n)
    }

    async fn fan_out(&self) -> Result<(), StoreError> {
        let first_delay = self
            .state
            .config
            .webhook_retry_schedule
            .first()
            .copied()
            .unwrap_or_default();
        loop {
            let first_at = self.state.now() + chrono_duration(first_delay);
            let n = self
                .state
                .store
                .fan_out_events(first_at, FANOUT_BATCH)
                .await?;
            if n < FANOUT_BATCH as usize {
                return Ok(());
            }
        }
    }

    async fn claim(&self, limit: i64) -> Result<Vec<DueDelivery>, StoreError> {
        let now = self.state.now();
        let lease = self.state.config.webhook_timeout + LEASE_MARGIN;
        self.state
            .store
            .claim_deliveries(now, now + chrono_duration(lease), limit)
            .await
    }

    /// Fans out, then claims as much as there are free permits and starts those attempts.
    /// True if it filled every free permit (more may be due).
    async fn step(
        self: &Arc<Self>,
        done: &mpsc::UnboundedSender<AttemptRecord>,
    ) -> Result<bool, StoreError> {
        self.fan_out().await?;
        let free = self.permits.available_permits();
        if free == 0 {
            return Ok(false);
        }
        let due = self.claim(free as i64).await?;
        let full = due.len() == free;
        for d in due {
            let permit = self
                .permits
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let (this, done) = (self.clone(), done.clone());
            tokio::spawn(async move {
                let record = this.attempt(d).await;
                let _ = done.send(record);
                drop(permit);
            });
        }
        Ok(full)
    }

    /// Sends one delivery and decides what follows from the answer.
    #[tracing::instrument(skip_all, fields(event.id = %due.event.id.as_str(), endpoint.id = %due.endpoint_id, attempt = due.attempt))]
    async fn attempt(&self, due: DueDelivery) -> AttemptRecord {
        let attempted_at = self.state.now();
        let started = Instant::now();
        let answer = self.send(&due, attempted_at.timestamp()).await;
        let latency_ms = started.elapsed().as_millis() as i64;
        let (status_code, error, snippet, retry_after) = match answer {
            Ok(a) => (Some(a.status), None, a.snippet, a.retry_after),
            Err(e) => (None, Some(e), None, None),
        };
        let outcome = match status_code {
            Some(s) if (200..300).contains(&s) => AttemptOutcome::Delivered,
            Some(410) => AttemptOutcome::Gone,
            _ => match self
                .state
                .config
                .webhook_retry_schedule
                .get(due.attempt as usize)
            {
                None => AttemptOutcome::Failed,
                Some(delay) => {
                    let wait = jitter(*delay)
                        .max(retry_after.map_or(Duration::ZERO, |r| r.min(MAX_RETRY_AFTER)));
                    AttemptOutcome::Retry(attempted_at + chrono_duration(wait))
                }
            },
        };
        let label = match outcome {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::Retry(_) => "retry",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Gone => "gone",
        };
        metrics::counter!("kassa_webhook_attempts_total", "outcome" => label).increment(1);
        metrics::histogram!("kassa_webhook_attempt_seconds").record(latency_ms as f64 / 1000.0);
        if outcome != AttemptOutcome::Delivered {
            tracing::info!(status = ?status_code, error = ?error, outcome = label, "webhook attempt failed");
        }
        AttemptRecord {
            delivery_id: due.delivery_id,
            attempt_id: uuid::Uuid::now_v7(),
            endpoint_id: due.endpoint_id,
            event_id: due.event.id.clone(),
            event_type: due.event.event_type,
            attempted_at,
            status_code,
            latency_ms,
            error,
            response_snippet: snippet,
            outcome,
        }
    }

    async fn send(&self, due: &DueDelivery, timestamp: i64) -> Result<Answer, String> {
        // Literal addresses are checked here, host names by the resolver as it connects.
        let url = guard::check_url(&due.url, self.live).map_err(|r| format!("refused: {r}"))?;
        let body = serde_json::to_vec(&envelope(&due.event)).map_err(|e| e.to_string())?;
        let id = due.event.id.as_str();
        let signature = signature_header(&due.secrets, id, timestamp, &body)
            .map_err(|e| format!("cannot sign: {e}"))?;
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(describe)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Ok(Answer {
            status,
            retry_after,
            snippet: snippet(response).await,
        })
    }
}

struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    snippet: Option<String>,
}

/// The first bytes of the body; a body that never ends is cut off by the client's timeout.
async fn snippet(mut response: reqwest::Response) -> Option<String> {
    let mut bytes = Vec::new();
    while bytes.len() < SNIPPET_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(SNIPPET_BYTES);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (!text.is_empty()).then_some(text)
}

/// reqwest's error with its causes ("error sending request: connection refused").
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Up to 10 % later, so that retries of many deliveries do not arrive in lockstep.
fn jitter(delay: Duration) -> Duration {
    delay.mul_f64(1.0 + rand::thread_rng().gen_range(0.0..0.1))
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The dispatcher worker of `kassa serve`. On stop it claims nothing more, lets in-flight
/// attempts finish and records them.
pub async fn run(state: AppState, stop: CancellationToken) {
    let dispatcher = Arc::new(Dispatcher::new(state.clone()));
    let mut notices = state.store.subscribe();
    let wake = Arc::new(Notify::new());
    let (done, records) = mpsc::unbounded_channel();
    let recorder = tokio::spawn(record(state.clone(), records, wake.clone()));
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        match dispatcher.step(&done).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "webhook dispatch failed"),
        }
        let go_on = loop {
            tokio::select! {
                _ = stop.cancelled() => break false,
                _ = wake.notified() => break true,
                _ = tick.tick() => break true,
                n = notices.recv() => match n {
                    Ok(n) if n.has_events => break true,
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(_)) => break true,
                    Err(broadcast::error::RecvError::Closed) => {
                        tick.tick().await;
                        break true;
                    }
                },
            }
        };
        if !go_on {
            break;
        }
        // One round answers every notice that arrived meanwhile.
        while notices.try_recv().is_ok() {}
    }
    let _ = dispatcher.permits.acquire_many(CONCURRENCY as u32).await;
    drop(done);
    let _ = recorder.await;
}

/// Writes finished attempts in batches, then wakes the dispatcher: a recorded first attempt
/// may release the next event of its session.
async fn record(
    state: AppState,
    mut records: mpsc::UnboundedReceiver<AttemptRecord>,
    wake: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while let Some(first) = records.recv().await {
        batch.push(first);
        while batch.len() < RECORD_BATCH {
            match records.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        for retry in 0..5 {
            match state.store.record_attempts(&batch, state.now()).await {
                Ok(()) => break,
                // Unrecorded attempts are retried when their lease runs out: at least once.
                Err(e) => {
                    tracing::warn!(error = %e, retry, "cannot record webhook attempts");
                    tokio::time::sleep(Duration::from_millis(500 << retry)).await;
                }
            }
        }
        batch.clear();
        wake.notify_one();
    }
}
