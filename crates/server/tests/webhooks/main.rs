//! Webhook delivery end to end, on both backends: a real server, its dispatcher, and local
//! receivers that verify every signature.

mod answered;
mod endpoints;
#[path = "../api/harness.rs"]
#[allow(dead_code)]
mod harness;
mod measure;
mod receiver;
mod restart;
mod retention;
mod retries;
mod share;

use harness::TestApp;
use kassa_server::Config;
use receiver::Receiver;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// Declares `$name` once per backend; the body gets the backend as `$backend`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$backend:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($backend: kassa_store::Backend) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(kassa_store::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(kassa_store::Backend::Postgres).await
            }
        }
    };
}

const WAIT: Duration = Duration::from_secs(10);

/// Retries after 1 s and 2 s of (manual) clock time.
fn short_schedule(c: &mut Config) {
    c.webhook_retry_schedule = vec![
        Duration::ZERO,
        Duration::from_secs(1),
        Duration::from_secs(2),
    ];
}

/// Creates an endpoint and tells the receiver its secret. Returns (id, secret).
async fn endpoint(app: &TestApp, rx: &Receiver, events: Option<&[&str]>) -> (String, String) {
    let mut body = json!({"url": rx.url, "description": "test receiver"});
    if let Some(e) = events {
        body["events"] = json!(e);
    }
    let r = app
        .merchant(Method::POST, "/ipp/v1/webhook-endpoints")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, body) = harness::json_of(r).await;
    assert_eq!(status, 201, "{body}");
    let secret = body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    rx.accept_secret(&secret);
    (body["id"].as_str().unwrap().into(), secret)
}

