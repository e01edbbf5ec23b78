//! `GET /ipp/v1/device/stream`: the device's WebSocket. Authenticated at the handshake
//! (`Authorization: Bearer` or `?access_token=`, since browsers cannot set headers on a
//! WebSocket); then a replay of the open sessions, then live frames, with pings to notice a
//! dead link. Removing the device closes the stream with code 4401.

use crate::clock::Clock;
use crate::http::error::ApiError;
use crate::http::extract::{bearer, device_for_token, Params};
use crate::hub::{Frame, Hub, Next, Registration, ONLINE_WINDOW};
use crate::state::AppState;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use kassa_core::session::SessionStatus;
use kassa_core::DeviceId;
use kassa_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{interval, Instant, MissedTickBehavior};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Devices mostly listen, and what they send is a pong or a small text frame (a control
/// frame is at most 131 bytes on the wire). tungstenite allocates and zeroes this buffer per
/// connection, whatever arrives: at 4 KiB it was 40 MiB of 10,000 idle streams. A larger
/// frame grows it on demand, up to `MAX_MESSAGE`.
const READ_BUFFER: usize = 256;
const WRITE_BUFFER: usize = 4 * 1024;
const MAX_MESSAGE: usize = 16 * 1024;
const PING_EVERY: Duration = Duration::from_secs(10);
/// How often a busy connection writes `last_seen_at` for other nodes to read.
const TOUCH_EVERY: Duration = Duration::from_secs(10);
/// The close code when the device is removed: 4000-4999 is the application's range, and 4401
/// reads as HTTP's 401, which is what the device gets if it reconnects with its old token.
pub const CLOSE_REMOVED: u16 = 4401;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(device_stream))
}

/// The device's push channel (WebSocket).
///
/// Server → device text frames: `{"type":"session.created","sessionId":…}` and
/// `{"type":"session.updated","sessionId":…,"status":…}`. On connect, one `session.created`
/// per open session is replayed first (dedup by id). A missing or bad token is refused at the
/// handshake with `401` and the error body. When the device is deleted, its streams on every
/// node are closed with code `4401` ("device removed").
#[utoipa::path(get, path = "/ipp/v1/device/stream", tag = "pos",
    params(("access_token" = Option<String>, Query, description = "The device token, for clients that cannot set headers")),
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, body = kassa_api::ErrorBody)),
    security(("device" = [])))]
pub async fn device_stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Params,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let token = bearer(&headers)
        .or_else(|| params.get("access_token").map(str::to_string))
        .ok_or_else(|| ApiError::Unauthorized("missing device token".into()))?;
    let device = device_for_token(&state, &token).await?.id;
    let link = Link::new(&state, device);
    let upgrade =
        upgrade.map_err(|_| ApiError::field("upgrade", "this endpoint speaks WebSocket only"))?;
    Ok(upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(MAX_MESSAGE)
        .on_failed_upgrade(|e| tracing::warn!(error = %e, "device stream upgrade failed"))
        .on_upgrade(move |socket| serve(link, socket)))
}

/// What a connection's task keeps for its whole life: the few handles it uses, not the
/// whole `AppState` nor the device's row (its metadata map alone was 5 MiB of 10,000 idle
/// streams). Every idle stream holds one of these.
struct Link {
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    clock: Arc<dyn Clock>,
    device: DeviceId,
}

impl Link {
    fn new(state: &AppState, device: DeviceId) -> Self {
        Self {
            store: state.store.clone(),
            hub: state.hub.clone(),
            clock: state.clock.clone(),
            device,
        }
    }

    fn heard_from(&self) {
        self.hub.heard_from(self.device, self.clock.now());
    }
}

/// The connection's task, which lives as long as the stream: its size is paid by every idle
/// device. It owns the socket and the registration once; the loop only borrows them.
async fn serve(link: Link, mut socket: WebSocket) {
    let conn = link.hub.register(link.device);
    link.heard_from();
    if let Err(e) = run(&link, &mut socket, &conn).await {
        tracing::debug!(device.id = %link.device, error = %e, "device stream closed");
    }
}

/// The connection's loop. The rare steps (the first touch, a replay, a removal's close) run
/// boxed, allocated only while they run, so that the state an idle stream keeps is small.
async fn run(link: &Link, socket: &mut WebSocket, conn: &Registration) -> anyhow::Result<()> {
    // After registering: a removal committed before this write is seen by it, and one
    // committed after it reaches `conn`. The handshake's token check alone would miss a
    // removal committed between the check and the registration.
    if !Box::pin(touch(link)).await {
        return Box::pin(close_removed(socket)).await;
    }
    Box::pin(replay(link, socket)).await?;
    let mut ping = interval(PING_EVERY);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut last_touch = Instant::now();
    let window = ONLINE_WINDOW.to_std().unwrap_or(Duration::from_secs(30));
    loop {
        tokio::select! {
            biased;
            next = conn.inbox.next() => match next {
                Next::Removed => return Box::pin(close_removed(socket)).await,
                Next::Resync => Box::pin(replay(link, socket)).await?,
                Next::Frame(frame) => send(socket, &frame).await?,
            },
            message = socket.recv() => match message {
                Some(Ok(Message::Close(_))) | None => return Ok(()),
                Some(Ok(_)) => {
                    last_heard = Instant::now();
                    link.heard_from();
                    if last_touch.elapsed() >= TOUCH_EVERY {
                        last_touch = Instant::now();
                        if !Box::pin(touch(link)).await {
                            // Removed, and this node missed the notice (a lost `NOTIFY`).
                            return Box::pin(close_removed(socket)).await;
                        }
                    }
                }
                Some(Err(e)) => return Err(e.into()),
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > window {
                    // Nothing for 30 s, not even a pong: the link is dead.
                    return Ok(());
                }
                socket.send(Message::Ping(Default::default())).await?;
            }
        }
    }
}

/// One `session.created` per open session, newest last so the POS shows the latest.
async fn replay(link: &Link, socket: &mut WebSocket) -> anyhow::Result<()> {
    let open = [SessionStatus::Created, SessionStatus::Active];
    let sessions = link.store.device_sessions(link.device, &open).await?;
    for session in sessions.iter().rev() {
        send(socket, &Frame::Created(session.id)).await?;
    }
    Ok(())
}

async fn send(socket: &mut WebSocket, frame: &Frame) -> anyhow::Result<()> {
    socket.send(Message::Text(frame.to_json().into())).await?;
    Ok(())
}

/// Records `last_seen_at`; false once the device is removed. A failed write counts as
/// still there: a database hiccup must not drop every stream.
async fn touch(link: &Link) -> bool {
    match link.store.touch_device(link.device, link.clock.now()).await {
        Ok(live) => live,
        Err(e) => {
            tracing::warn!(device.id = %link.device, error = %e, "could not record last_seen_at");
            true
        }
    }
}

async fn close_removed(socket: &mut WebSocket) -> anyhow::Result<()> {
    let frame = CloseFrame {
        code: CLOSE_REMOVED,
        reason: "device removed".into(),
    };
    socket.send(Message::Close(Some(frame))).await?;
    Ok(())
}
