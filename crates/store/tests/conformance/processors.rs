//! Sessions with a card processor's payment: attaching it, finding the session by it, the
//! reconciler's scan, and expiry that waits for the processor's word.

use crate::both_backends;
use crate::fixtures::*;
use chrono::Duration;
use kassa_core::event::{Entry, EventType};
use kassa_core::machine::Command;
use kassa_core::session::{Actor, PaymentOutcome, PaymentRef, Session, SessionStatus};
use kassa_core::{DeviceId, MerchantId, Timestamp};
use kassa_store::*;

/// A session created at `at` on `d` whose payment `reference` was attached with its
/// activation at the same instant.
async fn paid_session(
    store: &SqlStore,
    m: MerchantId,
    d: DeviceId,
    reference: &str,
    at: Timestamp,
) -> Session {
    let s = store.create_session(new_session(m, d), at).await.unwrap();
    let pi = stripe_payment(reference);
    store
        .attach_payment(
            Scope::Device(d),
            s.id,
            &pi,
            Some("secret"),
            Some(activate()),
            at,
            policy(),
        )
        .await
        .unwrap()
}

both_backends!(attach_payment_activates_once_and_reads_back, |store| {
    let m = merchant(&store).await;
    let d = device(&store, m).await;
    let s = store.create_session(new_session(m, d), t0()).await.unwrap();
    let (pi, at) = (stripe_payment("pi_1"), t0() + Duration::seconds(1));
    let scope = Scope::Device(d);
    let attached = store
        .attach_payment(
            scope,
            s.id,
            &pi,
            Some("pi_1_secret"),
            Some(activate()),
            at,
            policy(),
        )
        .await
        .unwrap();
    assert_eq!(attached.status, SessionStatus::Active);
    assert_eq!(attached.payment.as_ref(), Some(&pi));
    assert_eq!(attached.payment_secret.as_deref(), Some("pi_1_secret"));
    assert_eq!(attached.updated_at, at);

    let got = store.get_session(Scope::Merchant(m), s.id).await.unwrap();
    assert_eq!(got.as_ref(), Some(&attached));
    let page = store
        .list_sessions(m, &SessionFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items, std::slice::from_ref(&attached));
    let on_device = store
        .device_sessions(d, &[SessionStatus::Active])
        .await
        .unwrap();
    assert_eq!(on_device, std::slice::from_ref(&attached));
    let types: Vec<_> = events(&store, m)
        .await
        .iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        types,
        [EventType::SessionCreated, EventType::SessionActivated]
    );
    let timeline = store.timeline(scope, s.id).await.unwrap().unwrap();
    assert_eq!(timeline.len(), 2);
    assert!(matches!(
        timeline[1].entry,
        Entry::Transition {
            from: Some(SessionStatus::Created),
            to: SessionStatus::Active,
            actor: Actor::Device
        }
    ));

    let later = at + Duration::seconds(1);
    let again = store
        .attach_payment(
            scope,
            s.id,
            &pi,
            Some("pi_1_secret"),
            Some(activate()),
            later,
            policy(),
        )
        .await
        .unwrap();
    assert_eq!(again, attached, "the same payment again changes nothing");
    assert_eq!(events(&store, m).await.len(), 2);
    assert_eq!(store.timeline(scope, s.id).await.unwrap().unwrap().len(), 2);

    let other = stripe_payment("pi_2");
    let err = store
        .attach_payment(scope, s.id, &other, None, Some(activate()), later, policy())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate(Duplicate::OtherPayment)),
        "{err:?}"
    );
    let kept = store.get_session(scope, s.id).await.unwrap().unwrap();
    assert_eq!(kept.payment, Some(pi.clone()));

    let stranger = device(&store, m).await;
    let err = store
        .attach_payment(
            Scope::Device(stranger),
            s.id,
            &pi,
            None,
            None,
            later,
            policy(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
});

