//! [`DeviceStream`]: the device's push channel (`/ipp/v1/device/stream`, a WebSocket) as a
//! `Stream` of [`PushFrame`]s. Frames only say "look at this session": read the session over
//! REST, which stays the source of truth.

use crate::error::{ApiError, Error, Result};
use futures::{Stream, StreamExt};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

/// The close code the server sends when the device is deleted.
const CLOSE_REMOVED: u16 = 4401;

/// One message from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushFrame {
    /// A session for this device: new, or (right after connecting) one still open. The
    /// same session may be announced more than once: dedup by id.
    SessionCreated { session_id: Uuid },
    /// The session's status changed (`ACTIVE`, `CANCELLED`, `FINALIZED`, …).
    SessionUpdated { session_id: Uuid, status: String },
    /// A frame type this client does not know (a newer server), as sent.
    Other(serde_json::Value),
}

impl PushFrame {
    /// The wire form: `{"type":"session.created","sessionId":…}` or
    /// `{"type":"session.updated","sessionId":…,"status":…}`.
    pub fn parse(text: &str) -> Result<Self> {
        let fail = |e| Error::decode(e, text.as_bytes());
        let value: serde_json::Value = serde_json::from_str(text).map_err(fail)?;
        let session_id =
            || serde_json::from_value::<Uuid>(value["sessionId"].clone()).map_err(fail);
        match value["type"].as_str() {
            Some("session.created") => Ok(Self::SessionCreated {
                session_id: session_id()?,
            }),
            Some("session.updated") => Ok(Self::SessionUpdated {
                session_id: session_id()?,
                status: serde_json::from_value(value["status"].clone()).map_err(fail)?,
            }),
            _ => Ok(Self::Other(value)),
        }
    }

    /// The session the frame is about, if any.
    pub fn session_id(&self) -> Option<Uuid> {
        match self {
            Self::SessionCreated { session_id } | Self::SessionUpdated { session_id, .. } => {
                Some(*session_id)
            }
            Self::Other(_) => None,
        }
    }
}

/// The device's open push stream. On connect the server first announces every open session
/// (`SessionCreated`), then live changes.
///
/// Keep polling it: pings are answered while it is read, and the server counts the device
/// online only while it hears from it (30 s). It ends (`None`) when the server closes it;
/// when the device was deleted it yields [`Error::DeviceRemoved`] first. Reconnect with
/// [`DeviceClient::stream`](crate::DeviceClient::stream) after a network failure and read
/// [`DeviceClient::sessions`](crate::DeviceClient::sessions) if in doubt.
#[derive(Debug)]
pub struct DeviceStream {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    done: bool,
}

impl DeviceStream {
    pub(crate) async fn connect(base: &str, authorization: HeaderValue) -> Result<Self> {
        let url = websocket_url(base)?;
        let mut request = url.into_client_request()?;
        request.headers_mut().insert(AUTHORIZATION, authorization);
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(Self {
                socket,
                done: false,
            }),
            Err(tungstenite::Error::Http(response)) => {
                let body = response.body().as_deref().unwrap_or_default();
                let status = response.status().as_u16();
                Err(ApiError::from_parts(status, response.headers(), body).into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Closes the stream politely (a close frame, then its answer).
    pub async fn close(mut self) -> Result<()> {
        match self.socket.close(None).await {
            Ok(()) | Err(tungstenite::Error::ConnectionClosed) => {}
            Err(e) => return Err(e.into()),
        }
        // Read until the server's close arrives, so the connection ends cleanly.
        while let Some(message) = self.socket.next().await {
            if message.is_err() {
                break;
            }
        }
        Ok(())
    }
}

impl Stream for DeviceStream {
    type Item = Result<PushFrame>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            let message = match self.socket.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(message) => message,
            };
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Poll::Ready(Some(PushFrame::parse(text.as_str())))
                }
                Some(Ok(Message::Close(frame))) => {
                    self.done = true;
                    if frame.is_some_and(|f| u16::from(f.code) == CLOSE_REMOVED) {
                        return Poll::Ready(Some(Err(Error::DeviceRemoved)));
                    }
                }
                // Pings are answered by the socket as it is read; nothing else is sent.
                Some(Ok(_)) => {}
                None
                | Some(Err(
                    tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed,
                )) => self.done = true,
                Some(Err(e)) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(e.into())));
                }
            }
        }
    }
}

/// `http(s)://host/base` → `ws(s)://host/base/ipp/v1/device/stream`.
fn websocket_url(base: &str) -> Result<String> {
    let rest = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        return Err(Error::Config(format!("base URL {base:?} is not http(s)")));
    };
    Ok(format!("{rest}/ipp/v1/device/stream"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_and_unknown_ones_are_kept() {
        let id = Uuid::now_v7();
        let created = format!(r#"{{"type":"session.created","sessionId":"{id}"}}"#);
        assert_eq!(
            PushFrame::parse(&created).unwrap(),
            PushFrame::SessionCreated { session_id: id }
        );
        let updated =
            format!(r#"{{"type":"session.updated","sessionId":"{id}","status":"CANCELLED"}}"#);
        let frame = PushFrame::parse(&updated).unwrap();
        assert_eq!(frame.session_id(), Some(id));
        assert!(matches!(frame, PushFrame::SessionUpdated { status, .. } if status == "CANCELLED"));
        let other = PushFrame::parse(r#"{"type":"device.hello"}"#).unwrap();
        assert!(matches!(other, PushFrame::Other(_)));
        assert!(PushFrame::parse(r#"{"type":"session.created"}"#).is_err());
    }

    #[test]
    fn the_stream_url_follows_the_base_scheme() {
        assert_eq!(
            websocket_url("https://k.example.com/pay").unwrap(),
            "wss://k.example.com/pay/ipp/v1/device/stream"
        );
        assert_eq!(
            websocket_url("http://127.0.0.1:8080").unwrap(),
            "ws://127.0.0.1:8080/ipp/v1/device/stream"
        );
    }
}
