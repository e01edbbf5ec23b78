//! Authentication, tenancy and scope: wrong keys, other merchants, other devices.

use crate::bad_input::{bad_value, call, pick, pos, register, send, send_json, split};
use crate::bad_input::{NONE, UNKNOWN};
use crate::both_backends;
use crate::harness::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use kassa_server::ServerMode;
use kassa_store::{Backend, Mode};
use reqwest::RequestBuilder;
use serde_json::{json, Value};

/// A second merchant on the same server: its API key and id.
pub async fn other_merchant(app: &TestApp) -> (String, String) {
    merchant_in(app, Mode::Test).await
}

async fn merchant_in(app: &TestApp, mode: Mode) -> (String, String) {
    let store = app.state.store.as_ref();
    let created = kassa_server::seed::create_merchant(store, "Other", mode, app.state.now());
    let (merchant, key) = created.await.unwrap();
    (key, merchant.id.to_string())
}

/// `spec` (`"GET /path"`) with this Authorization header (none when empty) and, unless
/// empty, this `x-merchant-id`.
fn authed(app: &TestApp, spec: &str, auth: &str, claimed: &str) -> RequestBuilder {
    let (method, path) = split(spec);
    let mut request = app.http.request(method, app.url(path));
    if !auth.is_empty() {
        request = request.header("Authorization", auth);
    }
    match claimed {
        "" => request,
        id => request.header("x-merchant-id", id),
    }
}

/// `spec` with `key` in Kustom's raw Basic form.
pub fn as_key(app: &TestApp, key: &str, spec: &str) -> RequestBuilder {
    authed(app, spec, &format!("Basic {key}"), "")
}

/// `spec` with this bearer (device) token.
fn as_device(app: &TestApp, token: &str, spec: &str) -> RequestBuilder {
    authed(app, spec, &format!("Bearer {token}"), "")
}

/// Standard Basic: `base64(user:key)`.
fn basic(user: &str, key: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{key}")))
}

fn backend(app: &TestApp) -> Backend {
    match app.state.config.database_url.starts_with("postgres") {
        true => Backend::Postgres,
        false => Backend::Sqlite,
    }
}

fn id_of<'a>(body: &'a Value, field: &str) -> &'a str {
    let id = body[field].as_str();
    id.unwrap_or_else(|| panic!("no {field} in {body}"))
}

fn attempt() -> Value {
    json!({"attempt_id": UNKNOWN, "payment": {"processor": "simulated", "outcome": "SUCCESS"}})
}

const SESSIONS: &str = "GET /ipp/v1/sessions";

both_backends!(missing_or_wrong_credentials_are_401, |app| {
    let order = format!("GET /ordermanagement/v1/orders/{UNKNOWN}");
    let anonymous = [
        (SESSIONS, NONE),
        ("POST /ipp/v1/sessions", cart(&app.device_id, 100)),
        ("GET /ipp/v1/devices", NONE),
        ("POST /ipp/v1/locations", json!({"name": "Shop"})),
        (&order, NONE),
        ("GET /ipp/v1/device/sessions", NONE),
    ];
    for (spec, body) in anonymous {
        let (status, err) = send_json(authed(&app, spec, "", ""), body).await;
        assert_error(status, &err, 401, "UNAUTHORIZED");
    }
    let request = authed(&app, "POST /ipp/v1/sessions", "", "").header("Idempotency-Key", "k1");
    let (status, err) = send_json(request, cart(&app.device_id, 100)).await;
    assert_error(status, &err, 401, "UNAUTHORIZED");
    let key = &app.api_key;
    let wrong = [
        "Basic kassa_test_wrong".to_string(),
        "Bearer kassa_test_wrong".into(),
        "Basic".into(),
        key.clone(),
        format!("Token {key}"),
        basic(&app.merchant_id, "kassa_test_wrong"),
        format!("Bearer {}", app.device_token.replace("kdt_", "kdt_x")),
    ];
    for auth in wrong {
        let (status, err) = send(authed(&app, SESSIONS, &auth, "")).await;
        assert_error(status, &err, 401, "UNAUTHORIZED");
    }
    let (_, page) = app.get("/ipp/v1/sessions").await;
    assert_eq!(page["total_elements"], 0);
});

