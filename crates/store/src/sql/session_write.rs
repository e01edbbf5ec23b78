//! The write path shared by every session use-case, on both backends: load under lock,
//! persist what the state machine decided (session row, timeline, events, order) in one
//! transaction, and after the commit route the deliveries and announce the change.
//! PostgreSQL's create and transitions usually take one statement instead
//! (`create.rs`, `transition.rs`); they end in the same `finish`.

use super::builder::{Sql, Tx};
use super::fanout::{Fanned, Persisted};
use super::records::{
    creates_order, entry_row, event_record, order_row, session_changes, session_row,
};
use super::SqlStore;
use crate::notify::{Notice, NoticeKind};
use crate::rows::{SessionRow, SESSION_SELECT};
use crate::{Backend, Result, Scope, StoreError};
use kassa_core::event::TimelineEntry;
use kassa_core::machine::Applied;
use kassa_core::session::Session;
use kassa_core::{SessionId, Timestamp};

/// `SELECT` of session `id` if `scope` may see it.
pub(crate) fn select_session(scope: Scope, id: SessionId) -> Sql {
    let mut sql = Sql::new(format!("SELECT {SESSION_SELECT}"));
    push_from_session(&mut sql, scope, id);
    sql
}

/// Appends ` FROM sessions WHERE …` for session `id` if `scope` may see it.
pub(crate) fn push_from_session(sql: &mut Sql, scope: Scope, id: SessionId) {
    sql.push(" FROM sessions WHERE id = ").bind(id.to_string());
    match scope {
        Scope::Merchant(m) => sql.and("merchant_id = $?", m.to_string()),
        Scope::Device(d) => sql.and("device_id = $?", d.to_string()),
    };
}

impl SqlStore {
    /// Loads a session visible to `scope`, locked for this transaction on PostgreSQL.
    pub(crate) async fn load_locked(
        &self,
        tx: &mut Tx<'_>,
        scope: Scope,
        id: SessionId,
    ) -> Result<(Session, i64)> {
        let mut sql = select_session(scope, id);
        sql.push(self.backend.for_update());
        let row: Option<SessionRow> = sql.query_as().fetch_optional(&mut **tx).await?;
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
            if creates_order(event) {
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
        self.signals.route(persisted.fanned.direct, hold);
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
            Backend::Sqlite => self.signals.publish(notice),
            Backend::Postgres => self.signals.notify(notice).await,
        }
    }
}

async fn insert_session(tx: &mut Tx<'_>, s: &Session) -> Result<()> {
    let mut sql = Sql::new("INSERT INTO sessions ");
    sql.values(session_row(s)?);
    sql.query().execute(&mut **tx).await?;
    Ok(())
}

/// Appends the `UPDATE` of a transition's columns, bumping `version`, guarded by the
/// `version` loaded.
pub(crate) fn push_update_session(sql: &mut Sql, s: &Session, version: i64) {
    sql.push("UPDATE sessions SET ");
    for (column, value) in session_changes(s) {
        sql.push(column).push(" = ").bind(value).push(", ");
    }
    sql.push("version = version + 1 WHERE id = ")
        .bind(s.id.to_string())
        .and("version = $?", version);
}

async fn update_session(tx: &mut Tx<'_>, s: &Session, version: i64) -> Result<()> {
    let mut sql = Sql::default();
    push_update_session(&mut sql, s, version);
    let done = sql.query().execute(&mut **tx).await?;
    if done.rows_affected() == 0 {
        // Impossible: every writer loads the row under its lock (`FOR UPDATE`; SQLite's one
        // write connection), and a second SQLite process gets `SQLITE_BUSY` before this.
        return Err(StoreError::Invariant("session changed under its lock"));
    }
    Ok(())
}

async fn insert_entry(tx: &mut Tx<'_>, session: SessionId, e: &TimelineEntry) -> Result<()> {
    let mut sql = Sql::new("INSERT INTO session_timeline ");
    sql.values(entry_row(session, e));
    sql.query().execute(&mut **tx).await?;
    Ok(())
}

async fn insert_order(tx: &mut Tx<'_>, s: &Session, now: Timestamp) -> Result<()> {
    let mut sql = Sql::new("INSERT INTO orders ");
    sql.values(order_row(s, now)?);
    sql.query().execute(&mut **tx).await?;
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
