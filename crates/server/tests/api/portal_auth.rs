//! The merchant portal's sign-in over real HTTP: login, the cookie's attributes, `me`,
//! sign-out, idle expiry, deleted users, the rate limit, and the cookie as merchant
//! authentication on the public API (tenancy, CSRF, viewers, idempotency).

use crate::auth::other_merchant;
use crate::bad_input::send;
use crate::both_backends;
use crate::harness::*;
use kassa_client::api::device::CreateSimulatedDevice;
use kassa_server::ServerMode;
use kassa_store::{Backend, PortalRole};
use reqwest::header::{CACHE_CONTROL, SET_COOKIE};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

/// A signed-in browser: its cookie, CSRF token and the raw session token.
struct Browser {
    cookie: String,
    csrf: String,
    token: String,
}

impl Browser {
    /// `spec` (`"GET /path"`) with the cookie (among others) and no CSRF token.
    fn call(&self, app: &TestApp, spec: &str) -> RequestBuilder {
        let (method, path) = spec.split_once(' ').unwrap();
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        app.http
            .request(method, app.url(path))
            .header("Cookie", format!("theme=dark; {}", self.cookie))
    }

    /// `spec` with the cookie and the CSRF token, as the portal's pages send it.
    fn change(&self, app: &TestApp, spec: &str) -> RequestBuilder {
        self.call(app, spec).header("X-CSRF-Token", &self.csrf)
    }
}

/// A portal user of `merchant` (the app's own when `None`).
async fn user(
    app: &TestApp,
    merchant: Option<kassa_core::MerchantId>,
    email: &str,
    role: PortalRole,
) {
    let merchant = merchant.unwrap_or_else(|| app.merchant_id.parse().unwrap());
    let (store, now) = (app.state.store.as_ref(), app.state.now());
    let made =
        kassa_server::seed::create_portal_user(store, merchant, email, role, Some(PASSWORD), now);
    made.await.unwrap();
}

async fn login(app: &TestApp, email: &str, password: &str) -> Response {
    let body = json!({"email": email, "password": password});
    let request = app.http.post(app.url("/portal/api/login")).json(&body);
    request.send().await.unwrap()
}

fn set_cookie(response: &Response) -> String {
    let value = response.headers().get(SET_COOKIE).expect("Set-Cookie");
    value.to_str().unwrap().to_string()
}

/// The session token in a `Set-Cookie` value.
fn token_in(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap();
    pair.strip_prefix("kassa_portal=").unwrap().to_string()
}

/// Signs in as a new user with `role` and returns the browser and the login answer.
async fn signed_in(app: &TestApp, email: &str, role: PortalRole) -> (Browser, Value) {
    user(app, None, email, role).await;
    let response = login(app, email, PASSWORD).await;
    assert_eq!(response.status(), 200);
    let token = token_in(&set_cookie(&response));
    let body: Value = response.json().await.unwrap();
    let browser = Browser {
        cookie: format!("kassa_portal={token}"),
        csrf: body["csrf_token"].as_str().unwrap().to_string(),
        token,
    };
    (browser, body)
}

/// Asserts a `403 FORBIDDEN` with exactly `message`.
fn forbidden(answer: (u16, Value), message: &str) {
    let (status, body) = answer;
    assert_eq!(assert_error(status, &body, 403, "FORBIDDEN"), message);
}

fn unauthorized(answer: (u16, Value)) {
    assert_error(answer.0, &answer.1, 401, "UNAUTHORIZED");
}