both_backends!(a_revoked_key_is_401, |app| {
    let (key, _) = other_merchant(&app).await;
    let (status, _) = send(as_key(&app, &key, SESSIONS)).await;
    assert_eq!(status, 200);
    let revoked = app.state.store.revoke_api_key(&key[..18], app.state.now());
    assert!(revoked.await.unwrap());
    for auth in [format!("Basic {key}"), format!("Bearer {key}")] {
        let (status, err) = send(authed(&app, SESSIONS, &auth, "")).await;
        assert_error(status, &err, 401, "UNAUTHORIZED");
    }
    let (status, _) = app.get("/ipp/v1/sessions").await;
    assert_eq!(status, 200, "other keys still work");
});

both_backends!(key_forms_work_and_claimed_ids_must_match, |app| {
    let (_, other) = other_merchant(&app).await;
    let (key, me, other) = (
        app.api_key.as_str(),
        app.merchant_id.as_str(),
        other.as_str(),
    );
    let (raw, bearer) = (format!("Basic {key}"), format!("Bearer {key}"));
    let fine = [
        (raw.clone(), ""),
        (bearer.clone(), ""),
        (format!("bearer {key}"), ""),
        (basic(me, key), ""),
        (basic("", key), ""),
        (raw.clone(), me),
        (bearer.clone(), me),
        (basic("", key), me),
    ];
    for (auth, claimed) in fine {
        let (status, body) = send(authed(&app, SESSIONS, &auth, claimed)).await;
        assert_eq!(status, 200, "{auth} {claimed}: {body}");
    }
    let forbidden = [
        (basic(UNKNOWN, key), ""),
        (basic(other, key), ""),
        (raw.clone(), UNKNOWN),
        (raw.clone(), other),
        (bearer.clone(), other),
        (basic("", key), other),
    ];
    for (auth, claimed) in forbidden {
        let (status, err) = send(authed(&app, SESSIONS, &auth, claimed)).await;
        assert_error(status, &err, 403, "FORBIDDEN");
    }
    let create = authed(&app, "POST /ipp/v1/sessions", &raw, other);
    let (status, err) = send_json(create, cart(&app.device_id, 100)).await;
    assert_error(status, &err, 403, "FORBIDDEN");
    let (_, page) = app.get("/ipp/v1/sessions").await;
    assert_eq!(page["total_elements"], 0, "a refused create writes nothing");
});

both_backends!(x_merchant_id_is_checked_even_with_a_basic_username, |app| {
    let auth = basic(&app.merchant_id, &app.api_key);
    let (status, err) = send(authed(&app, SESSIONS, &auth, UNKNOWN)).await;
    assert_error(status, &err, 403, "FORBIDDEN");
});

both_backends!(
    authentication_comes_before_the_idempotency_key_check,
    |app| {
        let long = "k".repeat(256);
        for auth in ["", "Basic kassa_test_wrong"] {
            let request = authed(&app, "POST /ipp/v1/sessions", auth, "");
            let request = request.header("Idempotency-Key", &long);
            let (status, err) = send_json(request, json!({})).await;
            assert_error(status, &err, 401, "UNAUTHORIZED");
        }
    }
);

both_backends!(device_tokens_and_merchant_keys_keep_apart, |app| {
    let session = app.session_on(&app.device_id).await;
    let id = id_of(&session, "session_id");
    let device = format!("GET /ipp/v1/devices/{}", app.device_id);
    let order = format!("GET /ordermanagement/v1/orders/{UNKNOWN}");
    let tap = format!("POST /ipp/v1/dev/sessions/{id}/simulate-tap");
    let merchant_only = [
        (SESSIONS, NONE),
        ("POST /ipp/v1/sessions", cart(&app.device_id, 100)),
        ("GET /ipp/v1/devices", NONE),
        (&device, NONE),
        ("POST /ipp/v1/locations", json!({"name": "Shop"})),
        ("POST /ipp/v1/enrollments", json!({})),
        (&order, NONE),
        ("POST /ipp/v1/dev/devices", json!({"name": "Sneaky"})),
        (&tap, NONE),
    ];
    for (spec, body) in merchant_only {
        let (status, err) = pos(&app, spec, body).await;
        assert_eq!(status, 401, "{spec} with a device token: {err}");
        assert_error(status, &err, 401, "UNAUTHORIZED");
    }
    let key = &app.api_key;
    let pay = format!("PUT /ipp/v1/sessions/{id}/payment");
    let finalize = format!("POST /ipp/v1/sessions/{id}/finalize");
    let card = json!({"payment_method": "CARD_TAP"});
    let device_only = [
        (as_key(&app, key, &pay), card.clone()),
        (as_device(&app, key, &pay), card),
        (as_key(&app, key, &finalize), attempt()),
        (as_key(&app, key, "GET /ipp/v1/device/sessions"), NONE),
    ];
    for (request, body) in device_only {
        let (status, err) = send_json(request, body).await;
        assert_error(status, &err, 401, "UNAUTHORIZED");
    }
    let (status, got) = pos(&app, &format!("GET /ipp/v1/sessions/{id}"), NONE).await;
    assert_eq!((status, got["status"].as_str()), (200, Some("CREATED")));
    let (_, page) = app.get("/ipp/v1/sessions").await;
    assert_eq!(page["total_elements"], 1, "{page}");
});

