//! Stripe webhook events: verifying the `Stripe-Signature` header and parsing the event,
//! and signing a payload the same way (for tests and tools).
//!
//! The header is `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "{t}.{payload}")>`, with
//! possibly several `v1` entries (during a secret roll Stripe signs with both secrets) and
//! legacy `v0` entries, which are ignored. The HMAC key is the whole `whsec_…` string.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Stripe's own libraries' default: five minutes either side of our clock.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// A Stripe event, as delivered to a webhook endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `evt_…`: deduplicate on it, Stripe may deliver an event more than once.
    pub id: String,
    /// e.g. `payment_intent.succeeded`, `charge.refunded`, `terminal.reader.action_failed`.
    pub r#type: String,
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
    /// The connected account the event happened on (Connect endpoints only).
    #[serde(default)]
    pub account: Option<String>,
    pub data: EventData,
}

/// The object the event is about, left as JSON: its type depends on `Event::type`
/// (deserialise it into e.g. [`crate::PaymentIntent`] or [`crate::Charge`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

/// Why a webhook delivery was rejected.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WebhookError {
    #[error("no Stripe-Signature header")]
    MissingHeader,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    BadHeader,
    #[error("no v1 signature matches the payload")]
    NoValidSignature,
    #[error("the signature timestamp is outside the tolerance")]
    Expired,
    #[error("the payload is not a Stripe event: {0}")]
    BadPayload(String),
}