both_backends!(login_sets_a_strict_http_only_cookie_and_me_answers, |app| {
    user(&app, None, "ann@shop.example", PortalRole::Admin).await;
    let response = login(&app, "Ann@Shop.Example", PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let cookie = set_cookie(&response);
    let token = token_in(&cookie);
    assert_eq!(token.len(), 43);
    let attributes = "HttpOnly; SameSite=Strict; Path=/";
    assert_eq!(cookie, format!("kassa_portal={token}; {attributes}"));
    let text = response.text().await.unwrap();
    assert!(!text.contains(&token) && !text.contains(PASSWORD), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let user = &body["user"];
    assert_eq!(
        (&user["email"], &user["role"]),
        (&json!("ann@shop.example"), &json!("admin"))
    );
    assert_eq!(user["merchant_id"].as_str(), Some(app.merchant_id.as_str()));
    assert_eq!(user["merchant_name"], "Test shop");
    assert_eq!(body["mode"], "playground");
    let csrf = body["csrf_token"].as_str().unwrap();
    assert!(csrf.len() == 43 && csrf != token);

    let cookie = format!("kassa_portal={token}");
    let browser = Browser {
        cookie,
        csrf: csrf.into(),
        token,
    };
    assert_eq!(
        send(browser.call(&app, "GET /portal/api/me")).await,
        (200, body)
    );
    unauthorized(send(app.http.get(app.url("/portal/api/me"))).await);
});

both_backends!(
    wrong_password_and_unknown_email_get_the_same_answer,
    |app| {
        user(&app, None, "ann@shop.example", PortalRole::Admin).await;
        let attempts = [
            ("ann@shop.example", "wrong horse battery"),
            ("nobody@shop.example", PASSWORD),
        ];
        for (email, password) in attempts {
            let response = login(&app, email, password).await;
            assert!(response.headers().get(SET_COOKIE).is_none());
            let (status, err) = json_of(response).await;
            let message = assert_error(status, &err, 401, "UNAUTHORIZED");
            assert_eq!(message, "wrong email or password");
        }
        for body in [
            json!({"email": "ann@shop.example"}),
            json!({"email": "", "password": "x"}),
        ] {
            let (status, err) = send(app.http.post(app.url("/portal/api/login")).json(&body)).await;
            assert_error(status, &err, 400, "BAD_VALUE");
        }
    }
);

both_backends!(the_cookie_is_merchant_auth_within_its_merchant, |app| {
    let (browser, _) = signed_in(&app, "ann@shop.example", PortalRole::Admin).await;
    let mine = app.open_session(app.till_id()).await.session_id;
    let (status, list) = send(browser.call(&app, "GET /ipp/v1/sessions")).await;
    assert_eq!(status, 200, "{list}");
    assert!(list.to_string().contains(&mine.to_string()));
    let (status, _) = send(browser.call(&app, &format!("GET /ipp/v1/sessions/{mine}"))).await;
    assert_eq!(status, 200);

    let (their_key, _) = other_merchant(&app).await;
    let them = app.client_with_key(&their_key);
    let device = CreateSimulatedDevice {
        name: "Theirs".into(),
        ..Default::default()
    };
    let device = them.playground().create_device(&device).await.unwrap();
    let theirs = them.sessions().create(&new_cart(device.id, 100)).await;
    let path = format!("/ipp/v1/sessions/{}", theirs.unwrap().session_id);
    let (status, err) = send(browser.call(&app, &format!("GET {path}"))).await;
    assert_error(status, &err, 404, "NOT_FOUND");
    let (status, err) = send(browser.change(&app, &format!("PUT {path}/cancel"))).await;
    assert_error(status, &err, 404, "NOT_FOUND");

    // An Authorization header wins over the cookie, even a wrong one.
    let both = browser.call(&app, "GET /ipp/v1/sessions");
    unauthorized(send(both.header("Authorization", "Basic kassa_test_wrong")).await);
    // Device routes do not take the cookie.
    unauthorized(send(browser.call(&app, "GET /ipp/v1/device/sessions")).await);
});

both_backends!(changes_with_the_cookie_need_the_csrf_token, |app| {
    let (browser, _) = signed_in(&app, "ann@shop.example", PortalRole::Admin).await;
    let body = cart(&app.device_id, 100);
    let create = "POST /ipp/v1/sessions";
    let missing = browser.call(&app, create).json(&body);
    let wrong = browser
        .call(&app, create)
        .header("X-CSRF-Token", "A".repeat(43));
    for request in [missing, wrong.json(&body)] {
        forbidden(send(request).await, "missing or wrong CSRF token");
    }
    // With the token it works, and its Idempotency-Key is the merchant's, as an API key's.
    let keyed = |request: RequestBuilder| request.header("Idempotency-Key", "portal-1").json(&body);
    let (status, created) = send(keyed(browser.change(&app, create))).await;
    assert_eq!(status, 200, "{created}");
    let again = keyed(browser.change(&app, create)).send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let by_key = keyed(app.merchant(Method::POST, "/ipp/v1/sessions"));
    assert_eq!(send(by_key).await, (200, created));
});

both_backends!(viewers_read_but_cannot_change, |app| {
    let (viewer, body) = signed_in(&app, "val@shop.example", PortalRole::Viewer).await;
    assert_eq!(body["user"]["role"], "viewer");
    assert_eq!(send(viewer.call(&app, "GET /ipp/v1/sessions")).await.0, 200);
    let create = viewer.change(&app, "POST /ipp/v1/sessions");
    let refused = send(create.json(&cart(&app.device_id, 100))).await;
    forbidden(refused, "viewers cannot change anything");
    let device = format!("DELETE /ipp/v1/devices/{}", app.device_id);
    forbidden(
        send(viewer.change(&app, &device)).await,
        "viewers cannot change anything",
    );
    let out = viewer
        .change(&app, "POST /portal/api/logout")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204, "a viewer may sign out");
});

both_backends!(signing_out_ends_the_session, |app| {
    let (browser, _) = signed_in(&app, "ann@shop.example", PortalRole::Admin).await;
    let without = send(browser.call(&app, "POST /portal/api/logout")).await;
    forbidden(without, "missing or wrong CSRF token");
    let out = browser
        .change(&app, "POST /portal/api/logout")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let cleared = set_cookie(&out);
    let expected = "kassa_portal=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/";
    assert!(cleared.starts_with(expected), "{cleared}");
    assert!(!out.text().await.unwrap().contains(&browser.token));
    for spec in [
        "GET /portal/api/me",
        "GET /ipp/v1/sessions",
        "POST /portal/api/logout",
    ] {
        unauthorized(send(browser.change(&app, spec)).await);
    }
});

both_backends!(a_session_idle_for_12_hours_is_refused_and_deleted, |app| {
    let (browser, _) = signed_in(&app, "ann@shop.example", PortalRole::Admin).await;
    let me = || send(browser.call(&app, "GET /portal/api/me"));
    let almost = chrono::Duration::hours(12) - chrono::Duration::minutes(1);
    for _ in 0..2 {
        // Each use restarts the idle clock.
        app.clock.advance(almost);
        assert_eq!(me().await.0, 200);
    }
    app.clock.advance(chrono::Duration::hours(12));
    unauthorized(me().await);
    let hash = kassa_server::secrets::hash(&browser.token);
    let deleted = app.state.store.delete_portal_session(&hash).await.unwrap();
    assert!(!deleted, "the idle session is deleted when refused");
});

both_backends!(a_deleted_users_sessions_are_refused, |app| {
    let (browser, _) = signed_in(&app, "ann@shop.example", PortalRole::Admin).await;
    let store = &app.state.store;
    let found = store.find_portal_user("ann@shop.example").await.unwrap();
    let deleted = store.delete_portal_user(found.unwrap().user.id, app.state.now());
    assert!(deleted.await.unwrap());
    for spec in ["GET /portal/api/me", "GET /ipp/v1/sessions"] {
        unauthorized(send(browser.call(&app, spec)).await);
    }
    unauthorized(json_of(login(&app, "ann@shop.example", PASSWORD).await).await);
});

both_backends!(sign_in_is_rate_limited_per_email, |app| {
    user(&app, None, "ann@shop.example", PortalRole::Admin).await;
    let mut limited = None;
    for _ in 0..11 {
        let response = login(&app, "ann@shop.example", "wrong horse battery").await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), 401);
    }
    let limited = limited.expect("429 within 11 attempts");
    let wait = limited.headers()["retry-after"].to_str().unwrap();
    assert!(wait.parse::<u64>().unwrap() >= 1);
    let (status, err) = json_of(limited).await;
    assert_error(status, &err, 429, "RATE_LIMITED");
    // The right password waits too: the limit counts attempts, not failures.
    let right = login(&app, "ann@shop.example", PASSWORD).await;
    assert_eq!(right.status(), 429);
});

