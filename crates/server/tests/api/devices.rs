//! Locations, pairing codes and device registration over HTTP.

use crate::both_backends;
use crate::harness::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn enroll(app: &TestApp, body: Value) -> Value {
    let r = app
        .merchant(Method::POST, "/ipp/v1/enrollments")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

async fn register(app: &TestApp, code: &str) -> (u16, Value) {
    let body = json!({"enrollment_code": code, "platform": "WEB", "name": "Front till"});
    json_of(
        app.http
            .post(app.url("/ipp/v1/devices"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

both_backends!(pairing_with_a_code_yields_a_working_device_token, |app| {
    let (status, location) = json_of(
        app.merchant(Method::POST, "/ipp/v1/locations")
            .json(&json!({"name": "Main St", "city": "Malmö", "country": "SE"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    let location_id = location["id"].as_str().unwrap();
    let e = enroll(
        &app,
        json!({"metadata": {"lane": "3"}, "location_id": location_id}),
    )
    .await;
    let code = e["enrollment_code"].as_str().unwrap();
    assert_eq!((code.len(), e["status"].as_str()), (11, Some("PENDING")));
    let typed = code.to_lowercase().replace('-', "");
    let (status, device) = register(&app, &typed).await;
    assert_eq!(status, 201, "{device}");
    assert_eq!(device["location_id"], location_id);
    assert_eq!(device["metadata"]["lane"], "3");
    assert!(device["credentials"]["issuedAt"].is_string());
    let token = device["credentials"]["bearer_token"].as_str().unwrap();
    let (status, err) = register(&app, code).await;
    let msg = assert_error(status, &err, 400, "BAD_VALUE");
    assert!(msg.contains("enrollment_code"));

    let device_id = device["id"].as_str().unwrap();
    let mut body = cart(device_id, 100);
    body["device_id"] = json!(device_id);
    let r = app
        .merchant(
            Method::POST,
            &format!("/ipp/v1/sessions?location_id={location_id}"),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, open) = json_of(
        app.device(Method::GET, "/ipp/v1/device/sessions", token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, open["content"].as_array().map(Vec::len)),
        (200, Some(1))
    );

    let (_, listed) = app.get("/ipp/v1/devices?metadata=lane:3").await;
    assert_eq!(listed["total_elements"], 1);
    assert!(
        listed["content"][0].get("credentials").is_none(),
        "tokens are shown once"
    );
    let (_, consumed) = app.get("/ipp/v1/enrollments?include_consumed=true").await;
    assert_eq!(consumed["content"][0]["status"], "CONSUMED");
    assert!(consumed["content"][0].get("enrollment_code").is_none());
});

both_backends!(devices_update_and_delete, |app| {
    let (id, token) = app.simulated_device("Till 9").await;
    let path = format!("/ipp/v1/devices/{id}");
    let (status, updated) = json_of(
        app.merchant(Method::PUT, &path)
            .json(&json!({"name": "Till 10", "metadata": {"a": "b"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (
            status,
            updated["name"].as_str(),
            updated["metadata"]["a"].as_str()
        ),
        (200, Some("Till 10"), Some("b"))
    );
    let s = app.session_on(&id).await;
    let (status, err) = json_of(app.merchant(Method::DELETE, &path).send().await.unwrap()).await;
    assert_error(status, &err, 409, "NOT_ALLOWED");
    let sid = s["session_id"].as_str().unwrap();
    app.merchant(Method::PUT, &format!("/ipp/v1/sessions/{sid}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        app.merchant(Method::DELETE, &path)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let (status, err) = app.get(&path).await;
    assert_error(status, &err, 404, "NOT_FOUND");
    let r = app
        .device(Method::GET, "/ipp/v1/device/sessions", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the token is revoked");
});

both_backends!(enrollments_expire_and_can_be_cancelled, |app| {
    let e = enroll(&app, json!({"expires_in": 60_000})).await;
    let id = e["enrollment_id"].as_str().unwrap();
    app.clock.advance(chrono::Duration::seconds(61));
    let (_, list) = app.get("/ipp/v1/enrollments").await;
    assert_eq!(list["content"][0]["status"], "EXPIRED");
    let (status, err) = register(&app, e["enrollment_code"].as_str().unwrap()).await;
    assert_error(status, &err, 400, "BAD_VALUE");
    assert_eq!(
        app.merchant(Method::DELETE, &format!("/ipp/v1/enrollments/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let (_, list) = app.get("/ipp/v1/enrollments").await;
    assert_eq!(
        list["total_elements"], 0,
        "cancelled codes are never listed"
    );
});

both_backends!(orders_capture_refund_and_cancel, |app| {
    let mut body = cart(&app.device_id, 10_000);
    body["auto_capture"] = json!(false);
    let s: Value = app.create_session(&body).await.json().await.unwrap();
    let sid = s["session_id"].as_str().unwrap();
    let (_, tap) = json_of(
        app.merchant(
            Method::POST,
            &format!("/ipp/v1/dev/sessions/{sid}/simulate-tap"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let order = tap["session"]["order_id"].as_str().unwrap();
    let base = format!("/ordermanagement/v1/orders/{order}");
    assert_eq!(app.get(&base).await.1["status"], "AUTHORIZED");
    let (status, o) = json_of(
        app.merchant(Method::POST, &format!("{base}/captures"))
            .json(&json!({"captured_amount": 4_000}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (
            status,
            o["status"].as_str(),
            o["remaining_authorized_amount"].as_i64()
        ),
        (201, Some("PART_CAPTURED"), Some(6_000))
    );
    let (status, o) = json_of(
        app.merchant(Method::POST, &format!("{base}/refunds"))
            .json(&json!({"refunded_amount": 4_000}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, o["status"].as_str()), (201, Some("REFUNDED")));
    let (status, err) = json_of(
        app.merchant(Method::POST, &format!("{base}/refunds"))
            .json(&json!({"refunded_amount": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &err, 400, "BAD_VALUE");
    let (status, err) = json_of(
        app.merchant(Method::POST, &format!("{base}/cancel"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &err, 409, "NOT_ALLOWED");
});
