//! The one statement's guard, tested where a stale read can be staged: a change judged on a
//! version that has since moved writes nothing, however often it runs.

use super::Change;
use crate::sql::test_shop::pg_session;
use crate::{EventStore, Scope, SessionStore};
use kassa_core::event::EventType;
use kassa_core::machine::{self, Command, Policy};
use kassa_core::session::{Actor, PaymentMethod, SessionStatus};

#[tokio::test]
async fn a_change_judged_on_a_moved_version_writes_nothing() {
    let now = chrono::Utc::now();
    let (store, merchant, _, session) = pg_session(now).await;
    let scope = Scope::Merchant(merchant);
    let activate = |method| Command::Activate {
        method,
        actor: Actor::Device,
    };
    let policy = Policy::default();
    let card = activate(PaymentMethod::CardTap);
    // Transitions take the one statement (`None` would have left them to the transaction).
    store
        .command_in_one_statement(scope, session.id, &card, now, policy)
        .await
        .unwrap()
        .expect("one statement");

    // Read, then let a cancel through before writing what the read decided: a switch of
    // method, which writes no timeline entry or event whose key could collide, so only the
    // version stands between it and a cancelled session made active again.
    let stale = store
        .read_for_transition(scope, session.id, None)
        .await
        .unwrap();
    let cancel = Command::Cancel {
        actor: Actor::Merchant,
    };
    store
        .command_in_one_statement(scope, session.id, &cancel, now, policy)
        .await
        .unwrap()
        .expect("one statement");
    let switch = activate(PaymentMethod::Swish);
    let mut judged = stale.session;
    let decision = machine::decide(&judged, &switch, now, policy);
    assert!(decision.changes.len() == 1 && decision.refusal.is_none());
    let applied = machine::apply(&mut judged, &decision.changes, now);
    let change = Change {
        session: &judged,
        version: stale.version,
        applied: &applied,
        attempt: None,
        now,
    };
    let written = store.write_change(change).await.unwrap();

    assert!(written.is_none(), "the version moved: nothing is written");
    let now_stored = store.get_session(scope, session.id).await.unwrap().unwrap();
    assert_eq!(now_stored.status, SessionStatus::Cancelled);
    let filter = crate::EventFilter {
        session_id: Some(session.id),
        limit: 10,
        ..Default::default()
    };
    let types: Vec<_> = (store.list_events(merchant, &filter).await.unwrap())
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        types,
        [
            EventType::SessionCreated,
            EventType::SessionActivated,
            EventType::SessionCancelled
        ]
    );
}

/// A fallback would hide a statement that never works: prove a finalize and its replay take
/// the one statement, and that the order is written.
#[tokio::test]
async fn a_finalize_and_its_replay_take_the_one_statement() {
    let now = chrono::Utc::now();
    let (store, merchant, device, session) = pg_session(now).await;
    let scope = Scope::Device(device);
    let policy = Policy::default();
    let card = Command::Activate {
        method: PaymentMethod::CardTap,
        actor: Actor::Device,
    };
    let activated = store.command_in_one_statement(scope, session.id, &card, now, policy);
    activated.await.unwrap().expect("one statement");
    let attempt = kassa_core::AttemptId::new();
    let pay = Command::Finalize {
        attempt_id: attempt,
        outcome: kassa_core::session::PaymentOutcome::Success,
        order_id: kassa_core::OrderId::new(),
        actor: Actor::Device,
    };
    let paid = store.finalize_in_one_statement(scope, session.id, attempt, &pay, now, policy);
    let paid = paid.await.unwrap().expect("one statement");
    let again = store.finalize_in_one_statement(scope, session.id, attempt, &pay, now, policy);
    let again = again.await.unwrap().expect("one read");

    assert_eq!(paid.session.status, SessionStatus::Finalized);
    assert!(!paid.replayed && again.replayed && again.session == paid.session);
    let order = paid.session.order_id.unwrap();
    let order = crate::OrderStore::get_order(&*store, merchant, order).await;
    assert_eq!(order.unwrap().unwrap().session_id, session.id);
}
