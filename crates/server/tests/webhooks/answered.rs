//! `ipp.session.created` goes out only once the create's answer has been handed to the
//! connection: with a layer outside the app that holds the answer's body back, the delivery
//! must wait for it.

use crate::harness::cart;
use crate::receiver::Receiver;
use crate::WAIT;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use futures::StreamExt;
use kassa_server::{App, Config};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;

const HELD_BACK: Duration = Duration::from_millis(600);

/// Sends every answer's body only after `HELD_BACK`, as a slow link would.
async fn slow_body(request: Request, next: Next) -> Response {
    let (parts, body) = next.run(request).await.into_parts();
    let pause = futures::stream::once(tokio::time::sleep(HELD_BACK))
        .filter_map(|()| async { None::<Result<axum::body::Bytes, axum::Error>> });
    Response::from_parts(
        parts,
        Body::from_stream(pause.chain(body.into_data_stream())),
    )
}

async fn post(http: &reqwest::Client, url: String, key: &str, body: Value) -> Value {
    let r = http
        .post(url)
        .header("Authorization", format!("Basic {key}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

crate::both_backends!(the_created_webhook_waits_for_the_answer, |backend| {
    let mut config = Config::defaults();
    config.database_url = kassa_store::testing::fresh_database_url(backend)
        .await
        .unwrap();
    let app = App::build(config).await.unwrap();
    let stop = app.stop_token();
    let dispatcher = tokio::spawn(kassa_server::webhooks::run(app.state.clone(), stop.clone()));
    let router =
        kassa_server::http::router(app.state.clone()).layer(axum::middleware::from_fn(slow_body));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, service).await;
    });
    let (_, key) = kassa_server::seed::create_merchant(
        app.state.store.as_ref(),
        "Shop",
        kassa_store::Mode::Test,
        app.state.now(),
    )
    .await
    .unwrap();
    let (http, rx) = (reqwest::Client::new(), Receiver::start().await);
    let endpoint = json!({"url": rx.url, "events": ["ipp.session.created"]});
    let ep = post(
        &http,
        format!("{base}/ipp/v1/webhook-endpoints"),
        &key,
        endpoint,
    )
    .await;
    rx.accept_secret(ep["secret"].as_str().unwrap());
    let device = json!({"name": "Till"});
    let device = post(&http, format!("{base}/ipp/v1/dev/devices"), &key, device).await;

    let body = cart(device["id"].as_str().unwrap(), 1_000);
    let (client, url) = (http.clone(), format!("{base}/ipp/v1/sessions"));
    let create = tokio::spawn(async move { post(&client, url, &key, body).await });
    tokio::time::sleep(HELD_BACK / 2).await;
    assert!(
        rx.got().is_empty(),
        "the delivery went out before the answer's body"
    );
    let session = create.await.unwrap();
    let got = rx.wait_for(1, WAIT).await;
    assert_eq!(got[0].body["data"]["session_id"], session["session_id"]);
    stop.cancel();
    let _ = dispatcher.await;
    server.abort();
});
