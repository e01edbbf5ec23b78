//! Commit notices: which session changed, so that push, long-polls and the webhook dispatcher
//! react at once instead of polling. SQLite (one process) publishes after commit; on
//! PostgreSQL a notifier task sends `NOTIFY` after commit (not inside the transaction: see
//! `SqlStore::announce`), and every node's listener republishes it locally.

use kassa_core::session::SessionStatus;
use kassa_core::{DeviceId, MerchantId, SessionId};
use serde::{Deserialize, Serialize};

pub const CHANNEL: &str = "kassa_sessions";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    #[serde(rename = "s")]
    pub session_id: SessionId,
    #[serde(rename = "m")]
    pub merchant_id: MerchantId,
    #[serde(rename = "d")]
    pub device_id: DeviceId,
    #[serde(rename = "st")]
    pub status: SessionStatus,
    /// True when the change created events (the events feed's wake-up).
    #[serde(rename = "e")]
    pub has_events: bool,
    /// True when it queued deliveries that no dispatcher was handed at commit (a
    /// dispatcher's wake-up: see `sql/fanout.rs`).
    #[serde(rename = "q", default)]
    pub queued: bool,
}