both_backends!(attach_payment_refuses_closed_sessions, |store| {
    let m = merchant(&store).await;
    let (d1, d2) = (device(&store, m).await, device(&store, m).await);
    let cancelled = store
        .create_session(new_session(m, d1), t0())
        .await
        .unwrap();
    let cancel = Command::Cancel {
        actor: Actor::Merchant,
    };
    store
        .command_session(Scope::Merchant(m), cancelled.id, cancel, t0(), policy())
        .await
        .unwrap();
    let finalized = store
        .create_session(new_session(m, d2), t0())
        .await
        .unwrap();
    store
        .command_session(Scope::Device(d2), finalized.id, activate(), t0(), policy())
        .await
        .unwrap();
    let (attempt, paid) = pay(PaymentOutcome::Success);
    store
        .finalize_session(
            Scope::Device(d2),
            finalized.id,
            attempt,
            paid,
            t0(),
            policy(),
        )
        .await
        .unwrap();
    let before = events(&store, m).await.len();
    // Without a command too: the store itself keeps payments off closed sessions.
    for command in [Some(activate()), None] {
        for (d, s, reference) in [(d1, cancelled.id, "pi_c"), (d2, finalized.id, "pi_f")] {
            let (pi, scope) = (stripe_payment(reference), Scope::Device(d));
            let err = store
                .attach_payment(scope, s, &pi, None, command.clone(), t0(), policy())
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::Refused(_)), "{err:?}");
            let kept = store.get_session(scope, s).await.unwrap().unwrap();
            assert_eq!(kept.payment, None);
            assert!(store.session_by_payment(&pi).await.unwrap().is_none());
        }
    }
    assert_eq!(events(&store, m).await.len(), before);
});

both_backends!(one_session_per_processor_payment, |store| {
    let m = merchant(&store).await;
    let (d1, d2) = (device(&store, m).await, device(&store, m).await);
    let s1 = paid_session(&store, m, d1, "pi_A", t0()).await;
    let pi = stripe_payment("pi_A");
    assert_eq!(
        store.session_by_payment(&pi).await.unwrap(),
        Some(s1.clone())
    );
    let elsewhere = PaymentRef {
        processor: "adyen".into(),
        reference: "pi_A".into(),
    };
    assert_eq!(store.session_by_payment(&elsewhere).await.unwrap(), None);
    let unknown = stripe_payment("pi_B");
    assert_eq!(store.session_by_payment(&unknown).await.unwrap(), None);

    let s2 = store
        .create_session(new_session(m, d2), t0())
        .await
        .unwrap();
    let scope = Scope::Device(d2);
    let err = store
        .attach_payment(scope, s2.id, &pi, None, None, t0(), policy())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate(Duplicate::PaymentInUse)),
        "{err:?}"
    );
    let s2_now = store.get_session(scope, s2.id).await.unwrap().unwrap();
    assert_eq!(s2_now, s2, "the refused attach left nothing behind");

    // The same reference at another processor is another payment; no command, no event.
    let attached = store
        .attach_payment(scope, s2.id, &elsewhere, Some("s"), None, t0(), policy())
        .await
        .unwrap();
    assert_eq!(attached.status, SessionStatus::Created);
    let found = store.session_by_payment(&elsewhere).await.unwrap().unwrap();
    assert_eq!((found.id, found.payment), (s2.id, Some(elsewhere)));
    assert_eq!(
        store.session_by_payment(&pi).await.unwrap().unwrap().id,
        s1.id
    );
    assert_eq!(
        events(&store, m).await.len(),
        3,
        "two creates and one activate"
    );
});

