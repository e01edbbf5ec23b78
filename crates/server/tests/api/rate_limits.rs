//! Rate limits: a key's quota with the `RateLimit-*` headers and `429` once used up, counted
//! once per request; failed authentications per address; device calls untouched.

use crate::harness::*;
use kassa_server::config::RateLimit;
use kassa_store::Backend;
use reqwest::{Method, Response};
use serde_json::json;

/// Five requests, then one every twelve seconds: the test never earns one back.
async fn tight_app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.rate_limit = RateLimit::parse("rate_limit", "5/m", 5).unwrap();
        c.auth_failure_limit = RateLimit::parse("auth_failure_limit", "3/m", 3).unwrap();
    })
    .await
}

fn header(r: &Response, name: &str) -> Option<u64> {
    r.headers().get(name)?.to_str().ok()?.parse().ok()
}

fn quota(r: &Response) -> (Option<u64>, Option<u64>, Option<u64>) {
    (
        header(r, "ratelimit-limit"),
        header(r, "ratelimit-remaining"),
        header(r, "ratelimit-reset"),
    )
}

async fn a_key_is_limited_with_the_draft_headers(app: TestApp) {
    let list = || app.merchant(Method::GET, "/ipp/v1/locations").send();
    // The harness's set-up paired a simulated device with one request of the five.
    let first = list().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(quota(&first), (Some(5), Some(3), Some(24)));
    // An idempotent change authenticates in the idempotency layer and in the handler: it
    // still counts once.
    let created = app
        .merchant(Method::POST, "/ipp/v1/locations")
        .header("Idempotency-Key", "rate-1")
        .json(&json!({"name": "Main St", "country": "SE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(header(&created, "ratelimit-remaining"), Some(2));
    for left in [1, 0] {
        let r = list().await.unwrap();
        assert_eq!(
            (r.status().as_u16(), header(&r, "ratelimit-remaining")),
            (200, Some(left))
        );
    }
    let refused = list().await.unwrap();
    let (limit, remaining, reset) = quota(&refused);
    let retry_after = header(&refused, "retry-after").unwrap();
    assert!((1..=12).contains(&retry_after), "{retry_after}");
    assert_eq!(
        (limit, remaining, reset),
        (Some(5), Some(0), Some(retry_after))
    );
    let (status, body) = json_of(refused).await;
    assert_error(status, &body, 429, "RATE_LIMITED");
    // Devices are not limited by the merchant's quota.
    for _ in 0..3 {
        let r = app
            .device(Method::GET, "/ipp/v1/device/sessions", &app.device_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "ratelimit-limit"), None);
    }
}

async fn failed_authentications_block_the_address(app: TestApp) {
    for _ in 0..3 {
        let r = app
            .http
            .get(app.url("/ipp/v1/locations"))
            .header("Authorization", "Basic kassa_test_guessed")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(header(&r, "ratelimit-limit"), None);
    }
    // Refused before the key is looked up: the right key does not help.
    let r = app
        .merchant(Method::GET, "/ipp/v1/locations")
        .send()
        .await
        .unwrap();
    assert!(header(&r, "retry-after").is_some_and(|s| (1..=20).contains(&s)));
    let (status, body) = json_of(r).await;
    assert_error(status, &body, 429, "RATE_LIMITED");
    let r = app
        .device(Method::GET, "/ipp/v1/device/sessions", &app.device_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "device calls are not refused");
}

macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::tight_app(kassa_store::Backend::Sqlite).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::tight_app(kassa_store::Backend::Postgres).await).await
            }
        }
    };
}

on_both!(a_key_is_limited_with_the_draft_headers);
on_both!(failed_authentications_block_the_address);
