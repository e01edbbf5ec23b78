//! Webhook records: endpoints, the deliveries the dispatcher claims and the attempt log.

use crate::stores::StoredEvent;
use kassa_core::event::EventType;
use kassa_core::{EventId, MerchantId, SessionId, Timestamp, WebhookEndpointId};

/// A merchant's webhook endpoint. The secrets are kept as issued (`whsec_…`): signing is an
/// HMAC, which needs the key itself, so unlike API keys they cannot be stored as hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub merchant_id: MerchantId,
    pub url: String,
    /// Empty means every event type.
    pub event_types: Vec<EventType>,
    pub description: Option<String>,
    pub enabled: bool,
    /// Why the endpoint was disabled by Kassa (`410 Gone`), if it was.
    pub disabled_reason: Option<String>,
    pub secret: String,
    /// The secret before the last rotation; it still signs until `previous_secret_expires_at`.
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl WebhookEndpoint {
    /// The secrets that sign a delivery at `now`: the current one, and the previous one
    /// during its grace period after a rotation.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<String> {
        signing_secrets(
            &self.secret,
            self.previous_secret.as_deref(),
            self.previous_secret_expires_at,
            now,
        )
    }
}

pub(crate) fn signing_secrets(
    secret: &str,
    previous: Option<&str>,
    previous_expires_at: Option<Timestamp>,
    now: Timestamp,
) -> Vec<String> {
    let mut secrets = vec![secret.to_string()];
    if let (Some(p), Some(until)) = (previous, previous_expires_at) {
        if now < until {
            secrets.push(p.to_string());
        }
    }
    secrets
}

/// A partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookEndpointPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<EventType>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// A delivery the dispatcher has claimed (leased) and must attempt now.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub delivery_id: i64,
    /// 1-based number of this attempt within its series.
    pub attempt: i64,
    pub endpoint_id: WebhookEndpointId,
    pub url: String,
    /// Sign with all of these (one signature each).
    pub secrets: Vec<String>,
    pub event: StoredEvent,
}

/// Deliveries committed on this node and leased to its dispatcher at commit.
#[derive(Debug)]
pub enum Routed {
    /// Attempt these now; with `hold`, not before `Release` of that session (a create's
    /// answer goes out before its `ipp.session.created`).
    Deliver {
        deliveries: Vec<DueDelivery>,
        hold: Option<SessionId>,
    },
    /// The create of this session has been answered.
    Release(SessionId),
}

/// What became of an attempt, and so of its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// 2xx: done.
    Delivered,
    /// Failed; try again at this time.
    Retry(Timestamp),
    /// Failed and the schedule is exhausted.
    Failed,
    /// `410 Gone`: the delivery fails and the endpoint is disabled.
    Gone,
}

/// One attempt to record, with the outcome that decides the delivery's next state.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery_id: i64,
    pub attempt_id: uuid::Uuid,
    pub endpoint_id: WebhookEndpointId,
    pub event_id: EventId,
    pub event_type: EventType,
    pub attempted_at: Timestamp,
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_snippet: Option<String>,
    pub outcome: AttemptOutcome,
}

/// An attempt as the deliveries log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub attempt_id: uuid::Uuid,
    pub event_id: EventId,
    pub event_type: EventType,
    pub attempted_at: Timestamp,
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_snippet: Option<String>,
    pub next_attempt_at: Option<Timestamp>,
}

/// The state of one (event, endpoint) delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryState {
    pub endpoint_id: WebhookEndpointId,
    pub event_id: EventId,
    /// `PENDING`, `DELIVERED` or `FAILED`.
    pub status: String,
    pub attempts: i64,
}
