//! The write path shared by every session use-case: load under lock, persist what the state
//! machine decided (session row, timeline, events, order) and announce it, all in one
//! transaction.

use super::fanout::{event_record, Fanned, Persisted};
use super::SqlStore;
use crate::notify::{Notice, NoticeKind};
use crate::rows::{ms, SessionRow, SESSION_COLUMNS, SESSION_SELECT};
use crate::{Backend, Result, Scope, StoreError};
use kassa_core::event::{Entry, EventType, TimelineEntry};
use kassa_core::machine::Applied;
use kassa_core::order::Order;
use kassa_core::session::Session;
use kassa_core::{SessionId, Timestamp};

/// A write transaction (see `writer.rs`); the lifetime is kept for the callers' signatures.
pub(crate) type Tx<'a> = super::WriteTx;

/// `WHERE` clause that limits a session query to what `scope` may see; binds `$2`.
pub(crate) fn scope_clause(scope: Scope) -> (&'static str, String) {
    match scope {
        Scope::Merchant(m) => ("merchant_id = $2", m.to_string()),
        Scope::Device(d) => ("device_id = $2", d.to_string()),
    }
}

impl SqlStore {
    /// Loads a session visible to `scope`, locked for this transaction on PostgreSQL.
    pub(crate) async fn load_locked(
        &self,
        tx: &mut Tx<'_>,
        scope: Scope,
        id: SessionId,
    ) -> Result<(Session, i64)> {
        let (clause, who) = scope_clause(scope);
        let sql = format!(
            "SELECT {SESSION_SELECT} FROM sessions WHERE id = $1 AND {clause}{}",
            self.backend.for_update()
        );
        let row: Option<SessionRow> = sqlx::query_as(&sql)
            .bind(id.to_string())
            .bind(who)
            .fetch_optional(&mut **tx)
            .await?;
        row.ok_or(StoreError::NotFound)?.into_session()
    }

    /// Writes everything one `apply` produced: the session row, its timeline, its events
    /// with their deliveries and, on finalize, the order. `version` is the row version that
    /// was loaded, or `None` for a new session.
    pub(crate) async fn persist(
        &self,
        tx: &mut Tx<'_>,
        session: &Session,
        version: Option<i64>,
        applied: &Applied,
        now: Timestamp,
    ) -> Result<Persisted> {
        super::idempotency::mark_effect(tx, now).await?;
        match version {
            None => insert_session(tx, session).await?,
            Some(v) => update_session(tx, session, v).await?,
        }
        for entry in &applied.entries {
            insert_entry(tx, session.id, entry).await?;
        }
        let mut fanned = Fanned::default();
        for event in &applied.events {
            let record = event_record(session, event);
            fanned.absorb(self.insert_event(tx, &record, now).await?);
            if event.event_type == EventType::SessionFinalized {
                insert_order(tx, session, now).await?;
            }
        }
        Ok(Persisted {
            notice: notice(session, !applied.events.is_empty(), fanned.queued),
            fanned,
        })
    }

    /// After commit: hands this node's deliveries to its dispatcher (held until the answer
    /// is out when `hold` names a just-created session) and publishes the notice.
    pub(crate) async fn finish(&self, persisted: Persisted, hold: Option<SessionId>) {
        self.route(persisted.fanned.direct, hold);
        self.announce(persisted.notice).await;
    }

    /// Publishes a committed change. SQLite: in-process. PostgreSQL: hands it to the
    /// notifier, which sends `NOTIFY` after the commit, outside the transaction; every node's
    /// listener (this one's too) republishes it. Not inside the transaction: a transaction
    /// that notifies holds PostgreSQL's global notify-queue lock from pre-commit until its
    /// commit record is flushed, which serialized every create behind one WAL flush at a time
    /// (BENCHMARKS.md). The price: a crash between commit and `NOTIFY` loses that notice,
    /// which is a hint — long-polls re-read at their deadline, devices resync on reconnect and
    /// webhooks are driven by the outbox rows, not by notices.
    ///
    /// Returns once the notice is out (one batched `NOTIFY` on PostgreSQL), so a client that
    /// acts on the answer — a device connecting right after a create — never sees the notice
    /// of an earlier change arrive after its own later view of the session.
    pub(crate) async fn announce(&self, notice: Notice) {
        match self.backend {
            Backend::Sqlite => self.publish(vec![notice]),
            Backend::Postgres => {
                let Some(outbound) = self.outbound.get() else {
                    return;
                };
                let (sent, done) = tokio::sync::oneshot::channel();
                // The notifier stops only with the runtime; a failed NOTIFY is logged there.
                if outbound.send((notice, sent)).is_ok() {
                    let _ = done.await;
                }
            }
        }
    }
}

