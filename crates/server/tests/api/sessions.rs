//! Sessions over HTTP: the merchant's and the device's view of the whole lifecycle.

use crate::both_backends;
use crate::harness::*;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

async fn finalize(app: &TestApp, id: &str, attempt: &str, outcome: &str) -> (u16, Value) {
    let body =
        json!({"attempt_id": attempt, "payment": {"processor": "simulated", "outcome": outcome}});
    let path = format!("/ipp/v1/sessions/{id}/finalize");
    json_of(
        app.device(Method::POST, &path, &app.device_token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn choose(app: &TestApp, id: &str, method: &str) -> (u16, Value) {
    let path = format!("/ipp/v1/sessions/{id}/payment");
    let body = json!({"payment_method": method});
    json_of(
        app.device(Method::PUT, &path, &app.device_token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

both_backends!(device_pays_after_a_decline_and_an_order_is_created, |app| {
    let s = app.session_on(&app.device_id).await;
    let id = s["session_id"].as_str().unwrap().to_string();
    let (_, open) = json_of(
        app.device(
            Method::GET,
            "/ipp/v1/device/sessions?status=CREATED,ACTIVE",
            &app.device_token,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(open["content"][0]["session_id"], id.as_str());
    let (status, active) = choose(&app, &id, "CARD_TAP").await;
    assert_eq!((status, active["status"].as_str()), (200, Some("ACTIVE")));
    let (status, declined) =
        finalize(&app, &id, &Uuid::new_v4().to_string(), "INSUFFICIENT_FUNDS").await;
    assert_eq!(status, 200);
    assert_eq!(declined["result"], "FAILED");
    assert_eq!(declined["failure_reason"], "INSUFFICIENT_FUNDS");
    assert_eq!(declined["session"]["status"], "ACTIVE");
    let attempt = Uuid::new_v4().to_string();
    let (_, paid) = finalize(&app, &id, &attempt, "SUCCESS").await;
    assert_eq!(paid["result"], "SUCCEEDED");
    assert_eq!(paid["session"]["status"], "FINALIZED");
    assert_eq!(paid["session"]["attempts"], 2);
    let (_, again) = finalize(&app, &id, &attempt, "SUCCESS").await;
    assert_eq!(again, paid, "a retried attempt returns the first answer");
    let order_id = paid["session"]["order_id"].as_str().unwrap();
    let (status, order) = app
        .get(&format!("/ordermanagement/v1/orders/{order_id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(order["status"], "CAPTURED");
    assert_eq!(order["captured_amount"], 12_500);
    assert_eq!(order["session_id"], id.as_str());
    assert_eq!(
        app.events(&id).await,
        [
            "ipp.session.created",
            "ipp.session.activated",
            "ipp.payment.failed",
            "ipp.session.finalized"
        ]
    );
    let (_, timeline) = app.get(&format!("/ipp/v1/sessions/{id}/events")).await;
    let kinds: Vec<_> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
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
        timeline["events"][2]["failure_reason"],
        "INSUFFICIENT_FUNDS"
    );
});

both_backends!(second_session_on_a_busy_device_is_409, |app| {
    app.session_on(&app.device_id).await;
    let (status, err) = json_of(app.create_session(&cart(&app.device_id, 100)).await).await;
    assert_error(status, &err, 409, "DEVICE_BUSY");
});

both_backends!(cancel_is_idempotent_and_refused_once_paid, |app| {
    let s = app.session_on(&app.device_id).await;
    let id = s["session_id"].as_str().unwrap();
    let path = format!("/ipp/v1/sessions/{id}/cancel");
    let (status, first) = json_of(app.merchant(Method::PUT, &path).send().await.unwrap()).await;
    assert_eq!((status, first["status"].as_str()), (200, Some("CANCELLED")));
    let (status, again) = json_of(app.merchant(Method::PUT, &path).send().await.unwrap()).await;
    assert_eq!((status, again), (200, first));
    assert_eq!(
        app.events(id).await,
        ["ipp.session.created", "ipp.session.cancelled"]
    );

    let paid = app.session_on(&app.device_id).await;
    let paid_id = paid["session_id"].as_str().unwrap();
    let tap = format!("/ipp/v1/dev/sessions/{paid_id}/simulate-tap?outcome=SUCCESS");
    assert_eq!(
        app.merchant(Method::POST, &tap)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let path = format!("/ipp/v1/sessions/{paid_id}/cancel");
    let (status, err) = json_of(app.merchant(Method::PUT, &path).send().await.unwrap()).await;
    let msg = assert_error(status, &err, 409, "NOT_ALLOWED");
    assert!(msg.contains("FINALIZED"), "{msg}");
});

both_backends!(the_clerk_can_cancel, |app| {
    let s = app.session_on(&app.device_id).await;
    let id = s["session_id"].as_str().unwrap();
    let r = app
        .device(
            Method::PUT,
            &format!("/ipp/v1/sessions/{id}/cancel"),
            &app.device_token,
        )
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(r).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("CANCELLED")));
    let (_, timeline) = app.get(&format!("/ipp/v1/sessions/{id}/events")).await;
    assert_eq!(timeline["events"][1]["actor"], "DEVICE");
});

both_backends!(five_declines_fail_the_session, |app| {
    let s = app.session_on(&app.device_id).await;
    let id = s["session_id"].as_str().unwrap();
    let tap = format!("/ipp/v1/dev/sessions/{id}/simulate-tap?outcome=STOLEN_CARD");
    let mut last = Value::Null;
    for _ in 0..5 {
        last = json_of(app.merchant(Method::POST, &tap).send().await.unwrap())
            .await
            .1;
    }
    assert_eq!(last["session"]["status"], "FAILED");
    assert_eq!(last["session"]["attempts"], 5);
    let (status, err) = json_of(app.merchant(Method::POST, &tap).send().await.unwrap()).await;
    assert_error(status, &err, 409, "NOT_ALLOWED");
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
    let mut body = cart(&app.device_id, 100);
    body["expires_in"] = json!(10_000);
    let s: Value = app.create_session(&body).await.json().await.unwrap();
    let id = s["session_id"].as_str().unwrap();
    app.clock.advance(chrono::Duration::milliseconds(9_999));
    kassa_server::sweeper::expire_once(&app.state)
        .await
        .unwrap();
    assert_eq!(
        app.get(&format!("/ipp/v1/sessions/{id}")).await.1["status"],
        "CREATED"
    );
    app.clock.advance(chrono::Duration::milliseconds(1));
    // The server's own sweeper runs every 200 ms; the contract allows 1 s.
    let waited = format!("/ipp/v1/sessions/{id}?wait=5&if_status=CREATED");
    let started = std::time::Instant::now();
    let (_, expired) = app.get(&waited).await;
    assert_eq!(expired["status"], "EXPIRED");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "expired within the sweeper's period"
    );
    assert_eq!(
        app.events(id).await,
        ["ipp.session.created", "ipp.session.expired"]
    );
    let (status, _) = choose(&app, id, "CARD_TAP").await;
    assert_eq!(status, 409);
});

both_backends!(long_poll_returns_when_the_status_changes, |app| {
    let s = app.session_on(&app.device_id).await;
    let id = s["session_id"].as_str().unwrap().to_string();
    let poll = {
        let req = app.merchant(
            Method::GET,
            &format!("/ipp/v1/sessions/{id}?wait=20&if_status=CREATED"),
        );
        tokio::spawn(async move { json_of(req.send().await.unwrap()).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!poll.is_finished(), "waits while the status is unchanged");
    choose(&app, &id, "SWISH").await;
    let (status, body) = tokio::time::timeout(std::time::Duration::from_secs(5), poll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((status, body["status"].as_str()), (200, Some("ACTIVE")));
    assert_eq!(body["payment_method"], "SWISH");
});

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
    let (_, page) = app.get("/ipp/v1/sessions").await;
    assert_eq!(page["total_elements"], 1, "performed once");
    let (status, err) = json_of(send(&cart(&app.device_id, 600)).await.unwrap()).await;
    assert_error(status, &err, 409, "IDEMPOTENCY_CONFLICT");
});

both_backends!(list_filters_and_pages, |app| {
    let (other, _) = app.simulated_device("Till 2").await;
    let a = app.session_on(&app.device_id).await;
    app.session_on(&other).await;
    let (_, all) = app.get("/ipp/v1/sessions?page_size=1").await;
    assert_eq!(
        (all["total_elements"].as_i64(), all["total_pages"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        (all["first"].as_bool(), all["last"].as_bool()),
        (Some(true), Some(false))
    );
    let (_, mine) = app
        .get(&format!("/ipp/v1/sessions?device_id={}", app.device_id))
        .await;
    assert_eq!(mine["content"][0]["session_id"], a["session_id"]);
    assert_eq!(mine["total_elements"], 1);
    let (_, none) = app.get("/ipp/v1/sessions?status=FINALIZED,CANCELLED").await;
    assert_eq!(none["total_elements"], 0);
    let (_, by_ref) = app
        .get("/ipp/v1/sessions?merchant_reference1=order-42")
        .await;
    assert_eq!(by_ref["total_elements"], 2);
});

both_backends!(cancel_and_tap_racing_leave_one_terminal_state, |app| {
    for _ in 0..5 {
        let s = app.session_on(&app.device_id).await;
        let id = s["session_id"].as_str().unwrap().to_string();
        let cancel = app
            .merchant(Method::PUT, &format!("/ipp/v1/sessions/{id}/cancel"))
            .send();
        let tap = app
            .merchant(
                Method::POST,
                &format!("/ipp/v1/dev/sessions/{id}/simulate-tap"),
            )
            .send();
        let (c, t) = tokio::join!(cancel, tap);
        let statuses = [c.unwrap().status().as_u16(), t.unwrap().status().as_u16()];
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 409),
            "{statuses:?}"
        );
        let events = app.events(&id).await;
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
