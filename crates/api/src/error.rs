//! The Kustom error body every non-2xx response carries.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Same value as the `Correlation-Id` response header; quote it when asking for support.
    pub correlation_id: String,
    /// `BAD_VALUE`, `INVALID_JSON`, `UNAUTHORIZED`, `FORBIDDEN`, `NOT_FOUND`, `NOT_ALLOWED`,
    /// `DEVICE_BUSY`, `IDEMPOTENCY_CONFLICT`, `PAYLOAD_TOO_LARGE`, `RATE_LIMITED`, `INTERNAL_ERROR`.
    pub error_code: String,
    /// Each message names the field path it is about, e.g. `order_items[0].name: must not be empty`.
    pub error_messages: Vec<String>,
}
