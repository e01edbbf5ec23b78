//! The merchant portal's sign-in (`/portal/api`): the login body and the answer that login
//! and `me` share.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /portal/api/login`.
// No `Debug`: it carries a password, which must never reach a log.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct Login {
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
    #[schema(min_length = 1)]
    pub password: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PortalRole {
    /// Everything the merchant's API key can do.
    Admin,
    /// Reads only: every change is `403 FORBIDDEN`.
    Viewer,
}

/// Which server the portal talks to; `playground` offers test sessions and simulated taps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PortalMode {
    Playground,
    Live,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PortalUser {
    pub id: Uuid,
    /// Lower-case.
    pub email: String,
    pub role: PortalRole,
    pub merchant_id: Uuid,
    /// The shop's name, for the portal's header.
    pub merchant_name: String,
}

/// The answer to login and `me`.
// No `Debug`: it carries the CSRF token.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct SignedIn {
    pub user: PortalUser,
    /// Send it as `X-CSRF-Token` on every POST, PUT, PATCH and DELETE made with the cookie.
    pub csrf_token: String,
    pub mode: PortalMode,
}
