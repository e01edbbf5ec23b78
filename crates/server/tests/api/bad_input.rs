//! Bad input gets the contract's 4xx and error body, never a 500, and writes nothing.

use crate::auth::{as_key, other_merchant};
use crate::both_backends;
use crate::harness::*;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

/// The merchant's paged lists.
const LISTS: [&str; 4] = [
    "/ipp/v1/sessions",
    "/ipp/v1/devices",
    "/ipp/v1/locations",
    "/ipp/v1/enrollments",
];

/// No body, in the `(spec, body)` tables.
pub const NONE: Value = Value::Null;

/// A well-formed UUID that names nothing.
pub const UNKNOWN: &str = "0190c0de-0000-7000-8000-000000000042";

/// Asserts `400 BAD_VALUE` with a message `<path>: …`; returns the messages joined.
pub fn bad_value(status: u16, body: &Value, path: &str) -> String {
    let msg = assert_error(status, body, 400, "BAD_VALUE");
    let prefix = format!("{path}: ");
    let named = msg.split(" | ").any(|m| m.starts_with(&prefix));
    assert!(named, "no message names {path}: {msg}");
    msg
}

/// The named fields of `body`, space separated, strings unquoted: `"ACTIVE 0"`.
pub fn pick(body: &Value, fields: &[&str]) -> String {
    let field = |f: &&str| match &body[*f] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    fields.iter().map(field).collect::<Vec<_>>().join(" ")
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
    let request = as_key(app, key, "POST /ipp/v1/locations");
    let (status, body) = send_json(request, json!({"name": "Shop"})).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

async fn enroll(app: &TestApp, ttl_ms: i64) -> (String, String) {
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
    let (_, page) = app.get("/ipp/v1/sessions").await;
    assert_eq!(page["total_elements"], 0, "nothing written");
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
    let (_, page) = app.get("/ipp/v1/sessions").await;
    assert_eq!(page["total_elements"], 0, "{path} {query} wrote a session");
}

both_backends!(each_session_field_rule_names_its_field, |app| {
    let (their_key, _) = other_merchant(&app).await;
    let request = as_key(&app, &their_key, "POST /ipp/v1/dev/devices");
    let (_, theirs) = send_json(request, json!({"name": "Their till"})).await;
    let long = "x".repeat(256);
    let many: Vec<Value> = (0..1001).map(|_| item("physical", 1)).collect();
    // Each patch replaces top-level fields of a valid cart; `null` removes the field.
    for (patch, path) in [
        (json!({"device_id": null}), "device_id"),
        (json!({"device_id": "till-1"}), "device_id"),
        (json!({"device_id": UNKNOWN}), "device_id"),
        (json!({"device_id": theirs["id"]}), "device_id"),
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
    app.session_on(&app.device_id).await;
});

both_backends!(expires_in_bounds_are_inclusive, |app| {
    for ttl in [10_000, 86_400_000] {
        let mut body = cart(&app.device_id, 500);
        body["expires_in"] = json!(ttl);
        let (status, session) = json_of(app.create_session(&body).await).await;
        assert_eq!(status, 200, "{ttl}: {session}");
        let id = session["session_id"].as_str().unwrap();
        let cancel = format!("PUT /ipp/v1/sessions/{id}/cancel");
        assert_eq!(call(&app, &cancel, NONE).await.0, 200);
    }
});

both_backends!(pos_calls_reject_bad_input_and_change_nothing, |app| {
    let session = app.session_on(&app.device_id).await;
    let id = session["session_id"].as_str().unwrap();
    let one = format!("GET /ipp/v1/sessions/{id}");
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
    let (_, got) = call(&app, &one, NONE).await;
    assert_eq!(pick(&got, &["status", "payment_method"]), "CREATED null");

    let (status, _) = pos(&app, &pay, json!({"payment_method": "CARD_TAP"})).await;
    assert_eq!(status, 200);
    let finalize = format!("POST /ipp/v1/sessions/{id}/finalize");
    let attempt = "0190c0de-0000-7000-8000-0000000000a1";
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
    let (_, got) = call(&app, &one, NONE).await;
    let fields = ["status", "attempts", "failure_reason"];
    assert_eq!(pick(&got, &fields), "ACTIVE 0 null");
    // The rejected calls recorded no attempt: the same attempt_id now really pays.
    let body = json!({"attempt_id": attempt, "payment": sim("SUCCESS")});
    let (status, answer) = pos(&app, &finalize, body).await;
    assert_eq!(
        (status, answer["result"].as_str()),
        (200, Some("SUCCEEDED"))
    );
});

both_backends!(locations_and_enrollments_reject_bad_values, |app| {
    let long = "x".repeat(256);
    for (body, path) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "  "}), "name"),
        (json!({}), "name"),
        (json!({"name": 7}), "name"),
        (json!({"name": long}), "name"),
        (json!({"name": "Shop", "city": long}), "city"),
        (json!({"name": "Shop", "country": "se"}), "country"),
        (json!({"name": "Shop", "country": "SWE"}), "country"),
        (json!({"name": "Shop", "country": "S1"}), "country"),
    ] {
        let (status, err) = call(&app, "POST /ipp/v1/locations", body).await;
        bad_value(status, &err, path);
    }
    let (_, page) = app.get("/ipp/v1/locations").await;
    assert_eq!(page["total_elements"], 0, "{page}");
    for (body, path) in [
        (json!({"expires_in": 59_999}), "expires_in"),
        (json!({"expires_in": 604_800_001}), "expires_in"),
        (json!({"expires_in": "1h"}), "expires_in"),
        (json!({"location_id": UNKNOWN}), "location_id"),
        (json!({"location_id": "front"}), "location_id"),
    ] {
        let (status, err) = call(&app, "POST /ipp/v1/enrollments", body).await;
        bad_value(status, &err, path);
    }
    let (_, page) = app.get("/ipp/v1/enrollments?include_consumed=true").await;
    assert_eq!(page["total_elements"], 0, "{page}");
});

