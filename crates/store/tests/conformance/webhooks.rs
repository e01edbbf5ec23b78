//! The webhook queue: fan-out by filter, first attempts in session order, retries that do
//! not hold later events back, leases, and the attempt log.

use crate::both_backends;
use crate::fixtures::*;
use chrono::Duration;
use kassa_core::event::EventType;
use kassa_core::*;
use kassa_store::*;

pub fn endpoint(merchant: MerchantId, types: Vec<EventType>) -> WebhookEndpoint {
    WebhookEndpoint {
        id: WebhookEndpointId::new(),
        merchant_id: merchant,
        url: "http://127.0.0.1:9/hook".into(),
        event_types: types,
        description: None,
        enabled: true,
        disabled_reason: None,
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        previous_secret: None,
        previous_secret_expires_at: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

/// Two endpoints of a new merchant, `all` types and only cancellations, and a device.
async fn merchant_with_endpoints(
    store: &SqlStore,
) -> (MerchantId, DeviceId, WebhookEndpoint, WebhookEndpoint) {
    let m = merchant(store).await;
    let d = device(store, m).await;
    let all = endpoint(m, vec![]);
    let cancels = endpoint(m, vec![EventType::SessionCancelled]);
    store.create_webhook_endpoint(&all).await.unwrap();
    store.create_webhook_endpoint(&cancels).await.unwrap();
    (m, d, all, cancels)
}

async fn cancel(store: &SqlStore, m: MerchantId, s: SessionId) {
    let by_merchant = kassa_core::machine::Command::Cancel {
        actor: kassa_core::session::Actor::Merchant,
    };
    store
        .command_session(Scope::Merchant(m), s, by_merchant, t0(), policy())
        .await
        .unwrap();
}

pub fn record(d: &DueDelivery, outcome: AttemptOutcome, status: u16) -> AttemptRecord {
    AttemptRecord {
        delivery_id: d.delivery_id,
        attempt_id: uuid::Uuid::now_v7(),
        endpoint_id: d.endpoint_id,
        event_id: d.event.id.clone(),
        event_type: d.event.event_type,
        attempted_at: t0(),
        status_code: Some(status),
        latency_ms: 3,
        error: None,
        response_snippet: Some("ok".into()),
        outcome,
    }
}

both_backends!(the_queue_keeps_session_order_and_leases, |store| {
    let (m, d, all, _cancels) = merchant_with_endpoints(&store).await;
    let s = store.create_session(new_session(m, d), t0()).await.unwrap();
    cancel(&store, m, s.id).await;

    // The deliveries were written with their events; no dispatcher routes them here.
    let lease = t0() + Duration::seconds(45);
    // `all` gets created (cancelled waits behind it); `cancels` gets its cancelled.
    let first = store.claim_deliveries(t0(), lease, 10, &[]).await.unwrap();
    let mut got: Vec<_> = first
        .iter()
        .map(|d| (d.endpoint_id == all.id, d.event.event_type, d.attempt))
        .collect();
    got.sort_by_key(|g| g.0);
    assert_eq!(
        got,
        [
            (false, EventType::SessionCancelled, 1),
            (true, EventType::SessionCreated, 1)
        ]
    );
    assert_eq!(first[0].secrets.len(), 1);
    // Leased: nobody else gets them.
    assert!(store
        .claim_deliveries(t0(), lease, 10, &[])
        .await
        .unwrap()
        .is_empty());

    // The created event fails and retries later; that frees the cancelled one now.
    let created = first.iter().find(|d| d.endpoint_id == all.id).unwrap();
    let retry_at = t0() + Duration::seconds(5);
    let released = store
        .record_attempts(
            &[record(created, AttemptOutcome::Retry(retry_at), 500)],
            t0(),
        )
        .await
        .unwrap();
    assert!(
        released,
        "the cancelled event waited behind the created one"
    );
    let next = store.claim_deliveries(t0(), lease, 10, &[]).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].event.event_type, EventType::SessionCancelled);
    assert_eq!(store.next_delivery_due().await.unwrap(), Some(t0()));

    // A lease that runs out (a dead node) makes the delivery claimable again.
    let after_lease = lease + Duration::seconds(1);
    let again = store
        .claim_deliveries(after_lease, after_lease + Duration::seconds(45), 10, &[])
        .await
        .unwrap();
    assert_eq!(again.len(), 3, "the retry is due and both leases ran out");
    assert_eq!(
        again
            .iter()
            .find(|d| d.endpoint_id == all.id && d.event.event_type == EventType::SessionCreated)
            .unwrap()
            .attempt,
        2
    );

    let done: Vec<_> = again
        .iter()
        .map(|d| record(d, AttemptOutcome::Delivered, 200))
        .collect();
    assert!(!store.record_attempts(&done, after_lease).await.unwrap());
    assert_eq!(store.next_delivery_due().await.unwrap(), None);
    let log = store
        .list_delivery_attempts(m, all.id, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(log.total, 3);
    assert_eq!(log.items[0].response_snippet.as_deref(), Some("ok"));
    let states = store.event_deliveries(m, &created.event.id).await.unwrap();
    assert_eq!(states[0].status, "DELIVERED");
    assert_eq!(states[0].attempts, 2);

    // Redelivery starts a new series; deleting the endpoint takes its queue along.
    assert_eq!(
        store
            .redeliver_event(m, &created.event.id, after_lease)
            .await
            .unwrap(),
        1
    );
    assert!(store.delete_webhook_endpoint(m, all.id).await.unwrap());
    assert!(store
        .claim_deliveries(after_lease, after_lease, 10, &[])
        .await
        .unwrap()
        .is_empty());
});

both_backends!(endpoints_update_rotate_and_stay_per_merchant, |store| {
    let m = merchant(&store).await;
    let other = merchant(&store).await;
    let e = endpoint(m, vec![EventType::SessionCreated]);
    store.create_webhook_endpoint(&e).await.unwrap();
    assert!(store
        .get_webhook_endpoint(other, e.id)
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        store
            .update_webhook_endpoint(other, e.id, &WebhookEndpointPatch::default(), t0())
            .await,
        Err(StoreError::NotFound)
    ));
    let patch = WebhookEndpointPatch {
        enabled: Some(false),
        description: Some(Some("till hooks".into())),
        ..Default::default()
    };
    let updated = store
        .update_webhook_endpoint(m, e.id, &patch, t0())
        .await
        .unwrap();
    assert!(!updated.enabled);
    assert_eq!(updated.description.as_deref(), Some("till hooks"));
    assert_eq!(updated.event_types, [EventType::SessionCreated]);

    let until = t0() + Duration::minutes(10);
    let rotated = store
        .rotate_webhook_secret(m, e.id, "whsec_new", until, t0())
        .await
        .unwrap();
    assert_eq!(rotated.secret, "whsec_new");
    assert_eq!(
        rotated.signing_secrets(t0()),
        ["whsec_new", e.secret.as_str()]
    );
    assert_eq!(rotated.signing_secrets(until), ["whsec_new"]);
    assert_eq!(
        store
            .list_webhook_endpoints(other, PageRequest::default())
            .await
            .unwrap()
            .total,
        0
    );
    assert!(!store.delete_webhook_endpoint(other, e.id).await.unwrap());
});

