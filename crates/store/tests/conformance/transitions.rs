//! Session transitions take one statement on PostgreSQL and a transaction otherwise (and on
//! PostgreSQL when the one statement steps aside). Both paths must write the same: events
//! with their deliveries (a later event of one commit held back behind an earlier one), the
//! order, the attempt, the `Idempotency-Key` mark; and under racing transitions exactly one
//! wins. Each test runs both paths; on SQLite both are the transaction.

use crate::both_backends;
use crate::fixtures::*;
use crate::webhooks::{endpoint, record, routed};
use chrono::Duration;
use kassa_core::event::EventType;
use kassa_core::machine::{Command, Policy};
use kassa_core::session::{Actor, PaymentOutcome, SessionStatus};
use kassa_core::MerchantId;
use kassa_store::testing::transactions_only;
use kassa_store::*;
use std::future::Future;

/// Runs `work` on the transactional path or on the backend's own.
async fn on_path<F: Future>(transactional: bool, work: F) -> F::Output {
    match transactional {
        true => transactions_only(work).await,
        false => work.await,
    }
}

/// What a declined last attempt and a paid session leave behind, to compare the paths.
#[derive(Debug, PartialEq)]
struct Written {
    events: Vec<(EventType, i64)>,
    routed: Vec<EventType>,
    claimable_after_the_first: Vec<EventType>,
    key: IdempotencyClaim,
    timeline: usize,
    order_amount: Option<i64>,
}

async fn write_both_ways(backend: Backend, transactional: bool) -> Written {
    let store = store(backend).await;
    let m = merchant(&store).await;
    let d = device(&store, m).await;
    let fails = endpoint(m, vec![EventType::PaymentFailed, EventType::SessionFailed]);
    store.create_webhook_endpoint(&fails).await.unwrap();
    let lease = std::time::Duration::from_secs(45);
    let mut rx = store
        .signals()
        .route_deliveries(std::time::Duration::ZERO, lease)
        .unwrap();
    let s = store.create_session(new_session(m, d), t0()).await.unwrap();
    let device = Scope::Device(d);
    let activated = store.command_session(device, s.id, activate(), t0(), policy());
    on_path(transactional, activated).await.unwrap();
    let since = t0() - Duration::hours(24);
    store
        .claim_idempotency_key(m, "k", "fp", t0(), since)
        .await
        .unwrap();
    // One attempt allowed: the decline records PaymentFailed and SessionFailed in one commit.
    let (attempt, declined) = pay(PaymentOutcome::InsufficientFunds);
    let last = Policy { max_attempts: 1 };
    let work = store.finalize_session(device, s.id, attempt, declined, t0(), last);
    let work = with_idempotency_key(m, "k".into(), work);
    let result = on_path(transactional, work).await.unwrap();
    assert_eq!(result.session.status, SessionStatus::Failed);

    let got = routed(&mut rx);
    let deliveries: Vec<_> = got
        .iter()
        .flat_map(|r| match r {
            Routed::Deliver { deliveries, .. } => deliveries.clone(),
            Routed::Release(_) => Vec::new(),
        })
        .collect();
    let claimable = store.claim_deliveries(t0(), t0(), 10, &[]).await.unwrap();
    assert!(claimable.is_empty(), "the later event waits: {claimable:?}");
    let first = record(&deliveries[0], AttemptOutcome::Delivered, 200);
    store.record_attempts(&[first], t0()).await.unwrap();
    let next = store.claim_deliveries(t0(), t0(), 10, &[]).await.unwrap();

    let after = t0() + Duration::minutes(3);
    let key = store.claim_idempotency_key(m, "k", "fp", after, since);
    let timeline = store.timeline(device, s.id).await.unwrap().unwrap();
    Written {
        events: (events(&store, m).await.iter())
            .map(|e| (e.event_type, e.sequence))
            .collect(),
        routed: deliveries.iter().map(|d| d.event.event_type).collect(),
        claimable_after_the_first: next.iter().map(|d| d.event.event_type).collect(),
        key: key.await.unwrap(),
        timeline: timeline.len(),
        order_amount: paid_order(&store, m, transactional).await,
    }
}

