//! The device stream: handshake auth, replay, live frames, presence, fan-out across nodes,
//! and the close of a removed device's streams on every node. Typed streams
//! (`DeviceClient::stream`) but where a test needs what the client hides: the
//! `?access_token=` handshake and WebSocket pings.

use crate::both_backends;
use crate::harness::*;
use futures::{SinkExt, StreamExt};
use kassa_client::{DeviceStream, Error, ErrorCode, PushFrame};
use kassa_store::Backend;
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw stream, with the token in the query (the browser's form).
async fn connect(app: &TestApp, token: &str) -> Socket {
    let url = format!(
        "{}/ipp/v1/device/stream?access_token={token}",
        app.base.replace("http", "ws")
    );
    tokio_tungstenite::connect_async(url)
        .await
        .expect("handshake")
        .0
}

/// The next frame, within a deadline.
async fn next_frame(stream: &mut DeviceStream) -> PushFrame {
    let next = tokio::time::timeout(Duration::from_secs(5), stream.next());
    next.await
        .expect("a frame in time")
        .expect("open")
        .expect("valid")
}

fn created(session_id: Uuid) -> PushFrame {
    PushFrame::SessionCreated { session_id }
}

both_backends!(a_bad_token_is_refused_at_the_handshake, |app| {
    // Raw: no token at all, and a bad one in the query.
    for url in [
        "/ipp/v1/device/stream",
        "/ipp/v1/device/stream?access_token=kdt_nope",
    ] {
        let ws = format!("{}{url}", app.base.replace("http", "ws"));
        let err = tokio_tungstenite::connect_async(ws).await.unwrap_err();
        let tokio_tungstenite::tungstenite::Error::Http(response) = err else {
            panic!("{err:?}")
        };
        assert_eq!(response.status(), 401);
        let body: Value = serde_json::from_slice(response.body().as_ref().unwrap()).unwrap();
        assert_eq!(body["error_code"], "UNAUTHORIZED");
    }
    let refused = app.device_client("kdt_nope").stream().await;
    assert_api_error(refused, 401, ErrorCode::Unauthorized);
    let stream = app.till().stream().await;
    assert!(stream.is_ok(), "the header form works too");
});

both_backends!(replay_then_live_frames, |app| {
    let first = app.open_session(app.till_id()).await.session_id;
    let mut stream = app.till().stream().await.unwrap();
    let replayed = next_frame(&mut stream).await;
    assert_eq!(replayed, created(first));
    app.client().sessions().cancel(first).await.unwrap();
    // The create's own live frame may still be in flight when the device connects; the
    // contract lets the device see it twice (it dedups by id), so skip a repeat.
    let mut cancelled = next_frame(&mut stream).await;
    if cancelled == replayed {
        cancelled = next_frame(&mut stream).await;
    }
    let status = "CANCELLED".to_string();
    let want = PushFrame::SessionUpdated {
        session_id: first,
        status,
    };
    assert_eq!(cancelled, want);
    let second = app.open_session(app.till_id()).await.session_id;
    assert_eq!(next_frame(&mut stream).await, created(second));
});

both_backends!(frames_go_only_to_their_device, |app| {
    let (other, other_pos) = app.simulated_device_typed("Till 2").await;
    let mut mine = app.till().stream().await.unwrap();
    let mut theirs = other_pos.stream().await.unwrap();
    let s = app.open_session(other.id).await;
    let frame = next_frame(&mut theirs).await;
    assert_eq!(frame.session_id(), Some(s.session_id));
    let own = app.open_session(app.till_id()).await;
    assert_eq!(
        next_frame(&mut mine).await.session_id(),
        Some(own.session_id),
        "no frame of the other device first"
    );
});

both_backends!(presence_follows_the_connection, |app| {
    let devices = app.client().devices();
    let id = app.till_id();
    assert!(!devices.get(id).await.unwrap().online);
    let stream = app.till().stream().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let device = devices.get(id).await.unwrap();
    assert!(device.online);
    assert!(device.last_seen_at.is_some());
    drop(stream);
    app.clock.advance(chrono::Duration::seconds(31));
    assert!(
        !devices.get(id).await.unwrap().online,
        "offline 30 s after the last frame"
    );
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_on_node_b_gets_sessions_created_on_node_a() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let url = a.state.config.database_url.clone();
    let b = TestApp::spawn_with(Backend::Postgres, |c| c.database_url = url).await;
    let mut stream = b.device_client(&a.device_token).stream().await.unwrap();
    let s = a.open_session(a.till_id()).await;
    assert_eq!(next_frame(&mut stream).await, created(s.session_id));
}

/// The code of the close frame the server sends, within a deadline; frames before it are
/// skipped, and a stream that ends without a close frame fails the test.
async fn close_code(socket: &mut Socket) -> u16 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("closed in time");
        match message
            .expect("a close frame before the end")
            .expect("valid")
        {
            Message::Close(Some(frame)) => return frame.code.into(),
            Message::Close(None) => panic!("closed without a code"),
            _ => continue,
        }
    }
}

