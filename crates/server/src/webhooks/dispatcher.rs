//! The dispatcher. Deliveries are written with their events at commit (`kassa_store`'s
//! `sql/fanout.rs`); those this node committed and could take at once arrive here already
//! leased (`Routed`), so the common case needs no database round trip before the POST. The
//! rest (a later event whose session still has an earlier first attempt in flight, retries,
//! a dead node's leases, redeliveries) are claimed with a lease (`SKIP LOCKED` on
//! PostgreSQL, so nodes share the queue). Attempts are POSTed signed with bounded
//! concurrency and recorded in batches.
//!
//! The claim path runs when a commit notice says deliveries were queued for it (every
//! node's, through `LISTEN/NOTIFY` on PostgreSQL), when a recorded attempt released a later
//! event of its session, and on a slow tick for retries that come due. Nothing waits for a
//! whole batch, and an endpoint keeps to its share of the permits (`admit`), so one slow
//! endpoint cannot hold back the others.

mod attempt;
mod held;
mod record;

use super::guard;
use crate::config::ServerMode;
use crate::state::AppState;
use held::Held;
use kassa_core::WebhookEndpointId;
use kassa_store::{AttemptRecord, DueDelivery, Routed, StoreError};
use record::record;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// How often due retries are looked for when nothing else wakes the dispatcher.
const TICK: Duration = Duration::from_millis(250);
/// A lease outlives the request timeout by this much, so only a dead node loses it.
const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// The longest a leased delivery waits for a permit: with the request's own timeout it
/// stays inside the lease.
const PERMIT_WAIT: Duration = Duration::from_secs(15);

pub struct Dispatcher {
    state: AppState,
    client: reqwest::Client,
    /// Deliveries in flight at once, over all endpoints (`webhook_concurrency`).
    concurrency: usize,
    permits: Arc<Semaphore>,
    /// Each endpoint's share of the permits, so that one slow endpoint cannot take them all.
    gates: Mutex<HashMap<WebhookEndpointId, Arc<Semaphore>>>,
    /// Wakes the claim path: an endpoint got room again, or a recorded attempt released a
    /// waiting event.
    wake: Arc<Notify>,
    live: bool,
}

impl Dispatcher {
    pub fn new(state: AppState) -> Self {
        let live = state.config.mode == ServerMode::Live;
        let mut client = reqwest::Client::builder()
            .timeout(state.config.webhook_timeout)
            // A redirect could lead to an address the guard never saw.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Kassa-Webhooks/", env!("CARGO_PKG_VERSION")));
        if live {
            client = client.dns_resolver(Arc::new(guard::PublicOnly));
        }
        Self {
            client: client.build().expect("the webhook HTTP client builds"),
            concurrency: state.config.webhook_concurrency,
            permits: Arc::new(Semaphore::new(state.config.webhook_concurrency)),
            gates: Mutex::default(),
            wake: Arc::new(Notify::new()),
            live,
            state,
        }
    }

    async fn claim(
        &self,
        limit: i64,
        skip: &[WebhookEndpointId],
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let now = self.state.now();
        let lease_until = now + chrono_duration(self.lease());
        self.state
            .store
            .claim_deliveries(now, lease_until, limit, skip)
            .await
    }

    /// How long a delivery is this node's: a lease outlives the request's timeout.
    fn lease(&self) -> Duration {
        self.state.config.webhook_timeout + LEASE_MARGIN
    }

    /// Starts the attempts of deliveries this node holds the leases of, each once a permit is
    /// free; those whose endpoint has all its requests in flight are left to a claim.
    fn start(
        self: &Arc<Self>,
        deliveries: Vec<DueDelivery>,
        done: &mpsc::UnboundedSender<AttemptRecord>,
    ) {
        let mut over = Vec::new();
        for due in deliveries {
            match self.admit(due.endpoint_id) {
                Some(slot) => self.launch(due, slot, None, done),
                None => over.push(due.delivery_id),
            }
        }
        self.give_back(over);
    }

