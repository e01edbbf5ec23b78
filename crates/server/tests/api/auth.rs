//! Authentication: wrong, revoked and mismatched keys, device tokens, key modes. Tenancy
//! (other merchants, other devices) is in `tenancy.rs`. The credentials under test are raw
//! headers (the typed clients send only good ones); set-up and the checks after are typed.

use crate::bad_input::{pos, send, send_json, split, total_sessions};
use crate::bad_input::{NONE, UNKNOWN, UNKNOWN_ID};
use crate::both_backends;
use crate::harness::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use kassa_client::api::device::{CreateEnrollment, RegisterDevice};
use kassa_client::{DeviceClient, DeviceFilter, ErrorCode, SessionFilter};
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
pub fn as_device(app: &TestApp, token: &str, spec: &str) -> RequestBuilder {
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

pub fn attempt() -> Value {
    json!({"attempt_id": UNKNOWN, "payment": {"processor": "simulated", "outcome": "SUCCESS"}})
}

pub const SESSIONS: &str = "GET /ipp/v1/sessions";

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
    assert_eq!(total_sessions(&app).await, 0);
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
    let written = total_sessions(&app).await;
    assert_eq!(written, 0, "a refused create writes nothing");
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
    let id = app.open_session(app.till_id()).await.session_id;
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
    let got = app.till().session(id).await.unwrap();
    assert_eq!(got.status, "CREATED");
    assert_eq!(total_sessions(&app).await, 1);
});

both_backends!(keys_only_work_on_a_server_of_their_mode, |app| {
    let live = TestApp::spawn_with(backend(&app), |c| c.mode = ServerMode::Live).await;
    let client = live.client();
    let sessions = total_sessions(&live).await;
    assert_eq!(sessions, 0, "a live key on a live server");
    let (test_key, _) = merchant_in(&live, Mode::Test).await;
    for auth in [format!("Basic {test_key}"), format!("Bearer {test_key}")] {
        let (status, err) = send(authed(&live, SESSIONS, &auth, "")).await;
        assert_error(status, &err, 403, "FORBIDDEN");
    }
    let (live_key, _) = merchant_in(&app, Mode::Live).await;
    let (status, err) = send(as_key(&app, &live_key, SESSIONS)).await;
    assert_error(status, &err, 403, "FORBIDDEN");
    let mine = app.client().sessions().list(&SessionFilter::default());
    mine.page(0).await.expect("a test key on the playground");

    let sim = client.playground().create_device(&Default::default());
    assert_api_error(sim.await, 404, ErrorCode::NotFound);
    let tap = client.playground().simulate_tap(UNKNOWN_ID, None);
    assert_api_error(tap.await, 404, ErrorCode::NotFound);
    let devices = client.devices().list(&DeviceFilter::default());
    let devices = devices.page(0).await.unwrap();
    assert_eq!(devices.total_elements, 0, "{devices:?}");

    // A live server never trusts the simulated processor.
    let enrollment = client.enrollments().create(&CreateEnrollment::default());
    let register = RegisterDevice {
        enrollment_code: enrollment.await.unwrap().enrollment_code.unwrap(),
        hardware_id: None,
        platform: "WEB".into(),
        name: None,
        push_token: None,
    };
    let (pos, device) = DeviceClient::register(&live.base, &register).await.unwrap();
    let session = client.sessions().create(&new_cart(device.id, 700)).await;
    let id = session.unwrap().session_id;
    // §9: with no processor configured a card cannot be taken, and nothing pretends it was.
    let card = pos.choose_payment(id, "CARD_TAP").await;
    let msg = assert_api_error(card, 409, ErrorCode::NotAllowed);
    assert!(msg.contains("no card processor is configured"), "{msg}");
    let swish = pos.choose_payment(id, "SWISH").await;
    assert!(
        swish.is_ok(),
        "other methods need no card processor: {swish:?}"
    );
    let finalize = pos
        .finalize(id, &simulated_payment(UNKNOWN_ID, "SUCCESS"))
        .await;
    assert_bad_value(finalize, "payment.processor");
    let got = client.sessions().get(id).await.unwrap();
    assert_eq!((got.status.as_str(), got.attempts), ("ACTIVE", 0));
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
