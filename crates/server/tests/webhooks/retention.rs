//! Retention: events (with their delivery log) and idempotency keys older than configured go;
//! sessions stay.

use crate::harness::{cart, json_of, TestApp};
use reqwest::Method;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

async fn create(app: &TestApp, device: &str, key: &str) -> Value {
    let r = app
        .merchant(Method::POST, "/ipp/v1/sessions")
        .header("Idempotency-Key", key)
        .json(&cart(device, 700))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(r).await;
    assert_eq!(status, 200, "{body}");
    body
}

crate::both_backends!(past_retention_events_and_keys_go, |backend| {
    let app = TestApp::spawn(backend).await;
    let (device, _) = app.simulated_device("Till").await;
    let first = create(&app, &device, "order-1").await;
    let created = "/ipp/v1/events?type=ipp.session.created";
    let (_, events) = app.get(created).await;
    assert_eq!(
        events["events"].as_array().map(Vec::len),
        Some(1),
        "{events}"
    );

    let stop = CancellationToken::new();
    let pruned = kassa_server::retention::prune_once(&app.state, &stop).await;
    assert_eq!(pruned.unwrap(), 0, "nothing is old yet");
    app.clock.advance(chrono::Duration::days(31));
    assert_eq!(
        kassa_server::retention::prune_once(&app.state, &stop)
            .await
            .unwrap(),
        1
    );
    let (_, events) = app.get(created).await;
    assert_eq!(
        events["events"].as_array().map(Vec::len),
        Some(0),
        "{events}"
    );
    let (status, _) = app
        .get(&format!(
            "/ipp/v1/sessions/{}",
            first["session_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200, "sessions stay");

    // The key is gone too: the same request is a new create, not a replay.
    kassa_server::sweeper::expire_once(&app.state)
        .await
        .unwrap();
    let again = create(&app, &device, "order-1").await;
    assert_ne!(again["session_id"], first["session_id"]);
});
