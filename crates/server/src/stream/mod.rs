//! The push hub: one WebSocket per connected device, fed by commit notices. A single router
//! task reads the store's notices once and hands each to the connections of its device, so a
//! notice costs one map lookup however many devices are connected. Each connection has a
//! small bounded queue: a device that cannot keep up is told to resync (it gets the open
//! sessions again) instead of slowing anyone else down. REST stays the source of truth;
//! frames only say "look at this session". A device's removal notice closes its connections
//! on every node at once.

pub mod socket;

use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use kassa_core::session::SessionStatus;
use kassa_core::{DeviceId, SessionId};
use kassa_store::{Notice, NoticeKind};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use socket::routes;

/// Frames waiting for one device; past this the device is resynced.
const QUEUE: usize = 32;
/// A device is online until this long after the last frame or pong it sent.
pub const ONLINE_WINDOW: Duration = Duration::seconds(30);

/// What the hub hands a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Created(SessionId),
    Updated(SessionId, SessionStatus),
    /// Messages were lost (a full queue or a lagging router): replay the open sessions.
    Resync,
}

impl Frame {
    fn from_notice(n: &Notice) -> Self {
        match n.status {
            SessionStatus::Created => Self::Created(n.session_id),
            status => Self::Updated(n.session_id, status),
        }
    }

    /// The contract's wire form (Kustom's `sessionId` spelling).
    pub fn to_json(&self) -> Option<String> {
        let value = match self {
            Self::Created(id) => serde_json::json!({"type": "session.created", "sessionId": id}),
            Self::Updated(id, status) => {
                serde_json::json!({"type": "session.updated", "sessionId": id, "status": status.as_str()})
            }
            Self::Resync => return None,
        };
        Some(value.to_string())
    }
}

struct Conn {
    id: u64,
    tx: mpsc::Sender<Frame>,
    removed: CancellationToken,
}

/// One connection's place in the hub. Dropping it unregisters the connection, however the
/// connection ends (a close, an error, a panic, an aborted task), so the
/// `kassa_device_connections` gauge counts exactly the open streams.
pub struct Registration {
    hub: Arc<Hub>,
    device: DeviceId,
    id: u64,
    pub frames: mpsc::Receiver<Frame>,
    /// Cancelled when the device is removed: the connection must close. Not a frame, because
    /// a full queue must not swallow it.
    pub removed: CancellationToken,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(self.device, self.id);
    }
}

#[derive(Default)]
pub struct Hub {
    conns: Mutex<HashMap<DeviceId, Vec<Conn>>>,
    /// When each locally connected device was last heard from (frame, pong or connect).
    seen: Mutex<HashMap<DeviceId, DateTime<Utc>>>,
    next_id: AtomicU64,
}

impl Hub {
    /// Registers a connection before its replay is read, so nothing committed in between
    /// is missed (the device dedups by session id).
    pub fn register(self: &Arc<Self>, device: DeviceId) -> Registration {
        let (tx, frames) = mpsc::channel(QUEUE);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let removed = CancellationToken::new();
        let conn = Conn {
            id,
            tx,
            removed: removed.clone(),
        };
        let mut conns = self.conns.lock().expect("hub lock poisoned");
        conns.entry(device).or_default().push(conn);
        metrics::gauge!("kassa_device_connections").increment(1.0);
        Registration {
            hub: self.clone(),
            device,
            id,
            frames,
            removed,
        }
    }

    fn unregister(&self, device: DeviceId, id: u64) {
        let mut conns = self.conns.lock().expect("hub lock poisoned");
        if let Some(list) = conns.get_mut(&device) {
            list.retain(|c| c.id != id);
            if list.is_empty() {
                conns.remove(&device);
            }
        }
        metrics::gauge!("kassa_device_connections").decrement(1.0);
    }

    pub fn heard_from(&self, device: DeviceId, at: DateTime<Utc>) {
        self.seen
            .lock()
            .expect("hub lock poisoned")
            .insert(device, at);
    }

    pub fn last_heard(&self, device: DeviceId) -> Option<DateTime<Utc>> {
        self.seen
            .lock()
            .expect("hub lock poisoned")
            .get(&device)
            .copied()
    }

    pub fn is_connected(&self, device: DeviceId) -> bool {
        self.conns
            .lock()
            .expect("hub lock poisoned")
            .contains_key(&device)
    }

    fn deliver(&self, device: DeviceId, frame: Frame) {
        let conns = self.conns.lock().expect("hub lock poisoned");
        for conn in conns.get(&device).into_iter().flatten() {
            if conn.tx.try_send(frame.clone()).is_err() {
                // Full: this device is behind. It will get a resync once it drains.
                metrics::counter!("kassa_device_frames_dropped_total").increment(1);
                let _ = conn.tx.try_send(Frame::Resync);
            }
        }
    }

    /// Tells every connection of `device` on this node to close; returns how many there were.
    /// They leave the hub as their tasks end.
    pub fn remove_device(&self, device: DeviceId) -> usize {
        self.seen.lock().expect("hub lock poisoned").remove(&device);
        let conns = self.conns.lock().expect("hub lock poisoned");
        let list = conns.get(&device).map(Vec::as_slice).unwrap_or_default();
        for conn in list {
            conn.removed.cancel();
        }
        list.len()
    }

    fn resync_all(&self) {
        let conns = self.conns.lock().expect("hub lock poisoned");
        for conn in conns.values().flatten() {
            let _ = conn.tx.try_send(Frame::Resync);
        }
    }
}

/// Whether a device counts as online: heard from within the window, here or (through
/// `last_seen_at`, written by whichever node holds its connection) on another node.
pub fn online(state: &AppState, device: &kassa_store::Device) -> (bool, Option<DateTime<Utc>>) {
    let last = match (device.last_seen_at, state.hub.last_heard(device.id)) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let online = last.is_some_and(|t| state.now() - t < ONLINE_WINDOW);
    (online, last)
}

/// Routes every commit notice to the connections of its device, and closes the connections
/// of a removed device.
pub async fn route(state: AppState, stop: CancellationToken) {
    let mut notices = state.store.subscribe();
    loop {
        let notice = tokio::select! {
            _ = stop.cancelled() => return,
            n = notices.recv() => n,
        };
        match notice {
            Ok(n) => match n.kind {
                NoticeKind::Session => state.hub.deliver(n.device_id, Frame::from_notice(&n)),
                NoticeKind::DeviceRemoved => {
                    let closed = state.hub.remove_device(n.device_id);
                    let device = n.device_id;
                    tracing::info!(device.id = %device, closed, "device removed; closing streams");
                }
            },
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "push router lagged; resyncing devices");
                state.hub.resync_all();
            }
            Err(RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removal_signals_every_connection_of_the_device_and_a_drop_leaves_the_hub() {
        let hub = Arc::new(Hub::default());
        let (device, other) = (DeviceId::new(), DeviceId::new());
        let first = hub.register(device);
        let second = hub.register(device);
        let theirs = hub.register(other);
        assert_eq!(hub.remove_device(device), 2);
        assert!(first.removed.is_cancelled() && second.removed.is_cancelled());
        assert!(!theirs.removed.is_cancelled());
        // Signalled connections stay until their tasks end, whichever way that happens.
        assert!(hub.is_connected(device));
        drop(first);
        assert!(hub.is_connected(device));
        drop(second);
        assert!(!hub.is_connected(device));
        assert!(hub.is_connected(other));
        drop(theirs);
        assert!(hub.conns.lock().unwrap().is_empty());
    }
}
