//! `kassa listen` end to end: a real server, the real binary, and a local receiver that
//! verifies the forwarded signatures.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use kassa_server::{App, Config};
use serde_json::{json, Value};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn receive(
    State(tx): State<mpsc::UnboundedSender<Value>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let key = standardwebhooks::Webhook::new(SECRET).unwrap();
    if key.verify(&body, &headers).is_err() {
        return StatusCode::UNAUTHORIZED;
    }
    let _ = tx.send(serde_json::from_slice(&body).unwrap());
    StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_forwards_new_events_signed() {
    let db = std::env::temp_dir().join(format!("kassa_listen_{}.db", uuid::Uuid::new_v4()));
    let mut config = Config::defaults();
    config.database_url = format!("sqlite://{}?mode=rwc", db.display());
    let app = App::build(config).await.unwrap();
    let (_, key) = kassa_server::seed::create_merchant(
        app.state.store.as_ref(),
        "Shop",
        kassa_store::Mode::Test,
        app.state.now(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = app.state.clone();
    tokio::spawn(app.serve(listener));

    let (tx, mut rx) = mpsc::unbounded_channel();
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let forward_to = format!("http://{}/hook", hook.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(tx);
    tokio::spawn(async move { axum::serve(hook, router).await });

    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{base}{path}"))
            .header("Authorization", format!("Basic {key}"))
    };
    let post = |path: &'static str, body: Value| {
        let request = call(reqwest::Method::POST, path).json(&body);
        async move {
            let answer = request.send().await.unwrap();
            assert!(answer.status().is_success(), "{path}: {}", answer.status());
            answer.json::<Value>().await.unwrap()
        }
    };
    let cancel = |id: &str| {
        let request = call(
            reqwest::Method::PUT,
            &format!("/ipp/v1/sessions/{id}/cancel"),
        );
        async move {
            let answer = request.send().await.unwrap();
            assert!(answer.status().is_success(), "cancel: {}", answer.status());
        }
    };
    let device = post("/ipp/v1/dev/devices", json!({"name": "Till"})).await;
    let device = device["id"].as_str().unwrap().to_string();
    let cart = |amount: i64| {
        json!({"device_id": device, "order_amount": amount, "purchase_currency": "SEK",
            "order_items": [{"name": "Tea", "quantity": 1, "unit_price": amount,
                "total_amount": amount, "tax_rate": 0, "total_tax_amount": 0}]})
    };
    // An event from before `listen` started: not forwarded without --replay.
    let old = post("/ipp/v1/sessions", cart(100)).await;
    cancel(old["session_id"].as_str().unwrap()).await;

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kassa"))
        .args(["listen", "--forward-to", &forward_to, "--url", &base])
        .args(["--api-key", &key, "--secret", SECRET])
        .env("KASSA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let started = tokio::time::timeout(Duration::from_secs(20), stderr.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(started.starts_with("Forwarding events"), "{started}");

    let new = post("/ipp/v1/sessions", cart(200)).await;
    let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event["type"], "ipp.session.created");
    assert_eq!(event["data"]["session_id"], new["session_id"]);

    // The event `listen` waits after goes past retention: it goes on from what is kept.
    let later = state.now() + chrono::Duration::days(1);
    let pruned = kassa_store::EventStore::prune_events(state.store.as_ref(), later, 1000).await;
    assert!(pruned.unwrap() >= 2);
    let new_id = new["session_id"].as_str().unwrap();
    cancel(new_id).await;
    let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event["type"], "ipp.session.cancelled");
    assert_eq!(event["data"]["session_id"], new_id);
    let _ = child.kill().await;
    let _ = std::fs::remove_file(&db);
}
