//! The rows a session change writes (session, timeline entry, event, order, attempt), each as
//! its columns with their values. Every write path builds its statements from these — the
//! transaction on both backends and PostgreSQL's one-statement create and transitions — so a
//! column is named and bound in one place only.

use super::builder::{Arg, Columns};
use crate::rows::ms;
use crate::stores::StoredEvent;
use crate::{Result, StoreError};
use kassa_core::event::{Entry, EventType, SessionEvent, TimelineEntry};
use kassa_core::order::Order;
use kassa_core::session::{PaymentOutcome, Session};
use kassa_core::{AttemptId, EventId, SessionId, Timestamp};

/// A new session's row (`version` starts at 1): what a transition may change, and the rest.
pub(crate) fn session_row(s: &Session) -> Result<Columns> {
    let items = serde_json::to_string(s.cart.items())?;
    let mut row = vec![
        ("id", s.id.to_string().into()),
        ("merchant_id", s.merchant_id.to_string().into()),
        ("device_id", s.device_id.to_string().into()),
        ("location_id", s.location_id.map(|l| l.to_string()).into()),
        ("order_amount", s.cart.order_amount().into()),
        ("order_tax_amount", s.cart.order_tax_amount().into()),
        ("purchase_currency", s.cart.currency().code().into()),
        ("order_items", items.into()),
        ("purchase_started_at", s.purchase_started_at.map(ms).into()),
        ("merchant_reference1", s.merchant_reference1.clone().into()),
        ("merchant_reference2", s.merchant_reference2.clone().into()),
        ("created_at", ms(s.created_at).into()),
        ("expires_at", ms(s.expires_at).into()),
        ("auto_capture", i64::from(s.auto_capture).into()),
        ("version", 1.into()),
    ];
    row.extend(session_changes(s));
    Ok(row)
}

/// The columns a transition changes (`version` is bumped beside them).
pub(crate) fn session_changes(s: &Session) -> Columns {
    vec![
        ("status", s.status.as_str().into()),
        ("updated_at", ms(s.updated_at).into()),
        (
            "payment_method",
            s.payment_method.map(|m| m.as_str()).into(),
        ),
        ("attempts", s.attempts.into()),
        (
            "failure_reason",
            s.failure_reason.map(|f| f.as_str()).into(),
        ),
        ("order_id", s.order_id.map(|o| o.to_string()).into()),
        (
            "purchase_completed_at",
            s.purchase_completed_at.map(ms).into(),
        ),
        ("last_sequence", s.last_sequence.into()),
    ]
}

/// One timeline entry's row.
pub(crate) fn entry_row(session: SessionId, e: &TimelineEntry) -> Columns {
    let none = || Arg::Text(None);
    let (kind, from, to, actor, attempt, outcome) = match &e.entry {
        Entry::Transition { from, to, actor } => (
            "transition",
            from.map(|s| s.as_str()).into(),
            to.as_str().into(),
            actor.as_str().into(),
            none(),
            none(),
        ),
        Entry::Attempt {
            attempt_id,
            outcome,
        } => (
            "attempt",
            none(),
            none(),
            none(),
            attempt_id.to_string().into(),
            outcome.as_str().into(),
        ),
    };
    vec![
        ("session_id", session.to_string().into()),
        ("sequence", e.sequence.into()),
        ("kind", kind.into()),
        ("from_status", from),
        ("to_status", to),
        ("actor", actor),
        ("attempt_id", attempt),
        ("outcome", outcome),
        ("at", ms(e.at).into()),
    ]
}

/// The event row `apply` produced for `session`, before it has its `seq`.
pub(crate) fn event_record(s: &Session, e: &SessionEvent) -> StoredEvent {
    let failure = matches!(
        e.event_type,
        EventType::PaymentFailed | EventType::SessionFailed
    )
    .then_some(s.failure_reason)
    .flatten();
    let order = (e.event_type == EventType::SessionFinalized)
        .then_some(s.order_id)
        .flatten();
    StoredEvent {
        seq: 0,
        id: EventId::from_random(rand::random()),
        merchant_id: s.merchant_id,
        event_type: e.event_type,
        session_id: s.id,
        sequence: e.sequence,
        status: e.status,
        previous_status: e.previous_status,
        order_id: order,
        failure_reason: failure,
        merchant_reference1: s.merchant_reference1.clone(),
        created_at: e.at,
    }
}

/// An event's row (`seq` is the database's).
pub(crate) fn event_row(e: &StoredEvent) -> Columns {
    vec![
        ("id", e.id.to_string().into()),
        ("merchant_id", e.merchant_id.to_string().into()),
        ("type", e.event_type.as_str().into()),
        ("session_id", e.session_id.to_string().into()),
        ("sequence", e.sequence.into()),
        ("status", e.status.as_str().into()),
        (
            "previous_status",
            e.previous_status.map(|p| p.as_str()).into(),
        ),
        ("order_id", e.order_id.map(|o| o.to_string()).into()),
        (
            "failure_reason",
            e.failure_reason.map(|f| f.as_str()).into(),
        ),
        ("merchant_reference1", e.merchant_reference1.clone().into()),
        ("created_at", ms(e.created_at).into()),
    ]
}

/// The order a finalized session creates.
pub(crate) fn order_row(s: &Session, now: Timestamp) -> Result<Columns> {
    let order_id = s
        .order_id
        .ok_or_else(|| StoreError::Corrupt("finalized session without order id".into()))?;
    let order = Order::from_session(s, order_id, now);
    Ok(vec![
        ("id", order.id.to_string().into()),
        ("merchant_id", order.merchant_id.to_string().into()),
        ("session_id", order.session_id.to_string().into()),
        ("document", serde_json::to_string(&order)?.into()),
        ("version", 1.into()),
        ("created_at", ms(now).into()),
    ])
}

/// The record of a finalize attempt, which a retry of the same attempt replays.
pub(crate) fn attempt_row(
    attempt: AttemptId,
    session: &Session,
    outcome: PaymentOutcome,
    now: Timestamp,
) -> Result<Columns> {
    Ok(vec![
        ("attempt_id", attempt.to_string().into()),
        ("session_id", session.id.to_string().into()),
        ("outcome", outcome.as_str().into()),
        ("snapshot", serde_json::to_string(session)?.into()),
        ("created_at", ms(now).into()),
    ])
}

/// Whether `event` creates the session's order.
pub(crate) fn creates_order(event: &SessionEvent) -> bool {
    event.event_type == EventType::SessionFinalized
}
