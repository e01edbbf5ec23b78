//! Webhook endpoints and their delivery log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateWebhookEndpoint {
    /// Where to POST events. Live mode: `https://` and a public address only.
    #[schema(
        max_length = 2048,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+[^\\s]*$"
    )]
    pub url: String,
    /// Event types to send; omitted means all. An empty list is refused (`400`).
    #[serde(default)]
    #[schema(schema_with = crate::schemas::event_types)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: Option<String>,
}

/// `PUT /ipp/v1/webhook-endpoints/{id}`: omitted fields keep their value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct UpdateWebhookEndpoint {
    #[serde(default)]
    #[schema(
        max_length = 2048,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+[^\\s]*$"
    )]
    pub url: Option<String>,
    /// Replaces the filter; omitted keeps it. An empty list is refused (`400`): list every
    /// type to receive all of them again.
    #[serde(default)]
    #[schema(schema_with = crate::schemas::event_types)]
    pub events: Option<Vec<String>>,
    /// Up to 1000 characters; an empty string clears it.
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub url: String,
    /// The event types sent; all of them when the endpoint has no filter.
    pub events: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    /// Set when Kassa disabled the endpoint (it answered `410 Gone`).
    pub disabled_reason: Option<String>,
    /// `whsec_…`: only in the create and rotate-secret responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(serialize_with = "crate::time::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    pub updated_at: DateTime<Utc>,
}

/// One delivery attempt, as `GET …/{id}/deliveries` lists them (newest first).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryAttempt {
    pub attempt_id: Uuid,
    pub event_id: String,
    pub event_type: String,
    #[serde(serialize_with = "crate::time::serialize")]
    pub attempted_at: DateTime<Utc>,
    /// Null when no HTTP answer came (timeout, refused connection, refused address).
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The first bytes of the response body.
    pub response_snippet: Option<String>,
    /// When the next attempt is due; null when this one settled the delivery.
    #[serde(serialize_with = "crate::time::option::serialize")]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// `POST /ipp/v1/events/{event_id}/redeliver`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Redelivery {
    pub event_id: String,
    /// How many endpoints get a fresh attempt series.
    pub endpoints: usize,
}
