//! Connection slots and what each connection is doing. A slot is a permit of a semaphore of
//! `cap` permits, held by the connection's socket for as long as the socket is open (device
//! streams included). `Activity` records whether a connection has a request in flight, since
//! when it has had none and since when the head of its next request has been arriving; the
//! connection's task closes it from that, and a newcomer that finds no free slot takes the
//! one of the connection idle longest (`evict_idlest`). The evicted socket hands its permit
//! to the newcomer directly: released to the semaphore, it could be taken by the accept
//! loop for another socket first, leaving the newcomer without the slot it freed.

use crate::config::ConnectionLimits;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{oneshot, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

pub(super) struct Slots {
    permits: Arc<Semaphore>,
    /// Sockets accepted while every slot was taken: waiting for one, or answered without one.
    spare: Arc<Semaphore>,
    open: Mutex<HashMap<u64, Arc<Activity>>>,
    next_id: AtomicU64,
}

impl Slots {
    pub(super) fn new(cap: usize, spare: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(cap)),
            spare: Arc::new(Semaphore::new(spare)),
            open: Mutex::default(),
            next_id: AtomicU64::new(0),
        }
    }

    pub(super) fn try_take(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }

    /// Waits for a slot (first come, first served).
    pub(super) async fn take(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().acquire_owned().await.ok()
    }

    /// Waits until one more socket may be accepted without a slot.
    pub(super) async fn take_spare(&self) -> Option<OwnedSemaphorePermit> {
        self.spare.clone().acquire_owned().await.ok()
    }

    /// Registers a served connection; it is forgotten when the guard drops.
    pub(super) fn register(self: &Arc<Self>) -> Registered {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::new());
        lock(&self.open).insert(id, activity.clone());
        Registered {
            slots: self.clone(),
            id,
            activity,
        }
    }

    /// Asks the connection that has been idle longest (no request in flight: waiting for one,
    /// or receiving a head that has not ended) to close; its slot comes back on the receiver
    /// (which fails if a request arrived first). None if every connection has a request in
    /// flight. A scan of all connections: it runs only when every slot is taken.
    pub(super) fn evict_idlest(&self) -> Option<oneshot::Receiver<OwnedSemaphorePermit>> {
        let open = lock(&self.open);
        let idlest = open
            .values()
            .filter_map(|a| {
                let s = lock(&a.state);
                (s.in_flight == 0 && !s.evicting).then_some((s.idle_since, a))
            })
            .min_by_key(|(since, _)| *since);
        let (_, activity) = idlest?;
        let (heir, slot) = oneshot::channel();
        {
            let mut s = lock(&activity.state);
            s.evicting = true;
            s.heir = Some(heir);
        }
        activity.evict.notify_one();
        Some(slot)
    }
}

pub(super) struct Registered {
    slots: Arc<Slots>,
    id: u64,
    pub(super) activity: Arc<Activity>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&self.slots.open).remove(&self.id);
        // A socket closed before this guard drops has handed its slot on already; one that
        // outlives its connection (an upgrade) lets its evictor wait for any slot instead.
        lock(&self.activity.state).heir = None;
    }
}

/// Why a connection's own deadline closed it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Expired {
    /// A request's head began and did not end in time.
    Header,
    /// No request for the idle timeout.
    Idle,
}

impl Expired {
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Header => "header_timeout",
            Self::Idle => "idle_timeout",
        }
    }
}

pub(super) struct Activity {
    state: Mutex<State>,
    /// A deadline may have moved: a head began or the last request ended.
    changed: Notify,
    evict: Notify,
}

struct State {
    in_flight: usize,
    idle_since: Instant,
    head_since: Option<Instant>,
    evicting: bool,
    /// Who gets the slot when the socket closes, once evicted.
    heir: Option<oneshot::Sender<OwnedSemaphorePermit>>,
}

