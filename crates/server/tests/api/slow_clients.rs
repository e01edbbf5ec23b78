//! Slow and stalled clients against the real listener (127.0.0.1): the connection cap and
//! who gives way at it, the header, body and idle deadlines, what is not cut by them (a
//! long-poll, the device stream), and the answers hyper writes itself. Raw TCP where a
//! client has to misbehave. Listener behaviour does not depend on the database: SQLite only.

use crate::harness::*;
use futures::stream::{FuturesUnordered, StreamExt};
use kassa_server::Config;
use kassa_store::Backend;
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};

/// Bounds every wait in this file so a broken server fails a test instead of hanging it;
/// nothing here should take more than a fraction of it.
const PATIENCE: Duration = Duration::from_secs(5);
const HALF_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n";

async fn spawn(tweak: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, tweak).await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

async fn send(app: &TestApp, bytes: &[u8]) -> TcpStream {
    let mut stream = connect(app).await;
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Waits for the server to close the connection; returns what it sent before.
async fn closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let read = timeout(PATIENCE, async {
        loop {
            match stream.read_buf(&mut got).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    read.await.expect("the server closes the connection");
    got
}

/// Reads one answer: its status, head (lower case) and body.
async fn answer(stream: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let deadline = Instant::now() + PATIENCE;
    let mut got = Vec::new();
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse::<usize>().unwrap());
            if got.len() >= end + 4 + length {
                let status = head[9..12].parse().unwrap();
                let body = got[end + 4..end + 4 + length].to_vec();
                return (status, head, body);
            }
        }
        let read = timeout_at(deadline, stream.read_buf(&mut got)).await;
        let n = read.expect("an answer in time").unwrap();
        assert!(n > 0, "closed before a whole answer: {got:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_heads_beyond_the_cap_give_way_and_healthz_answers() {
    let app = spawn(|c| c.connections.max = 32).await;
    let mut stalled = Vec::new();
    for _ in 0..60 {
        stalled.push(send(&app, HALF_HEAD).await);
    }
    let health = reqwest::Client::new()
        .get(app.url("/healthz"))
        .timeout(PATIENCE)
        .send()
        .await
        .expect("healthz answers while 60 heads stall on 32 slots");
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    // Not answered from the margin kept for healthz: an API call gets a slot too.
    let listed = reqwest::Client::new()
        .get(app.url("/ipp/v1/sessions?page_size=1"))
        .header("Authorization", format!("Basic {}", app.api_key))
        .timeout(PATIENCE)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    // Each newcomer past the cap took the slot of the connection idle longest: at least 28
    // stalled ones were closed (the header timeout, 10 s, has not passed).
    let mut reads: FuturesUnordered<_> = stalled
        .iter_mut()
        .map(|s| async move { matches!(s.read(&mut [0; 1]).await, Ok(0) | Err(_)) })
        .collect();
    let deadline = Instant::now() + PATIENCE;
    let mut closed = 0;
    while closed < 28 {
        match timeout_at(deadline, reads.next()).await {
            Ok(Some(true)) => closed += 1,
            Ok(Some(false)) => panic!("a stalled head got an answer"),
            Ok(None) | Err(_) => break,
        }
    }
    assert!(
        closed >= 28,
        "only {closed} stalled connections were closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_answered_408_with_the_error_body() {
    let app = spawn(|c| c.connections.body_timeout = Duration::from_millis(300)).await;
    // Straight to the handler's extractor, and through the idempotency layer, which reads
    // the body itself.
    for extra in ["", "Idempotency-Key: stalled-1\r\n"] {
        let head = format!(
            "POST /ipp/v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n{extra}\r\n{{\"device_id\":",
            app.api_key
        );
        let mut stream = send(&app, head.as_bytes()).await;
        let (status, head, body) = answer(&mut stream).await;
        let body: Value = serde_json::from_slice(&body).unwrap();
        let messages = assert_error(status, &body, 408, "BAD_VALUE");
        assert!(messages.starts_with("body: "), "{messages}");
        let id = body["correlation_id"].as_str().unwrap();
        assert!(head.contains(&format!("correlation-id: {id}")), "{head}");
        // The rest of the body would be read as the next request: hyper closes instead.
        closed(&mut stream).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_head_is_closed_after_the_header_timeout_without_an_answer() {
    let app = spawn(|c| c.connections.header_timeout = Duration::from_millis(200)).await;
    let mut stream = send(&app, HALF_HEAD).await;
    assert_eq!(closed(&mut stream).await, b"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_is_closed_after_the_idle_timeout_not_the_header_timeout() {
    let app = spawn(|c| {
        c.connections.header_timeout = Duration::from_millis(100);
        c.connections.idle_timeout = Duration::from_millis(800);
    })
    .await;
    let mut stream = send(&app, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (status, _, body) = answer(&mut stream).await;
    assert_eq!((status, body.as_slice()), (200, b"ok".as_slice()));
    let early = timeout(Duration::from_millis(300), stream.read(&mut [0; 1])).await;
    assert!(early.is_err(), "still open past the header timeout");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(answer(&mut stream).await.0, 200, "and still served");
    assert_eq!(closed(&mut stream).await, b"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_outlasts_the_body_and_header_timeouts() {
    let app = spawn(|c| {
        c.connections.body_timeout = Duration::from_millis(300);
        c.connections.header_timeout = Duration::from_millis(300);
    })
    .await;
    let id = app.open_session(app.till_id()).await.session_id;
    let started = Instant::now();
    let sessions = app.client().sessions();
    let created = kassa_client::SessionStatus::Created;
    let session = sessions.get_when_changed(id, created, Duration::from_secs(1));
    assert_eq!(session.await.unwrap().status, "CREATED");
    assert!(started.elapsed() >= Duration::from_secs(1), "it did wait");
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn device_stream(app: &TestApp) -> Socket {
    let url = format!(
        "{}/ipp/v1/device/stream?access_token={}",
        app.base.replace("http", "ws"),
        app.device_token
    );
    tokio_tungstenite::connect_async(url)
        .await
        .expect("handshake")
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_streams_keep_their_slots_past_every_timeout_and_the_rest_get_503() {
    let app = spawn(|c| {
        c.connections.max = 2;
        c.connections.idle_timeout = Duration::from_millis(200);
        c.connections.header_timeout = Duration::from_millis(200);
        c.connections.body_timeout = Duration::from_millis(200);
    })
    .await;
    let merchant = |method: Method, path: &str| {
        reqwest::Client::new()
            .request(method, app.url(path))
            .header("Authorization", format!("Basic {}", app.api_key))
            .timeout(PATIENCE)
    };
    let mut first = device_stream(&app).await;
    // Past every timeout, the stream still gets its frames.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let created = merchant(Method::POST, "/ipp/v1/sessions")
        .json(&cart(&app.device_id, 12_500))
        .send()
        .await
        .unwrap();
    let (status, created) = json_of(created).await;
    assert_eq!(status, 200, "{created}");
    let frame = loop {
        let message = timeout(PATIENCE, first.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
            break serde_json::from_str::<Value>(&text).unwrap();
        }
    };
    assert_eq!(frame["sessionId"], created["session_id"]);
    // Two streams hold both slots; no connection can give way to a newcomer.
    let _second = device_stream(&app).await;
    let busy = merchant(Method::GET, "/ipp/v1/sessions?page_size=1")
        .send()
        .await
        .unwrap();
    assert_eq!(busy.headers()["retry-after"], "1");
    let (status, body) = json_of(busy).await;
    assert_error(status, &body, 503, "RATE_LIMITED");
    let health = reqwest::Client::new()
        .get(app.url("/healthz"))
        .timeout(PATIENCE)
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "healthz is answered without a slot");
    // A closed stream frees its slot.
    first.close(None).await.unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let r = merchant(Method::GET, "/ipp/v1/sessions?page_size=1")
            .send()
            .await;
        let status = r.unwrap().status();
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slot was not freed: {status}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_answers_oversized_and_malformed_heads_itself_without_the_error_body() {
    let app = spawn(|_| {}).await;
    let big_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100_000)
    );
    let long_path = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let cases: [(&[u8], u16); 4] = [
        (big_header.as_bytes(), 431),
        (long_path.as_bytes(), 431),
        (b"NOT A REQUEST\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n", 400),
    ];
    for (request, want) in cases {
        let mut stream = send(&app, request).await;
        let (status, _, body) = answer(&mut stream).await;
        assert_eq!((status, body.len()), (want, 0));
    }
    // Within the limit a large head is served.
    let header = "a".repeat(30_000);
    let r = app
        .merchant(Method::GET, "/healthz")
        .header("x-big", header)
        .send()
        .await;
    assert_eq!(r.unwrap().status(), 200);
}