both_backends!(registration_treats_all_bad_codes_alike, |app| {
    let code = |code: &str| json!({"enrollment_code": code, "platform": "WEB"});
    let (status, err) = register(&app, code("ABCDE-FGHJK")).await;
    bad_value(status, &err, "enrollment_code");
    let unknown = err["error_messages"].clone();

    let (_, fresh) = enroll(&app, 7_200_000).await;
    for platform in [json!("PALM"), json!("web"), Value::Null] {
        let body = json!({"enrollment_code": fresh, "platform": platform});
        let (status, err) = register(&app, body).await;
        bad_value(status, &err, "platform");
    }
    let (status, device) = register(&app, code(&fresh)).await;
    assert_eq!(status, 201, "the bad platform used the code: {device}");
    let (status, err) = register(&app, code(&fresh)).await;
    bad_value(status, &err, "enrollment_code");
    assert_eq!(err["error_messages"], unknown, "used code");

    let (_, short) = enroll(&app, 60_000).await;
    app.clock.advance(chrono::Duration::seconds(61));
    let (status, err) = register(&app, code(&short)).await;
    bad_value(status, &err, "enrollment_code");
    assert_eq!(err["error_messages"], unknown, "expired code");

    let (id, cancelled) = enroll(&app, 7_200_000).await;
    let delete = format!("DELETE /ipp/v1/enrollments/{id}");
    assert_eq!(call(&app, &delete, NONE).await.0, 204);
    let (status, err) = register(&app, code(&cancelled)).await;
    bad_value(status, &err, "enrollment_code");
    assert_eq!(err["error_messages"], unknown, "cancelled code");

    let (status, err) = register(&app, json!({"platform": "WEB"})).await;
    bad_value(status, &err, "enrollment_code");
    let (_, page) = app.get("/ipp/v1/devices").await;
    assert_eq!(page["total_elements"], 2, "the simulated till and one more");
});

both_backends!(paging_and_filters_reject_bad_values, |app| {
    for list in LISTS {
        for (query, path) in [
            ("page_size=0", "page_size"),
            ("page_size=101", "page_size"),
            ("page_size=ten", "page_size"),
            ("page_number=-1", "page_number"),
            ("page_number=1.5", "page_number"),
        ] {
            let (status, err) = app.get(&format!("{list}?{query}")).await;
            assert_eq!(status, 400, "{list}?{query}: {err}");
            bad_value(status, &err, path);
        }
        for ok in ["page_size=1", "page_size=100&page_number=3"] {
            let (status, body) = app.get(&format!("{list}?{ok}")).await;
            assert_eq!(status, 200, "{list}?{ok}: {body}");
        }
    }
    let session = app.session_on(&app.device_id).await;
    let one = session["session_id"].as_str().unwrap();
    let one = format!("/ipp/v1/sessions/{one}");
    for (path, field) in [
        ("/ipp/v1/sessions?status=DONE".to_string(), "status"),
        ("/ipp/v1/sessions?status=CREATED,NOPE".into(), "status"),
        ("/ipp/v1/sessions?status=created".into(), "status"),
        ("/ipp/v1/sessions?device_id=till-1".into(), "device_id"),
        ("/ipp/v1/sessions?location_id=front".into(), "location_id"),
        ("/ipp/v1/sessions?created_after=2pm".into(), "created_after"),
        ("/ipp/v1/devices?metadata=nocolon".into(), "metadata"),
        ("/ipp/v1/devices?metadata=:v".into(), "metadata"),
        (format!("{one}?wait=31"), "wait"),
        (format!("{one}?wait=-1"), "wait"),
        (format!("{one}?wait=1&if_status=PAID"), "if_status"),
    ] {
        let (status, err) = app.get(&path).await;
        bad_value(status, &err, field);
    }
    let (status, err) = pos(&app, "GET /ipp/v1/device/sessions?status=DONE", NONE).await;
    bad_value(status, &err, "status");
});

