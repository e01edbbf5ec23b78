//! Creating a session: which way (`create`), and PostgreSQL's way in one statement and one
//! round trip, outside a transaction block (a single statement is atomic): the device
//! check, the session row, its timeline entry, its event and the event's deliveries. The
//! device row is share-locked, so a concurrent delete waits for the create; the partial
//! unique index settles a race for the device.
//!
//! That statement gives up (`None`) when the device is missing, at another location or holds
//! an open session; the transaction (`sessions.rs::create_in_transaction`), which is SQLite's
//! only way, then finds out which, and expires a session that is past its deadline but not
//! yet swept. (The transaction stays in `sessions.rs` while SQLite's write path is rebuilt.)

use super::builder::{column_list, Sql};
use super::event_write::push_event_ctes;
use super::fanout::{collect, FanOut, Fanned, FannedRow, Persisted, FANNED_COLUMNS};
use super::idempotency::push_mark_cte;
use super::records::{entry_row, event_record, session_row};
use super::session_write::notice;
use super::SqlStore;
use crate::rows::opt_id;
use crate::stores::StoredEvent;
use crate::{Backend, Result};
use kassa_core::event::TimelineEntry;
use kassa_core::machine;
use kassa_core::session::{NewSession, Session};
use kassa_core::Timestamp;

#[derive(sqlx::FromRow)]
struct CreatedRow {
    location_id: Option<String>,
    #[sqlx(flatten)]
    fanned: FannedRow,
}

/// The create's statement: CTEs `dev` (the device, share-locked), `s` (the session, at the
/// location asked for or else the device's), `t` (its timeline entry), `e0`/`w0` (its event
/// and deliveries) and, when the request has an `Idempotency-Key`, `k`, which marks it as
/// having taken effect (`idempotency.rs`), as `persist` does.
fn statement(
    session: &Session,
    entry: &TimelineEntry,
    event: &StoredEvent,
    at: FanOut,
    now: Timestamp,
) -> Result<Sql> {
    let mut row = session_row(session)?;
    row.retain(|(column, _)| *column != "location_id");
    let mut sql = Sql::new("WITH dev AS (SELECT location_id FROM devices WHERE id = ");
    let location = sql.param(session.location_id.map(|l| l.to_string()));
    sql.bind(session.device_id.to_string())
        .and("merchant_id = $?", session.merchant_id.to_string())
        .push(&format!(
            " AND deleted_at IS NULL AND ({location}::text IS NULL OR location_id = {location}) \
             FOR SHARE), s AS (INSERT INTO sessions (location_id, {}) \
             SELECT COALESCE({location}, dev.location_id), ",
            column_list(&row)
        ))
        .list(row.into_iter().map(|(_, arg)| arg))
        .push(
            " FROM dev ON CONFLICT (device_id) WHERE status IN ('CREATED', 'ACTIVE') DO NOTHING \
             RETURNING id, location_id), t AS (",
        );
    sql.insert_select("session_timeline", entry_row(session.id, entry))
        .push(" FROM s), ");
    push_event_ctes(&mut sql, 0, event, at, Some("s"));
    push_mark_cte(&mut sql, now, "s");
    sql.push(&format!(
        " SELECT s.location_id, e0.seq AS seq, {FANNED_COLUMNS} FROM s, e0 \
         LEFT JOIN w0 w ON true LEFT JOIN webhook_endpoints p ON p.id = w.endpoint_id"
    ));
    Ok(sql)
}

impl SqlStore {
    /// PostgreSQL tries the one statement first; what it steps aside for, and SQLite, take
    /// the transaction.
    pub(crate) async fn create(&self, new: NewSession, now: Timestamp) -> Result<Session> {
        if self.backend == Backend::Postgres {
            if let Some((session, fanned)) = self.create_in_one_statement(&new, now).await? {
                let notice = notice(&session, true, fanned.queued);
                self.finish(Persisted { notice, fanned }, Some(session.id))
                    .await;
                return Ok(session);
            }
        }
        self.create_in_transaction(new, now).await
    }

    pub(crate) async fn create_in_one_statement(
        &self,
        new: &NewSession,
        now: Timestamp,
    ) -> Result<Option<(Session, Fanned)>> {
        let (mut session, created) = machine::create(new.clone(), now);
        let applied = machine::apply(&mut session, &[created], now);
        let ([entry], [event]) = (applied.entries.as_slice(), applied.events.as_slice()) else {
            return Ok(None);
        };
        let record = event_record(&session, event);
        let sql = statement(&session, entry, &record, self.fan_out_at(now), now)?;
        let rows: Vec<CreatedRow> = sql.query_as().fetch_all(&self.write.pool).await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        session.location_id = opt_id(first.location_id.as_deref())?;
        let rows = rows.into_iter().map(|r| r.fanned).collect();
        Ok(Some((session, collect(rows, &record, now)?)))
    }
}

#[cfg(test)]
mod tests {
    use crate::sql::test_shop::{new_session, pg_shop};
    use kassa_core::{DeviceId, LocationId};

    /// The benchmark's numbers rest on creates taking this path, so prove they do, and that
    /// it steps aside for everything the transactional path must judge.
    #[tokio::test]
    async fn a_create_on_a_free_device_is_one_statement_and_nothing_else_is() {
        let now = chrono::Utc::now();
        let (store, merchant, device) = pg_shop(now).await;

        let new = new_session(merchant, device);
        let (session, fanned) = store
            .create_in_one_statement(&new, now)
            .await
            .unwrap()
            .expect("a free device takes the one-statement path");
        assert_eq!(session.id, new.id);
        assert!(fanned.direct.is_empty() && !fanned.queued, "no endpoints");
        let busy = new_session(merchant, device);
        assert!(store
            .create_in_one_statement(&busy, now)
            .await
            .unwrap()
            .is_none());
        let mut elsewhere = new_session(merchant, DeviceId::new());
        assert!(store
            .create_in_one_statement(&elsewhere, now)
            .await
            .unwrap()
            .is_none());
        elsewhere.device_id = device;
        elsewhere.location_id = Some(LocationId::new());
        assert!(store
            .create_in_one_statement(&elsewhere, now)
            .await
            .unwrap()
            .is_none());
    }
}