/// The deliveries a dispatcher was handed at commit, oldest first.
pub fn routed(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Routed>) -> Vec<Routed> {
    let mut got = Vec::new();
    while let Ok(r) = rx.try_recv() {
        got.push(r);
    }
    got
}

both_backends!(a_routing_node_gets_its_commits_deliveries_leased, |store| {
    let (m, d, all, cancels) = merchant_with_endpoints(&store).await;
    let lease = std::time::Duration::from_secs(45);
    let mut rx = store
        .signals()
        .route_deliveries(std::time::Duration::ZERO, lease)
        .expect("the first dispatcher routes");
    assert!(store
        .signals()
        .route_deliveries(std::time::Duration::ZERO, lease)
        .is_none());
    let mut notices = store.signals().subscribe();

    let s = store.create_session(new_session(m, d), t0()).await.unwrap();
    let got = routed(&mut rx);
    let [Routed::Deliver { deliveries, hold }] = got.as_slice() else {
        panic!("one hand-over for the create: {got:?}");
    };
    assert_eq!(
        *hold,
        Some(s.id),
        "a create's delivery waits for its answer"
    );
    assert_eq!(deliveries.len(), 1);
    let created = &deliveries[0];
    assert_eq!(
        (
            created.endpoint_id,
            created.event.event_type,
            created.attempt
        ),
        (all.id, EventType::SessionCreated, 1)
    );
    assert!(created.event.seq > 0 && created.event.session_id == s.id);
    assert_eq!(created.url, all.url);
    assert!(!notices.recv().await.unwrap().queued);
    // Leased at commit: no claim gets it.
    assert!(store
        .claim_deliveries(t0(), t0(), 10, &[])
        .await
        .unwrap()
        .is_empty());

    // The cancel goes straight to `cancels`, but waits on `all` behind the created event.
    cancel(&store, m, s.id).await;
    let got = routed(&mut rx);
    let [Routed::Deliver {
        deliveries,
        hold: None,
    }] = got.as_slice()
    else {
        panic!("one hand-over for the cancel: {got:?}");
    };
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].endpoint_id, cancels.id);
    assert!(
        notices.recv().await.unwrap().queued,
        "one waits for a claim"
    );
    assert!(store
        .claim_deliveries(t0(), t0(), 10, &[])
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .record_attempts(&[record(created, AttemptOutcome::Delivered, 200)], t0())
        .await
        .unwrap());
    let next = store.claim_deliveries(t0(), t0(), 10, &[]).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(
        (next[0].endpoint_id, next[0].event.event_type),
        (all.id, EventType::SessionCancelled)
    );

    store.signals().release_deliveries(s.id);
    assert!(matches!(routed(&mut rx).as_slice(), [Routed::Release(id)] if *id == s.id));
});

