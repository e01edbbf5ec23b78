//! `push`: a merchant creates a session and the device's WebSocket announces it. The measured
//! latency runs from sending the create to the `session.created` frame arriving; the stream is
//! read while the create is in flight, since the frame may come before the HTTP answer.

use super::api::{Api, Failure, SimDevice};
use super::driver::{Recorder, Slot};
use futures::StreamExt;
use kassa_client::PushFrame;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub type Stream = kassa_client::DeviceStream;

/// A frame that has not come this long after the create counts as an error.
const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens `device`'s stream (its bearer token in the handshake's `Authorization` header).
pub async fn connect(device: &SimDevice) -> Result<Stream, Failure> {
    device
        .client
        .stream()
        .await
        .map_err(|e| Failure::new(format!("stream handshake: {e}")))
}

pub async fn once(api: &Api, slot: &mut Slot, rec: &Recorder) -> Result<Duration, Failure> {
    let dev = slot.take();
    if let Some(open) = dev.open.take() {
        api.cancel_session(open).await?;
    }
    let stream = dev
        .stream
        .as_mut()
        .ok_or_else(|| Failure::new("device has no stream"))?;
    let start = Instant::now();
    let deadline = tokio::time::Instant::from_std(start + FRAME_TIMEOUT);
    let create = api.create_session(dev.sim.id);
    tokio::pin!(create);
    let mut created: Option<Uuid> = None;
    let mut announced: Vec<(Uuid, Instant)> = Vec::new();
    loop {
        if let Some(id) = created {
            if let Some((_, at)) = announced.iter().find(|(s, _)| *s == id) {
                return Ok(*at - start);
            }
        }
        tokio::select! {
            answer = &mut create, if created.is_none() => {
                let id = answer?;
                rec.step("create (HTTP answer)", start.elapsed());
                dev.open = Some(id);
                created = Some(id);
            }
            frame = tokio::time::timeout_at(deadline, stream.next()) => match frame {
                Err(_) => return Err(Failure::new("no session.created frame within 10 s")),
                Ok(None) => return Err(Failure::new("stream closed")),
                Ok(Some(Err(e))) => return Err(e.into()),
                Ok(Some(Ok(PushFrame::SessionCreated { session_id }))) => {
                    announced.push((session_id, Instant::now()));
                }
                Ok(Some(Ok(_))) => {}
            },
        }
    }
}
