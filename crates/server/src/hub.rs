//! The push hub: which device streams are connected to this node, and each one's inbox. The
//! router (`stream::route`) hands it each commit notice, so a notice costs one map lookup
//! however many devices are connected. Each connection has a small bounded inbox: a device
//! that cannot keep up is told to resync (it gets the open sessions again) instead of
//! slowing anyone else down. REST stays the source of truth; frames only say "look at this
//! session". Shared state (`AppState::hub`): it knows nothing of `AppState`, so imports go
//! one way (state → hub, stream → state and hub).

use chrono::{DateTime, Duration, Utc};
use kassa_core::session::SessionStatus;
use kassa_core::{DeviceId, SessionId};
use kassa_store::Notice;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Frames waiting for one device; past this the device is resynced.
const QUEUE: usize = 32;
/// Room for frames an inbox keeps once drained: enough for a session's usual few updates.
const KEPT: usize = 4;
/// A device is online until this long after the last frame or pong it sent.
pub const ONLINE_WINDOW: Duration = Duration::seconds(30);

/// What the hub hands a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Created(SessionId),
    Updated(SessionId, SessionStatus),
}

impl Frame {
    pub(crate) fn from_notice(n: &Notice) -> Self {
        match n.status {
            SessionStatus::Created => Self::Created(n.session_id),
            status => Self::Updated(n.session_id, status),
        }
    }

    /// The contract's wire form (Kustom's `sessionId` spelling).
    pub fn to_json(&self) -> String {
        let value = match self {
            Self::Created(id) => serde_json::json!({"type": "session.created", "sessionId": id}),
            Self::Updated(id, status) => {
                serde_json::json!({"type": "session.updated", "sessionId": id, "status": status.as_str()})
            }
        };
        value.to_string()
    }
}

/// What a connection does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// The device was removed: close. Comes before any frame still waiting.
    Removed,
    Frame(Frame),
    /// Frames were lost (a full inbox or a lagging router): replay the open sessions.
    Resync,
}

/// One connection's inbox: up to `QUEUE` frames, a resync owed, a removal. A `VecDeque`
/// allocates only once a frame waits and one `Notify` wakes the connection for all three,
/// where a tokio `mpsc` channel (its first block of 32 slots and its cache-padded header)
/// and a `CancellationToken` cost every idle stream ~1.1 KiB up front: 11 MiB of 10,000.
#[derive(Default)]
pub struct Inbox {
    state: Mutex<Waiting>,
    wake: Notify,
}

#[derive(Default)]
struct Waiting {
    frames: VecDeque<Frame>,
    resync: bool,
    removed: bool,
}

impl Inbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.state.lock().expect("inbox lock poisoned")
    }

    /// Queues `frame`; a full inbox drops it and owes the device a resync instead.
    fn push(&self, frame: Frame) {
        let mut waiting = self.lock();
        if waiting.frames.len() < QUEUE {
            waiting.frames.push_back(frame);
        } else {
            // This device is behind. It gets a resync once it drains.
            metrics::counter!("kassa_device_frames_dropped_total").increment(1);
            waiting.resync = true;
        }
        drop(waiting);
        self.wake.notify_one();
    }

    fn resync(&self) {
        self.lock().resync = true;
        self.wake.notify_one();
    }

    fn remove(&self) {
        self.lock().removed = true;
        self.wake.notify_one();
    }

    pub fn is_removed(&self) -> bool {
        self.lock().removed
    }

    /// Waits for what the connection must do next. One reader per inbox: `notify_one`
    /// keeps a wake that comes while nobody waits, so none is lost between the check and
    /// the wait.
    pub async fn next(&self) -> Next {
        loop {
            {
                let mut waiting = self.lock();
                if waiting.removed {
                    return Next::Removed;
                }
                if let Some(frame) = waiting.frames.pop_front() {
                    if waiting.frames.is_empty() {
                        // A burst's room goes back once it is written.
                        waiting.frames.shrink_to(KEPT);
                    }
                    return Next::Frame(frame);
                }
                if std::mem::take(&mut waiting.resync) {
                    return Next::Resync;
                }
            }
            self.wake.notified().await;
        }
    }
}

