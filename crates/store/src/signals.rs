//! `Signals`: what this process hears about committed changes, apart from the store. The
//! store writes and reads rows; after a commit it publishes here, and push, long-polls and
//! the webhook dispatcher listen here. Kept off the `Store` traits because none of it is
//! storage: it is in-process messaging (on PostgreSQL fed by every node's `NOTIFY`, see
//! `postgres.rs`), and a handle can be handed to whoever listens without the whole store.

use crate::notify::Notice;
use crate::webhooks::{DueDelivery, Routed};
use kassa_core::SessionId;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};

/// A notice for the PostgreSQL notifier and who to tell once it is sent.
pub(crate) type Outbound = (Notice, oneshot::Sender<()>);

/// The store's after-commit messages on this node. Cheap to clone: every clone is the same
/// set of channels.
#[derive(Clone)]
pub struct Signals(Arc<Channels>);

struct Channels {
    notices: broadcast::Sender<Notice>,
    /// PostgreSQL: committed changes' notices on their way to `NOTIFY` (see `postgres.rs`).
    outbound: Option<mpsc::UnboundedSender<Outbound>>,
    /// Where this node's committed deliveries go (see `sql/fanout.rs`).
    routing: OnceLock<Routing>,
}

/// How this node routes the deliveries it commits; set once, by its dispatcher.
struct Routing {
    first_delay: chrono::Duration,
    direct: Direct,
}

struct Direct {
    sink: mpsc::UnboundedSender<Routed>,
    lease: chrono::Duration,
}

impl Signals {
    /// `outbound`: PostgreSQL's notifier queue; `None` publishes in process only (SQLite).
    pub(crate) fn new(outbound: Option<mpsc::UnboundedSender<Outbound>>) -> Self {
        let (notices, _) = broadcast::channel(4096);
        Self(Arc::new(Channels {
            notices,
            outbound,
            routing: OnceLock::new(),
        }))
    }

    /// Committed changes, for push, long-polls and the webhook dispatcher. Every node's
    /// commits arrive here (PostgreSQL `LISTEN/NOTIFY` across nodes).
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.0.notices.subscribe()
    }

    /// Makes this node's dispatcher the sender of the deliveries committed here: first
    /// attempts are due `first_delay` after their event, and one due at once is written
    /// leased to this node for `lease` and handed over after commit (`sql/fanout.rs`). The
    /// first call gets the receiver; later ones get `None`.
    pub fn route_deliveries(
        &self,
        first_delay: Duration,
        lease: Duration,
    ) -> Option<mpsc::UnboundedReceiver<Routed>> {
        let (sink, routed) = mpsc::unbounded_channel();
        let to_chrono =
            |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        let routing = Routing {
            first_delay: to_chrono(first_delay),
            direct: Direct {
                sink,
                lease: to_chrono(lease),
            },
        };
        self.0.routing.set(routing).ok().map(|()| routed)
    }

    /// The create of `session` has been answered: its held deliveries may go.
    pub fn release_deliveries(&self, session: SessionId) {
        if let Some(r) = self.0.routing.get() {
            let _ = r.direct.sink.send(Routed::Release(session));
        }
    }

    /// Tells this node's subscribers about a committed change.
    pub(crate) fn publish(&self, notice: Notice) {
        // No receivers is fine: nobody is waiting for this session.
        let _ = self.0.notices.send(notice);
    }

    /// Hands `notice` to the PostgreSQL notifier and waits until it is sent; without a
    /// notifier it is dropped, as there is nobody to send it to.
    pub(crate) async fn notify(&self, notice: Notice) {
        let Some(outbound) = &self.0.outbound else {
            return;
        };
        let (sent, done) = oneshot::channel();
        // The notifier stops only with the runtime; a failed NOTIFY is logged there.
        if outbound.send((notice, sent)).is_ok() {
            let _ = done.await;
        }
    }

    /// How far after their event first attempts are due, and how long a delivery leased to
    /// this node's dispatcher at commit stays leased (`None`: lease none, leave them all to
    /// a claim).
    pub(crate) fn delivery_timing(&self) -> (chrono::Duration, Option<chrono::Duration>) {
        match self.0.routing.get() {
            None => (chrono::Duration::zero(), None),
            // A stopped dispatcher takes nothing more: leave its deliveries to a claim.
            Some(r) => (
                r.first_delay,
                Some(r.direct.lease).filter(|_| !r.direct.sink.is_closed()),
            ),
        }
    }

    /// Hands a commit's leased deliveries to this node's dispatcher; with `hold`, it keeps
    /// them until `release_deliveries(hold)`.
    pub(crate) fn route(&self, direct: Vec<DueDelivery>, hold: Option<SessionId>) {
        if direct.is_empty() {
            return;
        }
        let Some(r) = self.0.routing.get() else {
            return;
        };
        // A stopped dispatcher cannot take them: their leases run out and any node claims
        // them then.
        let _ = r.direct.sink.send(Routed::Deliver {
            deliveries: direct,
            hold,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_dispatcher_is_leased_nothing_more() {
        let signals = Signals::new(None);
        assert_eq!(signals.delivery_timing(), (chrono::Duration::zero(), None));
        let routed = signals
            .route_deliveries(Duration::from_secs(2), Duration::from_secs(45))
            .unwrap();
        let (first_delay, lease) = signals.delivery_timing();
        assert_eq!(first_delay, chrono::Duration::seconds(2));
        assert_eq!(lease, Some(chrono::Duration::seconds(45)));
        drop(routed);
        assert_eq!(signals.delivery_timing().1, None, "left to a claim");
    }

    #[test]
    fn clones_share_one_set_of_channels() {
        let signals = Signals::new(None);
        let mut routed = signals
            .clone()
            .route_deliveries(Duration::ZERO, Duration::from_secs(45))
            .unwrap();
        let session = SessionId(uuid::Uuid::nil());
        signals.release_deliveries(session);
        assert!(matches!(routed.try_recv(), Ok(Routed::Release(s)) if s == session));
    }
}
