//! What Kassa keeps about processors besides payments: merchants' connected accounts, the
//! processor's mirror of each location, readers registered as devices and the processor's
//! webhook events until acted on.

use crate::both_backends;
use crate::fixtures::*;
use chrono::Duration;
use kassa_core::entities::Location;
use kassa_core::{LocationId, MerchantId, Timestamp};
use kassa_store::*;

const ROUNDS: usize = 10;

fn event(processor: &str, id: &str, received_at: Timestamp) -> ProcessorEvent {
    ProcessorEvent {
        processor: processor.into(),
        event_id: id.into(),
        event_type: "payment_intent.succeeded".into(),
        payload: format!(r#"{{"id":"{id}"}}"#),
        received_at,
        attempts: 0,
    }
}

async fn location(store: &SqlStore, merchant: MerchantId) -> LocationId {
    let l = Location {
        id: LocationId::new(),
        merchant_id: merchant,
        name: "Main street".into(),
        street_address: None,
        street_address2: None,
        postal_code: None,
        city: None,
        country: None,
        created_at: t0(),
        updated_at: t0(),
    };
    store.create_location(&l).await.unwrap();
    l.id
}

both_backends!(processor_accounts_per_merchant_and_processor, |store| {
    let (m1, m2) = (merchant(&store).await, merchant(&store).await);
    let account = |m, p: &'static str| {
        let store = store.clone();
        async move { store.processor_account(m, p).await.unwrap() }
    };
    assert_eq!(account(m1, "stripe").await, None);
    store
        .set_processor_account(m1, "stripe", Some("acct_1"), t0())
        .await
        .unwrap();
    store
        .set_processor_account(m1, "adyen", Some("ad_1"), t0())
        .await
        .unwrap();
    store
        .set_processor_account(m2, "stripe", Some("acct_2"), t0())
        .await
        .unwrap();
    assert_eq!(account(m1, "stripe").await.as_deref(), Some("acct_1"));

    store
        .set_processor_account(m1, "stripe", Some("acct_1b"), t0())
        .await
        .unwrap();
    assert_eq!(account(m1, "stripe").await.as_deref(), Some("acct_1b"));
    store
        .set_processor_account(m1, "stripe", None, t0())
        .await
        .unwrap();
    assert_eq!(account(m1, "stripe").await, None);
    assert_eq!(account(m1, "adyen").await.as_deref(), Some("ad_1"));
    assert_eq!(account(m2, "stripe").await.as_deref(), Some("acct_2"));
    store
        .set_processor_account(m1, "stripe", None, t0())
        .await
        .unwrap();
    assert_eq!(account(m1, "stripe").await, None);
});

// Two admins binding the same merchant at once: both calls succeed and one account stays.
both_backends!(racing_account_binds_both_succeed, |store| {
    let m = merchant(&store).await;
    for round in 0..ROUNDS {
        let tasks: Vec<_> = ["acct_a", "acct_b"]
            .into_iter()
            .map(|acct| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .set_processor_account(m, "stripe", Some(acct), t0())
                        .await
                })
            })
            .collect();
        for t in tasks {
            t.await
                .unwrap()
                .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
        }
        let bound = store.processor_account(m, "stripe").await.unwrap();
        assert!(
            matches!(bound.as_deref(), Some("acct_a" | "acct_b")),
            "{bound:?}"
        );
    }
});

both_backends!(a_location_keeps_its_first_processor_mirror, |store| {
    let m = merchant(&store).await;
    let (l1, l2) = (location(&store, m).await, location(&store, m).await);
    assert_eq!(store.processor_location(l1, "stripe").await.unwrap(), None);
    let first = store
        .save_processor_location(l1, "stripe", "tml_1", t0())
        .await
        .unwrap();
    assert_eq!(first, "tml_1");
    let second = store
        .save_processor_location(l1, "stripe", "tml_2", t0())
        .await
        .unwrap();
    assert_eq!(second, "tml_1");
    let stored = store.processor_location(l1, "stripe").await.unwrap();
    assert_eq!(stored.as_deref(), Some("tml_1"));
    assert_eq!(store.processor_location(l1, "adyen").await.unwrap(), None);
    assert_eq!(store.processor_location(l2, "stripe").await.unwrap(), None);
    let other = store
        .save_processor_location(l2, "stripe", "tml_3", t0())
        .await
        .unwrap();
    assert_eq!(other, "tml_3");

    // Two nodes mirroring the same location at once agree on one id.
    let l3 = location(&store, m).await;
    let tasks: Vec<_> = ["tml_a", "tml_b"]
        .into_iter()
        .map(|id| {
            let store = store.clone();
            tokio::spawn(async move { store.save_processor_location(l3, "stripe", id, t0()).await })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap().unwrap());
    }
    assert_eq!(answers[0], answers[1]);
    let stored = store.processor_location(l3, "stripe").await.unwrap();
    assert_eq!(stored, Some(answers[0].clone()));
});

