//! The session state machine. `decide` is the one function that says what a command does to a
//! session; `evolve` is the one function that applies the result. Both are pure: the caller
//! passes `now`, and storage applies the same changes it persists.

use crate::event::{SessionEvent, TimelineEntry};
use crate::session::{Actor, NewSession, PaymentMethod, PaymentOutcome, Session, SessionStatus};
use crate::{AttemptId, DomainError, OrderId, Timestamp};

/// Rules that come from configuration rather than from the contract.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Declined attempts after which the session is `FAILED`.
    pub max_attempts: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self { max_attempts: 5 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The clerk picked (or switched) the payment method.
    Activate {
        method: PaymentMethod,
        actor: Actor,
    },
    /// A processor-verified payment attempt. `order_id` is used only if it succeeds.
    Finalize {
        attempt_id: AttemptId,
        outcome: PaymentOutcome,
        order_id: OrderId,
        actor: Actor,
    },
    Cancel {
        actor: Actor,
    },
    /// The expiry sweeper's command; a no-op for a session that is already terminal.
    Expire,
}

/// A fact that happened to a session. Each one becomes at most one timeline entry and at
/// most one webhook event (see `event`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Created,
    Activated {
        method: PaymentMethod,
        actor: Actor,
    },
    MethodSwitched {
        method: PaymentMethod,
    },
    AttemptRecorded {
        attempt_id: AttemptId,
        outcome: PaymentOutcome,
    },
    Finalized {
        order_id: OrderId,
        actor: Actor,
    },
    Failed {
        actor: Actor,
    },
    Cancelled {
        actor: Actor,
    },
    Expired,
}

impl Change {
    pub fn is_terminal(&self) -> bool {
        self.status_after().is_some_and(|s| !s.is_open())
    }

    /// The status this change moves the session to, if it is a transition.
    pub fn status_after(&self) -> Option<SessionStatus> {
        match self {
            Self::Created => Some(SessionStatus::Created),
            Self::Activated { .. } => Some(SessionStatus::Active),
            Self::Finalized { .. } => Some(SessionStatus::Finalized),
            Self::Failed { .. } => Some(SessionStatus::Failed),
            Self::Cancelled { .. } => Some(SessionStatus::Cancelled),
            Self::Expired => Some(SessionStatus::Expired),
            Self::MethodSwitched { .. } | Self::AttemptRecorded { .. } => None,
        }
    }
}

/// What a command did: the changes to persist and, when the command itself was refused,
/// why. Both can be set: a payment that arrives after the deadline expires the session
/// (a change to persist) and is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub changes: Vec<Change>,
    pub refusal: Option<DomainError>,
}

impl Decision {
    fn accept(changes: Vec<Change>) -> Self {
        Self {
            changes,
            refusal: None,
        }
    }

    fn refuse(error: DomainError) -> Self {
        Self {
            changes: Vec::new(),
            refusal: Some(error),
        }
    }
}

/// Builds a new session and its `Created` change; `apply` it like any other change.
pub fn create(new: NewSession, now: Timestamp) -> (Session, Change) {
    let session = Session {
        id: new.id,
        merchant_id: new.merchant_id,
        device_id: new.device_id,
        location_id: new.location_id,
        status: SessionStatus::Created,
        cart: new.cart,
        purchase_started_at: new.purchase_started_at,
        purchase_completed_at: None,
        merchant_reference1: new.merchant_reference1,
        merchant_reference2: new.merchant_reference2,
        created_at: now,
        updated_at: now,
        expires_at: now + new.ttl,
        payment_method: None,
        attempts: 0,
        failure_reason: None,
        order_id: None,
        auto_capture: new.auto_capture,
        last_sequence: 0,
        payment: None,
        payment_secret: None,
    };
    (session, Change::Created)
}