both_backends!(live_mode_cookies_are_secure_and_modes_do_not_mix, |app| {
    let backend = match app.state.config.database_url.starts_with("postgres") {
        true => Backend::Postgres,
        false => Backend::Sqlite,
    };
    let live = TestApp::spawn_with(backend, |c| c.mode = ServerMode::Live).await;
    user(&live, None, "live@shop.example", PortalRole::Admin).await;
    let response = login(&live, "live@shop.example", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let cookie = set_cookie(&response);
    let secure = "; HttpOnly; SameSite=Strict; Path=/; Secure";
    assert!(cookie.ends_with(secure), "{cookie}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["mode"], "live");

    // A playground merchant's user, signing in on a live server.
    let store = live.state.store.as_ref();
    let sandbox = kassa_server::seed::create_merchant(
        store,
        "Sandbox",
        kassa_store::Mode::Test,
        live.state.now(),
    );
    let (sandbox, _) = sandbox.await.unwrap();
    user(
        &live,
        Some(sandbox.id),
        "sandbox@shop.example",
        PortalRole::Admin,
    )
    .await;
    let refused = json_of(login(&live, "sandbox@shop.example", PASSWORD).await).await;
    forbidden(
        refused,
        "this user's merchant is a test merchant; sign in on a playground server",
    );
});
