//! The APNs adapter against the fake APNs.

use crate::fake_apns::{FakeApns, BAD_TOKEN, UNREGISTERED_TOKEN};
use crate::{clock, device, KEYS, KEY_ID, TEAM_ID, TOPIC};
use axum::http::StatusCode;
use kassa_core::session::Platform;
use kassa_core::SessionId;
use kassa_server::clock::{Clock, ManualClock};
use kassa_server::push::{ApnsClient, ApnsConfig, NativePush, PushError, PushOutcome};
use std::sync::Arc;

const TOKEN: &str = "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad";

pub fn config(url: &str) -> ApnsConfig {
    ApnsConfig {
        key_pem: Some(KEYS.apns_pem.clone()),
        key_id: KEY_ID.into(),
        team_id: TEAM_ID.into(),
        topic: TOPIC.into(),
        base_url: Some(url.into()),
        ttl: "5m".into(),
        ..ApnsConfig::default()
    }
}

async fn setup() -> (FakeApns, ApnsClient, Arc<ManualClock>) {
    let clock = clock();
    let fake = FakeApns::start(clock.clone()).await;
    let client = ApnsClient::new(&config(&fake.url), clock.clone()).unwrap();
    (fake, client, clock)
}

async fn notify(client: &ApnsClient, token: &str) -> Result<PushOutcome, PushError> {
    client
        .notify(&device(Platform::Ios, Some(token)), SessionId::new())
        .await
}

#[tokio::test]
async fn an_alert_goes_out_exactly_as_apple_documents() {
    let (fake, client, clock) = setup().await;
    let session = SessionId::new();
    let outcome = client
        .notify(&device(Platform::Ios, Some(TOKEN)), session)
        .await
        .unwrap();
    assert_eq!(outcome, PushOutcome::Delivered);

    let [sent] = &fake.accepted()[..] else {
        panic!("expected one notification")
    };
    assert_eq!(sent.device_token, TOKEN);
    let header = |name: &str| sent.headers[name].to_str().unwrap().to_owned();
    assert_eq!(header("apns-topic"), TOPIC);
    assert_eq!(header("apns-push-type"), "alert");
    assert_eq!(header("apns-priority"), "10");
    let expiry = clock.now().timestamp() + 300;
    assert_eq!(header("apns-expiration"), expiry.to_string());
    assert_eq!(header("content-type"), "application/json");
    // The fake verified the signature; the claims are exactly iss and iat.
    assert_eq!(
        sent.jwt_claims,
        serde_json::json!({ "iss": TEAM_ID, "iat": clock.now().timestamp() })
    );
    assert_eq!(sent.payload["type"], "session.created");
    assert_eq!(sent.payload["sessionId"], session.to_string());
    assert_eq!(sent.payload["aps"]["alert"]["title"], "New payment");
    assert!(sent.payload["aps"].get("content-available").is_none());
}

#[tokio::test]
async fn one_provider_token_is_shared_and_replaced_after_40_minutes() {
    let (fake, client, clock) = setup().await;
    notify(&client, TOKEN).await.unwrap();
    // Apple answers TooManyProviderTokenUpdates to a provider that re-signs within 20 min.
    clock.advance(chrono::Duration::minutes(19));
    notify(&client, TOKEN).await.unwrap();
    clock.advance(chrono::Duration::minutes(20));
    notify(&client, TOKEN).await.unwrap();
    clock.advance(chrono::Duration::minutes(2));
    notify(&client, TOKEN).await.unwrap();

    let jwts: Vec<String> = fake.accepted().into_iter().map(|a| a.jwt).collect();
    assert_eq!(jwts.len(), 4);
    assert!(jwts[..3].iter().all(|j| *j == jwts[0]), "reused for 39 min");
    assert_ne!(jwts[3], jwts[0], "replaced after 41 min");
    let last = &fake.accepted()[3];
    assert_eq!(last.jwt_claims["iat"], clock.now().timestamp());
}

