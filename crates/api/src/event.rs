//! The webhook event envelope (Kustom's), with Kassa's extra `data` fields.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventData {
    pub session_id: Uuid,
    pub order_id: Option<Uuid>,
    pub failure_reason: Option<String>,
    pub status: String,
    pub previous_status: Option<String>,
    /// The session timeline entry this event reports.
    pub sequence: i64,
    pub merchant_reference1: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// `kevt_` + 22 base62 characters; also the `webhook-id` header.
    pub id: String,
    pub merchant_id: Uuid,
    #[serde(serialize_with = "crate::time::serialize")]
    pub timestamp: DateTime<Utc>,
    /// `ipp.session.created|activated|finalized|cancelled|expired|failed`, `ipp.payment.failed`.
    #[serde(rename = "type")]
    pub event_type: String,
    pub data: EventData,
}

/// `GET /ipp/v1/events`: events oldest first after the cursor.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventList {
    pub events: Vec<Event>,
    /// Pass as `after` to continue; null when no event was returned.
    pub next_cursor: Option<String>,
}