both_backends!(another_merchant_gets_404_for_everything, |app| {
    let (_, location) = call(&app, "POST /ipp/v1/locations", json!({"name": "Shop"})).await;
    let location = id_of(&location, "id");
    let (_, enrollment) = call(&app, "POST /ipp/v1/enrollments", json!({})).await;
    let enrollment = id_of(&enrollment, "enrollment_id");
    let paid = app.session_on(&app.device_id).await;
    let paid = id_of(&paid, "session_id");
    let tap = format!("POST /ipp/v1/dev/sessions/{paid}/simulate-tap");
    let (_, tapped) = call(&app, &tap, NONE).await;
    let order = id_of(&tapped["session"], "order_id");
    let order = format!("/ordermanagement/v1/orders/{order}");
    let open = app.session_on(&app.device_id).await;
    let open = format!("/ipp/v1/sessions/{}", id_of(&open, "session_id"));
    let device = format!("/ipp/v1/devices/{}", app.device_id);

    let (their_key, _) = other_merchant(&app).await;
    let request = as_key(&app, &their_key, "POST /ipp/v1/dev/devices");
    let (_, theirs) = send_json(request, json!({"name": "Theirs"})).await;
    let their_token = theirs["credentials"]["bearer_token"].as_str().unwrap();
    let open_tap = open.replace("/ipp/v1/sessions", "/ipp/v1/dev/sessions");
    let calls = [
        (format!("GET {open}"), NONE),
        (format!("GET /ipp/v1/sessions/{paid}/events"), NONE),
        (format!("PUT {open}/cancel"), NONE),
        (format!("POST {open_tap}/simulate-tap"), NONE),
        (format!("GET {device}"), NONE),
        (format!("PUT {device}"), json!({"name": "Mine now"})),
        (format!("DELETE {device}"), NONE),
        (format!("GET /ipp/v1/locations/{location}"), NONE),
        (format!("DELETE /ipp/v1/enrollments/{enrollment}"), NONE),
        (format!("GET {order}"), NONE),
        (
            format!("POST {order}/refunds"),
            json!({"refunded_amount": 1}),
        ),
        (format!("POST {order}/cancel"), NONE),
    ];
    for (spec, body) in calls {
        let (status, err) = send_json(as_key(&app, &their_key, &spec), body).await;
        assert_eq!(status, 404, "{spec}: {err}");
        assert_error(status, &err, 404, "NOT_FOUND");
    }
    let (_, unknown) = app.get(&format!("/ipp/v1/sessions/{UNKNOWN}")).await;
    let (_, err) = send(as_key(&app, &their_key, &format!("GET {open}"))).await;
    assert_eq!(err["error_messages"], unknown["error_messages"]);
    let by_their_device = [
        (format!("GET {open}"), NONE),
        (format!("PUT {open}/cancel"), NONE),
        (
            format!("PUT {open}/payment"),
            json!({"payment_method": "SWISH"}),
        ),
    ];
    for (spec, body) in by_their_device {
        let (status, err) = send_json(as_device(&app, their_token, &spec), body).await;
        assert_error(status, &err, 404, "NOT_FOUND");
    }

    let (_, got) = app.get(&open).await;
    assert_eq!(pick(&got, &["status", "payment_method"]), "CREATED null");
    let (_, got) = app.get(&device).await;
    assert_eq!(pick(&got, &["name"]), "Till 1");
    let (_, got) = app.get(&order).await;
    assert_eq!(pick(&got, &["status", "refunded_amount"]), "CAPTURED 0");
    let (status, _) = app.get(&format!("/ipp/v1/locations/{location}")).await;
    assert_eq!(status, 200);
    let (_, page) = app.get("/ipp/v1/enrollments").await;
    assert_eq!(page["total_elements"], 1, "{page}");
});

