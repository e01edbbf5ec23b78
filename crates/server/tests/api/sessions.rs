//! Sessions over HTTP: the merchant's and the device's view of the whole lifecycle, in
//! typed calls; the replay test reads the raw answer for its header and bytes.

use crate::both_backends;
use crate::harness::*;
use kassa_client::api::session::CreateSession;
use kassa_client::{ErrorCode, SessionFilter, SessionStatus};
use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, Instant};
use uuid::Uuid;

both_backends!(device_pays_after_a_decline_and_an_order_is_created, |app| {
    let (client, till) = (app.client(), app.till());
    let id = app.open_session(app.till_id()).await.session_id;
    let open = [SessionStatus::Created, SessionStatus::Active];
    let open = till.sessions(&open).await.unwrap();
    assert_eq!(open[0].session_id, id);
    let active = till.choose_payment(id, "CARD_TAP").await.unwrap();
    assert_eq!(active.status, "ACTIVE");
    let decline = simulated_payment(Uuid::new_v4(), "INSUFFICIENT_FUNDS");
    let declined = till.finalize(id, &decline).await.unwrap();
    assert_eq!(declined.result, "FAILED");
    assert_eq!(
        declined.failure_reason.as_deref(),
        Some("INSUFFICIENT_FUNDS")
    );
    assert_eq!(declined.session.status, "ACTIVE");
    let attempt = simulated_payment(Uuid::new_v4(), "SUCCESS");
    let paid = till.finalize(id, &attempt).await.unwrap();
    assert_eq!(paid.result, "SUCCEEDED");
    assert_eq!(paid.session.status, "FINALIZED");
    assert_eq!(paid.session.attempts, 2);
    let again = till.finalize(id, &attempt).await.unwrap();
    assert_eq!(again, paid, "a retried attempt returns the first answer");
    let order = paid.session.order_id.unwrap();
    let order = client.orders().get(order).await.unwrap();
    assert_eq!(order.status, "CAPTURED");
    assert_eq!(order.captured_amount, 12_500);
    assert_eq!(order.session_id, id);
    assert_eq!(
        app.events(id).await,
        [
            "ipp.session.created",
            "ipp.session.activated",
            "ipp.payment.failed",
            "ipp.session.finalized"
        ]
    );
    let timeline = client.sessions().timeline(id).await.unwrap();
    let kinds: Vec<_> = timeline.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "transition",
            "transition",
            "attempt",
            "attempt",
            "transition"
        ]
    );
    assert_eq!(
        timeline.events[2].failure_reason.as_deref(),
        Some("INSUFFICIENT_FUNDS")
    );
});

both_backends!(second_session_on_a_busy_device_is_409, |app| {
    app.open_session(app.till_id()).await;
    let busy = app
        .client()
        .sessions()
        .create(&new_cart(app.till_id(), 100));
    assert_api_error(busy.await, 409, ErrorCode::DeviceBusy);
});

both_backends!(cancel_is_idempotent_and_refused_once_paid, |app| {
    let sessions = app.client().sessions();
    let id = app.open_session(app.till_id()).await.session_id;
    let first = sessions.cancel(id).await.unwrap();
    assert_eq!(first.status, "CANCELLED");
    let again = sessions.cancel(id).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(
        app.events(id).await,
        ["ipp.session.created", "ipp.session.cancelled"]
    );

    let paid = app.open_session(app.till_id()).await.session_id;
    let tap = app
        .client()
        .playground()
        .simulate_tap(paid, Some("SUCCESS"));
    tap.await.unwrap();
    let refused = sessions.cancel(paid).await;
    let msg = assert_api_error(refused, 409, ErrorCode::NotAllowed);
    assert!(msg.contains("FINALIZED"), "{msg}");
});

both_backends!(the_clerk_can_cancel, |app| {
    let id = app.open_session(app.till_id()).await.session_id;
    let cancelled = app.till().cancel(id).await.unwrap();
    assert_eq!(cancelled.status, "CANCELLED");
    let timeline = app.client().sessions().timeline(id).await.unwrap();
    assert_eq!(timeline.events[1].actor.as_deref(), Some("DEVICE"));
});

both_backends!(five_declines_fail_the_session, |app| {
    let id = app.open_session(app.till_id()).await.session_id;
    let playground = app.client().playground();
    let mut last = None;
    for _ in 0..5 {
        last = Some(
            playground
                .simulate_tap(id, Some("STOLEN_CARD"))
                .await
                .unwrap(),
        );
    }
    let last = last.unwrap().session;
    assert_eq!(last.status, "FAILED");
    assert_eq!(last.attempts, 5);
    let refused = playground.simulate_tap(id, Some("STOLEN_CARD")).await;
    assert_api_error(refused, 409, ErrorCode::NotAllowed);
    let events = app.events(id).await;
    assert_eq!(
        events.iter().filter(|e| *e == "ipp.payment.failed").count(),
        5
    );
    assert_eq!(
        events.last().map(String::as_str),
        Some("ipp.session.failed")
    );
});

both_backends!(sessions_expire_on_time, |app| {
    let sessions = app.client().sessions();
    let cart = CreateSession {
        expires_in: Some(10_000),
        ..new_cart(app.till_id(), 100)
    };
    let id = sessions.create(&cart).await.unwrap().session_id;
    app.clock.advance(chrono::Duration::milliseconds(9_999));
    kassa_server::sweeper::expire_once(&app.state)
        .await
        .unwrap();
    assert_eq!(sessions.get(id).await.unwrap().status, "CREATED");
    app.clock.advance(chrono::Duration::milliseconds(1));
    // The server's own sweeper runs every 200 ms; the contract allows 1 s.
    let started = Instant::now();
    let waited = sessions.get_when_changed(id, SessionStatus::Created, Duration::from_secs(5));
    assert_eq!(waited.await.unwrap().status, "EXPIRED");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "expired within the sweeper's period"
    );
    assert_eq!(
        app.events(id).await,
        ["ipp.session.created", "ipp.session.expired"]
    );
    let refused = app.till().choose_payment(id, "CARD_TAP").await;
    assert_api_error(refused, 409, ErrorCode::NotAllowed);
});