both_backends!(events_past_retention_go_with_their_log, |store| {
    let (m, _, all, _cancels) = merchant_with_endpoints(&store).await;
    let (old_till, new_till) = (device(&store, m).await, device(&store, m).await);
    let old = store
        .create_session(new_session(m, old_till), t0())
        .await
        .unwrap();
    let day = Duration::days(1);
    let new = store
        .create_session(new_session(m, new_till), t0() + day * 2)
        .await
        .unwrap();
    let due = store
        .claim_deliveries(t0() + day * 2, t0() + day * 2, 10, &[])
        .await
        .unwrap();
    let done: Vec<_> = due
        .iter()
        .map(|d| record(d, AttemptOutcome::Delivered, 200))
        .collect();
    store.record_attempts(&done, t0() + day * 2).await.unwrap();
    let log = |store: std::sync::Arc<SqlStore>| async move {
        store
            .list_delivery_attempts(m, all.id, PageRequest::default())
            .await
            .unwrap()
            .total
    };
    assert_eq!(log(store.clone()).await, 2);

    let every = EventFilter {
        limit: 100,
        ..EventFilter::default()
    };
    assert_eq!(store.list_events(m, &every).await.unwrap().len(), 2);
    assert_eq!(store.prune_events(t0() + day, 1000).await.unwrap(), 1);
    assert_eq!(store.prune_events(t0() + day, 1000).await.unwrap(), 0);
    let left = store.list_events(m, &every).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].session_id, new.id);
    assert_eq!(
        log(store.clone()).await,
        1,
        "the old event's attempt went with it"
    );
    assert!(store
        .get_session(Scope::Merchant(m), old.id)
        .await
        .unwrap()
        .is_some());

    // Only the `limit` oldest are looked at.
    assert_eq!(store.prune_events(t0() + day * 3, 1).await.unwrap(), 1);
    assert!(store.list_events(m, &every).await.unwrap().is_empty());
});

both_backends!(
    a_given_up_lease_is_claimable_but_not_for_a_skipped_endpoint,
    |store| {
        let (m, d, all, _cancels) = merchant_with_endpoints(&store).await;
        let lease = std::time::Duration::from_secs(45);
        let mut rx = store
            .signals()
            .route_deliveries(std::time::Duration::ZERO, lease)
            .unwrap();
        store.create_session(new_session(m, d), t0()).await.unwrap();
        let got = routed(&mut rx);
        let [Routed::Deliver { deliveries, .. }] = got.as_slice() else {
            panic!("one hand-over: {got:?}");
        };
        let id = deliveries[0].delivery_id;
        assert!(store
            .claim_deliveries(t0(), t0(), 10, &[])
            .await
            .unwrap()
            .is_empty());
        store.release_leases(&[id]).await.unwrap();
        assert!(store
            .claim_deliveries(t0(), t0(), 10, &[all.id])
            .await
            .unwrap()
            .is_empty());
        let claimed = store.claim_deliveries(t0(), t0(), 10, &[]).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].delivery_id, id);
    }
);
