//! Rough in-process measurements (ignored; run with `--release -- --ignored --nocapture`):
//! first-attempt latency from the create response to the receiver at a fixed rate, and
//! sustained sessions created *and* their `ipp.session.created` delivered per second.
//! The benchmark of record is `kassa bench` (BENCHMARKS.md); this is the quick check.

use crate::harness::{cart, TestApp};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn arrive(State(a): State<Arrivals>, body: Bytes) -> StatusCode {
    let now = Instant::now();
    let v: Value = serde_json::from_slice(&body).unwrap();
    if v["type"] == "ipp.session.created" {
        let id = v["data"]["session_id"].as_str().unwrap().to_string();
        a.lock().unwrap().insert(id, now);
    }
    StatusCode::OK
}

async fn sink() -> (String, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/hook", post(arrive))
        .with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, arrivals)
}

async fn setup(backend: kassa_store::Backend, devices: usize) -> (TestApp, Arrivals, Vec<String>) {
    let app = TestApp::spawn(backend).await;
    let (url, arrivals) = sink().await;
    let r = app
        .merchant(reqwest::Method::POST, "/ipp/v1/webhook-endpoints")
        .json(&serde_json::json!({ "url": url, "events": ["ipp.session.created"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let mut ids = Vec::new();
    for i in 0..devices {
        ids.push(app.simulated_device(&format!("Till {i}")).await.0);
    }
    (app, arrivals, ids)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

async fn latency(backend: kassa_store::Backend) {
    let (app, arrivals, devices) = setup(backend, 1000).await;
    let rate = 200.0;
    let n = 1000;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (i, device) in devices.iter().take(n).enumerate() {
        tokio::time::sleep_until((start + Duration::from_secs_f64(i as f64 / rate)).into()).await;
        let req = app
            .merchant(reqwest::Method::POST, "/ipp/v1/sessions")
            .json(&cart(device, 100));
        tasks.push(tokio::spawn(async move {
            let r = req.send().await.unwrap();
            let done = Instant::now();
            let v: Value = r.json().await.unwrap();
            (v["session_id"].as_str().unwrap().to_string(), done)
        }));
    }
    let mut sent = Vec::new();
    for t in tasks {
        sent.push(t.await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let arrived = arrivals.lock().unwrap().clone();
    let mut lat: Vec<Duration> = sent
        .iter()
        .map(|(id, done)| arrived[id].saturating_duration_since(*done))
        .collect();
    lat.sort();
    println!(
        "{backend:?}: first-attempt latency at {rate}/s over {n}: p50 {:?} p99 {:?} max {:?}",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().unwrap()
    );
}

async fn throughput(backend: kassa_store::Backend) {
    let (app, arrivals, devices) = setup(backend, 64).await;
    let per_device = 50;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for device in devices {
        let (http, base, key) = (app.http.clone(), app.base.clone(), app.api_key.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_device {
                let r = http
                    .post(format!("{base}/ipp/v1/sessions"))
                    .header("Authorization", format!("Basic {key}"))
                    .json(&cart(&device, 100))
                    .send()
                    .await
                    .unwrap();
                let v: Value = r.json().await.unwrap();
                let id = v["session_id"].as_str().unwrap();
                http.put(format!("{base}/ipp/v1/sessions/{id}/cancel"))
                    .header("Authorization", format!("Basic {key}"))
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let total = 64 * per_device;
    while arrivals.lock().unwrap().len() < total {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{backend:?}: {total} sessions created, cancelled and their created event delivered in {secs:.2}s: {:.0}/s",
        total as f64 / secs
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn measure_sqlite() {
    latency(kassa_store::Backend::Sqlite).await;
    throughput(kassa_store::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn measure_postgres() {
    latency(kassa_store::Backend::Postgres).await;
    throughput(kassa_store::Backend::Postgres).await;
}