    /// Whether `endpoint` may have one more request in flight. Each endpoint has a share of
    /// its own (a sixteenth of the permits); beyond it, it may use free permits only while a
    /// quarter of them stay free for the others. So one slow endpoint never holds more than
    /// three quarters, and a busy one is not slowed while nothing else waits.
    fn admit(&self, endpoint: WebhookEndpointId) -> Option<Slot> {
        let share = self.share();
        let mut gates = self.gates.lock().expect("gates lock");
        let gate = gates
            .entry(endpoint)
            .or_insert_with(|| Arc::new(Semaphore::new(share)));
        if let Ok(own) = gate.clone().try_acquire_owned() {
            return Some(Slot::Share(own));
        }
        if self.permits.available_permits() <= self.reserve() {
            return None;
        }
        // Taken now, so that admissions in a row cannot all see the same free permits.
        self.permits
            .clone()
            .try_acquire_owned()
            .ok()
            .map(Slot::Spare)
    }

    fn share(&self) -> usize {
        (self.concurrency / 16).max(1)
    }

    fn reserve(&self) -> usize {
        self.concurrency / 4
    }

    /// The endpoints a claim skips: those past their share while permits are scarce.
    fn saturated(&self) -> Vec<WebhookEndpointId> {
        let share = self.share();
        let mut gates = self.gates.lock().expect("gates lock");
        gates.retain(|_, g| g.available_permits() < share);
        if self.permits.available_permits() > self.reserve() {
            return Vec::new();
        }
        gates
            .iter()
            .filter(|(_, g)| g.available_permits() == 0)
            .map(|(e, _)| *e)
            .collect()
    }

    /// Hands leases back, so that these deliveries wait for a claim instead of this node.
    fn give_back(&self, deliveries: Vec<i64>) {
        if deliveries.is_empty() {
            return;
        }
        let (store, wake) = (self.state.store.clone(), self.wake.clone());
        tokio::spawn(async move {
            match store.release_leases(&deliveries).await {
                Ok(()) => wake.notify_one(),
                // The leases then run out by themselves.
                Err(e) => tracing::warn!(error = %e, "cannot hand webhook leases back"),
            }
        });
    }

    /// Attempts `due` in a task, holding its endpoint's `slot` and a global permit (taken
    /// there, or in advance as `permit`, unless the slot is a spare one).
    fn launch(
        self: &Arc<Self>,
        due: DueDelivery,
        slot: Slot,
        permit: Option<OwnedSemaphorePermit>,
        done: &mpsc::UnboundedSender<AttemptRecord>,
    ) {
        let (this, done) = (self.clone(), done.clone());
        tokio::spawn(async move {
            let (own, permit) = match (slot, permit) {
                (Slot::Spare(p), _) => (None, p),
                (Slot::Share(own), Some(p)) => (Some(own), p),
                (Slot::Share(own), None) => {
                    // Waiting longer could outlast the lease and let another node send it
                    // too: hand it back to a claim instead.
                    match tokio::time::timeout(PERMIT_WAIT, this.permit()).await {
                        Ok(permit) => (Some(own), permit),
                        Err(_) => return this.give_back(vec![due.delivery_id]),
                    }
                }
            };
            let record = this.attempt(due).await;
            let _ = done.send(record);
            drop(permit);
            if let Some(own) = own {
                let gate = own.semaphore().clone();
                drop(own);
                if gate.available_permits() == 1 {
                    // The endpoint was full, so a claim may have skipped it.
                    this.wake.notify_one();
                }
            }
        });
    }

    async fn permit(&self) -> OwnedSemaphorePermit {
        self.permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }

