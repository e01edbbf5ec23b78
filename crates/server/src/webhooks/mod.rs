//! Webhooks: the outbox dispatcher, Standard Webhooks signing and the SSRF guard.
//!
//! Every committed transition writes its event and one delivery per matching endpoint in its
//! own transaction (`kassa_store`'s `sql/fanout.rs`). The dispatcher takes the deliveries its
//! node committed straight from the commit, claims the rest with a lease, POSTs them signed
//! (`signed_post`) and records every attempt; `reaper.rs` frees dead nodes' leases. The HTTP
//! API in `http/webhooks.rs` and `http/events.rs` manages endpoints, shows the log and
//! replays events.

mod dispatcher;
pub mod guard;
pub mod reaper;

pub use dispatcher::{run, Dispatcher};

use base64::Engine;
use kassa_api::event::{Event, EventData};
use kassa_store::StoredEvent;
use rand::RngCore;

/// A new endpoint secret: `whsec_` + standard padded base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// The `webhook-signature` header: one `v1,<base64>` per secret, space separated, so that a
/// receiver holding either key during a rotation accepts the delivery.
pub fn signature_header(
    secrets: &[String],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, standardwebhooks::WebhookError> {
    let mut signatures = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let key = standardwebhooks::Webhook::new(secret)?;
        signatures.push(key.sign(id, timestamp, body)?);
    }
    Ok(signatures.join(" "))
}

/// A Standard Webhooks POST of `body` as message `id`, signed with every secret: what the
/// dispatcher sends, and what `kassa listen` forwards.
pub fn signed_post(
    client: &reqwest::Client,
    url: reqwest::Url,
    secrets: &[String],
    id: &str,
    timestamp: i64,
    body: Vec<u8>,
) -> Result<reqwest::RequestBuilder, standardwebhooks::WebhookError> {
    let signature = signature_header(secrets, id, timestamp, &body)?;
    Ok(client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body))
}

/// The contract's envelope for a stored event.
pub fn envelope(e: &StoredEvent) -> Event {
    Event {
        id: e.id.as_str().to_string(),
        merchant_id: e.merchant_id.0,
        timestamp: e.created_at,
        event_type: e.event_type.as_str().to_string(),
        data: EventData {
            session_id: e.session_id.0,
            order_id: e.order_id.map(|o| o.0),
            failure_reason: e.failure_reason.map(|f| f.as_str().to_string()),
            status: e.status.as_str().to_string(),
            previous_status: e.previous_status.map(|s| s.as_str().to_string()),
            sequence: e.sequence,
            merchant_reference1: e.merchant_reference1.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_contract_form_and_sign_for_each_key() {
        let (a, b) = (new_secret(), new_secret());
        assert!(a.starts_with("whsec_") && a.len() == 6 + 44, "{a}");
        let header = signature_header(&[a.clone(), b], "kevt_x", 1_700_000_000, b"{}").unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        let one = signature_header(&[a], "kevt_x", 1_700_000_000, b"{}").unwrap();
        assert_eq!(one, parts[0]);
    }
}