/// Waits for the typed stream's end: the device-removed close (4401), frames before it
/// skipped; an end without it fails the test.
async fn removed(stream: &mut DeviceStream) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let next = tokio::time::timeout_at(deadline, stream.next()).await;
        match next.expect("closed in time") {
            Some(Err(Error::DeviceRemoved)) => return,
            Some(Ok(_)) => continue,
            other => panic!("want the device-removed close, got {other:?}"),
        }
    }
}

/// Returns once the server's read loop answers a ping, so the stream is in the hub. Raw:
/// the typed stream answers pings but sends none.
async fn serving(socket: &mut Socket) {
    socket.send(Message::Ping("up?".into())).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("a pong in time");
        if let Message::Pong(_) = message.expect("open").expect("valid") {
            return;
        }
    }
}

/// The next text frame of a raw stream, read as the client reads it, within a deadline.
async fn raw_frame(socket: &mut Socket) -> PushFrame {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("a frame in time");
        match message.expect("open").expect("valid") {
            Message::Text(text) => return PushFrame::parse(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

both_backends!(deleting_a_device_closes_its_streams_at_once, |app| {
    let (other, _) = app.simulated_device_typed("Till 2").await;
    let token = other.credentials.as_ref().unwrap().bearer_token.clone();
    let mut first = connect(&app, &app.device_token).await;
    let mut second = connect(&app, &app.device_token).await;
    let mut theirs = connect(&app, &token).await;
    for socket in [&mut first, &mut second, &mut theirs] {
        serving(socket).await;
    }
    // Past the handshake but maybe not yet in the hub: it closes too (its first write sees
    // a removal that came before it joined).
    let mut racing = app.till().stream().await.unwrap();
    app.client().devices().delete(app.till_id()).await.unwrap();
    for socket in [&mut first, &mut second] {
        assert_eq!(close_code(socket).await, 4401);
    }
    removed(&mut racing).await;

    // The other device's stream stays, and the old token is refused at the handshake.
    let s = app.open_session(other.id).await;
    assert_eq!(raw_frame(&mut theirs).await, created(s.session_id));
    let refused = app.till().stream().await;
    assert_api_error(refused, 401, ErrorCode::Unauthorized);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_device_on_node_a_closes_its_stream_on_node_b() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let url = a.state.config.database_url.clone();
    let b = TestApp::spawn_with(Backend::Postgres, |c| c.database_url = url).await;
    let mut stream = b.device_client(&a.device_token).stream().await.unwrap();
    // Registered on B: a session created through A reaches it.
    let s = a.open_session(a.till_id()).await;
    assert_eq!(next_frame(&mut stream).await, created(s.session_id));
    let client = a.client();
    client.sessions().cancel(s.session_id).await.unwrap();
    client.devices().delete(a.till_id()).await.unwrap();
    removed(&mut stream).await;
}
