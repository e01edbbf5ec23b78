//! One attempt: sign, POST, read the answer, and decide what follows from it.

use super::{chrono_duration, Dispatcher};
use crate::webhooks::{envelope, guard, signed_post};
use kassa_store::{AttemptOutcome, AttemptRecord, DueDelivery};
use rand::Rng;
use std::time::{Duration, Instant};

/// The longest `Retry-After` honoured; a receiver cannot park an event for days.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);
/// Bytes of the response body kept in the log.
const SNIPPET_BYTES: usize = 512;

impl Dispatcher {
    /// Sends one delivery and decides what follows from the answer.
    #[tracing::instrument(skip_all, fields(event.id = %due.event.id.as_str(), endpoint.id = %due.endpoint_id, attempt = due.attempt))]
    pub(super) async fn attempt(&self, due: DueDelivery) -> AttemptRecord {
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
        metrics::histogram!("kassa_webhook_delivery_lag_seconds").record(
            (attempted_at - due.event.created_at)
                .num_milliseconds()
                .max(0) as f64
                / 1000.0,
        );
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
        let response = signed_post(&self.client, url, &due.secrets, id, timestamp, body)
            .map_err(|e| format!("cannot sign: {e}"))?
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
