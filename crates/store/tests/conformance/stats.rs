//! The operator's gauges: webhook queue depth (pending, and due = claimable now) and pools.

use crate::both_backends;
use crate::fixtures::*;
use chrono::Duration;
use kassa_core::event::EventType;
use kassa_core::*;
use kassa_store::*;

fn endpoint(merchant: MerchantId, types: Vec<EventType>) -> WebhookEndpoint {
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

fn record(d: &DueDelivery, outcome: AttemptOutcome) -> AttemptRecord {
    AttemptRecord {
        delivery_id: d.delivery_id,
        attempt_id: uuid::Uuid::now_v7(),
        endpoint_id: d.endpoint_id,
        event_id: d.event.id.clone(),
        event_type: d.event.event_type,
        attempted_at: t0(),
        status_code: Some(500),
        latency_ms: 3,
        error: None,
        response_snippet: None,
        outcome,
    }
}

fn depth(pending: i64, due: i64) -> QueueDepth {
    QueueDepth { pending, due }
}

both_backends!(
    queue_depth_counts_pending_and_claimable_deliveries,
    |store| {
        assert_eq!(store.queue_depth(t0()).await.unwrap(), depth(0, 0));
        let m = merchant(&store).await;
        let d = device(&store, m).await;
        let all = endpoint(m, vec![]);
        let cancels = endpoint(m, vec![EventType::SessionCancelled]);
        store.create_webhook_endpoint(&all).await.unwrap();
        store.create_webhook_endpoint(&cancels).await.unwrap();
        let s = store.create_session(new_session(m, d), t0()).await.unwrap();
        let by_merchant = kassa_core::machine::Command::Cancel {
            actor: kassa_core::session::Actor::Merchant,
        };
        store
            .command_session(Scope::Merchant(m), s.id, by_merchant, t0(), policy())
            .await
            .unwrap();
        // `all`: created and cancelled; `cancels`: cancelled. Nothing routed them at commit.
        assert_eq!(store.queue_depth(t0()).await.unwrap(), depth(3, 3));
        assert_eq!(
            store
                .queue_depth(t0() - Duration::seconds(1))
                .await
                .unwrap(),
            depth(3, 0),
            "not yet due"
        );

        // Claimed means leased: pending, not due. (`all`'s cancelled waits behind its created.)
        let lease = t0() + Duration::seconds(45);
        let claimed = store.claim_deliveries(t0(), lease, 10, &[]).await.unwrap();
        assert_eq!(claimed.len(), 2);
        assert_eq!(store.queue_depth(t0()).await.unwrap(), depth(3, 1));

        // One delivered, one retrying in 5 s: the retry is pending but not due until then.
        let retry_at = t0() + Duration::seconds(5);
        let outcomes: Vec<_> = claimed
            .iter()
            .map(|c| match c.endpoint_id == all.id {
                true => record(c, AttemptOutcome::Retry(retry_at)),
                false => record(c, AttemptOutcome::Delivered),
            })
            .collect();
        store.record_attempts(&outcomes, t0()).await.unwrap();
        assert_eq!(store.queue_depth(t0()).await.unwrap(), depth(2, 1));
        assert_eq!(store.queue_depth(retry_at).await.unwrap(), depth(2, 2));

        // A disabled endpoint's deliveries wait for it: pending, never due.
        let off = WebhookEndpointPatch {
            enabled: Some(false),
            ..Default::default()
        };
        store
            .update_webhook_endpoint(m, all.id, &off, t0())
            .await
            .unwrap();
        assert_eq!(store.queue_depth(retry_at).await.unwrap(), depth(2, 0));
    }
);

both_backends!(pool_stats_name_each_pool_of_the_backend, |store| {
    store.ping().await.unwrap();
    let pools = store.pool_stats();
    let names: Vec<_> = pools.iter().map(|p| p.name).collect();
    let want: &[&str] = match store.backend() {
        Backend::Sqlite => &["write", "read"],
        Backend::Postgres => &["shared"],
    };
    assert_eq!(names, want);
    for p in &pools {
        assert!(p.size >= 1 && p.size <= p.max, "{p:?}");
        assert!(p.idle <= p.size, "{p:?}");
        assert_eq!(p.busy(), p.size - p.idle);
    }
});