struct Conn {
    id: u64,
    inbox: Arc<Inbox>,
}

/// One connection's place in the hub. Dropping it unregisters the connection, however the
/// connection ends (a close, an error, a panic, an aborted task), so the
/// `kassa_device_connections` gauge counts exactly the open streams.
pub struct Registration {
    hub: Arc<Hub>,
    device: DeviceId,
    id: u64,
    /// Frames for this connection, a resync, or its device's removal (then it must close;
    /// not a frame, because a full queue must not swallow it).
    pub inbox: Arc<Inbox>,
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
        let inbox = Arc::new(Inbox::default());
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Conn {
            id,
            inbox: inbox.clone(),
        };
        let mut conns = self.conns.lock().expect("hub lock poisoned");
        conns.entry(device).or_default().push(conn);
        metrics::gauge!("kassa_device_connections").increment(1.0);
        Registration {
            hub: self.clone(),
            device,
            id,
            inbox,
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

    /// Whether `device` counts as online at `now`: heard from within the window, here or
    /// (through `last_seen_at`, written by whichever node holds its connection) on another
    /// node. Also gives the latest of the two times.
    pub fn online(
        &self,
        device: &kassa_store::Device,
        now: DateTime<Utc>,
    ) -> (bool, Option<DateTime<Utc>>) {
        let last = match (device.last_seen_at, self.last_heard(device.id)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let online = last.is_some_and(|t| now - t < ONLINE_WINDOW);
        (online, last)
    }

    pub fn is_connected(&self, device: DeviceId) -> bool {
        self.conns
            .lock()
            .expect("hub lock poisoned")
            .contains_key(&device)
    }

    pub(crate) fn deliver(&self, device: DeviceId, frame: Frame) {
        let conns = self.conns.lock().expect("hub lock poisoned");
        for conn in conns.get(&device).into_iter().flatten() {
            conn.inbox.push(frame.clone());
        }
    }

    /// Tells every connection of `device` on this node to close; returns how many there were.
    /// They leave the hub as their tasks end.
    pub fn remove_device(&self, device: DeviceId) -> usize {
        self.seen.lock().expect("hub lock poisoned").remove(&device);
        let conns = self.conns.lock().expect("hub lock poisoned");
        let list = conns.get(&device).map(Vec::as_slice).unwrap_or_default();
        for conn in list {
            conn.inbox.remove();
        }
        list.len()
    }

    pub(crate) fn resync_all(&self) {
        let conns = self.conns.lock().expect("hub lock poisoned");
        for conn in conns.values().flatten() {
            conn.inbox.resync();
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
        assert!(first.inbox.is_removed() && second.inbox.is_removed());
        assert!(!theirs.inbox.is_removed());
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

    #[tokio::test]
    async fn a_full_inbox_owes_a_resync_and_a_removal_comes_first() {
        let inbox = Inbox::default();
        let session = SessionId::new();
        for _ in 0..QUEUE + 5 {
            inbox.push(Frame::Created(session));
        }
        for _ in 0..QUEUE {
            assert_eq!(inbox.next().await, Next::Frame(Frame::Created(session)));
        }
        assert_eq!(inbox.next().await, Next::Resync);
        inbox.push(Frame::Created(session));
        inbox.remove();
        assert_eq!(inbox.next().await, Next::Removed);
    }

    #[tokio::test]
    async fn a_frame_pushed_while_nobody_waits_is_not_lost() {
        let inbox = Arc::new(Inbox::default());
        let session = SessionId::new();
        let reader = tokio::spawn({
            let inbox = inbox.clone();
            async move { inbox.next().await }
        });
        tokio::task::yield_now().await;
        inbox.push(Frame::Created(session));
        assert_eq!(reader.await.unwrap(), Next::Frame(Frame::Created(session)));
        inbox.resync();
        assert_eq!(inbox.next().await, Next::Resync);
    }
}
