//! PostgreSQL's session transitions (commands and finalize) in one write statement. The
//! transaction in `sessions.rs` (`command_session`, `finalize_session`: lock, decide,
//! `persist`, commit) is SQLite's way and the fallback here; it costs PostgreSQL about eight
//! round trips, this path two.
//!
//! The rules stay in the state machine: the session is read without a lock, `decide` and
//! `apply` run in Rust, and one statement of CTEs writes everything `persist` would (the
//! session row, its timeline entries, its events with their deliveries, the order, the
//! attempt, the request's `Idempotency-Key` mark), each part only if the session's `UPDATE`,
//! guarded by the version read, hit its row. A miss means another change got there first: the
//! transition is judged again on a fresh read, a few times, and then left to the transaction,
//! which waits for the row lock instead.

use super::builder::{Columns, Sql};
use super::event_write::{fanned_select, push_event_ctes};
use super::fanout::{collect, Fanned, FannedRow, Persisted};
use super::idempotency::push_mark_cte;
use super::records::{attempt_row, creates_order, entry_row, event_record, order_row};
use super::session_write::{notice, push_from_session, push_update_session};
use super::sessions::AttemptRow;
use super::SqlStore;
use crate::rows::{SessionRow, SESSION_SELECT};
use crate::stores::{AttemptResult, StoredEvent};
use crate::{Result, Scope, StoreError};
use kassa_core::machine::{self, Applied, Command, Policy};
use kassa_core::session::Session;
use kassa_core::{AttemptId, SessionId, Timestamp};

/// Fresh reads a transition gets when the version moves under it, before the transaction.
const READS: usize = 3;

tokio::task_local! {
    /// Set (tests only): transitions take the transaction, so both paths can be checked.
    pub(crate) static TRANSACTIONS_ONLY: ();
}

#[derive(sqlx::FromRow)]
struct ReadRow {
    #[sqlx(flatten)]
    session: SessionRow,
    attempt_session_id: Option<String>,
    attempt_outcome: Option<String>,
    attempt_snapshot: Option<String>,
}

/// A session as read for a transition: its version and, for a finalize, the attempt's
/// earlier record.
struct Read {
    session: Session,
    version: i64,
    first: Option<AttemptRow>,
}

#[derive(sqlx::FromRow)]
struct WrittenRow {
    ev: i64,
    #[sqlx(flatten)]
    fanned: FannedRow,
}

/// What one transition writes, as the state machine decided it.
struct Change<'a> {
    session: &'a Session,
    version: i64,
    applied: &'a Applied,
    /// Finalize: the attempt's record.
    attempt: Option<Columns>,
    now: Timestamp,
}

impl SqlStore {
    /// Whether transitions may take one statement here.
    pub(crate) fn one_statement_transitions(&self) -> bool {
        self.backend == crate::Backend::Postgres && TRANSACTIONS_ONLY.try_with(|_| ()).is_err()
    }

    /// `command_session` in one statement; `None`: take the transaction.
    pub(crate) async fn command_in_one_statement(
        &self,
        scope: Scope,
        id: SessionId,
        command: &Command,
        now: Timestamp,
        policy: Policy,
    ) -> Result<Option<Session>> {
        for _ in 0..READS {
            let read = self.read_for_transition(scope, id, None).await?;
            let mut session = read.session;
            let decision = machine::decide(&session, command, now, policy);
            // Nothing to write: answered like the transaction, which rolls back.
            if !decision.changes.is_empty() {
                let applied = machine::apply(&mut session, &decision.changes, now);
                let change = Change {
                    session: &session,
                    version: read.version,
                    applied: &applied,
                    attempt: None,
                    now,
                };
                if !self.write_and_finish(change).await? {
                    continue;
                }
            }
            return match decision.refusal {
                Some(refusal) => Err(refusal.into()),
                None => Ok(Some(session)),
            };
        }
        Ok(None)
    }

    /// `finalize_session` in one statement; `None`: take the transaction.
    pub(crate) async fn finalize_in_one_statement(
        &self,
        scope: Scope,
        id: SessionId,
        attempt_id: AttemptId,
        command: &Command,
        now: Timestamp,
        policy: Policy,
    ) -> Result<Option<AttemptResult>> {
        let Command::Finalize { outcome, .. } = command else {
            return Ok(None);
        };
        for _ in 0..READS {
            let read = self
                .read_for_transition(scope, id, Some(attempt_id))
                .await?;
            if let Some(first) = read.first {
                return first.answer(id).map(Some);
            }
            let mut session = read.session;
            let decision = machine::decide(&session, command, now, policy);
            if let (Some(refusal), true) = (&decision.refusal, decision.changes.is_empty()) {
                return Err(refusal.clone().into());
            }
            let applied = machine::apply(&mut session, &decision.changes, now);
            // A refused attempt is not recorded: its retry is judged again.
            let attempt = match decision.refusal {
                None => Some(attempt_row(attempt_id, &session, *outcome, now)?),
                Some(_) => None,
            };
            let change = Change {
                session: &session,
                version: read.version,
                applied: &applied,
                attempt,
                now,
            };
            if !self.write_and_finish(change).await? {
                continue;
            }
            return match decision.refusal {
                Some(refusal) => Err(refusal.into()),
                None => Ok(Some(AttemptResult {
                    outcome: *outcome,
                    session,
                    replayed: false,
                })),
            };
        }
        Ok(None)
    }