async fn insert_session(tx: &mut Tx<'_>, s: &Session) -> Result<()> {
    let sql = format!(
        "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, 1) RETURNING version"
    );
    let _: (i64,) = bind_session(sqlx::query_as(&sql), s)?
        .fetch_one(&mut **tx)
        .await?;
    Ok(())
}

pub(crate) type Bound<'q, O> = sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>;

/// Binds a new session's first 22 columns in `SESSION_COLUMNS` order (`version` is 1).
pub(crate) fn bind_session<'q, O>(q: Bound<'q, O>, s: &Session) -> Result<Bound<'q, O>> {
    let items = serde_json::to_string(s.cart.items())?;
    Ok(q.bind(s.id.to_string())
        .bind(s.merchant_id.to_string())
        .bind(s.device_id.to_string())
        .bind(s.location_id.map(|l| l.to_string()))
        .bind(s.status.as_str())
        .bind(s.cart.order_amount())
        .bind(s.cart.order_tax_amount())
        .bind(s.cart.currency().code())
        .bind(items)
        .bind(s.purchase_started_at.map(ms))
        .bind(s.purchase_completed_at.map(ms))
        .bind(s.merchant_reference1.clone())
        .bind(s.merchant_reference2.clone())
        .bind(ms(s.created_at))
        .bind(ms(s.updated_at))
        .bind(ms(s.expires_at))
        .bind(s.payment_method.map(|m| m.as_str()))
        .bind(s.attempts)
        .bind(s.failure_reason.map(|f| f.as_str()))
        .bind(s.order_id.map(|o| o.to_string()))
        .bind(i64::from(s.auto_capture))
        .bind(s.last_sequence))
}

async fn update_session(tx: &mut Tx<'_>, s: &Session, version: i64) -> Result<()> {
    let done = sqlx::query(
        "UPDATE sessions SET status = $1, updated_at = $2, payment_method = $3, attempts = $4, \
         failure_reason = $5, order_id = $6, purchase_completed_at = $7, last_sequence = $8, \
         version = version + 1 WHERE id = $9 AND version = $10",
    )
    .bind(s.status.as_str())
    .bind(ms(s.updated_at))
    .bind(s.payment_method.map(|m| m.as_str()))
    .bind(s.attempts)
    .bind(s.failure_reason.map(|f| f.as_str()))
    .bind(s.order_id.map(|o| o.to_string()))
    .bind(s.purchase_completed_at.map(ms))
    .bind(s.last_sequence)
    .bind(s.id.to_string())
    .bind(version)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        // Impossible: every writer loads the row under its lock (`FOR UPDATE`; SQLite's one
        // write connection), and a second SQLite process gets `SQLITE_BUSY` before this.
        return Err(StoreError::Invariant("session changed under its lock"));
    }
    Ok(())
}

async fn insert_entry(tx: &mut Tx<'_>, session: SessionId, e: &TimelineEntry) -> Result<()> {
    let q = sqlx::query(
        "INSERT INTO session_timeline (session_id, sequence, kind, from_status, to_status, actor, \
         attempt_id, outcome, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(session.to_string())
    .bind(e.sequence);
    let q = match &e.entry {
        Entry::Transition { from, to, actor } => q
            .bind("transition")
            .bind(from.map(|s| s.as_str()))
            .bind(Some(to.as_str()))
            .bind(Some(actor.as_str()))
            .bind(None::<String>)
            .bind(None::<String>),
        Entry::Attempt {
            attempt_id,
            outcome,
        } => q
            .bind("attempt")
            .bind(None::<String>)
            .bind(None::<String>)
            .bind(None::<String>)
            .bind(Some(attempt_id.to_string()))
            .bind(Some(outcome.as_str())),
    };
    q.bind(ms(e.at)).execute(&mut **tx).await?;
    Ok(())
}

async fn insert_order(tx: &mut Tx<'_>, s: &Session, now: Timestamp) -> Result<()> {
    let order_id = s
        .order_id
        .ok_or_else(|| StoreError::Corrupt("finalized session without order id".into()))?;
    let order = Order::from_session(s, order_id, now);
    sqlx::query(
        "INSERT INTO orders (id, merchant_id, session_id, document, version, created_at) \
         VALUES ($1, $2, $3, $4, 1, $5)",
    )
    .bind(order.id.to_string())
    .bind(order.merchant_id.to_string())
    .bind(order.session_id.to_string())
    .bind(serde_json::to_string(&order)?)
    .bind(ms(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) fn notice(session: &Session, has_events: bool, queued: bool) -> Notice {
    Notice {
        session_id: session.id,
        merchant_id: session.merchant_id,
        device_id: session.device_id,
        status: session.status,
        has_events,
        queued,
        kind: NoticeKind::Session,
    }
}
