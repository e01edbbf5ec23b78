//! Fan-out at commit: an event's delivery rows are written by the statement (PostgreSQL) or
//! the transaction (SQLite) that writes the event, one per enabled endpoint of the merchant
//! that wants its type. Nothing has to sweep the outbox afterwards, and a committed event
//! always has its deliveries.
//!
//! A delivery that is due at once, and whose session has no earlier first attempt still
//! pending on that endpoint, is written already leased to this node's dispatcher and handed
//! to it after the commit (`Routed`): the common case costs no claim round trip. The others
//! (a later event of a session whose earlier one is still in flight, or a node without a
//! dispatcher) wait for `claim_deliveries`, which keeps first attempts in `sequence` order.

use super::session_tx::{Bound, Tx};
use super::SqlStore;
use crate::notify::Notice;
use crate::rows::{id, ms};
use crate::stores::StoredEvent;
use crate::webhooks::{signing_secrets, DueDelivery, Routed};
use crate::{Backend, Result};
use kassa_core::event::{EventType, SessionEvent};
use kassa_core::session::Session;
use kassa_core::{EventId, SessionId, Timestamp};
use std::time::Duration;
use tokio::sync::mpsc;

/// How this node routes the deliveries it commits; set once, by its dispatcher.
pub(crate) struct Routing {
    first_delay: chrono::Duration,
    direct: Option<Direct>,
}

struct Direct {
    sink: mpsc::UnboundedSender<Routed>,
    lease: chrono::Duration,
}

/// The times one commit's deliveries are written with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FanOut {
    pub first_at: i64,
    /// When a delivery leased to this node at insert comes back; 0: nothing is leased.
    pub lease_until: i64,
    pub now: i64,
    /// The node that holds those leases (0: SQLite, or not joined).
    pub node: i64,
}

/// What a commit leaves for the dispatchers.
#[derive(Debug, Default)]
pub(crate) struct Fanned {
    /// Leased to this node: attempt after commit.
    pub direct: Vec<DueDelivery>,
    /// Some delivery waits for `claim_deliveries`.
    pub queued: bool,
}

impl Fanned {
    pub fn absorb(&mut self, other: Fanned) {
        self.direct.extend(other.direct);
        self.queued |= other.queued;
    }
}

/// A committed change: its notice and the deliveries this node sends itself.
pub(crate) struct Persisted {
    pub notice: Notice,
    pub fanned: Fanned,
}

/// One row per delivery written for an event (none: a row of NULLs but `seq`).
#[derive(sqlx::FromRow)]
pub(crate) struct FannedRow {
    pub seq: i64,
    delivery_id: Option<i64>,
    endpoint_id: Option<String>,
    leased_until: Option<i64>,
    url: Option<String>,
    secret: Option<String>,
    previous_secret: Option<String>,
    previous_secret_expires_at: Option<i64>,
}

/// The columns of `FannedRow` after `seq`, for a query joining `w` (the deliveries) and `p`.
pub(crate) const FANNED_COLUMNS: &str = "w.id AS delivery_id, w.endpoint_id, w.leased_until, \
    p.url, p.secret, p.previous_secret, p.previous_secret_expires_at";

/// `INSERT … SELECT` of one event's deliveries from `from` (which names the endpoints `p`).
/// `seq` is an SQL expression; the array holds the placeholder numbers of the session id,
/// sequence, merchant id, event type, first-attempt time, lease (0: none), now and this node's
/// id (the lease's holder: see `node.rs`).
pub(crate) fn insert_deliveries(seq: &str, from: &str, slots: [usize; 8]) -> String {
    let [session, sequence, merchant, kind, first_at, lease, now, node] = slots;
    format!(
        "INSERT INTO webhook_deliveries (event_seq, endpoint_id, session_id, sequence, status, \
           attempts, next_attempt_at, leased_until, leased_by, created_at, updated_at) \
         SELECT {seq}, p.id, ${session}, ${sequence}, 'PENDING', 0, ${first_at}, \
           CASE WHEN ${lease} > 0 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries b \
             WHERE b.endpoint_id = p.id AND b.session_id = ${session} AND b.status = 'PENDING' \
               AND b.attempts = 0 AND b.sequence < ${sequence}) THEN ${lease} END, ${node}, ${now}, ${now} \
         FROM {from} WHERE p.merchant_id = ${merchant} AND p.enabled = 1 AND {}",
        type_match(&format!("${kind}"))
    )
}

