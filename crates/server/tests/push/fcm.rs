//! The FCM HTTP v1 adapter against the fake Google.

use crate::fake_fcm::{FakeFcm, MALFORMED_TOKEN, SCOPE, UNREGISTERED_TOKEN};
use crate::{clock, device, CLIENT_EMAIL};
use axum::http::StatusCode;
use kassa_core::session::Platform;
use kassa_core::SessionId;
use kassa_server::clock::{Clock, ManualClock};
use kassa_server::push::{FcmClient, FcmConfig, NativePush, PushError, PushOutcome};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "bk3RNwTe3H0:CI2k_HHwgIpoDKCIZvvDMExUdFQ3P1";

pub fn config(fake: &FakeFcm) -> FcmConfig {
    FcmConfig {
        service_account_json: Some(fake.service_account_json(CLIENT_EMAIL)),
        base_url: Some(fake.url.clone()),
        ttl: "5m".into(),
        ..FcmConfig::default()
    }
}

async fn setup() -> (FakeFcm, FcmClient, Arc<ManualClock>) {
    let clock = clock();
    let fake = FakeFcm::start(clock.clone()).await;
    let client = FcmClient::new(&config(&fake), clock.clone()).unwrap();
    (fake, client, clock)
}

async fn notify(client: &FcmClient, token: &str) -> Result<PushOutcome, PushError> {
    client
        .notify(&device(Platform::Android, Some(token)), SessionId::new())
        .await
}

#[tokio::test]
async fn a_service_account_token_is_fetched_and_the_documented_message_sent() {
    let (fake, client, clock) = setup().await;
    let session = SessionId::new();
    let outcome = client
        .notify(&device(Platform::Android, Some(TOKEN)), session)
        .await
        .unwrap();
    assert_eq!(outcome, PushOutcome::Delivered);

    // The fake verified the RS256 signature, `kid`, grant type and claims.
    let google = fake.google.lock().unwrap();
    let now = clock.now().timestamp();
    assert_eq!(
        google.assertions,
        [serde_json::json!({
            "iss": CLIENT_EMAIL,
            "scope": SCOPE,
            "aud": fake.token_uri(),
            "iat": now,
            "exp": now + 3600,
        })]
    );
    assert_eq!(
        google.messages,
        [serde_json::json!({
            "token": TOKEN,
            "data": { "type": "session.created", "sessionId": session.to_string() },
            "android": { "priority": "high", "ttl": "300s" },
        })]
    );
}

#[tokio::test]
async fn the_access_token_is_reused_until_a_minute_before_it_expires() {
    let (fake, client, clock) = setup().await;
    notify(&client, TOKEN).await.unwrap();
    notify(&client, TOKEN).await.unwrap();
    // Google's token lives 3599 s; the client renews it from 3539 s.
    clock.advance(chrono::Duration::seconds(3538));
    notify(&client, TOKEN).await.unwrap();
    assert_eq!(fake.token_requests(), 1);
    clock.advance(chrono::Duration::seconds(2));
    notify(&client, TOKEN).await.unwrap();
    assert_eq!(fake.token_requests(), 2);
    assert_eq!(fake.messages().len(), 4);
}

#[tokio::test]
async fn unregistered_and_malformed_tokens_are_stale() {
    let (fake, client, _clock) = setup().await;
    let outcome = notify(&client, UNREGISTERED_TOKEN).await.unwrap();
    assert_eq!(outcome, PushOutcome::TokenStale, "404 UNREGISTERED");
    let outcome = notify(&client, MALFORMED_TOKEN).await.unwrap();
    assert_eq!(
        outcome,
        PushOutcome::TokenStale,
        "400 INVALID_ARGUMENT on message.token"
    );
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn a_refused_access_token_is_replaced_and_the_send_retried_once() {
    let (fake, client, _clock) = setup().await;
    notify(&client, TOKEN).await.unwrap();
    fake.google.lock().unwrap().revoke_next = true;
    let outcome = notify(&client, TOKEN).await.unwrap();
    assert_eq!(outcome, PushOutcome::Delivered);
    assert_eq!(fake.token_requests(), 2);
    assert_eq!(fake.messages().len(), 2);
}

#[tokio::test]
async fn quota_and_outages_are_retryable_with_retry_after() {
    let (fake, client, _clock) = setup().await;
    fake.google.lock().unwrap().fail_next = Some((
        StatusCode::TOO_MANY_REQUESTS,
        "RESOURCE_EXHAUSTED",
        "QUOTA_EXCEEDED",
    ));
    let err = notify(&client, TOKEN).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("QUOTA_EXCEEDED"), "{err}");

    fake.google.lock().unwrap().fail_next = Some((
        StatusCode::SERVICE_UNAVAILABLE,
        "UNAVAILABLE",
        "UNAVAILABLE",
    ));
    let err = notify(&client, TOKEN).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");

    // A wrong project is a configuration error; the device's token stays.
    fake.google.lock().unwrap().fail_next = Some((
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        "SENDER_ID_MISMATCH",
    ));
    let err = notify(&client, TOKEN).await.unwrap_err();
    assert!(matches!(err, PushError::Auth { .. }), "{err}");
}

#[tokio::test]
async fn retry_after_is_passed_on() {
    use axum::routing::post;
    let router = axum::Router::new()
        .route(
            "/token",
            post(|| async {
                axum::Json(serde_json::json!({ "access_token": "t", "expires_in": 3599 }))
            }),
        )
        .route(
            "/v1/projects/{p}/messages:send",
            post(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [("retry-after", "30")],
                    "{}",
                )
            }),
        );
    let url = crate::serve(router).await;
    let fake = FakeFcm {
        url: url.clone(),
        google: Arc::default(),
    };
    let client = FcmClient::new(&config(&fake), clock()).unwrap();
    let err = notify(&client, TOKEN).await.unwrap_err();
    assert!(
        matches!(
            err,
            PushError::Unavailable {
                status: 503,
                retry_after: Some(d),
                ..
            } if d == Duration::from_secs(30)
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_refused_grant_is_a_credentials_error() {
    let clock = clock();
    let fake = FakeFcm::start(clock.clone()).await;
    let config = FcmConfig {
        service_account_json: Some(fake.service_account_json("someone-else@example.com")),
        ..config(&fake)
    };
    let client = FcmClient::new(&config, clock).unwrap();
    let err = notify(&client, TOKEN).await.unwrap_err();
    assert!(matches!(err, PushError::Auth { .. }), "{err}");
    assert!(err.to_string().contains("invalid_grant"), "{err}");
    assert!(!err.is_retryable());
}

#[test]
fn a_file_that_is_not_a_service_account_fails_at_construction() {
    let config = FcmConfig {
        service_account_json: Some(r#"{"type":"authorized_user","client_id":"x"}"#.into()),
        ..FcmConfig::default()
    };
    assert!(FcmClient::new(&config, clock()).is_err());
}
