//! `GET /ipp/v1/device/stream`: the device's WebSocket. Authenticated at the handshake
//! (`Authorization: Bearer` or `?access_token=`, since browsers cannot set headers on a
//! WebSocket); then a replay of the open sessions, then live frames, with pings to notice a
//! dead link. Removing the device closes the stream with code 4401.

use super::{Frame, Registration, ONLINE_WINDOW};
use crate::http::error::ApiError;
use crate::http::extract::{bearer, device_for_token, Params};
use crate::state::AppState;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use kassa_core::session::SessionStatus;
use kassa_store::Device;
use std::time::Duration;
use tokio::time::{interval, Instant, MissedTickBehavior};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Devices mostly listen; small buffers keep 10,000 idle connections cheap (LIMITS.md).
const READ_BUFFER: usize = 4 * 1024;
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
    let device = device_for_token(&state, &token).await?;
    let upgrade =
        upgrade.map_err(|_| ApiError::field("upgrade", "this endpoint speaks WebSocket only"))?;
    Ok(upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(MAX_MESSAGE)
        .on_failed_upgrade(|e| tracing::warn!(error = %e, "device stream upgrade failed"))
        .on_upgrade(move |socket| serve(state, device, socket)))
}

async fn serve(state: AppState, device: Device, socket: WebSocket) {
    let conn = state.hub.register(device.id);
    state.hub.heard_from(device.id, state.now());
    if let Err(e) = run(&state, &device, socket, conn).await {
        tracing::debug!(device.id = %device.id, error = %e, "device stream closed");
    }
}

async fn run(
    state: &AppState,
    device: &Device,
    mut socket: WebSocket,
    mut conn: Registration,
) -> anyhow::Result<()> {
    // After registering: a removal committed before this write is seen by it, and one
    // committed after it reaches `conn`. The handshake's token check alone would miss a
    // removal committed between the check and the registration.
    if !touch(state, device).await {
        return close_removed(socket).await;
    }
    replay(state, device, &mut socket).await?;
    let mut ping = interval(PING_EVERY);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut last_touch = Instant::now();
    let window = ONLINE_WINDOW.to_std().unwrap_or(Duration::from_secs(30));
    loop {
        tokio::select! {
            biased;
            _ = conn.removed.cancelled() => return close_removed(socket).await,
            frame = conn.frames.recv() => match frame {
                Some(Frame::Resync) => replay(state, device, &mut socket).await?,
                Some(frame) => send(&mut socket, &frame).await?,
                None => return Ok(()),
            },
            message = socket.recv() => match message {
                Some(Ok(Message::Close(_))) | None => return Ok(()),
                Some(Ok(_)) => {
                    last_heard = Instant::now();
                    state.hub.heard_from(device.id, state.now());
                    if last_touch.elapsed() >= TOUCH_EVERY {
                        last_touch = Instant::now();
                        if !touch(state, device).await {
                            // Removed, and this node missed the notice (a lost `NOTIFY`).
                            return close_removed(socket).await;
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
async fn replay(state: &AppState, device: &Device, socket: &mut WebSocket) -> anyhow::Result<()> {
    let open = [SessionStatus::Created, SessionStatus::Active];
    let sessions = state.store.device_sessions(device.id, &open).await?;
    for session in sessions.iter().rev() {
        send(socket, &Frame::Created(session.id)).await?;
    }
    Ok(())
}

async fn send(socket: &mut WebSocket, frame: &Frame) -> anyhow::Result<()> {
    if let Some(text) = frame.to_json() {
        socket.send(Message::Text(text.into())).await?;
    }
    Ok(())
}

/// Records `last_seen_at`; false once the device is removed. A failed write counts as
/// still there: a database hiccup must not drop every stream.
async fn touch(state: &AppState, device: &Device) -> bool {
    match state.store.touch_device(device.id, state.now()).await {
        Ok(live) => live,
        Err(e) => {
            tracing::warn!(device.id = %device.id, error = %e, "could not record last_seen_at");
            true
        }
    }
}

async fn close_removed(mut socket: WebSocket) -> anyhow::Result<()> {
    let frame = CloseFrame {
        code: CLOSE_REMOVED,
        reason: "device removed".into(),
    };
    socket.send(Message::Close(Some(frame))).await?;
    Ok(())
}