/// Whether endpoint `p` wants events of type `kind` (an SQL expression), on both backends.
pub(crate) fn type_match(kind: &str) -> String {
    format!("(p.event_types = '' OR p.event_types LIKE '%,' || {kind} || ',%')")
}

/// PostgreSQL: the event and its deliveries in one statement. Binds the event's eleven
/// columns as `$1…$11` (see `bind_event`), then first-attempt time, lease, now and node. Built
/// once: every transition runs it.
fn event_and_deliveries_pg() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "WITH e AS (INSERT INTO events ({EVENT_INSERT_COLUMNS}) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq), \
             w AS ({} RETURNING id, endpoint_id, leased_until) \
             SELECT (SELECT seq FROM e) AS seq, {FANNED_COLUMNS} FROM (SELECT 1 AS one) o \
             LEFT JOIN w ON true LEFT JOIN webhook_endpoints p ON p.id = w.endpoint_id",
            insert_deliveries(
                "e.seq",
                "e, webhook_endpoints p",
                [4, 5, 2, 3, 12, 13, 14, 15]
            )
        )
    })
}

pub(crate) const EVENT_INSERT_COLUMNS: &str = "id, merchant_id, type, session_id, sequence, \
    status, previous_status, order_id, failure_reason, merchant_reference1, created_at";

/// The event row `apply` produced for `session`, before it has its `seq`.
pub(crate) fn event_record(s: &Session, e: &SessionEvent) -> StoredEvent {
    let failure = matches!(
        e.event_type,
        EventType::PaymentFailed | EventType::SessionFailed
    )
    .then_some(s.failure_reason)
    .flatten();
    let order = (e.event_type == EventType::SessionFinalized)
        .then_some(s.order_id)
        .flatten();
    StoredEvent {
        seq: 0,
        id: EventId::from_random(rand::random()),
        merchant_id: s.merchant_id,
        event_type: e.event_type,
        session_id: s.id,
        sequence: e.sequence,
        status: e.status,
        previous_status: e.previous_status,
        order_id: order,
        failure_reason: failure,
        merchant_reference1: s.merchant_reference1.clone(),
        created_at: e.at,
    }
}

/// Binds the eleven event columns in `EVENT_INSERT_COLUMNS` order.
pub(crate) fn bind_event<'q, O>(q: Bound<'q, O>, e: &StoredEvent) -> Bound<'q, O> {
    q.bind(e.id.to_string())
        .bind(e.merchant_id.to_string())
        .bind(e.event_type.as_str())
        .bind(e.session_id.to_string())
        .bind(e.sequence)
        .bind(e.status.as_str())
        .bind(e.previous_status.map(|p| p.as_str()))
        .bind(e.order_id.map(|o| o.to_string()))
        .bind(e.failure_reason.map(|f| f.as_str()))
        .bind(e.merchant_reference1.clone())
        .bind(ms(e.created_at))
}

/// Turns the rows written for `event` into what the dispatchers get.
pub(crate) fn collect(rows: Vec<FannedRow>, event: &StoredEvent, now: Timestamp) -> Result<Fanned> {
    let mut fanned = Fanned::default();
    for row in rows {
        let (Some(delivery_id), Some(endpoint), Some(url), Some(secret)) =
            (row.delivery_id, row.endpoint_id, row.url, row.secret)
        else {
            continue;
        };
        if row.leased_until.is_none() {
            fanned.queued = true;
            continue;
        }
        let mut event = event.clone();
        event.seq = row.seq;
        fanned.direct.push(DueDelivery {
            delivery_id,
            attempt: 1,
            endpoint_id: id(&endpoint)?,
            secrets: signing_secrets(
                &secret,
                row.previous_secret.as_deref(),
                crate::rows::opt_ts(row.previous_secret_expires_at)?,
                now,
            ),
            url,
            event,
        });
    }
    Ok(fanned)
}

