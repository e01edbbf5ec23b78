//! Fan-out at commit: an event's delivery rows are written by the statement (PostgreSQL) or
//! the transaction (SQLite) that writes the event, one per enabled endpoint of the merchant
//! that wants its type. Nothing has to sweep the outbox afterwards, and a committed event
//! always has its deliveries.
//!
//! A delivery that is due at once, and whose session has no earlier first attempt still
//! pending on that endpoint, is written already leased to this node's dispatcher and handed
//! to it after the commit (`Routed`, through `Signals`): the common case costs no claim
//! round trip. The others (a later event of a session whose earlier one is still in flight,
//! or a node without a dispatcher) wait for `claim_deliveries`, which keeps first attempts
//! in `sequence` order.

use super::builder::Sql;
use super::SqlStore;
use crate::notify::Notice;
use crate::rows::{id, ms};
use crate::stores::StoredEvent;
use crate::webhooks::{signing_secrets, DueDelivery};
use crate::Result;
use kassa_core::Timestamp;

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

/// Appends the `INSERT … SELECT` of `event`'s deliveries: one per enabled endpoint `p` of its
/// merchant that wants its type. `seq` is an SQL expression for the event's seq and `from`
/// names the endpoints `p` (and whatever `seq` reads). `earlier` names CTEs of the same
/// statement that wrote deliveries of this session's earlier events: a statement does not
/// see its own rows, so a delivery there holds this one back exactly as a pending earlier
/// delivery in the table does.
pub(crate) fn push_deliveries(
    sql: &mut Sql,
    seq: &str,
    from: &str,
    event: &StoredEvent,
    at: FanOut,
    earlier: &[String],
) {
    let session = sql.param(event.session_id.to_string());
    let sequence = sql.param(event.sequence);
    let lease = sql.param(at.lease_until);
    let now = sql.param(at.now);
    let mut held_back = String::new();
    for cte in earlier {
        held_back.push_str(&format!(
            " AND NOT EXISTS (SELECT 1 FROM {cte} WHERE {cte}.endpoint_id = p.id)"
        ));
    }
    sql.push(&format!(
        "INSERT INTO webhook_deliveries (event_seq, endpoint_id, session_id, sequence, status, \
           attempts, next_attempt_at, leased_until, leased_by, created_at, updated_at) \
         SELECT {seq}, p.id, {session}, {sequence}, 'PENDING', 0, "
    ))
    .bind(at.first_at)
    .push(&format!(
        ", CASE WHEN {lease} > 0 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries b \
             WHERE b.endpoint_id = p.id AND b.session_id = {session} AND b.status = 'PENDING' \
               AND b.attempts = 0 AND b.sequence < {sequence}){held_back} THEN {lease} END, "
    ))
    .bind(at.node)
    .push(&format!(
        ", {now}, {now} FROM {from} WHERE p.merchant_id = "
    ))
    .bind(event.merchant_id.to_string())
    .push(" AND p.enabled = 1 AND ");
    let kind = sql.param(event.event_type.as_str());
    sql.push(&type_match(&kind));
}

/// Whether endpoint `p` wants events of type `kind` (an SQL expression), on both backends.
pub(crate) fn type_match(kind: &str) -> String {
    format!("(p.event_types = '' OR p.event_types LIKE '%,' || {kind} || ',%')")
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
        let (first_delay, lease) = self.signals.delivery_timing();
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
}
