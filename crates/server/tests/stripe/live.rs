//! Against real Stripe, in test mode, for a maintainer with a key: set
//! `KASSA_STRIPE_TEST_KEY=sk_test_…` and run `cargo test -p kassa-server --test stripe live`.
//! Without the key (CI, and this machine, which has no internet) it says so and does
//! nothing: no test may send traffic off the machine unasked.

use crate::api::{cart, json_of, TestApp};
use kassa_server::processors::config::StripeConfig;
use kassa_store::Backend;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn a_phone_payment_is_prepared_verified_and_cancelled_at_real_stripe() {
    let Ok(key) = std::env::var("KASSA_STRIPE_TEST_KEY") else {
        eprintln!("skipped: set KASSA_STRIPE_TEST_KEY=sk_test_… to run against Stripe's test mode");
        return;
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.processors.stripe = Some(StripeConfig {
            secret_key: key,
            webhook_secret: None,
            api_base: "https://api.stripe.com".into(),
            timeout: Duration::from_secs(20),
        });
    })
    .await;
    let send = |method: Method, path: &str, body: Value| {
        let request = app.merchant(method, path).json(&body);
        async move { json_of(request.send().await.unwrap()).await }
    };
    let (_, enrollment) = send(Method::POST, "/ipp/v1/enrollments", json!({})).await;
    let body = json!({"enrollment_code": enrollment["enrollment_code"], "platform": "ANDROID"});
    let (status, phone) = json_of(
        app.http
            .post(app.url("/ipp/v1/devices"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{phone}");
    let token = phone["credentials"]["bearer_token"].as_str().unwrap();
    let (status, session) = send(
        Method::POST,
        "/ipp/v1/sessions",
        cart(phone["id"].as_str().unwrap(), 1_000),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    let id = session["session_id"].as_str().unwrap();
    let pay = app.device(
        Method::PUT,
        &format!("/ipp/v1/sessions/{id}/payment"),
        token,
    );
    let (status, active) = json_of(
        pay.json(&json!({"payment_method": "CARD_TAP"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{active}");
    let pi = active["processor"]["payment_intent"].as_str().unwrap();
    let finalize = app.device(
        Method::POST,
        &format!("/ipp/v1/sessions/{id}/finalize"),
        token,
    );
    let body = json!({"attempt_id": uuid::Uuid::new_v4(), "payment": {"processor": "stripe", "reference": pi}});
    let (status, err) = json_of(finalize.json(&body).send().await.unwrap()).await;
    assert_eq!(status, 409, "no card was collected: {err}");
    let token_call = app.device(Method::POST, "/ipp/v1/device/connection-token", token);
    let (status, secret) = json_of(token_call.send().await.unwrap()).await;
    assert_eq!(status, 200, "{secret}");
    let (status, cancelled) = send(
        Method::PUT,
        &format!("/ipp/v1/sessions/{id}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("CANCELLED")),
        "{cancelled}"
    );
}
