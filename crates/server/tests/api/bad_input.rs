//! Bad input gets the contract's 4xx and error body, never a 500, and writes nothing. The
//! bad requests are raw (no typed request can be this wrong); set-up and the checks that
//! nothing changed are typed calls. The raw helpers here serve the other refusal tests too.

use crate::auth::other_merchant;
use crate::both_backends;
use crate::harness::*;
use kassa_client::api::device::CreateSimulatedDevice;
use kassa_client::api::session::CreateSession;
use kassa_client::SessionFilter;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

/// The merchant's paged lists.
pub const LISTS: [&str; 4] = [
    "/ipp/v1/sessions",
    "/ipp/v1/devices",
    "/ipp/v1/locations",
    "/ipp/v1/enrollments",
];

/// No body, in the `(spec, body)` tables.
pub const NONE: Value = Value::Null;

/// A well-formed UUID that names nothing.
pub const UNKNOWN: &str = "0190c0de-0000-7000-8000-000000000042";

/// [`UNKNOWN`] for typed calls.
pub const UNKNOWN_ID: uuid::Uuid = uuid::Uuid::from_u128(0x0190c0de_0000_7000_8000_000000000042);

/// Asserts `400 BAD_VALUE` with a message `<path>: …`; returns the messages joined.
pub fn bad_value(status: u16, body: &Value, path: &str) -> String {
    let msg = assert_error(status, body, 400, "BAD_VALUE");
    let prefix = format!("{path}: ");
    let named = msg.split(" | ").any(|m| m.starts_with(&prefix));
    assert!(named, "no message names {path}: {msg}");
    msg
}

/// `"PUT /path"` → its method and path.
pub fn split(spec: &str) -> (Method, &str) {
    let (method, path) = spec.split_once(' ').unwrap();
    (method.parse().unwrap(), path)
}

pub async fn send(request: RequestBuilder) -> (u16, Value) {
    json_of(request.send().await.unwrap()).await
}

/// Sends `body` as JSON unless it is `null`.
pub async fn send_json(request: RequestBuilder, body: Value) -> (u16, Value) {
    match body {
        Value::Null => send(request).await,
        body => send(request.json(&body)).await,
    }
}

/// A merchant call: `call(&app, "POST /ipp/v1/locations", body)`; `null` sends no body.
pub async fn call(app: &TestApp, spec: &str, body: Value) -> (u16, Value) {
    let (method, path) = split(spec);
    send_json(app.merchant(method, path), body).await
}

/// The same with the app's device token.
pub async fn pos(app: &TestApp, spec: &str, body: Value) -> (u16, Value) {
    let (method, path) = split(spec);
    send_json(app.device(method, path, &app.device_token), body).await
}

/// The unauthenticated device registration.
pub async fn register(app: &TestApp, body: Value) -> (u16, Value) {
    send(app.http.post(app.url("/ipp/v1/devices")).json(&body)).await
}

fn item(kind: &str, amount: i64) -> Value {
    json!({"type": kind, "name": "Line", "quantity": 1, "unit_price": amount,
        "total_amount": amount, "tax_rate": 0, "total_tax_amount": 0})
}

async fn location(app: &TestApp, key: &str) -> String {
    let locations = app.client_with_key(key).locations();
    let shop = locations.create(&location_named("Shop")).await.unwrap();
    shop.id.to_string()
}

/// How many sessions the merchant has: what a refused create must leave unchanged.
pub async fn total_sessions(app: &TestApp) -> i64 {
    let page = app.client().sessions().list(&SessionFilter::default());
    page.page(0).await.unwrap().total_elements
}

pub async fn enroll(app: &TestApp, ttl_ms: i64) -> (String, String) {
    let body = json!({"expires_in": ttl_ms});
    let (status, body) = call(app, "POST /ipp/v1/enrollments", body).await;
    assert_eq!(status, 201, "{body}");
    let field = |f: &str| body[f].as_str().unwrap().to_string();
    (field("enrollment_id"), field("enrollment_code"))
}

both_backends!(order_amount_must_match_items, |app| {
    let mut body = cart(&app.device_id, 239000);
    body["order_amount"] = json!(240000);
    let (status, err) = json_of(app.create_session(&body).await).await;
    let msg = assert_error(status, &err, 400, "BAD_VALUE");
    assert!(
        msg.contains("order_amount") && msg.contains("(240000 != 239000)"),
        "{msg}"
    );
    assert_eq!(total_sessions(&app).await, 0, "nothing written");
});