impl SqlStore {
    /// The times for deliveries committed at `now`.
    pub(crate) fn fan_out_at(&self, now: Timestamp) -> FanOut {
        let (first_delay, lease) = match self.routing.get() {
            None => (chrono::Duration::zero(), None),
            // A stopped dispatcher takes nothing more: leave its deliveries to a claim.
            Some(r) => (
                r.first_delay,
                r.direct
                    .as_ref()
                    .filter(|d| !d.sink.is_closed())
                    .map(|d| d.lease),
            ),
        };
        // Only a delivery due at once is worth sending straight away.
        let lease_until = match lease {
            Some(lease) if first_delay.is_zero() => ms(now + lease),
            _ => 0,
        };
        FanOut {
            first_at: ms(now + first_delay),
            lease_until,
            now: ms(now),
            node: self.node.id(),
        }
    }

    /// Writes `event` and its deliveries; returns its `seq` and what to route.
    pub(crate) async fn insert_event(
        &self,
        tx: &mut Tx<'_>,
        event: &StoredEvent,
        now: Timestamp,
    ) -> Result<Fanned> {
        let at = self.fan_out_at(now);
        let rows: Vec<FannedRow> = match self.backend {
            Backend::Postgres => {
                bind_event(sqlx::query_as(event_and_deliveries_pg()), event)
                    .bind(at.first_at)
                    .bind(at.lease_until)
                    .bind(at.now)
                    .bind(at.node)
                    .fetch_all(&mut **tx)
                    .await?
            }
            Backend::Sqlite => self.insert_event_sqlite(tx, event, at).await?,
        };
        collect(rows, event, now)
    }

    /// SQLite has no data-modifying CTEs; its statements cost no round trip either.
    async fn insert_event_sqlite(
        &self,
        tx: &mut Tx<'_>,
        event: &StoredEvent,
        at: FanOut,
    ) -> Result<Vec<FannedRow>> {
        let insert = format!(
            "INSERT INTO events ({EVENT_INSERT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq"
        );
        let (seq,): (i64,) = bind_event(sqlx::query_as(&insert), event)
            .fetch_one(&mut **tx)
            .await?;
        let done = sqlx::query(&insert_deliveries(
            "$1",
            "webhook_endpoints p",
            [2, 3, 4, 5, 6, 7, 8, 9],
        ))
        .bind(seq)
        .bind(event.session_id.to_string())
        .bind(event.sequence)
        .bind(event.merchant_id.to_string())
        .bind(event.event_type.as_str())
        .bind(at.first_at)
        .bind(at.lease_until)
        .bind(at.now)
        .bind(at.node)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query_as(&format!(
            "SELECT w.event_seq AS seq, {FANNED_COLUMNS} FROM webhook_deliveries w \
             JOIN webhook_endpoints p ON p.id = w.endpoint_id WHERE w.event_seq = $1"
        ))
        .bind(seq)
        .fetch_all(&mut **tx)
        .await?;
        Ok(rows)
    }

    /// Hands a commit's leased deliveries to this node's dispatcher; with `hold`, it keeps
    /// them until `release_deliveries(hold)`.
    pub(crate) fn route(&self, direct: Vec<DueDelivery>, hold: Option<SessionId>) {
        if direct.is_empty() {
            return;
        }
        let Some(sink) = self.routing.get().and_then(|r| r.direct.as_ref()) else {
            return;
        };
        // A stopped dispatcher cannot take them: their leases run out and any node claims
        // them then.
        let _ = sink.sink.send(Routed::Deliver {
            deliveries: direct,
            hold,
        });
    }

    pub(crate) fn start_routing(
        &self,
        first_delay: Duration,
        lease: Duration,
    ) -> Option<mpsc::UnboundedReceiver<Routed>> {
        let (sink, routed) = mpsc::unbounded_channel();
        let to_chrono =
            |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        let routing = Routing {
            first_delay: to_chrono(first_delay),
            direct: Some(Direct {
                sink,
                lease: to_chrono(lease),
            }),
        };
        self.routing.set(routing).ok().map(|()| routed)
    }

    pub(crate) fn release(&self, session: SessionId) {
        if let Some(d) = self.routing.get().and_then(|r| r.direct.as_ref()) {
            let _ = d.sink.send(Routed::Release(session));
        }
    }
}
