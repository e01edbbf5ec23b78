use crate::both_backends;
use crate::fixtures::*;
use chrono::Duration;
use kassa_core::event::{Entry, EventType};
use kassa_core::machine::Command;
use kassa_core::session::{Actor, PaymentOutcome, SessionStatus};
use kassa_store::*;

both_backends!(create_get_and_list, |store| {
    let m = merchant(&store).await;
    let d = device(&store, m).await;
    let created = store.create_session(new_session(m, d), t0()).await.unwrap();
    assert_eq!(created.status, SessionStatus::Created);
    assert_eq!(created.expires_at, t0() + Duration::minutes(5));
    let got = store
        .get_session(Scope::Merchant(m), created.id)
        .await
        .unwrap();
    assert_eq!(got.as_ref(), Some(&created));
    let by_device = store
        .get_session(Scope::Device(d), created.id)
        .await
        .unwrap();
    assert_eq!(by_device, Some(created.clone()));
    let page = store
        .list_sessions(m, &SessionFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (1, 1));
    let filter = SessionFilter {
        statuses: vec![SessionStatus::Finalized],
        ..Default::default()
    };
    let none = store
        .list_sessions(m, &filter, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(none.total, 0);
    let evs = events(&store, m).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].event_type, EventType::SessionCreated);
    assert_eq!((evs[0].sequence, evs[0].previous_status), (1, None));
    assert_eq!(evs[0].merchant_reference1.as_deref(), Some("ref-1"));
});

both_backends!(second_open_session_on_a_device_is_busy, |store| {
    let m = merchant(&store).await;
    let d = device(&store, m).await;
    store.create_session(new_session(m, d), t0()).await.unwrap();
    let err = store
        .create_session(new_session(m, d), t0())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::DeviceBusy), "{err:?}");
    assert_eq!(
        events(&store, m).await.len(),
        1,
        "nothing of the refused create is kept"
    );
});

both_backends!(a_stale_session_does_not_keep_its_device_busy, |store| {
    let m = merchant(&store).await;
    let d = device(&store, m).await;
    let first = store.create_session(new_session(m, d), t0()).await.unwrap();
    let later = t0() + Duration::minutes(6);
    store
        .create_session(new_session(m, d), later)
        .await
        .unwrap();
    let first = store
        .get_session(Scope::Merchant(m), first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.status, SessionStatus::Expired);
    let types: Vec<_> = events(&store, m)
        .await
        .iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        types,
        [
            EventType::SessionCreated,
            EventType::SessionExpired,
            EventType::SessionCreated
        ]
    );
});

both_backends!(full_lifecycle_with_decline_then_success, |store| {
    let m = merchant(&store).await;
    let d = device(&store, m).await;
    let s = store.create_session(new_session(m, d), t0()).await.unwrap();
    let scope = Scope::Device(d);
    let active = store
        .command_session(scope, s.id, activate(), t0(), policy())
        .await
        .unwrap();
    assert_eq!(active.status, SessionStatus::Active);
    let (declined_id, decline) = pay(PaymentOutcome::InsufficientFunds);
    let declined = store
        .finalize_session(scope, s.id, declined_id, decline, t0(), policy())
        .await
        .unwrap();
    assert_eq!(declined.session.status, SessionStatus::Active);
    assert_eq!(
        declined.session.failure_reason,
        Some(PaymentOutcome::InsufficientFunds)
    );
    let (paid_id, pay_cmd) = pay(PaymentOutcome::Success);
    let paid = store
        .finalize_session(scope, s.id, paid_id, pay_cmd.clone(), t0(), policy())
        .await
        .unwrap();
    assert_eq!(paid.session.status, SessionStatus::Finalized);
    assert_eq!(paid.session.attempts, 2);
    let order_id = paid.session.order_id.unwrap();
    let order = store.get_order(m, order_id).await.unwrap().unwrap();
    assert_eq!(
        (order.order_amount, order.captured_amount()),
        (10_000, 10_000)
    );

    let replay = store
        .finalize_session(scope, s.id, paid_id, pay_cmd, t0(), policy())
        .await
        .unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.session, paid.session);

    let timeline = store
        .timeline(Scope::Merchant(m), s.id)
        .await
        .unwrap()
        .unwrap();
    let seqs: Vec<i64> = timeline.iter().map(|e| e.sequence).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert!(matches!(
        timeline[2].entry,
        Entry::Attempt {
            outcome: PaymentOutcome::InsufficientFunds,
            ..
        }
    ));
    assert!(matches!(
        timeline[4].entry,
        Entry::Transition {
            to: SessionStatus::Finalized,
            actor: Actor::Device,
            ..
        }
    ));

    let evs = events(&store, m).await;
    let types: Vec<_> = evs.iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        [
            EventType::SessionCreated,
            EventType::SessionActivated,
            EventType::PaymentFailed,
            EventType::SessionFinalized
        ]
    );
    assert_eq!(
        evs[2].failure_reason,
        Some(PaymentOutcome::InsufficientFunds)
    );
    assert_eq!(evs[3].order_id, Some(order_id));
    assert_eq!(evs[3].previous_status, Some(SessionStatus::Active));
});