/// Verifies `Stripe-Signature` over `payload` (the raw request body, byte for byte) and
/// parses the event. Any one matching `v1` signature is enough; comparisons are constant
/// time. The timestamp is checked after the signature (it is only meaningful once
/// authenticated) and must be within `tolerance_secs` of `now_unix` in either direction:
/// an old one is a replay, and one far in the future would let a captured delivery be
/// replayed for longer.
pub fn verify_event(
    secret: &str,
    header: Option<&str>,
    payload: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<Event, WebhookError> {
    let header = header.ok_or(WebhookError::MissingHeader)?;
    let (timestamp, signatures) = parse_header(header)?;

    let mac = signed_mac(secret, timestamp, payload);
    let matched = signatures
        .iter()
        .filter_map(|sig| hex::decode(sig).ok())
        .any(|sig| mac.clone().verify_slice(&sig).is_ok());
    if !matched {
        return Err(WebhookError::NoValidSignature);
    }

    if now_unix.abs_diff(timestamp) > tolerance_secs.unsigned_abs() {
        return Err(WebhookError::Expired);
    }
    serde_json::from_slice(payload).map_err(|e| WebhookError::BadPayload(e.to_string()))
}

/// Signs `payload` as Stripe does, returning the `Stripe-Signature` header value.
pub fn sign_payload(secret: &str, payload: &[u8], timestamp: i64) -> String {
    let signature = signed_mac(secret, timestamp, payload)
        .finalize()
        .into_bytes();
    format!("t={timestamp},v1={}", hex::encode(signature))
}

/// The HMAC state after absorbing `"{t}.{payload}"`.
fn signed_mac(secret: &str, timestamp: i64, payload: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length (long ones are hashed), so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// The timestamp and every `v1` signature. Unknown schemes (`v0`) and stray items are
/// skipped, as Stripe's libraries do, so Stripe can add schemes without breaking us.
fn parse_header(header: &str) -> Result<(i64, Vec<&str>), WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.trim().split_once('=') else {
            continue;
        };
        match key.trim() {
            "t" if timestamp.is_none() => {
                let parsed = value
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| WebhookError::BadHeader)?;
                timestamp = Some(parsed);
            }
            "v1" => signatures.push(value.trim()),
            _ => {}
        }
    }
    match timestamp {
        Some(timestamp) if !signatures.is_empty() => Ok((timestamp, signatures)),
        _ => Err(WebhookError::BadHeader),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_0123456789abcdef";
    const NOW: i64 = 1_700_000_000;

    fn payload() -> Vec<u8> {
        br#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1700000000,
            "livemode":false,"account":"acct_1","pending_webhooks":1,
            "data":{"object":{"id":"pi_1","object":"payment_intent"}}}"#
            .to_vec()
    }

    fn verify(header: Option<&str>, body: &[u8]) -> Result<Event, WebhookError> {
        verify_event(SECRET, header, body, NOW, DEFAULT_TOLERANCE_SECS)
    }

    #[test]
    fn a_good_signature_verifies_and_the_event_parses() {
        let body = payload();
        let header = sign_payload(SECRET, &body, NOW - 10);
        let event = verify(Some(&header), &body).unwrap();
        assert_eq!(event.id, "evt_1");
        assert_eq!(event.r#type, "payment_intent.succeeded");
        assert_eq!(event.account.as_deref(), Some("acct_1"));
        assert_eq!(event.data.object["id"], "pi_1");
    }

    #[test]
    fn signature_matches_an_independently_computed_hmac() {
        let mut mac = HmacSha256::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(b"1700000000.hello");
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(
            sign_payload(SECRET, b"hello", NOW),
            format!("t=1700000000,v1={expected}")
        );
    }

    #[test]
    fn a_wrong_secret_or_altered_body_is_rejected() {
        let body = payload();
        let header = sign_payload("whsec_other", &body, NOW);
        assert_eq!(
            verify(Some(&header), &body),
            Err(WebhookError::NoValidSignature)
        );

        let header = sign_payload(SECRET, &body, NOW);
        let mut altered = body.clone();
        altered[10] ^= 1;
        assert_eq!(
            verify(Some(&header), &altered),
            Err(WebhookError::NoValidSignature)
        );
    }

    #[test]
    fn any_v1_may_match_and_v0_is_ignored() {
        let body = payload();
        let good = sign_payload(SECRET, &body, NOW);
        let good_sig = good.split_once(",v1=").unwrap().1;
        let wrong = sign_payload("whsec_old", &body, NOW);
        let wrong_sig = wrong.split_once(",v1=").unwrap().1;
        let header = format!("t={NOW}, v1={wrong_sig}, v1=nothex, v1={good_sig}, v0={wrong_sig}");
        assert!(verify(Some(&header), &body).is_ok());

        let only_v0 = format!("t={NOW},v0={good_sig}");
        assert_eq!(verify(Some(&only_v0), &body), Err(WebhookError::BadHeader));
    }

    #[test]
    fn timestamps_outside_the_tolerance_are_rejected_both_ways() {
        let body = payload();
        let at = |t: i64| verify(Some(&sign_payload(SECRET, &body, t)), &body);
        assert!(at(NOW - DEFAULT_TOLERANCE_SECS).is_ok());
        assert!(at(NOW + DEFAULT_TOLERANCE_SECS).is_ok());
        assert_eq!(
            at(NOW - DEFAULT_TOLERANCE_SECS - 1),
            Err(WebhookError::Expired)
        );
        assert_eq!(
            at(NOW + DEFAULT_TOLERANCE_SECS + 1),
            Err(WebhookError::Expired)
        );
        assert_eq!(at(i64::MIN), Err(WebhookError::Expired));
    }

    #[test]
    fn a_signature_for_another_timestamp_does_not_verify() {
        let body = payload();
        let header = sign_payload(SECRET, &body, NOW);
        let moved = header.replacen(&format!("t={NOW}"), &format!("t={}", NOW + 1), 1);
        assert_eq!(
            verify(Some(&moved), &body),
            Err(WebhookError::NoValidSignature)
        );
    }

    #[test]
    fn missing_or_garbled_headers_are_rejected() {
        let body = payload();
        assert_eq!(verify(None, &body), Err(WebhookError::MissingHeader));
        for header in [
            "",
            "garbage",
            "t=abc,v1=00",
            "v1=00",
            "t=1700000000",
            "t=,v1=",
        ] {
            assert_eq!(
                verify(Some(header), &body),
                Err(WebhookError::BadHeader),
                "{header}"
            );
        }
    }

    #[test]
    fn a_signed_body_that_is_not_an_event_is_a_bad_payload() {
        let body = br#"{"hello":"world"}"#;
        let header = sign_payload(SECRET, body, NOW);
        assert!(matches!(
            verify(Some(&header), body),
            Err(WebhookError::BadPayload(_))
        ));
    }
}
