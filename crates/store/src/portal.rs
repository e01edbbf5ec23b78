//! What the merchant portal keeps: its users (each belongs to one merchant and is an `admin`
//! or a `viewer`) and their server-side sign-in sessions. Passwords arrive here already hashed
//! and session tokens only as their SHA-256 hash; the server owns every secret and every
//! expiry rule, the store only filters by the times it is given.

use crate::model::Merchant;
use crate::Result;
use async_trait::async_trait;
use kassa_core::{MerchantId, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// A portal user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PortalUserId(pub Uuid);

impl PortalUserId {
    /// A new time-ordered (v7) id, like every other id in Kassa.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for PortalUserId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for PortalUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for PortalUserId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// What a portal user may do: an `admin` everything the merchant's API key can, a `viewer`
/// only read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalRole {
    Admin,
    Viewer,
}

impl PortalRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }
}

/// A live portal user. The password hash is not part of it: only sign-in reads it
/// (`PortalLogin`), so it cannot end up in a response or a log by accident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalUser {
    pub id: PortalUserId,
    pub merchant_id: MerchantId,
    /// Lower-case (see `normalize_email`).
    pub email: String,
    pub role: PortalRole,
    pub created_at: Timestamp,
}

/// A user as sign-in needs it: with the stored password hash and the merchant.
#[derive(Clone)]
pub struct PortalLogin {
    pub user: PortalUser,
    /// The PHC string (`$argon2id$…`).
    pub password_hash: String,
    pub merchant: Merchant,
}

/// Not derived: the password hash stays out of debug output.
impl fmt::Debug for PortalLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortalLogin")
            .field("user", &self.user)
            .field("merchant", &self.merchant.id)
            .finish_non_exhaustive()
    }
}

/// A sign-in session as stored. The cookie's token is known only by its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PortalSession {
    pub token_hash: String,
    pub user_id: PortalUserId,
    /// Sent back by the browser in `X-CSRF-Token`; useless without the cookie.
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// An absolute end, whatever the activity; `None` for none.
    pub expires_at: Option<Timestamp>,
}

/// Not derived: neither the token hash nor the CSRF token belongs in a log.
impl fmt::Debug for PortalSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortalSession")
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A live session with who it signs in: what every cookie-authenticated request needs, read
/// in one round trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalAuth {
    pub session: PortalSession,
    pub user: PortalUser,
    pub merchant: Merchant,
}

/// Emails compare case-insensitively; the store keeps and looks them up lower-case, so the
/// unique index is the only place the rule is enforced.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

#[async_trait]
pub trait PortalStore: Send + Sync {
    /// Stores a user (email lower-cased). `Duplicate::Email` if a live user already has the email,
    /// whatever its merchant: emails are global so that sign-in needs no merchant id.
    /// `BadReference` for an unknown merchant.
    async fn create_portal_user(&self, user: &PortalUser, password_hash: &str) -> Result<()>;
    /// Live users, of one merchant or of all, oldest first.
    async fn list_portal_users(&self, merchant: Option<MerchantId>) -> Result<Vec<PortalUser>>;
    /// The live user with this email (any case), for sign-in.
    async fn find_portal_user(&self, email: &str) -> Result<Option<PortalLogin>>;
    /// Deletes the user and every session of it, in one transaction, so no cookie of a
    /// deleted user works a moment longer. False if there was no such live user.
    async fn delete_portal_user(&self, id: PortalUserId, now: Timestamp) -> Result<bool>;
    async fn create_portal_session(&self, session: &PortalSession) -> Result<()>;
    /// The session with this token hash, its live user and the merchant, unless its
    /// `expires_at` has passed by `now`. Idle time is the caller's rule: it gets
    /// `last_seen_at` and decides.
    async fn find_portal_session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<PortalAuth>>;
    /// Records use of the session. Callers write this at most once a minute: idle expiry
    /// is measured in hours and every write on SQLite queues behind the one writer.
    async fn touch_portal_session(&self, token_hash: &str, now: Timestamp) -> Result<()>;
    /// Sign-out. False if there was no such session.
    async fn delete_portal_session(&self, token_hash: &str) -> Result<bool>;
    /// Deletes sessions last used before `idle_before` or whose `expires_at` has passed by
    /// `now`; returns how many.
    async fn delete_idle_portal_sessions(
        &self,
        idle_before: Timestamp,
        now: Timestamp,
    ) -> Result<u64>;
}