/// Decides what `command` does to `session` at `now`. Every (status, command) pair is
/// listed, so adding a status does not compile until each transition has been considered.
pub fn decide(session: &Session, command: &Command, now: Timestamp, policy: Policy) -> Decision {
    use SessionStatus as S;
    if session.is_due(now) && !processor_word(session, command) {
        // The deadline has passed, whatever arrived first: expiry wins and the command is
        // judged against the expired session.
        let refusal = (*command != Command::Expire).then(|| refused(S::Expired, command));
        return Decision {
            changes: vec![Change::Expired],
            refusal,
        };
    }
    match (session.status, command) {
        (S::Created, Command::Activate { method, actor }) => {
            Decision::accept(vec![Change::Activated {
                method: *method,
                actor: *actor,
            }])
        }
        (S::Active, Command::Activate { method, .. }) => {
            let switched = session.payment_method != Some(*method);
            Decision::accept(
                switched
                    .then_some(Change::MethodSwitched { method: *method })
                    .into_iter()
                    .collect(),
            )
        }
        (S::Created, Command::Finalize { .. }) => Decision::refuse(DomainError::not_allowed(
            "session is CREATED: choose a payment method before finalizing",
        )),
        (
            S::Active,
            Command::Finalize {
                attempt_id,
                outcome,
                order_id,
                actor,
            },
        ) => Decision::accept(attempt_changes(
            session,
            *attempt_id,
            *outcome,
            *order_id,
            *actor,
            policy,
        )),
        (S::Created | S::Active, Command::Cancel { actor }) => {
            Decision::accept(vec![Change::Cancelled { actor: *actor }])
        }
        (S::Cancelled, Command::Cancel { .. }) => Decision::accept(Vec::new()),
        (S::Created | S::Active, Command::Expire) => Decision::refuse(DomainError::not_allowed(
            format!("session is not due until {}", session.expires_at),
        )),
        (S::Finalized | S::Cancelled | S::Expired | S::Failed, Command::Expire) => {
            Decision::accept(Vec::new())
        }
        (
            S::Finalized | S::Cancelled | S::Expired | S::Failed,
            Command::Activate { .. } | Command::Finalize { .. },
        )
        | (S::Finalized | S::Expired | S::Failed, Command::Cancel { .. }) => {
            Decision::refuse(refused(session.status, command))
        }
    }
}

/// A processor-backed payment that the processor verified is judged on its merits even past
/// the deadline: the card was charged before anyone could stop it, and a session must not
/// expire with money taken. Such sessions expire only once the processor has confirmed the
/// payment cancelled (the server's processor sweep), so the clock never overrules it.
fn processor_word(session: &Session, command: &Command) -> bool {
    session.payment.is_some() && matches!(command, Command::Finalize { .. })
}

fn refused(status: SessionStatus, command: &Command) -> DomainError {
    let verb = match command {
        Command::Activate { .. } => "choose a payment method for",
        Command::Finalize { .. } => "finalize",
        Command::Cancel { .. } => "cancel",
        Command::Expire => "expire",
    };
    DomainError::not_allowed(format!("cannot {verb} a session that is {status}"))
}

fn attempt_changes(
    session: &Session,
    attempt_id: AttemptId,
    outcome: PaymentOutcome,
    order_id: OrderId,
    actor: Actor,
    policy: Policy,
) -> Vec<Change> {
    let mut changes = vec![Change::AttemptRecorded {
        attempt_id,
        outcome,
    }];
    if outcome.is_success() {
        changes.push(Change::Finalized { order_id, actor });
    } else if session.attempts + 1 >= policy.max_attempts {
        changes.push(Change::Failed { actor });
    }
    changes
}

/// Applies one change. Callers apply exactly the changes `decide` returned.
pub fn evolve(session: &mut Session, change: &Change, now: Timestamp) {
    session.updated_at = now;
    if let Some(status) = change.status_after() {
        session.status = status;
    }
    match change {
        Change::Created | Change::Cancelled { .. } | Change::Expired | Change::Failed { .. } => {}
        Change::Activated { method, .. } | Change::MethodSwitched { method } => {
            session.payment_method = Some(*method);
        }
        Change::AttemptRecorded { outcome, .. } => {
            session.attempts += 1;
            if !outcome.is_success() {
                session.failure_reason = Some(*outcome);
            }
        }
        Change::Finalized { order_id, .. } => {
            session.order_id = Some(*order_id);
            session.purchase_completed_at = Some(now);
        }
    }
}

/// What applying changes recorded: the timeline entries and webhook events to persist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub entries: Vec<TimelineEntry>,
    pub events: Vec<SessionEvent>,
}

/// Evolves `session` through `changes` and numbers what each one records. Storage persists
/// the session row, the entries and the events of one `apply` in one transaction.
pub fn apply(session: &mut Session, changes: &[Change], now: Timestamp) -> Applied {
    let mut applied = Applied::default();
    for change in changes {
        let before = session.status;
        evolve(session, change, now);
        let (entry, event) = crate::event::record(change, before, session, now);
        applied.entries.extend(entry);
        applied.events.extend(event);
    }
    applied
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