impl Activity {
    pub(super) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                in_flight: 0,
                idle_since: Instant::now(),
                head_since: None,
                evicting: false,
                heir: None,
            }),
            changed: Notify::new(),
            evict: Notify::new(),
        }
    }

    /// Bytes arrived. With no request in flight they are the start of the next head. (Bytes
    /// of a pipelined request that arrive during the previous one are not: that head falls
    /// under the idle timeout instead.)
    pub(super) fn read(&self) {
        let mut s = lock(&self.state);
        if s.in_flight == 0 && s.head_since.is_none() {
            s.head_since = Some(Instant::now());
            drop(s);
            self.changed.notify_one();
        }
    }

    /// hyper handed a complete head to the service; the request is in flight until the
    /// returned guard (kept by the response body) drops.
    pub(super) fn request(self: &Arc<Self>) -> InFlight {
        let mut s = lock(&self.state);
        s.in_flight += 1;
        s.head_since = None;
        InFlight(self.clone())
    }

    pub(super) fn is_idle(&self) -> bool {
        lock(&self.state).in_flight == 0
    }

    /// When the connection's own deadline passes, if it has one now.
    pub(super) fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        let s = lock(&self.state);
        match (s.in_flight, s.head_since) {
            (0, Some(head)) => Some(head + limits.header_timeout),
            (0, None) => Some(s.idle_since + limits.idle_timeout),
            _ => None,
        }
    }

    /// Whether the deadline has passed (it may have moved since it was read).
    pub(super) fn expired(&self, limits: &ConnectionLimits) -> Option<Expired> {
        let due = self.deadline(limits)?;
        if Instant::now() < due {
            return None;
        }
        Some(match lock(&self.state).head_since {
            Some(_) => Expired::Header,
            None => Expired::Idle,
        })
    }

    pub(super) async fn changed(&self) {
        self.changed.notified().await
    }

    pub(super) async fn evicted(&self) {
        self.evict.notified().await
    }

    /// Settles an eviction request: true if the connection is still idle and must close now;
    /// false if a request arrived meanwhile (the connection stays and may be asked again).
    pub(super) fn accept_eviction(&self) -> bool {
        let mut s = lock(&self.state);
        s.evicting = false;
        if s.in_flight > 0 {
            s.heir = None;
        }
        s.in_flight == 0
    }

    /// The socket is closing: its slot goes to the connection that evicted it, if any.
    pub(super) fn bequeath(&self, slot: OwnedSemaphorePermit) {
        let heir = lock(&self.state).heir.take();
        if let Some(heir) = heir {
            // A newcomer that gave up waiting drops its receiver; the slot is then released.
            let _ = heir.send(slot);
        }
    }
}

/// One request in flight on a connection.
pub(super) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = lock(&self.0.state);
        s.in_flight -= 1;
        if s.in_flight == 0 {
            s.idle_since = Instant::now();
            drop(s);
            self.0.changed.notify_one();
        }
    }
}

/// The state stays consistent whatever a panicking holder did (plain counters and instants).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            max: 2,
            header_timeout: Duration::from_secs(1),
            body_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(60),
        }
    }

    #[test]
    fn a_head_in_progress_is_due_at_the_header_timeout_and_a_request_has_no_deadline() {
        let activity = Arc::new(Activity::new());
        let idle = activity.deadline(&limits()).unwrap();
        activity.read();
        let head = activity.deadline(&limits()).unwrap();
        assert!(head < idle);
        let request = activity.request();
        assert_eq!(activity.deadline(&limits()), None);
        activity.read();
        assert_eq!(
            activity.deadline(&limits()),
            None,
            "body bytes start no head"
        );
        drop(request);
        assert!(activity.is_idle());
        assert!(activity.deadline(&limits()).unwrap() >= idle);
    }

    #[tokio::test]
    async fn the_idlest_connection_is_evicted_never_a_busy_one() {
        let slots = Arc::new(Slots::new(2, 1));
        let older = slots.register();
        let newer = slots.register();
        let permit = slots.try_take().unwrap();
        let busy = older.activity.request();
        let mut heir = slots.evict_idlest().unwrap();
        newer.activity.evicted().await;
        assert!(
            slots.evict_idlest().is_none(),
            "one eviction per connection at a time"
        );
        assert!(newer.activity.accept_eviction());
        newer.activity.bequeath(permit);
        assert!(heir.try_recv().is_ok(), "the slot goes to the newcomer");
        drop(newer);
        drop(busy);
        let refused = slots.evict_idlest().unwrap();
        older.activity.evicted().await;
        let _another = older.activity.request();
        assert!(!older.activity.accept_eviction(), "a request came first");
        assert!(refused.await.is_err());
    }
}