    /// One round of the claim path, to its end: claims what is due (as much as there are
    /// free permits), attempts it, waits for every attempt and records them all. Returns how
    /// many deliveries were attempted. For tests, which step the dispatcher instead of
    /// sleeping: with no dispatcher worker running (`App::without_dispatcher`), deliveries
    /// are written unleased and wait for this call, so after it returns the attempts are in
    /// the log and the receiver has had its requests.
    pub async fn dispatch_once(self: &Arc<Self>) -> Result<usize, StoreError> {
        let (done, mut finished) = mpsc::unbounded_channel();
        self.step(&done).await?;
        // Each attempt's task holds a sender: the channel ends when the last one is done.
        drop(done);
        let mut attempts = Vec::new();
        while let Some(attempt) = finished.recv().await {
            attempts.push(attempt);
        }
        if !attempts.is_empty() {
            let now = self.state.now();
            self.state.store.record_attempts(&attempts, now).await?;
        }
        Ok(attempts.len())
    }

    /// Claims as much as there are free permits and starts those attempts. True if it
    /// filled every free permit (more may be due).
    async fn step(
        self: &Arc<Self>,
        done: &mpsc::UnboundedSender<AttemptRecord>,
    ) -> Result<bool, StoreError> {
        let free = self.permits.available_permits();
        if free == 0 {
            return Ok(false);
        }
        let due = self.claim(free as i64, &self.saturated()).await?;
        let full = due.len() == free;
        let mut over = Vec::new();
        for d in due {
            match self.admit(d.endpoint_id) {
                // Waiting here keeps a claim from taking more than there are permits.
                Some(Slot::Share(own)) => {
                    let permit = self.permit().await;
                    self.launch(d, Slot::Share(own), Some(permit), done);
                }
                Some(spare) => self.launch(d, spare, None, done),
                None => over.push(d.delivery_id),
            }
        }
        self.give_back(over);
        Ok(full)
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The dispatcher worker of `kassa serve`. On stop it claims nothing more, lets in-flight
/// attempts finish and records them.
pub async fn run(state: AppState, stop: CancellationToken) {
    let dispatcher = Arc::new(Dispatcher::new(state.clone()));
    let first_delay = state
        .config
        .webhook_retry_schedule
        .first()
        .copied()
        .unwrap_or_default();
    let mut routed = state
        .signals
        .route_deliveries(first_delay, dispatcher.lease());
    let mut held = Held::default();
    let mut notices = state.signals.subscribe();
    let wake = dispatcher.wake.clone();
    let (done, records) = mpsc::unbounded_channel();
    let recorder = tokio::spawn(record(state.clone(), records, wake.clone()));
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        match dispatcher.step(&done).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "webhook dispatch failed"),
        }
        let go_on = loop {
            tokio::select! {
                _ = stop.cancelled() => break false,
                _ = wake.notified() => break true,
                _ = tick.tick() => {
                    dispatcher.start(held.overdue(), &done);
                    break true;
                }
                r = next_routed(&mut routed) => match r {
                    Some(r) => dispatcher.start(held.take(r), &done),
                    None => routed = None,
                },
                n = notices.recv() => match n {
                    Ok(n) if n.queued => break true,
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(_)) => break true,
                    Err(broadcast::error::RecvError::Closed) => {
                        tick.tick().await;
                        break true;
                    }
                },
            }
        };
        if !go_on {
            break;
        }
        // One round answers every notice that arrived meanwhile.
        while notices.try_recv().is_ok() {}
    }
    // What was handed over is leased to this node: send it rather than wait out the lease.
    // Closing first makes commits from now on leave their deliveries to a claim.
    if let Some(mut routed) = routed.take() {
        routed.close();
        while let Ok(r) = routed.try_recv() {
            dispatcher.start(held.take(r), &done);
        }
    }
    dispatcher.start(held.all(), &done);
    let _ = dispatcher
        .permits
        .acquire_many(dispatcher.concurrency as u32)
        .await;
    drop(done);
    let _ = recorder.await;
}

async fn next_routed(routed: &mut Option<mpsc::UnboundedReceiver<Routed>>) -> Option<Routed> {
    match routed {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

/// An endpoint's place for one request: within its own share (a global permit is still
/// needed), or a spare global permit beyond it.
enum Slot {
    Share(OwnedSemaphorePermit),
    Spare(OwnedSemaphorePermit),
}