both_backends!(malformed_json_and_wrong_content_type, |app| {
    let post = |kind: &str| {
        let request = app.merchant(Method::POST, "/ipp/v1/sessions");
        request.header("content-type", kind)
    };
    let (status, err) = send(post("application/json").body("{\"order_amount\": 1")).await;
    assert_error(status, &err, 400, "INVALID_JSON");
    let body = cart(&app.device_id, 100).to_string();
    let (status, err) = send(post("text/plain").body(body)).await;
    assert_error(status, &err, 400, "INVALID_JSON");
});

both_backends!(oversized_body_is_413_after_auth, |app| {
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(1024 * 1024 + 10));
    let json = "application/json";
    let request = app.merchant(Method::POST, "/ipp/v1/sessions");
    let (status, err) = send(request.header("content-type", json).body(big.clone())).await;
    assert_error(status, &err, 413, "PAYLOAD_TOO_LARGE");
    let request = app.http.post(app.url("/ipp/v1/sessions"));
    let (status, err) = send(request.header("content-type", json).body(big)).await;
    assert_error(status, &err, 401, "UNAUTHORIZED");
});

/// `base` with the fields of `patch` set, or removed where `null`.
fn patched(mut base: Value, patch: Value) -> Value {
    let fields = base.as_object_mut().unwrap();
    for (key, value) in patch.as_object().unwrap() {
        match value {
            Value::Null => fields.remove(key),
            value => fields.insert(key.clone(), value.clone()),
        };
    }
    base
}

/// Creating a session from `body` (and `query`) is a 400 naming `path` and writes nothing.
async fn refused(app: &TestApp, query: &str, body: Value, path: &str) {
    let (status, err) = call(app, &format!("POST /ipp/v1/sessions{query}"), body).await;
    assert_eq!(status, 400, "{path} {query}: {err}");
    bad_value(status, &err, path);
    let written = total_sessions(app).await;
    assert_eq!(written, 0, "{path} {query} wrote a session");
}

both_backends!(each_session_field_rule_names_its_field, |app| {
    let (their_key, _) = other_merchant(&app).await;
    let theirs = CreateSimulatedDevice {
        name: "Their till".into(),
        ..Default::default()
    };
    let playground = app.client_with_key(&their_key).playground();
    let theirs = playground.create_device(&theirs).await.unwrap();
    let long = "x".repeat(256);
    let many: Vec<Value> = (0..1001).map(|_| item("physical", 1)).collect();
    // Each patch replaces top-level fields of a valid cart; `null` removes the field.
    for (patch, path) in [
        (json!({"device_id": null}), "device_id"),
        (json!({"device_id": "till-1"}), "device_id"),
        (json!({"device_id": UNKNOWN}), "device_id"),
        (json!({"device_id": theirs.id}), "device_id"),
        (json!({"order_amount": null}), "order_amount"),
        (json!({"order_amount": 0}), "order_amount"),
        (json!({"order_amount": -12_500}), "order_amount"),
        (json!({"order_amount": 125.5}), "order_amount"),
        (json!({"order_amount": 12_500.0}), "order_amount"),
        (json!({"order_amount": "12500"}), "order_amount"),
        (json!({"order_amount": 12_501}), "order_amount"),
        (json!({"order_tax_amount": 2_499}), "order_tax_amount"),
        (json!({"purchase_currency": null}), "purchase_currency"),
        (json!({"purchase_currency": "sek"}), "purchase_currency"),
        (json!({"purchase_currency": "XXQ"}), "purchase_currency"),
        (json!({"merchant_reference1": long}), "merchant_reference1"),
        (json!({"merchant_reference2": long}), "merchant_reference2"),
        (json!({"order_items": []}), "order_items"),
        (json!({"order_items": many}), "order_items"),
        (json!({"order_items": null}), "order_items"),
        (json!({"expires_in": 9_999}), "expires_in"),
        (json!({"expires_in": 86_400_001}), "expires_in"),
    ] {
        refused(&app, "", patched(cart(&app.device_id, 12_500), patch), path).await;
    }
    for (field, value, path) in [
        ("name", Value::Null, "name"),
        ("name", json!(""), "name"),
        ("name", json!("   "), "name"),
        ("name", json!(long), "name"),
        ("quantity", json!(0), "quantity"),
        ("type", json!("service"), "type"),
        ("tax_rate", json!(10_001), "tax_rate"),
        ("tax_rate", json!(-1), "tax_rate"),
        ("total_discount_amount", json!(-1), "total_discount_amount"),
        ("unit_price", json!(12_000), "total_amount"),
    ] {
        let mut body = cart(&app.device_id, 12_500);
        let item = body["order_items"][0].take();
        body["order_items"][0] = patched(item, json!({ field: value }));
        refused(&app, "", body, &format!("order_items[0].{path}")).await;
    }
    let mut body = cart(&app.device_id, 12_500);
    let items = body["order_items"].as_array_mut().unwrap();
    items.push(item("discount", 500));
    body["order_amount"] = json!(13_000);
    refused(&app, "", body, "order_items[1].total_amount").await;
    let theirs = location(&app, &their_key).await;
    let ours = location(&app, &app.api_key).await;
    for (location, path) in [
        ("shop-1", "location_id"),
        (UNKNOWN, "location_id"),
        (theirs.as_str(), "location_id"),
        (ours.as_str(), "device_id"),
    ] {
        let query = format!("?location_id={location}");
        refused(&app, &query, cart(&app.device_id, 12_500), path).await;
    }
    let (merchant, filter) = (app.merchant_id.parse().unwrap(), Default::default());
    let events = app.state.store.list_events(merchant, &filter).await;
    assert!(events.unwrap().is_empty(), "no event either");
    // The device was never left busy: the untouched cart is accepted.
    app.open_session(app.till_id()).await;
});