    /// Writes `change`, then routes its deliveries and announces it; false: nothing written.
    async fn write_and_finish(&self, change: Change<'_>) -> Result<bool> {
        let Some(written) = self.write_change(change).await? else {
            return Ok(false);
        };
        self.finish(written, None).await;
        Ok(true)
    }

    /// One round trip: the session and, for a finalize, the attempt's earlier record.
    async fn read_for_transition(
        &self,
        scope: Scope,
        id: SessionId,
        attempt: Option<AttemptId>,
    ) -> Result<Read> {
        let mut sql = Sql::new(format!("SELECT {SESSION_SELECT}"));
        let attempt = sql.param(attempt.map(|a| a.to_string()));
        for column in ["session_id", "outcome", "snapshot"] {
            sql.push(&format!(
                ", (SELECT a.{column} FROM attempts a WHERE a.attempt_id = {attempt}) \
                 AS attempt_{column}"
            ));
        }
        push_from_session(&mut sql, scope, id);
        let row: Option<ReadRow> = sql.query_as().fetch_optional(&self.read).await?;
        let row = row.ok_or(StoreError::NotFound)?;
        let first = match (
            row.attempt_session_id,
            row.attempt_outcome,
            row.attempt_snapshot,
        ) {
            (Some(session_id), Some(outcome), Some(snapshot)) => Some(AttemptRow {
                session_id,
                outcome,
                snapshot,
            }),
            _ => None,
        };
        let (session, version) = row.session.into_session()?;
        Ok(Read {
            session,
            version,
            first,
        })
    }

    /// Writes `change` in one statement if the session is still at its version; `None` if
    /// it moved (nothing was written) or a uniqueness rule needs the transaction to judge it.
    async fn write_change(&self, change: Change<'_>) -> Result<Option<Persisted>> {
        let records: Vec<_> = (change.applied.events.iter())
            .map(|e| event_record(change.session, e))
            .collect();
        let sql = self.change_statement(&change, &records)?;
        let rows: Vec<WrittenRow> = match sql.query_as().fetch_all(&self.write.pool).await {
            Ok(rows) => rows,
            // An attempt or order id taken meanwhile: the transaction finds out which.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if rows.is_empty() {
            return Ok(None);
        }
        let mut per_event: Vec<Vec<FannedRow>> = records.iter().map(|_| Vec::new()).collect();
        for row in rows {
            if let Some(rows) = usize::try_from(row.ev)
                .ok()
                .and_then(|i| per_event.get_mut(i))
            {
                rows.push(row.fanned);
            }
        }
        let mut fanned = Fanned::default();
        for (rows, record) in per_event.into_iter().zip(&records) {
            fanned.absorb(collect(rows, record, change.now)?);
        }
        Ok(Some(Persisted {
            notice: notice(change.session, !records.is_empty(), fanned.queued),
            fanned,
        }))
    }

    /// The statement of `change`: CTE `s` (the guarded `UPDATE`), then each part conditioned
    /// on it. Its rows: one for `s` (`ev` -1), then event `ev`'s rows for `FannedRow`.
    fn change_statement(&self, change: &Change<'_>, records: &[StoredEvent]) -> Result<Sql> {
        let session = change.session;
        let mut sql = Sql::new("WITH s AS (");
        push_update_session(&mut sql, session, change.version);
        // The machine judged the payment it read too: `attach_payment` sets it unversioned.
        let payment = session.payment.as_ref().map(|p| p.reference.clone());
        sql.and("payment_ref IS NOT DISTINCT FROM $?", payment)
            .push(" RETURNING id)");
        for (i, entry) in change.applied.entries.iter().enumerate() {
            sql.push(&format!(", t{i} AS ("))
                .insert_select("session_timeline", entry_row(session.id, entry))
                .push(" FROM s)");
        }
        let at = self.fan_out_at(change.now);
        for (i, record) in records.iter().enumerate() {
            sql.push(", ");
            push_event_ctes(&mut sql, i, record, at, Some("s"));
        }
        if change.applied.events.iter().any(creates_order) {
            sql.push(", o AS (")
                .insert_select("orders", order_row(session, change.now)?)
                .push(" FROM s)");
        }
        if let Some(attempt) = &change.attempt {
            sql.push(", a AS (")
                .insert_select("attempts", attempt.clone())
                .push(" FROM s)");
        }
        push_mark_cte(&mut sql, change.now, "s");
        sql.push(&format!(" SELECT {HIT} FROM s"));
        for i in 0..records.len() {
            sql.push(" UNION ALL ").push(&fanned_select(i));
        }
        Ok(sql)
    }
}

/// The row that says the guarded `UPDATE` hit, in `WrittenRow`'s shape.
const HIT: &str = "CAST(-1 AS BIGINT) AS ev, CAST(0 AS BIGINT) AS seq, \
    CAST(NULL AS BIGINT) AS delivery_id, CAST(NULL AS TEXT) AS endpoint_id, \
    CAST(NULL AS BIGINT) AS leased_until, CAST(NULL AS TEXT) AS url, \
    CAST(NULL AS TEXT) AS secret, CAST(NULL AS TEXT) AS previous_secret, \
    CAST(NULL AS BIGINT) AS previous_secret_expires_at";

#[cfg(test)]
#[path = "transition_tests.rs"]
mod tests;
