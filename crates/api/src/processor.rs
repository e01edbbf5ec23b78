//! `GET /ipp/v1/processors`: which card processors this server takes payments with, as the
//! merchant sees them. No key or secret is ever part of it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Processors {
    pub processors: Vec<ProcessorStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProcessorStatus {
    /// `simulated` or `stripe`.
    pub name: String,
    /// `test` (no real money: the simulated processor, or a Stripe test key) or `live`.
    pub mode: String,
    /// Which devices it takes cards on.
    pub devices: String,
    /// Stripe: the pinned API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Stripe: whether Stripe's webhooks can be verified (a signing secret is configured);
    /// without it, results arrive by the reconciler's polling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<bool>,
    /// Stripe: the connected account this merchant is bound to (`acct_…`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}