#[tokio::test]
async fn unregistered_and_bad_device_tokens_are_stale() {
    let (fake, client, _clock) = setup().await;
    let outcome = notify(&client, UNREGISTERED_TOKEN).await.unwrap();
    assert_eq!(outcome, PushOutcome::TokenStale, "410 Unregistered");
    let outcome = notify(&client, BAD_TOKEN).await.unwrap();
    assert_eq!(outcome, PushOutcome::TokenStale, "400 BadDeviceToken");
    assert_eq!(fake.requests(), 2);
    // Not hex, so not a device token: stale without asking Apple, and kept out of the path.
    let outcome = notify(&client, "../../3/device/x?y").await.unwrap();
    assert_eq!(outcome, PushOutcome::TokenStale);
    assert_eq!(fake.requests(), 2);
    assert!(fake.accepted().is_empty());
}

#[tokio::test]
async fn an_expired_provider_token_is_replaced_and_the_push_retried_once() {
    let (fake, client, _clock) = setup().await;
    notify(&client, TOKEN).await.unwrap();
    fake.script.lock().unwrap().expire_next = 1;
    let outcome = notify(&client, TOKEN).await.unwrap();
    assert_eq!(outcome, PushOutcome::Delivered);
    assert_eq!(fake.requests(), 3, "one refused, one retried");
    let accepted = fake.accepted();
    assert_ne!(
        accepted[1].jwt, accepted[0].jwt,
        "re-signed after the refusal"
    );
    // The new token is shared from then on.
    notify(&client, TOKEN).await.unwrap();
    assert_eq!(fake.accepted()[2].jwt, accepted[1].jwt);

    // Refused again after re-signing: a clock or key problem, not retried forever.
    fake.script.lock().unwrap().expire_next = 2;
    let err = notify(&client, TOKEN).await.unwrap_err();
    assert!(matches!(err, PushError::Auth { .. }), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(fake.requests(), 6);
}

#[tokio::test]
async fn throttling_and_outages_are_retryable_other_refusals_are_not() {
    let (fake, client, _clock) = setup().await;
    for (status, reason) in [
        (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests"),
        (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
    ] {
        fake.script.lock().unwrap().fail_next = Some((status, reason));
        let err = notify(&client, TOKEN).await.unwrap_err();
        assert!(err.is_retryable(), "{status}: {err}");
        assert!(err.to_string().contains(reason), "{err}");
    }
    fake.script.lock().unwrap().fail_next = Some((StatusCode::FORBIDDEN, "InvalidProviderToken"));
    let err = notify(&client, TOKEN).await.unwrap_err();
    assert!(matches!(err, PushError::Auth { .. }), "{err}");

    // A wrong topic is a configuration error: the device's token stays.
    let wrong = ApnsConfig {
        topic: "com.example.other".into(),
        ..config(&fake.url)
    };
    let client = ApnsClient::new(&wrong, crate::clock()).unwrap();
    let err = notify(&client, TOKEN).await.unwrap_err();
    assert!(
        matches!(&err, PushError::Rejected { status: 400, reason, .. } if reason == "DeviceTokenNotForTopic"),
        "{err}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn an_unreachable_apns_is_a_retryable_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = ApnsClient::new(&config(&url), crate::clock()).unwrap();
    let err = notify(&client, TOKEN).await.unwrap_err();
    assert!(matches!(err, PushError::Transport { .. }), "{err}");
    assert!(err.is_retryable());
}

#[test]
fn a_key_that_is_not_a_p256_pkcs8_key_fails_at_construction() {
    let config = ApnsConfig {
        key_pem: Some(KEYS.fcm_pem.clone()), // an RSA key
        ..config("http://127.0.0.1:1")
    };
    let err = ApnsClient::new(&config, crate::clock()).err().unwrap();
    assert!(err.to_string().contains("push.apns"), "{err}");
}