both_backends!(expires_in_bounds_are_inclusive, |app| {
    let sessions = app.client().sessions();
    for ttl in [10_000, 86_400_000] {
        let cart = CreateSession {
            expires_in: Some(ttl),
            ..new_cart(app.till_id(), 500)
        };
        let session = sessions.create(&cart).await;
        let id = session.unwrap_or_else(|e| panic!("{ttl}: {e}")).session_id;
        sessions.cancel(id).await.unwrap();
    }
});

both_backends!(pos_calls_reject_bad_input_and_change_nothing, |app| {
    let (sessions, till) = (app.client().sessions(), app.till());
    let id = app.open_session(app.till_id()).await.session_id;
    for outcome in ["BOGUS", "success", ""] {
        let tap = format!("POST /ipp/v1/dev/sessions/{id}/simulate-tap?outcome={outcome}");
        let (status, err) = call(&app, &tap, NONE).await;
        bad_value(status, &err, "outcome");
    }
    let pay = format!("PUT /ipp/v1/sessions/{id}/payment");
    for method in [json!("CASH"), json!("card_tap"), json!(1), Value::Null] {
        let (status, err) = pos(&app, &pay, json!({"payment_method": method})).await;
        bad_value(status, &err, "payment_method");
    }
    let (status, err) = pos(&app, &pay, json!({})).await;
    bad_value(status, &err, "payment_method");
    let got = sessions.get(id).await.unwrap();
    assert_eq!(
        (got.status.as_str(), got.payment_method.as_deref()),
        ("CREATED", None)
    );

    till.choose_payment(id, "CARD_TAP").await.unwrap();
    let finalize = format!("POST /ipp/v1/sessions/{id}/finalize");
    let attempt = uuid::Uuid::from_u128(0x0190c0de_0000_7000_8000_0000000000a1);
    let sim = |outcome: &str| json!({"processor": "simulated", "outcome": outcome});
    for (payment, path) in [
        (json!({"processor": "stripe"}), "payment.processor"),
        (json!({"processor": "simulated"}), "payment.outcome"),
        (sim("MAYBE"), "payment.outcome"),
        (sim("success"), "payment.outcome"),
        (json!({"outcome": "SUCCESS"}), "payment.processor"),
        (Value::Null, "payment"),
    ] {
        let body = json!({"attempt_id": attempt, "payment": payment});
        let (status, err) = pos(&app, &finalize, body).await;
        bad_value(status, &err, path);
    }
    for attempt_id in [json!("first"), Value::Null] {
        let body = json!({"attempt_id": attempt_id, "payment": sim("SUCCESS")});
        let (status, err) = pos(&app, &finalize, body).await;
        bad_value(status, &err, "attempt_id");
    }
    let got = sessions.get(id).await.unwrap();
    assert_eq!(
        (got.status.as_str(), got.attempts, got.failure_reason),
        ("ACTIVE", 0, None)
    );
    // The rejected calls recorded no attempt: the same attempt_id now really pays.
    let answer = till
        .finalize(id, &simulated_payment(attempt, "SUCCESS"))
        .await;
    assert_eq!(answer.unwrap().result, "SUCCEEDED");
});