both_backends!(another_merchants_lists_never_show_ours, |app| {
    call(&app, "POST /ipp/v1/locations", json!({"name": "Shop"})).await;
    call(&app, "POST /ipp/v1/enrollments", json!({})).await;
    app.simulated_device("Till 2").await;
    app.session_on(&app.device_id).await;
    let (key, their_id) = other_merchant(&app).await;
    let request = as_key(&app, &key, "POST /ipp/v1/dev/devices");
    let (_, theirs) = send_json(request, json!({"name": "Theirs"})).await;
    let their_token = theirs["credentials"]["bearer_token"].as_str().unwrap();
    let (_, devices) = send(as_key(&app, &key, "GET /ipp/v1/devices?page_size=100")).await;
    let devices = devices["content"].as_array().unwrap();
    let ids: Vec<_> = devices.iter().map(|d| d["id"].clone()).collect();
    assert_eq!(ids, vec![theirs["id"].clone()], "{devices:?}");
    let all_theirs = devices
        .iter()
        .all(|d| d["merchant_id"] == their_id.as_str());
    assert!(all_theirs, "{devices:?}");
    let lists = [
        SESSIONS.to_string(),
        format!("GET /ipp/v1/sessions?device_id={}", app.device_id),
        "GET /ipp/v1/locations".into(),
        "GET /ipp/v1/enrollments?include_consumed=true".into(),
    ];
    for spec in lists {
        let (status, page) = send(as_key(&app, &key, &spec)).await;
        assert_eq!(status, 200, "{spec}: {page}");
        assert_eq!(page["total_elements"], 0, "{spec}: {page}");
    }
    let catch_up = as_device(&app, their_token, "GET /ipp/v1/device/sessions");
    let (_, page) = send(catch_up).await;
    assert_eq!(page["content"], json!([]), "{page}");
    let (_, mine) = app.get("/ipp/v1/devices").await;
    assert_eq!(mine["total_elements"], 2, "{mine}");
});

both_backends!(another_device_of_the_merchant_gets_404, |app| {
    let (_, other) = app.simulated_device("Till 2").await;
    let session = app.session_on(&app.device_id).await;
    let one = format!("/ipp/v1/sessions/{}", id_of(&session, "session_id"));
    let pay = format!("PUT {one}/payment");
    let intrusions = [
        (format!("GET {one}"), NONE),
        (format!("GET {one}/events"), NONE),
        (pay.clone(), json!({"payment_method": "KLARNA"})),
        (format!("POST {one}/finalize"), attempt()),
        (format!("PUT {one}/cancel"), NONE),
    ];
    for (spec, body) in intrusions.iter().cloned() {
        let (status, err) = send_json(as_device(&app, &other, &spec), body).await;
        assert_error(status, &err, 404, "NOT_FOUND");
    }
    let (_, page) = send(as_device(&app, &other, "GET /ipp/v1/device/sessions")).await;
    assert_eq!(page["content"], json!([]), "{page}");
    let (status, _) = pos(&app, &pay, json!({"payment_method": "CARD_TAP"})).await;
    assert_eq!(status, 200);
    for (spec, body) in intrusions {
        let (status, err) = send_json(as_device(&app, &other, &spec), body).await;
        assert_error(status, &err, 404, "NOT_FOUND");
    }
    let (_, got) = app.get(&one).await;
    let fields = ["status", "payment_method", "attempts"];
    assert_eq!(pick(&got, &fields), "ACTIVE CARD_TAP 0");
});