both_backends!(sessions_to_check_are_open_and_quiet_or_due, |store| {
    let m = merchant(&store).await;
    let mut d = Vec::new();
    for _ in 0..5 {
        d.push(device(&store, m).await);
    }
    // Stored first but changed last, so the order cannot come from insertion.
    let mut short = new_session(m, d[0]);
    short.ttl = Duration::minutes(1);
    let at = t0() + Duration::minutes(2);
    let due = store.create_session(short, at).await.unwrap();
    let pi = stripe_payment("pi_due");
    store
        .attach_payment(
            Scope::Device(d[0]),
            due.id,
            &pi,
            None,
            Some(activate()),
            at,
            policy(),
        )
        .await
        .unwrap();
    let quiet = paid_session(&store, m, d[1], "pi_quiet", t0()).await;
    paid_session(&store, m, d[2], "pi_recent", at).await;
    let cancelled = paid_session(&store, m, d[3], "pi_cancelled", t0()).await;
    let cancel = Command::Cancel {
        actor: Actor::Merchant,
    };
    store
        .command_session(Scope::Merchant(m), cancelled.id, cancel, t0(), policy())
        .await
        .unwrap();
    let plain = store
        .create_session(new_session(m, d[4]), t0())
        .await
        .unwrap();
    store
        .command_session(Scope::Device(d[4]), plain.id, activate(), t0(), policy())
        .await
        .unwrap();

    let quiet_since = t0() + Duration::minutes(1);
    let ids = |sessions: Vec<Session>| sessions.into_iter().map(|s| s.id).collect::<Vec<_>>();
    let now = t0() + Duration::minutes(4);
    let found = store
        .processor_sessions_to_check(quiet_since, now, 10)
        .await
        .unwrap();
    assert_eq!(ids(found), [quiet.id, due.id]);
    let first = store
        .processor_sessions_to_check(quiet_since, now, 1)
        .await
        .unwrap();
    assert_eq!(ids(first), [quiet.id]);
    let before_deadline = t0() + Duration::seconds(150);
    let found = store
        .processor_sessions_to_check(quiet_since, before_deadline, 10)
        .await
        .unwrap();
    assert_eq!(ids(found), [quiet.id], "not due yet and changed recently");
});

both_backends!(processor_sessions_wait_for_the_processor, |store| {
    let m = merchant(&store).await;
    let (d1, d2) = (device(&store, m).await, device(&store, m).await);
    let mut short = new_session(m, d1);
    short.ttl = Duration::minutes(1);
    let held = store.create_session(short, t0()).await.unwrap();
    let pi = stripe_payment("pi_held");
    store
        .attach_payment(
            Scope::Device(d1),
            held.id,
            &pi,
            None,
            Some(activate()),
            t0(),
            policy(),
        )
        .await
        .unwrap();
    let plain = store
        .create_session(new_session(m, d2), t0())
        .await
        .unwrap();
    assert_eq!(store.next_expiry().await.unwrap(), Some(plain.expires_at));

    let late = t0() + Duration::minutes(2);
    assert_eq!(store.expire_due(late, 10).await.unwrap(), 0);
    let err = store
        .create_session(new_session(m, d1), late)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::DeviceBusy), "{err:?}");
    let scope = Scope::Merchant(m);
    let held_now = store.get_session(scope, held.id).await.unwrap().unwrap();
    assert_eq!(held_now.status, SessionStatus::Active);

    assert_eq!(store.expire_due(plain.expires_at, 10).await.unwrap(), 1);
    let plain_now = store.get_session(scope, plain.id).await.unwrap().unwrap();
    assert_eq!(plain_now.status, SessionStatus::Expired);
    assert_eq!(store.next_expiry().await.unwrap(), None);

    let (attempt, paid) = pay(PaymentOutcome::Success);
    let much_later = t0() + Duration::minutes(10);
    let done = store
        .finalize_session(
            Scope::Device(d1),
            held.id,
            attempt,
            paid,
            much_later,
            policy(),
        )
        .await
        .unwrap();
    assert_eq!(done.session.status, SessionStatus::Finalized);
    let order = store
        .get_order(m, done.session.order_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.payment, Some(pi));
    assert_eq!(order.captures.len(), 1, "auto capture");
    assert_eq!(order.captures[0].amount, 10_000);
    assert_eq!(
        order.captures[0].processor_reference.as_deref(),
        Some("pi_held")
    );
    let filter = EventFilter {
        session_id: Some(held.id),
        limit: 100,
        ..Default::default()
    };
    let types: Vec<_> = store
        .list_events(m, &filter)
        .await
        .unwrap()
        .iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        types,
        [
            EventType::SessionCreated,
            EventType::SessionActivated,
            EventType::SessionFinalized
        ]
    );
    store
        .create_session(new_session(m, d1), much_later)
        .await
        .unwrap();
});
