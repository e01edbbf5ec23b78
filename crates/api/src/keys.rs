//! API keys as a merchant manages them over the API: list, create (the key shown once) and
//! revoke. Kassa stores only a key's hash, so no answer but the create's carries the key.

use chrono::{DateTime, Utc};
use kassa_core::entities;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /ipp/v1/api-keys`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CreateApiKey {
    /// What the key is for (`till backend`), at most 255 characters.
    #[serde(default)]
    #[schema(max_length = 255)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    pub id: Uuid,
    /// The key's first 18 characters (`kassa_test_` and seven more), to recognise it by.
    pub prefix: String,
    /// The key's last four characters; null for keys issued before Kassa kept them.
    pub last4: Option<String>,
    pub description: Option<String>,
    /// `test` (playground) or `live`.
    pub mode: String,
    #[serde(serialize_with = "crate::time::serialize")]
    pub created_at: DateTime<Utc>,
    /// Set once the key is revoked: from then on it is refused with `401`.
    #[serde(serialize_with = "crate::time::option::serialize")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// The key itself (`kassa_test_…`): only in the create response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

impl ApiKey {
    /// The wire form of a stored key; `api_key` only when it was just created.
    pub fn new(k: &entities::ApiKey, api_key: Option<String>) -> Self {
        Self {
            id: k.id.0,
            prefix: k.prefix.clone(),
            last4: k.last4.clone(),
            description: k.description.clone(),
            mode: k.mode.as_str().into(),
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            api_key,
        }
    }
}
