//! The service end to end: a session created for an iOS POS reaches it through APNs at once,
//! and one listening on the stream is not pushed twice.

use crate::clock;
use crate::fake_apns::FakeApns;
use kassa_server::push::PushConfig;
use kassa_server::{App, Config};
use kassa_store::{Backend, Mode};
use serde_json::{json, Value};
use std::time::Duration;

const IOS_TEST_TOKEN: &str = "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad";

async fn serve(backend: Backend, apns: &FakeApns) -> (String, String) {
    let mut config = Config::defaults();
    config.database_url = kassa_store::testing::fresh_database_url(backend)
        .await
        .unwrap();
    config.push = PushConfig {
        apns: Some(crate::apns::config(&apns.url)),
        fcm: None,
    };
    let app = App::build_with_clock(config, clock()).await.unwrap();
    let (_, key) = kassa_server::seed::create_merchant(
        app.state.store.as_ref(),
        "Push shop",
        Mode::Test,
        app.state.now(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(app.serve(listener));
    (base, key)
}

async fn run(backend: Backend) {
    let apns = FakeApns::start(clock()).await;
    let (base, key) = serve(backend, &apns).await;
    let http = reqwest::Client::new();
    let auth = format!("Basic {key}");
    let enrollment: Value = http
        .post(format!("{base}/ipp/v1/enrollments"))
        .header("Authorization", &auth)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let register = json!({"enrollment_code": enrollment["enrollment_code"], "platform": "IOS", "push_token": IOS_TEST_TOKEN});
    let device: Value = http
        .post(format!("{base}/ipp/v1/devices"))
        .json(&register)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cart = json!({"device_id": device["id"], "order_amount": 100, "purchase_currency": "SEK",
        "order_items": [{"name": "Tea", "unit_price": 100, "total_amount": 100, "tax_rate": 0, "total_tax_amount": 0}]});
    let session: Value = http
        .post(format!("{base}/ipp/v1/sessions"))
        .header("Authorization", &auth)
        .json(&cart)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while apns.accepted().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let accepted = apns.accepted();
    assert_eq!(accepted.len(), 1, "one push for one session");
    assert_eq!(accepted[0].device_token, IOS_TEST_TOKEN);
    assert_eq!(
        accepted[0].payload["sessionId"], session["session_id"],
        "{}",
        accepted[0].payload
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_session_is_pushed_to_an_ios_pos_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_session_is_pushed_to_an_ios_pos_postgres() {
    run(Backend::Postgres).await;
}