both_backends!(processor_events_are_kept_once_until_finished, |store| {
    let first = event("stripe", "evt_1", t0());
    let at_adyen = event("adyen", "evt_1", t0() + Duration::seconds(30));
    let second = event("stripe", "evt_2", t0() + Duration::minutes(1));
    let recent = event("stripe", "evt_3", t0() + Duration::minutes(10));
    assert!(store.record_processor_event(&first).await.unwrap());
    let mut resent = first.clone();
    resent.payload = r#"{"id":"evt_1","resent":true}"#.into();
    resent.received_at = t0() + Duration::seconds(5);
    assert!(!store.record_processor_event(&resent).await.unwrap());
    for e in [&at_adyen, &second, &recent] {
        assert!(store.record_processor_event(e).await.unwrap(), "{e:?}");
    }

    let cutoff = t0() + Duration::minutes(5);
    let pending = store.pending_processor_events(cutoff, 10).await.unwrap();
    assert_eq!(
        pending,
        [first.clone(), at_adyen.clone(), second.clone()],
        "the first copy, oldest first, none received after the cutoff"
    );
    let pending = store.pending_processor_events(cutoff, 2).await.unwrap();
    assert_eq!(pending, [first.clone(), at_adyen.clone()]);

    store
        .finish_processor_event("stripe", "evt_1", cutoff)
        .await
        .unwrap();
    let pending = store.pending_processor_events(cutoff, 10).await.unwrap();
    assert_eq!(pending, [at_adyen, second]);
    assert!(
        !store.record_processor_event(&first).await.unwrap(),
        "an event acted on is still known"
    );
    // Past the retention they go, acted on or not; later ones stay.
    let pruned = store
        .prune_processor_events(t0() + Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(pruned, 3, "evt_1 (done), adyen's evt_1 and evt_2 (pending)");
    let pending = store
        .pending_processor_events(recent.received_at, 10)
        .await
        .unwrap();
    assert_eq!(pending, std::slice::from_ref(&recent));
    assert!(
        store.record_processor_event(&first).await.unwrap(),
        "forgotten, so new again"
    );
});

both_backends!(concurrent_copies_of_an_event_are_stored_once, |store| {
    for round in 0..ROUNDS {
        let e = event("stripe", &format!("evt_{round}"), t0());
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let (store, e) = (store.clone(), e.clone());
                tokio::spawn(async move { store.record_processor_event(&e).await })
            })
            .collect();
        let mut stored = 0;
        for t in tasks {
            stored += usize::from(t.await.unwrap().unwrap());
        }
        assert_eq!(stored, 1, "round {round}");
    }
    let pending = store
        .pending_processor_events(t0() + Duration::minutes(1), 100)
        .await
        .unwrap();
    assert_eq!(pending.len(), ROUNDS);
});

both_backends!(a_pending_event_is_claimed_once_per_read, |store| {
    for round in 0..ROUNDS {
        let id = format!("evt_{round}");
        let base = t0() + Duration::hours(round as i64);
        store
            .record_processor_event(&event("stripe", &id, base))
            .await
            .unwrap();
        let cutoff = base + Duration::minutes(1);
        let read = store.pending_processor_events(cutoff, 10).await.unwrap();
        let [read] = read.as_slice() else {
            panic!("one pending event: {read:?}")
        };
        let claimed_at = base + Duration::minutes(2);
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let (store, read) = (store.clone(), read.clone());
                tokio::spawn(async move { store.claim_processor_event(&read, claimed_at).await })
            })
            .collect();
        let mut claims = 0;
        for t in tasks {
            claims += usize::from(t.await.unwrap().unwrap());
        }
        assert_eq!(claims, 1, "round {round}");

        let waiting = store.pending_processor_events(cutoff, 10).await.unwrap();
        assert!(waiting.is_empty(), "the claim moved it on: {waiting:?}");
        let later = claimed_at + Duration::minutes(1);
        let again = store.pending_processor_events(later, 10).await.unwrap();
        let [again] = again.as_slice() else {
            panic!("still pending: {again:?}")
        };
        assert_eq!((again.received_at, again.attempts), (claimed_at, 1));
        assert!(!store.claim_processor_event(read, later).await.unwrap());
        assert!(store.claim_processor_event(again, later).await.unwrap());
        let after = store
            .pending_processor_events(later + Duration::minutes(1), 10)
            .await
            .unwrap();
        assert_eq!(after[0].attempts, 2);

        store
            .finish_processor_event("stripe", &id, later)
            .await
            .unwrap();
        let none = store
            .pending_processor_events(base + Duration::hours(1), 10)
            .await
            .unwrap();
        assert!(none.is_empty(), "{none:?}");
        assert!(!store.claim_processor_event(&after[0], later).await.unwrap());
    }
});

both_backends!(a_reader_belongs_to_one_live_device, |store| {
    let m = merchant(&store).await;
    let plain = device(&store, m).await;
    let mut reader = new_device(m);
    reader.processor_reader = Some("tmr_1".into());
    store.create_device(&reader, "hash-r1").await.unwrap();
    let got = store.get_device(m, reader.id).await.unwrap();
    assert_eq!(got.as_ref(), Some(&reader));
    let page = store
        .list_devices(m, &DeviceFilter::default(), PageRequest::default())
        .await
        .unwrap();
    let mut readers: Vec<_> = page
        .items
        .iter()
        .map(|d| (d.id, d.processor_reader.clone()))
        .collect();
    readers.sort_by_key(|(id, _)| id.to_string());
    let mut expected = vec![(reader.id, Some("tmr_1".to_string())), (plain, None)];
    expected.sort_by_key(|(id, _)| id.to_string());
    assert_eq!(readers, expected);

    let mut twin = new_device(m);
    twin.processor_reader = Some("tmr_1".into());
    let err = store.create_device(&twin, "hash-r2").await.unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate(Duplicate::Reader)),
        "{err:?}"
    );
    assert!(store.get_device(m, twin.id).await.unwrap().is_none());

    store.delete_device(m, reader.id, t0()).await.unwrap();
    store.create_device(&twin, "hash-r2").await.unwrap();
    let by_token = store
        .find_device_by_token("hash-r2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_token.processor_reader.as_deref(), Some("tmr_1"));
});
