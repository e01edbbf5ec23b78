//! `push`: a merchant creates a session and the device's WebSocket announces it. The measured
//! latency runs from sending the create to the `session.created` frame arriving; the stream is
//! read while the create is in flight, since the frame may come before the HTTP answer.

use super::api::{Api, Failure, SimDevice};
use super::driver::{Recorder, Slot};
use futures::StreamExt;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A frame that has not come this long after the create counts as an error.
const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens `device`'s stream with its bearer token in the `Authorization` header.
pub async fn connect(base: &str, device: &SimDevice) -> Result<Stream, Failure> {
    let url = format!("{}/ipp/v1/device/stream", base.replacen("http", "ws", 1));
    let mut request = url
        .into_client_request()
        .map_err(|e| Failure::new(format!("bad stream URL: {e}")))?;
    let auth = format!("Bearer {}", device.token)
        .parse()
        .map_err(|_| Failure::new("device token is not a header value"))?;
    request.headers_mut().insert("authorization", auth);
    let (stream, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| Failure::new(format!("stream handshake: {e}")))?;
    Ok(stream)
}

pub async fn once(api: &Api, slot: &mut Slot, rec: &Recorder) -> Result<Duration, Failure> {
    let dev = slot.take();
    if let Some(open) = dev.open.take() {
        api.cancel_session(&open).await?;
    }
    let stream = dev
        .stream
        .as_mut()
        .ok_or_else(|| Failure::new("device has no stream"))?;
    let start = Instant::now();
    let deadline = tokio::time::Instant::from_std(start + FRAME_TIMEOUT);
    let create = api.create_session(&dev.sim.id);
    tokio::pin!(create);
    let mut created: Option<String> = None;
    let mut announced: Vec<(String, Instant)> = Vec::new();
    loop {
        if let Some(id) = &created {
            if let Some((_, at)) = announced.iter().find(|(s, _)| s == id) {
                return Ok(*at - start);
            }
        }
        tokio::select! {
            answer = &mut create, if created.is_none() => {
                let id = answer?;
                rec.step("create (HTTP answer)", start.elapsed());
                dev.open = Some(id.clone());
                created = Some(id);
            }
            message = tokio::time::timeout_at(deadline, stream.next()) => match message {
                Err(_) => return Err(Failure::new("no session.created frame within 10 s")),
                Ok(None) => return Err(Failure::new("stream closed")),
                Ok(Some(Err(e))) => return Err(Failure::new(format!("stream error: {e}"))),
                Ok(Some(Ok(Message::Text(text)))) => {
                    let frame: Value = serde_json::from_str(&text)
                        .map_err(|_| Failure::new("frame is not JSON"))?;
                    if frame["type"] == "session.created" {
                        if let Some(id) = frame["sessionId"].as_str() {
                            announced.push((id.to_string(), Instant::now()));
                        }
                    }
                }
                Ok(Some(Ok(_))) => {}
            },
        }
    }
}