both_backends!(long_poll_returns_when_the_status_changes, |app| {
    let id = app.open_session(app.till_id()).await.session_id;
    let sessions = app.client().sessions();
    let poll = tokio::spawn(async move {
        let wait = Duration::from_secs(20);
        sessions
            .get_when_changed(id, SessionStatus::Created, wait)
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished(), "waits while the status is unchanged");
    app.till().choose_payment(id, "SWISH").await.unwrap();
    let session = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(session.status, "ACTIVE");
    assert_eq!(session.payment_method.as_deref(), Some("SWISH"));
});

// Raw on purpose: the replay is checked on the wire (its header, byte for byte).
both_backends!(idempotency_key_replays_and_conflicts, |app| {
    let body = cart(&app.device_id, 500);
    let send = |b: &Value| {
        app.merchant(Method::POST, "/ipp/v1/sessions")
            .header("Idempotency-Key", "order-42-try")
            .json(b)
            .send()
    };
    let first = send(&body).await.unwrap();
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_body = first.bytes().await.unwrap();
    let again = send(&body).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(
        again.bytes().await.unwrap(),
        first_body,
        "byte-for-byte replay"
    );
    let sessions = app.client().sessions();
    let page = sessions.list(&SessionFilter::default()).page(0).await;
    assert_eq!(page.unwrap().total_elements, 1, "performed once");
    let other = sessions.create(&new_cart(app.till_id(), 600));
    let other = other.idempotency_key("order-42-try").await;
    assert_api_error(other, 409, ErrorCode::IdempotencyConflict);
});

both_backends!(list_filters_and_pages, |app| {
    let (other, _) = app.simulated_device_typed("Till 2").await;
    let a = app.open_session(app.till_id()).await;
    app.open_session(other.id).await;
    let sessions = app.client().sessions();
    let all = sessions.list(&SessionFilter::default()).page_size(1);
    let all = all.page(0).await.unwrap();
    assert_eq!((all.total_elements, all.total_pages), (2, 2));
    assert_eq!((all.first, all.last), (true, false));
    let list = |filter: SessionFilter| sessions.list(&filter);
    let mine = list(SessionFilter {
        device_id: Some(app.till_id()),
        ..Default::default()
    });
    let mine = mine.page(0).await.unwrap();
    assert_eq!(mine.content[0].session_id, a.session_id);
    assert_eq!(mine.total_elements, 1);
    let none = list(SessionFilter {
        statuses: vec![SessionStatus::Finalized, SessionStatus::Cancelled],
        ..Default::default()
    });
    assert_eq!(none.page(0).await.unwrap().total_elements, 0);
    let by_ref = list(SessionFilter {
        merchant_reference1: Some("order-42".into()),
        ..Default::default()
    });
    assert_eq!(by_ref.page(0).await.unwrap().total_elements, 2);
});

both_backends!(cancel_and_tap_racing_leave_one_terminal_state, |app| {
    let client = app.client();
    for _ in 0..5 {
        let id = app.open_session(app.till_id()).await.session_id;
        let cancel = async { client.sessions().cancel(id).await.map(drop) };
        let tap = async { client.playground().simulate_tap(id, None).await.map(drop) };
        let (c, t) = tokio::join!(cancel, tap);
        let statuses = [c, t].map(|r| r.map_err(|e| e.status()));
        assert!(
            statuses
                .iter()
                .all(|s| matches!(s, Ok(()) | Err(Some(409)))),
            "{statuses:?}"
        );
        let events = app.events(id).await;
        let terminal = events
            .iter()
            .filter(|e| {
                e.as_str() == "ipp.session.finalized" || e.as_str() == "ipp.session.cancelled"
            })
            .count();
        assert_eq!(terminal, 1, "{events:?}");
    }
});

both_backends!(openapi_describes_every_route, |app| {
    let (status, doc) = json_of(app.http.get(app.url("/openapi.json")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/ipp/v1/sessions",
        "/ipp/v1/sessions/{session_id}",
        "/ipp/v1/sessions/{session_id}/cancel",
        "/ipp/v1/sessions/{session_id}/events",
        "/ipp/v1/sessions/{session_id}/payment",
        "/ipp/v1/sessions/{session_id}/finalize",
        "/ipp/v1/device/sessions",
        "/ipp/v1/devices",
        "/ipp/v1/devices/{id}",
        "/ipp/v1/locations",
        "/ipp/v1/locations/{id}",
        "/ipp/v1/enrollments",
        "/ipp/v1/enrollments/{id}",
        "/ipp/v1/dev/devices",
        "/ipp/v1/dev/sessions/{sessionId}/simulate-tap",
        "/ordermanagement/v1/orders/{order_id}",
        "/ordermanagement/v1/orders/{order_id}/captures",
        "/ordermanagement/v1/orders/{order_id}/refunds",
        "/ordermanagement/v1/orders/{order_id}/cancel",
    ] {
        assert!(paths.contains_key(path), "missing {path}");
    }
    let (ready, _) = json_of(app.http.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(ready, 200);
});