/// A session on a new device, activated and paid on `transactional`'s path: its order.
async fn paid_order(store: &SqlStore, m: MerchantId, transactional: bool) -> Option<i64> {
    let d = device(store, m).await;
    let s = store.create_session(new_session(m, d), t0()).await.unwrap();
    let device = Scope::Device(d);
    let activated = store.command_session(device, s.id, activate(), t0(), policy());
    on_path(transactional, activated).await.unwrap();
    let (attempt, paid) = pay(PaymentOutcome::Success);
    let work = store.finalize_session(device, s.id, attempt, paid.clone(), t0(), policy());
    let first = on_path(transactional, work).await.unwrap();
    let again = store.finalize_session(device, s.id, attempt, paid, t0(), policy());
    let replayed = on_path(transactional, again).await.unwrap();
    assert!(replayed.replayed && replayed.session == first.session);
    let order = first.session.order_id?;
    let order = store.get_order(m, order).await.unwrap()?;
    Some(order.order_amount)
}

both_backends!(both_paths_write_the_same, |store| {
    let backend = store.backend();
    let one_statement = write_both_ways(backend, false).await;
    let transaction = write_both_ways(backend, true).await;
    assert_eq!(one_statement, transaction);
    assert_eq!(
        one_statement.routed,
        vec![EventType::PaymentFailed],
        "the commit's later event is held back behind its earlier one"
    );
    assert_eq!(
        one_statement.claimable_after_the_first,
        vec![EventType::SessionFailed]
    );
    assert_eq!(one_statement.key, IdempotencyClaim::Lost);
    assert_eq!(one_statement.order_amount, Some(10_000));
});

const ROUNDS: usize = 10;

/// Two payments and two cancels race on one session: one wins, the others are refused or
/// (a second cancel) answered alike.
async fn race(store: &std::sync::Arc<SqlStore>, transactional: bool) {
    let m = merchant(store).await;
    for _ in 0..ROUNDS {
        let d = device(store, m).await;
        let s = store.create_session(new_session(m, d), t0()).await.unwrap();
        let device = Scope::Device(d);
        let activated = store.command_session(device, s.id, activate(), t0(), policy());
        on_path(transactional, activated).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..4 {
            let store = store.clone();
            let work = async move {
                if i % 2 == 0 {
                    let (attempt, paid) = pay(PaymentOutcome::Success);
                    let work = store.finalize_session(device, s.id, attempt, paid, t0(), policy());
                    return work.await.map(|_| ());
                }
                let cancel = Command::Cancel {
                    actor: Actor::Merchant,
                };
                let scope = Scope::Merchant(m);
                let work = store.command_session(scope, s.id, cancel, t0(), policy());
                work.await.map(|_| ())
            };
            tasks.push(tokio::spawn(on_path(transactional, work)));
        }
        // A cancel of a cancelled session answers as the first did; a finalize never does.
        let (mut paid, mut cancelled_by) = (0, 0);
        for (i, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap() {
                Ok(()) if i % 2 == 0 => paid += 1,
                Ok(()) => cancelled_by += 1,
                Err(StoreError::Refused(_)) => {}
                Err(e) => panic!("unexpected error in race: {e:?}"),
            }
        }
        assert_eq!(paid + cancelled_by.min(1), 1, "exactly one transition wins");
        let filter = EventFilter {
            session_id: Some(s.id),
            limit: 100,
            ..Default::default()
        };
        let evs = store.list_events(m, &filter).await.unwrap();
        let types: Vec<EventType> = evs.iter().map(|e| e.event_type).collect();
        let finalized = types.last() == Some(&EventType::SessionFinalized);
        let cancelled = types.last() == Some(&EventType::SessionCancelled);
        assert!(
            types.len() == 3 && (finalized || cancelled),
            "one terminal event: {types:?}"
        );
        let orders = evs.iter().filter(|e| e.order_id.is_some()).count();
        assert_eq!(orders, usize::from(finalized));
        let timeline = store.timeline(device, s.id).await.unwrap().unwrap();
        // A payment's timeline has its attempt too.
        assert_eq!(timeline.len(), 3 + usize::from(finalized), "{timeline:?}");
    }
}

both_backends!(racing_transitions_leave_one_winner_on_both_paths, |store| {
    race(&store, false).await;
    race(&store, true).await;
});