both_backends!(attempt_limit_fails_the_session, |store| {
    let m = merchant(&store).await;
    let d = device(&store, m).await;
    let s = store.create_session(new_session(m, d), t0()).await.unwrap();
    let scope = Scope::Device(d);
    store
        .command_session(scope, s.id, activate(), t0(), policy())
        .await
        .unwrap();
    let mut last = None;
    for _ in 0..3 {
        let (id, cmd) = pay(PaymentOutcome::LostCard);
        last = Some(
            store
                .finalize_session(scope, s.id, id, cmd, t0(), policy())
                .await
                .unwrap(),
        );
    }
    assert_eq!(last.unwrap().session.status, SessionStatus::Failed);
    let (id, cmd) = pay(PaymentOutcome::Success);
    let refused = store
        .finalize_session(scope, s.id, id, cmd, t0(), policy())
        .await;
    assert!(matches!(refused, Err(StoreError::Refused(_))));
    let failed = events(&store, m)
        .await
        .into_iter()
        .filter(|e| e.event_type == EventType::SessionFailed)
        .count();
    assert_eq!(failed, 1);
});

both_backends!(expiry_sweeper_expires_only_due_sessions, |store| {
    let m = merchant(&store).await;
    let (d1, d2) = (device(&store, m).await, device(&store, m).await);
    let mut short = new_session(m, d1);
    short.ttl = Duration::seconds(10);
    let short = store.create_session(short, t0()).await.unwrap();
    let long = store
        .create_session(new_session(m, d2), t0())
        .await
        .unwrap();
    assert_eq!(store.next_expiry().await.unwrap(), Some(short.expires_at));
    assert_eq!(
        store
            .expire_due(t0() + Duration::seconds(9), 10)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .expire_due(t0() + Duration::seconds(10), 10)
            .await
            .unwrap(),
        1
    );
    let scope = Scope::Merchant(m);
    assert_eq!(
        store
            .get_session(scope, short.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        SessionStatus::Expired
    );
    assert_eq!(
        store
            .get_session(scope, long.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        SessionStatus::Created
    );
    assert_eq!(store.next_expiry().await.unwrap(), Some(long.expires_at));
});

both_backends!(commands_after_the_deadline_expire_and_refuse, |store| {
    let m = merchant(&store).await;
    let d = device(&store, m).await;
    let s = store.create_session(new_session(m, d), t0()).await.unwrap();
    let late = t0() + Duration::minutes(5);
    let cancel = Command::Cancel {
        actor: Actor::Merchant,
    };
    let err = store
        .command_session(Scope::Merchant(m), s.id, cancel, late, policy())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("EXPIRED"), "{err}");
    let s = store
        .get_session(Scope::Merchant(m), s.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.status, SessionStatus::Expired);
});

both_backends!(cancel_is_idempotent_and_refused_after_finalize, |store| {
    let m = merchant(&store).await;
    let d = device(&store, m).await;
    let s = store.create_session(new_session(m, d), t0()).await.unwrap();
    let cancel = Command::Cancel {
        actor: Actor::Merchant,
    };
    let scope = Scope::Merchant(m);
    let c1 = store
        .command_session(scope, s.id, cancel.clone(), t0(), policy())
        .await
        .unwrap();
    let c2 = store
        .command_session(scope, s.id, cancel, t0(), policy())
        .await
        .unwrap();
    assert_eq!(c1, c2);
    assert_eq!(c2.status, SessionStatus::Cancelled);
    let cancelled = events(&store, m)
        .await
        .into_iter()
        .filter(|e| e.event_type == EventType::SessionCancelled)
        .count();
    assert_eq!(cancelled, 1);
});

both_backends!(idempotency_keys_claim_replay_and_mismatch, |store| {
    let m = merchant(&store).await;
    let since = t0() - Duration::hours(24);
    let claim = store
        .claim_idempotency_key(m, "k1", "fp", t0(), since)
        .await
        .unwrap();
    assert_eq!(claim, IdempotencyClaim::Claimed);
    let again = store
        .claim_idempotency_key(m, "k1", "fp", t0(), since)
        .await
        .unwrap();
    assert_eq!(again, IdempotencyClaim::InProgress);
    let response = StoredResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: b"{\"a\":1}".to_vec(),
    };
    store
        .complete_idempotency_key(m, "k1", &response)
        .await
        .unwrap();
    let replay = store
        .claim_idempotency_key(m, "k1", "fp", t0(), since)
        .await
        .unwrap();
    assert_eq!(replay, IdempotencyClaim::Replay(response));
    let other = store
        .claim_idempotency_key(m, "k1", "other", t0(), since)
        .await
        .unwrap();
    assert_eq!(other, IdempotencyClaim::Mismatch);
    let later = t0() + Duration::hours(25);
    let fresh = store
        .claim_idempotency_key(m, "k1", "other", later, later - Duration::hours(24))
        .await
        .unwrap();
    assert_eq!(fresh, IdempotencyClaim::Claimed);
    let window = later - Duration::hours(24);
    let soon = later + Duration::seconds(60);
    let busy = store
        .claim_idempotency_key(m, "k1", "other", soon, window)
        .await
        .unwrap();
    assert_eq!(
        busy,
        IdempotencyClaim::InProgress,
        "a live reservation blocks"
    );
    let much_later = later + Duration::minutes(3);
    let reclaimed = store
        .claim_idempotency_key(m, "k1", "other", much_later, window)
        .await
        .unwrap();
    assert_eq!(
        reclaimed,
        IdempotencyClaim::Claimed,
        "an abandoned reservation is freed"
    );
});