both_backends!(keys_only_work_on_a_server_of_their_mode, |app| {
    let live = TestApp::spawn_with(backend(&app), |c| c.mode = ServerMode::Live).await;
    let (status, body) = live.get("/ipp/v1/sessions").await;
    assert_eq!(status, 200, "a live key on a live server: {body}");
    let (test_key, _) = merchant_in(&live, Mode::Test).await;
    for auth in [format!("Basic {test_key}"), format!("Bearer {test_key}")] {
        let (status, err) = send(authed(&live, SESSIONS, &auth, "")).await;
        assert_error(status, &err, 403, "FORBIDDEN");
    }
    let (live_key, _) = merchant_in(&app, Mode::Live).await;
    let (status, err) = send(as_key(&app, &live_key, SESSIONS)).await;
    assert_error(status, &err, 403, "FORBIDDEN");
    let (status, _) = app.get("/ipp/v1/sessions").await;
    assert_eq!(status, 200, "a test key on the playground");

    let (status, err) = call(&live, "POST /ipp/v1/dev/devices", json!({"name": "Sim"})).await;
    assert_error(status, &err, 404, "NOT_FOUND");
    let tap = format!("POST /ipp/v1/dev/sessions/{UNKNOWN}/simulate-tap");
    let (status, err) = call(&live, &tap, NONE).await;
    assert_error(status, &err, 404, "NOT_FOUND");
    let (_, devices) = live.get("/ipp/v1/devices").await;
    assert_eq!(devices["total_elements"], 0, "{devices}");

    // A live server never trusts the simulated processor.
    let (_, enrollment) = call(&live, "POST /ipp/v1/enrollments", json!({})).await;
    let body = json!({"enrollment_code": enrollment["enrollment_code"], "platform": "WEB"});
    let (status, device) = register(&live, body).await;
    assert_eq!(status, 201, "{device}");
    let token = device["credentials"]["bearer_token"].as_str().unwrap();
    let session = live.create_session(&cart(id_of(&device, "id"), 700)).await;
    let (status, session) = json_of(session).await;
    assert_eq!(status, 200, "{session}");
    let one = format!("/ipp/v1/sessions/{}", id_of(&session, "session_id"));
    let pay = as_device(&live, token, &format!("PUT {one}/payment"));
    let (status, _) = send_json(pay, json!({"payment_method": "CARD_TAP"})).await;
    assert_eq!(status, 200);
    let finalize = as_device(&live, token, &format!("POST {one}/finalize"));
    let (status, err) = send_json(finalize, attempt()).await;
    bad_value(status, &err, "payment.processor");
    let (_, got) = live.get(&one).await;
    assert_eq!(pick(&got, &["status", "attempts"]), "ACTIVE 0");
});

both_backends!(correlation_id_header_matches_the_body, |app| {
    let key = &app.api_key;
    let unknown = format!("GET /ipp/v1/sessions/{UNKNOWN}");
    let errors = [
        as_key(&app, key, &unknown),
        authed(&app, SESSIONS, "", ""),
        authed(&app, SESSIONS, &format!("Basic {key}"), UNKNOWN),
        as_key(&app, key, "GET /ipp/v1/sessions?page_size=0"),
        as_key(&app, key, "POST /ipp/v1/sessions").header("content-type", "application/json"),
        as_key(&app, key, "DELETE /ipp/v1/sessions"),
        as_key(&app, key, "GET /ipp/v1/no-such-route"),
    ];
    for request in errors {
        let response = request.body("{").send().await.unwrap();
        let header = response.headers().get("correlation-id").cloned();
        let header = header.map(|h| h.to_str().unwrap().to_string());
        let (status, body) = json_of(response).await;
        assert!(status >= 400, "{status} {body}");
        let id = body["correlation_id"].as_str();
        assert!(id.is_some_and(|c| !c.is_empty()), "{body}");
        assert_eq!(header.as_deref(), id, "{status} {body}");
    }
    let mut seen = Vec::new();
    let create = as_key(&app, key, "POST /ipp/v1/sessions").json(&cart(&app.device_id, 100));
    for request in [as_key(&app, key, SESSIONS), create] {
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let header = response.headers().get("correlation-id");
        let header = header.expect("correlation-id on 2xx").to_str().unwrap();
        assert!(
            !header.is_empty() && !seen.contains(&header.to_string()),
            "{header}"
        );
        seen.push(header.to_string());
    }
});
