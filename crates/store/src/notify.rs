//! Commit notices: which session changed, so that push, long-polls and the webhook dispatcher
//! react at once instead of polling; and which device was removed, so that every node closes
//! its streams. SQLite (one process) publishes after commit; on PostgreSQL a notifier task
//! sends `NOTIFY` after commit (not inside the transaction: see `SqlStore::announce`), and
//! every node's listener republishes it locally. Either way they arrive on `Signals`.

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
    /// What changed. Left off the wire for a session change, so session notices keep the
    /// payload they had before devices had notices, and one without it is a session change.
    #[serde(rename = "k", default, skip_serializing_if = "NoticeKind::is_session")]
    pub kind: NoticeKind,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// `session_id` changed to `status`.
    #[default]
    Session,
    /// `device_id` was deleted and its token revoked: its open streams must close.
    DeviceRemoved,
}

impl NoticeKind {
    fn is_session(&self) -> bool {
        *self == Self::Session
    }
}

impl Notice {
    /// A device's removal. It names no session: the nil session id matches none, and with no
    /// events and nothing queued it wakes neither the events feed nor a dispatcher, so only
    /// the device stream acts on it. A node that predates `kind` reads it as a change of
    /// that nil session and tells the device so; the device's read of it is refused (its
    /// token is revoked), which makes the POS unpair as the stream close would.
    pub fn device_removed(merchant_id: MerchantId, device_id: DeviceId) -> Self {
        Self {
            session_id: SessionId(uuid::Uuid::nil()),
            merchant_id,
            device_id,
            status: SessionStatus::Cancelled,
            has_events: false,
            queued: false,
            kind: NoticeKind::DeviceRemoved,
        }
    }

    pub fn is_session(&self) -> bool {
        self.kind.is_session()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_notice_keeps_its_wire_form_and_old_payloads_still_parse() {
        let old = r#"{"s":"01a20bd1-1418-7107-adb0-c8e9d9318480","m":"01a20bd1-1418-7107-adb0-c8e9d9318481","d":"01a20bd1-1418-7107-adb0-c8e9d9318482","st":"CREATED","e":true}"#;
        let notice: Notice = serde_json::from_str(old).unwrap();
        assert_eq!(notice.kind, NoticeKind::Session);
        assert!(!notice.queued);
        let again = serde_json::to_string(&notice).unwrap();
        assert!(!again.contains("\"k\""), "{again}");
    }

    #[test]
    fn a_device_removal_round_trips() {
        let notice = Notice::device_removed(MerchantId::new(), DeviceId::new());
        let wire = serde_json::to_string(&notice).unwrap();
        assert!(wire.contains(r#""k":"device_removed""#), "{wire}");
        assert_eq!(serde_json::from_str::<Notice>(&wire).unwrap(), notice);
    }
}
