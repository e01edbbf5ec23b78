//! How changes become the session timeline and the merchant's webhook events.

use crate::machine::Change;
use crate::session::{Actor, PaymentOutcome, Session, SessionStatus};
use crate::{AttemptId, Timestamp};
use std::fmt;

/// The webhook event types of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    SessionCreated,
    SessionActivated,
    SessionFinalized,
    SessionCancelled,
    SessionExpired,
    SessionFailed,
    PaymentFailed,
}

impl EventType {
    pub const ALL: [Self; 7] = [
        Self::SessionCreated,
        Self::SessionActivated,
        Self::SessionFinalized,
        Self::SessionCancelled,
        Self::SessionExpired,
        Self::SessionFailed,
        Self::PaymentFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SessionCreated => "ipp.session.created",
            Self::SessionActivated => "ipp.session.activated",
            Self::SessionFinalized => "ipp.session.finalized",
            Self::SessionCancelled => "ipp.session.cancelled",
            Self::SessionExpired => "ipp.session.expired",
            Self::SessionFailed => "ipp.session.failed",
            Self::PaymentFailed => "ipp.payment.failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a session's timeline (`GET …/events`), numbered by `sequence`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Transition {
        from: Option<SessionStatus>,
        to: SessionStatus,
        actor: Actor,
    },
    Attempt {
        attempt_id: AttemptId,
        outcome: PaymentOutcome,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub sequence: i64,
    pub entry: Entry,
    pub at: Timestamp,
}

/// A webhook event as the domain sees it; the API crate renders the envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEvent {
    pub event_type: EventType,
    pub sequence: i64,
    pub status: SessionStatus,
    pub previous_status: Option<SessionStatus>,
    pub at: Timestamp,
}

/// Which timeline entry and which webhook event a change produces.
pub fn entry_of(change: &Change, from: SessionStatus) -> Option<Entry> {
    let transition = |to, actor| {
        Some(Entry::Transition {
            from: Some(from),
            to,
            actor,
        })
    };
    match change {
        Change::Created => Some(Entry::Transition {
            from: None,
            to: SessionStatus::Created,
            actor: Actor::Merchant,
        }),
        Change::Activated { actor, .. } => transition(SessionStatus::Active, *actor),
        Change::Finalized { actor, .. } => transition(SessionStatus::Finalized, *actor),
        Change::Failed { actor } => transition(SessionStatus::Failed, *actor),
        Change::Cancelled { actor } => transition(SessionStatus::Cancelled, *actor),
        Change::Expired => transition(SessionStatus::Expired, Actor::Expiry),
        Change::AttemptRecorded {
            attempt_id,
            outcome,
        } => Some(Entry::Attempt {
            attempt_id: *attempt_id,
            outcome: *outcome,
        }),
        Change::MethodSwitched { .. } => None,
    }
}

pub fn event_type_of(change: &Change) -> Option<EventType> {
    match change {
        Change::Created => Some(EventType::SessionCreated),
        Change::Activated { .. } => Some(EventType::SessionActivated),
        Change::Finalized { .. } => Some(EventType::SessionFinalized),
        Change::Failed { .. } => Some(EventType::SessionFailed),
        Change::Cancelled { .. } => Some(EventType::SessionCancelled),
        Change::Expired => Some(EventType::SessionExpired),
        Change::AttemptRecorded { outcome, .. } => {
            (!outcome.is_success()).then_some(EventType::PaymentFailed)
        }
        Change::MethodSwitched { .. } => None,
    }
}

/// What one change records, numbered from the session's sequence. `before` is the status
/// before the change; `after` has already been evolved and gets its sequence advanced.
pub fn record(
    change: &Change,
    before: SessionStatus,
    after: &mut Session,
    now: Timestamp,
) -> (Option<TimelineEntry>, Option<SessionEvent>) {
    let Some(entry) = entry_of(change, before) else {
        return (None, None);
    };
    after.last_sequence += 1;
    let sequence = after.last_sequence;
    let event = event_type_of(change).map(|event_type| SessionEvent {
        event_type,
        sequence,
        status: after.status,
        previous_status: (!matches!(change, Change::Created)).then_some(before),
        at: now,
    });
    let entry = TimelineEntry {
        sequence,
        entry,
        at: now,
    };
    (Some(entry), event)
}
