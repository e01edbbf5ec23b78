//! Verifying a webhook delivery (Standard Webhooks): the signature over
//! `"{webhook-id}.{webhook-timestamp}.{body}"` with HMAC-SHA256 under the endpoint's
//! `whsec_` secret, and the timestamp within a tolerance so that a captured delivery cannot
//! be replayed later. The signature header may carry several signatures (during a secret
//! rotation Kassa signs with the old and the new key); one valid signature suffices.

use kassa_api::event::Event;
use std::time::Duration;

/// The tolerance receivers should use unless they have a reason not to (Standard Webhooks').
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The three headers of a delivery, as received.
#[derive(Debug, Clone, Copy)]
pub struct WebhookHeaders<'a> {
    /// `webhook-id`: the event id.
    pub id: &'a str,
    /// `webhook-timestamp`: Unix seconds.
    pub timestamp: &'a str,
    /// `webhook-signature`: space-separated `v1,<base64>` entries.
    pub signature: &'a str,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("webhook-timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is outside the tolerance (replayed or clock skew)")]
    Expired,
    #[error("no signature matches")]
    BadSignature,
    #[error("the secret is not a whsec_ base64 key")]
    BadSecret,
    #[error("the body is not a Kassa event: {0}")]
    BadBody(String),
}

/// Verifies a delivery against any of `secrets` (list both during a rotation) at
/// `now_unix` seconds, and returns its event. Compare before parsing: an unverified body is
/// never interpreted.
pub fn verify_webhook(
    secrets: &[&str],
    headers: WebhookHeaders<'_>,
    body: &[u8],
    now_unix: i64,
    tolerance: Duration,
) -> Result<Event, VerifyError> {
    let timestamp: i64 = headers
        .timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if now_unix.abs_diff(timestamp) > tolerance.unsigned_abs() {
        return Err(VerifyError::Expired);
    }
    let mut expected = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let key = standardwebhooks::Webhook::new(secret).map_err(|_| VerifyError::BadSecret)?;
        let signed = key
            .sign(headers.id, timestamp, body)
            .map_err(|_| VerifyError::BadSignature)?;
        expected.push(signed);
    }
    let valid = headers
        .signature
        .split(' ')
        .filter(|s| s.starts_with("v1,"))
        .any(|given| expected.iter().any(|e| constant_time_eq(e, given)));
    if !valid {
        return Err(VerifyError::BadSignature);
    }
    serde_json::from_slice(body).map_err(|e| VerifyError::BadBody(e.to_string()))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
