//! The merchant's API keys (`/ipp/v1/api-keys`). Kassa stores only a key's hash, so the key
//! itself is in the create answer and nowhere else.

use crate::call::{self, Call};
use crate::pages::List;
use crate::transport::Transport;
use kassa_api::keys::{ApiKey, CreateApiKey};
use reqwest::Method;
use std::sync::Arc;
use uuid::Uuid;

/// API keys. From [`Client::api_keys`](crate::Client::api_keys).
#[derive(Debug, Clone)]
pub struct ApiKeys {
    transport: Arc<Transport>,
}

impl ApiKeys {
    pub(crate) fn new(transport: &Arc<Transport>) -> Self {
        Self {
            transport: transport.clone(),
        }
    }

    /// Every key, revoked ones included, newest first; each shows its prefix and last four.
    pub fn list(&self) -> List<ApiKey> {
        List::new(&self.transport, "/ipp/v1/api-keys".into(), Vec::new())
    }

    /// A new key of the merchant's mode (`201`); `api_key` holds it, this once. The server
    /// does not keep this answer for `Idempotency-Key` replays (it would store the key): a
    /// retry issues another key, and the first can be revoked.
    pub fn create(&self, req: &CreateApiKey) -> Call<ApiKey> {
        call::json(&self.transport, Method::POST, "/ipp/v1/api-keys".into()).body(req)
    }

    /// Revokes the key (`204`): from then on it is refused with `401`.
    pub fn revoke(&self, id: Uuid) -> Call<()> {
        call::empty(
            &self.transport,
            Method::DELETE,
            format!("/ipp/v1/api-keys/{id}"),
        )
    }
}