both_backends!(orders_refuse_over_capture_and_cancel_after_capture, |app| {
    let mut body = cart(&app.device_id, 12_500);
    body["auto_capture"] = json!(false);
    let (status, session) = json_of(app.create_session(&body).await).await;
    assert_eq!(status, 200, "{session}");
    let id = session["session_id"].as_str().unwrap();
    let tap = format!("POST /ipp/v1/dev/sessions/{id}/simulate-tap");
    let (status, answer) = call(&app, &tap, NONE).await;
    assert_eq!(status, 200, "{answer}");
    let order = answer["session"]["order_id"].as_str().unwrap();
    let order = format!("/ordermanagement/v1/orders/{order}");
    let capture = format!("POST {order}/captures");
    let refund = format!("POST {order}/refunds");
    let amounts = [json!(12_501), json!(0), json!(-1), json!("1"), json!(1.5)];
    for amount in amounts.into_iter().chain([Value::Null]) {
        let (status, err) = call(&app, &capture, json!({"captured_amount": amount})).await;
        bad_value(status, &err, "captured_amount");
    }
    let (status, err) = call(&app, &refund, json!({"refunded_amount": 1})).await;
    bad_value(status, &err, "refunded_amount");
    let (_, got) = app.get(&order).await;
    assert_eq!(pick(&got, &["status", "captured_amount"]), "AUTHORIZED 0");

    let (status, got) = call(&app, &capture, json!({"captured_amount": 12_500})).await;
    assert_eq!((status, pick(&got, &["status"])), (201, "CAPTURED".into()));
    let (status, err) = call(&app, &format!("POST {order}/cancel"), NONE).await;
    assert_error(status, &err, 409, "NOT_ALLOWED");
    let (status, err) = call(&app, &refund, json!({"refunded_amount": 12_501})).await;
    bad_value(status, &err, "refunded_amount");
    let (_, got) = app.get(&order).await;
    assert_eq!(pick(&got, &["status", "refunded_amount"]), "CAPTURED 0");
});

both_backends!(page_number_past_the_offset_range_is_answered, |app| {
    for list in LISTS {
        let path = format!("{list}?page_number=9223372036854775807");
        let (status, body) = app.get(&path).await;
        if status == 200 {
            assert_eq!(body["content"], json!([]), "{list}: {body}");
        } else {
            bad_value(status, &body, "page_number");
        }
    }
});

/// Accepted as sent, or `400 BAD_VALUE` naming `path`; never a 500.
fn stored_or_rejected(status: u16, body: &Value, path: &str) {
    if !(200..300).contains(&status) {
        bad_value(status, body, path);
    }
}

both_backends!(nul_characters_in_text_are_stored_or_rejected, |app| {
    let nul = "a\u{0}b";
    let mut body = cart(&app.device_id, 100);
    body["merchant_reference1"] = json!(nul);
    let (status, err) = json_of(app.create_session(&body).await).await;
    stored_or_rejected(status, &err, "merchant_reference1");
    let device = format!("PUT /ipp/v1/devices/{}", app.device_id);
    for (spec, body, field) in [
        ("POST /ipp/v1/locations", json!({"name": nul}), "name"),
        (
            "POST /ipp/v1/locations",
            json!({"name": "Shop", "city": nul}),
            "city",
        ),
        ("POST /ipp/v1/dev/devices", json!({"name": nul}), "name"),
        (&device, json!({"name": nul}), "name"),
        (
            "GET /ipp/v1/sessions?merchant_reference1=%00",
            NONE,
            "merchant_reference1",
        ),
        ("GET /ipp/v1/devices?metadata=a:%00", NONE, "metadata"),
    ] {
        let (status, err) = call(&app, spec, body).await;
        stored_or_rejected(status, &err, field);
    }
    let (_, code) = enroll(&app, 7_200_000).await;
    let body = json!({"enrollment_code": code, "platform": "WEB", "name": nul});
    let (status, err) = register(&app, body).await;
    stored_or_rejected(status, &err, "name");
});