async fn tap(app: &TestApp, session: &str, outcome: &str) -> Value {
    let r = app
        .merchant(
            Method::POST,
            &format!("/ipp/v1/dev/sessions/{session}/simulate-tap?outcome={outcome}"),
        )
        .send()
        .await
        .unwrap();
    let (status, body) = harness::json_of(r).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn cancel(app: &TestApp, session: &str) {
    let r = app
        .merchant(Method::PUT, &format!("/ipp/v1/sessions/{session}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

fn types_of(got: &[receiver::Delivery], session: &str) -> Vec<String> {
    got.iter()
        .filter(|d| d.body["data"]["session_id"] == session)
        .map(|d| d.body["type"].as_str().unwrap().to_string())
        .collect()
}

async fn deliveries_log(app: &TestApp, endpoint: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&format!(
            "/ipp/v1/webhook-endpoints/{endpoint}/deliveries?page_size=100"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    body["content"].as_array().unwrap().clone()
}

both_backends!(
    every_event_type_is_delivered_signed_and_in_order,
    |backend| {
        let app = TestApp::spawn_with(backend, |c| c.max_attempts = 2).await;
        let rx = Receiver::start().await;
        endpoint(&app, &rx, None).await;

        let paid = app.session_on(&app.device_id).await["session_id"]
            .as_str()
            .unwrap()
            .to_string();
        tap(&app, &paid, "INSUFFICIENT_FUNDS").await;
        tap(&app, &paid, "SUCCESS").await;
        let failed = app.session_on(&app.device_id).await["session_id"]
            .as_str()
            .unwrap()
            .to_string();
        tap(&app, &failed, "LOST_CARD").await;
        tap(&app, &failed, "STOLEN_CARD").await;
        let cancelled = app.session_on(&app.device_id).await["session_id"]
            .as_str()
            .unwrap()
            .to_string();
        cancel(&app, &cancelled).await;
        let mut short = harness::cart(&app.device_id, 700);
        short["expires_in"] = json!(10_000);
        let expired = app
            .create_session(&short)
            .await
            .json::<Value>()
            .await
            .unwrap()["session_id"]
            .as_str()
            .unwrap()
            .to_string();
        // Within the receivers' timestamp tolerance (5 min): the signature carries Kassa's clock.
        app.clock.advance(chrono::Duration::seconds(11));

        let got = rx.wait_for(13, WAIT).await;
        assert_eq!(
            types_of(&got, &paid),
            [
                "ipp.session.created",
                "ipp.session.activated",
                "ipp.payment.failed",
                "ipp.session.finalized"
            ]
        );
        assert_eq!(
            types_of(&got, &failed),
            [
                "ipp.session.created",
                "ipp.session.activated",
                "ipp.payment.failed",
                "ipp.payment.failed",
                "ipp.session.failed"
            ]
        );
        assert_eq!(
            types_of(&got, &cancelled),
            ["ipp.session.created", "ipp.session.cancelled"]
        );
        assert_eq!(
            types_of(&got, &expired),
            ["ipp.session.created", "ipp.session.expired"]
        );
        assert_eq!(rx.bad_signatures(), 0);
        // The envelope: Kustom's fields plus Kassa's.
        let fin = got
            .iter()
            .find(|d| d.body["type"] == "ipp.session.finalized")
            .unwrap();
        assert_eq!(fin.id, fin.body["id"].as_str().unwrap());
        assert!(fin.id.starts_with("kevt_"));
        assert_eq!(fin.body["merchant_id"], app.merchant_id.as_str());
        assert!(fin.body["data"]["order_id"].is_string());
        assert_eq!(fin.body["data"]["status"], "FINALIZED");
        assert_eq!(fin.body["data"]["previous_status"], "ACTIVE");
        assert_eq!(fin.body["data"]["merchant_reference1"], "order-42");
        let declined = got
            .iter()
            .find(|d| d.body["type"] == "ipp.payment.failed")
            .unwrap();
        assert_eq!(
            declined.body["data"]["failure_reason"],
            "INSUFFICIENT_FUNDS"
        );
        // Sequences rise per session.
        for s in [&paid, &failed, &cancelled, &expired] {
            let seq: Vec<i64> = got
                .iter()
                .filter(|d| d.body["data"]["session_id"] == s.as_str())
                .map(|d| d.body["data"]["sequence"].as_i64().unwrap())
                .collect();
            assert!(seq.windows(2).all(|w| w[0] < w[1]), "{seq:?}");
        }
        // Each event exactly once.
        let mut ids: Vec<&str> = got.iter().map(|d| d.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), got.len());
    }
);

both_backends!(a_filtered_endpoint_gets_only_its_types, |backend| {
    let app = TestApp::spawn_stepped(backend, |_| {}).await;
    let all = Receiver::start().await;
    let some = Receiver::start().await;
    endpoint(&app, &all, None).await;
    endpoint(&app, &some, Some(&["ipp.session.cancelled"])).await;
    let id = app.session_on(&app.device_id).await["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    cancel(&app, &id).await;
    assert_eq!(dispatch_all(&app).await, 3);
    assert_eq!(all.got().len(), 2);
    assert_eq!(types_of(&some.got(), &id), ["ipp.session.cancelled"]);
});

both_backends!(a_slow_receiver_does_not_block_another_endpoint, |backend| {
    let app = TestApp::spawn_with(backend, |c| {
        c.webhook_timeout = Duration::from_secs(2);
        short_schedule(c);
    })
    .await;
    let slow = Receiver::start().await;
    slow.delay(Duration::from_secs(5));
    let fast = Receiver::start().await;
    let (slow_ep, _) = endpoint(&app, &slow, None).await;
    endpoint(&app, &fast, None).await;
    let started = std::time::Instant::now();
    let id = app.session_on(&app.device_id).await["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    cancel(&app, &id).await;
    fast.wait_for(2, WAIT).await;
    assert!(
        started.elapsed() < Duration::from_millis(1_500),
        "{:?}",
        started.elapsed()
    );
    // The slow endpoint's attempt times out and is logged as such.
    let log = wait_for_attempts(&app, &slow_ep, 1).await;
    assert!(log[0]["status_code"].is_null(), "{log:?}");
    assert_eq!(log[0]["error"], "timed out");
});

/// Steps the dispatcher until a round finds nothing due; returns how many attempts it made.
/// The clock stands still meanwhile, so only what is due now goes out (a later event of a
/// session waits for its earlier one's first attempt, which is one round more).
async fn dispatch_all(app: &TestApp) -> usize {
    let mut total = 0;
    loop {
        match app.dispatch().await {
            0 => return total,
            n => total += n,
        }
    }
}

/// Polls the endpoint's log until it has `n` attempts (newest first).
async fn wait_for_attempts(app: &TestApp, endpoint: &str, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let log = deliveries_log(app, endpoint).await;
        if log.len() >= n {
            return log;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} attempts: {log:?}",
            log.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Counts deliveries per event id.
pub fn counts(got: &[receiver::Delivery]) -> HashMap<String, usize> {
    let mut c = HashMap::new();
    for d in got {
        *c.entry(d.id.clone()).or_default() += 1;
    }
    c
}
