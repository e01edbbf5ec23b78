//! Crashes and several nodes: a committed event survives its node, and two nodes on one
//! PostgreSQL database deliver each event once.

use crate::harness::{cart, TestApp};
use crate::receiver::Receiver;
use crate::WAIT;
use kassa_server::{App, Config};
use reqwest::Method;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;

/// A node serving the API on `config`'s database; with `workers` false it never dispatches,
/// which is what a node killed right after a commit looks like to the database.
async fn node(config: Config, workers: bool) -> Node {
    let app = App::build(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (state, store) = (app.state.clone(), app.store.clone());
    let task = if workers {
        tokio::spawn(async move {
            let _ = app.serve(listener).await;
        })
    } else {
        let router = kassa_server::http::router(app.state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        })
    };
    Node {
        base,
        task,
        state,
        store,
    }
}

struct Node {
    base: String,
    task: tokio::task::JoinHandle<()>,
    state: kassa_server::AppState,
    store: std::sync::Arc<kassa_store::SqlStore>,
}

async fn post(http: &reqwest::Client, base: &str, key: &str, path: &str, body: Value) -> Value {
    let r = http
        .request(Method::POST, format!("{base}{path}"))
        .header("Authorization", format!("Basic {key}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

crate::both_backends!(
    a_crash_between_commit_and_delivery_loses_nothing,
    |backend| {
        let mut config = Config::defaults();
        config.database_url = kassa_store::testing::fresh_database_url(backend)
            .await
            .unwrap();
        let first = node(config.clone(), false).await;
        let base = first.base.clone();
        let (_, key) = kassa_server::seed::create_merchant(
            first.state.store.as_ref(),
            "Shop",
            kassa_store::Mode::Test,
            first.state.now(),
        )
        .await
        .unwrap();
        let http = reqwest::Client::new();
        let rx = Receiver::start().await;
        let ep = post(
            &http,
            &base,
            &key,
            "/ipp/v1/webhook-endpoints",
            json!({"url": rx.url}),
        )
        .await;
        rx.accept_secret(ep["secret"].as_str().unwrap());
        let device = post(
            &http,
            &base,
            &key,
            "/ipp/v1/dev/devices",
            json!({"name": "Till"}),
        )
        .await;
        let session = post(
            &http,
            &base,
            &key,
            "/ipp/v1/sessions",
            cart(device["id"].as_str().unwrap(), 1_000),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(rx.got().is_empty());
        first.task.abort();
        first.store.close().await;
        drop(first);

        let _second = node(config, true).await;
        let got = rx.wait_for(1, WAIT).await;
        assert_eq!(got[0].body["type"], "ipp.session.created");
        assert_eq!(got[0].body["data"]["session_id"], session["session_id"]);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_on_one_postgres_deliver_each_event_once() {
    let a = TestApp::spawn(kassa_store::Backend::Postgres).await;
    let b = node(a.state.config.as_ref().clone(), true).await;
    let b_base = b.base.clone();
    let rx = Receiver::start().await;
    crate::endpoint(&a, &rx, None).await;
    let mut handles = Vec::new();
    for i in 0..20 {
        let (device, _) = a.simulated_device(&format!("Till {i}")).await;
        // Half the sessions go through each node.
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b_base.clone()
        };
        let (http, key) = (a.http.clone(), a.api_key.clone());
        handles.push(tokio::spawn(async move {
            let s = post(&http, &base, &key, "/ipp/v1/sessions", cart(&device, 500)).await;
            let id = s["session_id"].as_str().unwrap();
            let r = http
                .put(format!("{base}/ipp/v1/sessions/{id}/cancel"))
                .header("Authorization", format!("Basic {key}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    rx.wait_for(40, WAIT).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let counts = crate::counts(&rx.got());
    assert_eq!(counts.len(), 40);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
}
