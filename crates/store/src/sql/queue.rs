//! The delivery queue: claiming due deliveries with a lease, handing leases back, recording
//! attempts and starting a redelivery. Per batch the dispatcher spends one statement to
//! claim (PostgreSQL; a short transaction on SQLite) and one to record; most first attempts
//! need no claim at all (`fanout.rs`).

use super::builder::Sql;
use super::events::{EventRow, EVENT_COLUMNS};
use super::fanout::type_match;
use super::{id_list, SqlStore};
use crate::rows::{id, ms, opt_ts};
use crate::stores::StoredEvent;
use crate::webhooks::*;
use crate::{Backend, Result, StoreError};
use kassa_core::{EventId, MerchantId, Timestamp, WebhookEndpointId};

#[derive(sqlx::FromRow)]
struct DueRow {
    delivery_id: i64,
    attempts: i64,
    endpoint_id: String,
    url: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_expires_at: Option<i64>,
    #[sqlx(flatten)]
    event: EventRow,
}

impl DueRow {
    fn into_due(self, now: Timestamp) -> Result<DueDelivery> {
        Ok(DueDelivery {
            delivery_id: self.delivery_id,
            attempt: self.attempts + 1,
            endpoint_id: id(&self.endpoint_id)?,
            secrets: signing_secrets(
                &self.secret,
                self.previous_secret.as_deref(),
                opt_ts(self.previous_secret_expires_at)?,
                now,
            ),
            url: self.url,
            event: StoredEvent::try_from(self.event)?,
        })
    }
}

/// The due-delivery columns, for a query that joins `events e` and `webhook_endpoints p`.
fn due_columns(delivery: &str) -> String {
    let event: Vec<String> = EVENT_COLUMNS
        .split(',')
        .map(|c| format!("e.{}", c.trim()))
        .collect();
    format!(
        "{delivery}.id AS delivery_id, {delivery}.attempts, {delivery}.endpoint_id, p.url, \
         p.secret, p.previous_secret, p.previous_secret_expires_at, {}",
        event.join(", ")
    )
}

/// Selects the ids of due, unleased deliveries of enabled endpoints, oldest due first,
/// skipping any whose session has an earlier event not yet attempted on the same endpoint.
/// `now` and `limit` are placeholders.
fn due_ids(backend: Backend, skip: &[WebhookEndpointId], now: &str, limit: &str) -> String {
    // Endpoint ids are UUIDs we parsed, so they are written into the SQL.
    let skip = if skip.is_empty() {
        String::new()
    } else {
        let ids: Vec<String> = skip.iter().map(|e| format!("'{e}'")).collect();
        format!("AND d.endpoint_id NOT IN ({}) ", ids.join(", "))
    };
    format!(
        "SELECT d.id FROM webhook_deliveries d \
         WHERE d.status = 'PENDING' AND d.next_attempt_at <= {now} {skip}\
           AND (d.leased_until IS NULL OR d.leased_until <= {now}) \
           AND EXISTS (SELECT 1 FROM webhook_endpoints p WHERE p.id = d.endpoint_id AND p.enabled = 1) \
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries b \
               WHERE b.endpoint_id = d.endpoint_id AND b.session_id = d.session_id \
                 AND b.status = 'PENDING' AND b.attempts = 0 AND b.sequence < d.sequence) \
         ORDER BY d.next_attempt_at, d.id LIMIT {limit}{}",
        backend.skip_locked()
    )
}

impl SqlStore {
    /// A fresh attempt series of `event` to every enabled endpoint that wants it.
    pub(crate) async fn redeliver(
        &self,
        merchant: MerchantId,
        event: &EventId,
        at: Timestamp,
    ) -> Result<usize> {
        let mut tx = self.write.begin().await?;
        let found: Option<(i64,)> =
            sqlx::query_as("SELECT seq FROM events WHERE id = $1 AND merchant_id = $2")
                .bind(event.as_str())
                .bind(merchant.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let (seq,) = found.ok_or(StoreError::NotFound)?;
        let mut sql = Sql::default();
        let (seq, at) = (sql.param(seq), sql.param(ms(at)));
        sql.push(&format!(
            "INSERT INTO webhook_deliveries (event_seq, endpoint_id, session_id, sequence, status, \
               attempts, next_attempt_at, created_at, updated_at) \
             SELECT ev.seq, p.id, ev.session_id, ev.sequence, 'PENDING', 0, {at}, {at}, {at} \
             FROM events ev JOIN webhook_endpoints p ON p.merchant_id = ev.merchant_id \
             WHERE ev.seq = {seq} AND p.enabled = 1 AND {} \
             ON CONFLICT (event_seq, endpoint_id) DO UPDATE SET status = 'PENDING', attempts = 0, \
               next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at",
            type_match("ev.type")
        ));
        let done = sql.query().execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() as usize)
    }

    pub(crate) async fn unlease(&self, deliveries: &[i64]) -> Result<()> {
        if deliveries.is_empty() {
            return Ok(());
        }
        sqlx::query(&format!(
            "UPDATE webhook_deliveries SET leased_until = NULL WHERE id IN ({})",
            id_list(deliveries.iter().copied())
        ))
        .execute(&self.write.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn claim(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
        skip: &[WebhookEndpointId],
    ) -> Result<Vec<DueDelivery>> {
        let mut sql = Sql::default();
        let lease = sql.param(ms(lease_until));
        let (now_at, limit) = (sql.param(ms(now)), sql.param(limit));
        let claim = format!(
            "UPDATE webhook_deliveries SET leased_until = {lease}, leased_by = {} WHERE id IN ({}) \
             RETURNING id, attempts, endpoint_id, event_seq",
            self.node.id(),
            due_ids(self.backend, skip, &now_at, &limit)
        );
        let rows: Vec<DueRow> = match self.backend {
            Backend::Postgres => {
                // Claim and load in one round trip.
                sql.push(&format!(
                    "WITH c AS ({claim}) SELECT {} FROM c \
                     JOIN events e ON e.seq = c.event_seq \
                     JOIN webhook_endpoints p ON p.id = c.endpoint_id ORDER BY e.seq",
                    due_columns("c")
                ));
                sql.query_as().fetch_all(&self.write.pool).await?
            }
            Backend::Sqlite => {
                let mut tx = self.write.begin().await?;
                sql.push(&claim);
                let claimed: Vec<(i64, i64, String, i64)> =
                    sql.query_as().fetch_all(&mut *tx).await?;
                if claimed.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT {} FROM webhook_deliveries d \
                     JOIN events e ON e.seq = d.event_seq \
                     JOIN webhook_endpoints p ON p.id = d.endpoint_id \
                     WHERE d.id IN ({}) ORDER BY e.seq",
                    due_columns("d"),
                    id_list(claimed.iter().map(|c| c.0))
                );
                let rows = sqlx::query_as(&sql).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                rows
            }
        };
        rows.into_iter().map(|r| r.into_due(now)).collect()
    }

    /// Records the attempts; true if a later event of one of their sessions waits for the
    /// claim path and may go now.
    pub(crate) async fn record(&self, attempts: &[AttemptRecord], now: Timestamp) -> Result<bool> {
        if attempts.is_empty() {
            return Ok(false);
        }
        let released = released_query(attempts);
        let gone: Vec<&AttemptRecord> = attempts
            .iter()
            .filter(|a| a.outcome == AttemptOutcome::Gone)
            .collect();
        match self.backend {
            Backend::Postgres => {
                // One statement, so one round trip, however many attempts.
                let mut sql = Sql::default();
                let (states, update) = states_cte(&mut sql, attempts, now);
                let log = log_cte(&mut sql, attempts);
                let disable = if gone.is_empty() {
                    String::new()
                } else {
                    format!(", g AS ({})", disable_gone(&mut sql, &gone, now))
                };
                sql.push(&format!(
                    "WITH {states}, u AS ({update} RETURNING webhook_deliveries.id), \
                     {log}{disable}, i AS ({INSERT_LOG} (SELECT id FROM u) RETURNING 1) \
                     {released}"
                ));
                let (released,): (i64,) = sql.query_as().fetch_one(&self.write.pool).await?;
                Ok(released > 0)
            }
            Backend::Sqlite => {
                let mut update = Sql::default();
                let (states, statement) = states_cte(&mut update, attempts, now);
                update.push(&format!("WITH {states} {statement}"));
                let mut insert = Sql::default();
                let log = log_cte(&mut insert, attempts);
                insert.push(&format!(
                    "WITH {log} {INSERT_LOG} (SELECT id FROM webhook_deliveries)"
                ));
                let mut tx = self.write.begin().await?;
                update.query().execute(&mut *tx).await?;
                insert.query().execute(&mut *tx).await?;
                if !gone.is_empty() {
                    let mut disable = Sql::default();
                    let statement = disable_gone(&mut disable, &gone, now);
                    disable.push(&statement).query().execute(&mut *tx).await?;
                }
                let (released,): (i64,) = sqlx::query_as(&released).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok(released > 0)
            }
        }
    }

    pub(crate) async fn next_due(&self) -> Result<Option<Timestamp>> {
        let (due,): (Option<i64>,) = sqlx::query_as(
            "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'PENDING'",
        )
        .fetch_one(&self.read)
        .await?;
        opt_ts(due)
    }
}

/// Whether a later first attempt of the recorded deliveries' sessions waits on the same
/// endpoint.
fn released_query(attempts: &[AttemptRecord]) -> String {
    let ids = id_list(attempts.iter().map(|a| a.delivery_id));
    format!(
        "SELECT CAST(CASE WHEN EXISTS (SELECT 1 FROM webhook_deliveries d \
           JOIN webhook_deliveries b \
             ON b.endpoint_id = d.endpoint_id AND b.session_id = d.session_id \
           WHERE d.id IN ({ids}) AND b.id NOT IN ({ids}) AND b.status = 'PENDING' \
             AND b.attempts = 0 AND b.sequence > d.sequence) THEN 1 ELSE 0 END AS BIGINT)"
    )
}

/// Logs attempts from the CTE `a` whose delivery is in the set that follows (an endpoint
/// deleted meanwhile took its deliveries along: nothing to log then).
const INSERT_LOG: &str = "INSERT INTO webhook_attempts (id, delivery_id, endpoint_id, event_id, \
    event_type, attempted_at, status_code, latency_ms, error, response_snippet, next_attempt_at) \
    SELECT * FROM a WHERE a.delivery_id IN";

fn next_at(a: &AttemptRecord) -> i64 {
    match a.outcome {
        AttemptOutcome::Retry(at) => ms(at),
        // -1 stands for NULL and is mapped back in SQL, so every row binds the same types.
        _ => -1,
    }
}

/// The CTE `v (…) AS (VALUES …)` of new delivery states and the `UPDATE` that applies it.
fn states_cte(sql: &mut Sql, attempts: &[AttemptRecord], now: Timestamp) -> (String, String) {
    let mut rows = Vec::with_capacity(attempts.len());
    for a in attempts {
        let status = match a.outcome {
            AttemptOutcome::Delivered => "DELIVERED",
            AttemptOutcome::Retry(_) => "PENDING",
            AttemptOutcome::Failed | AttemptOutcome::Gone => "FAILED",
        };
        let id = sql.param(a.delivery_id);
        let st = sql.param(status);
        let next = sql.param(next_at(a));
        rows.push(format!("({id}, {st}, {next})"));
    }
    let t = sql.param(ms(now));
    (
        format!("v (id, status, next_at) AS (VALUES {})", rows.join(", ")),
        format!(
            "UPDATE webhook_deliveries SET status = v.status, attempts = attempts + 1, \
             next_attempt_at = CASE WHEN v.next_at < 0 THEN next_attempt_at ELSE v.next_at END, \
             leased_until = NULL, updated_at = {t} FROM v WHERE webhook_deliveries.id = v.id"
        ),
    )
}

/// `a (…) AS (VALUES …)`: the attempt log rows.
fn log_cte(sql: &mut Sql, attempts: &[AttemptRecord]) -> String {
    let mut rows = Vec::with_capacity(attempts.len());
    for a in attempts {
        // Nulls travel as -1 and '' and come back through NULLIF (`next_at`).
        let cols = [
            sql.param(a.attempt_id.to_string()),
            sql.param(a.delivery_id),
            sql.param(a.endpoint_id.to_string()),
            sql.param(a.event_id.as_str()),
            sql.param(a.event_type.as_str()),
            sql.param(ms(a.attempted_at)),
            format!(
                "NULLIF({}, -1)",
                sql.param(a.status_code.map_or(-1, i64::from))
            ),
            sql.param(a.latency_ms),
            format!(
                "NULLIF({}, '')",
                sql.param(a.error.clone().unwrap_or_default())
            ),
            format!(
                "NULLIF({}, '')",
                sql.param(a.response_snippet.clone().unwrap_or_default())
            ),
            format!("NULLIF({}, -1)", sql.param(next_at(a))),
        ];
        rows.push(format!("({})", cols.join(", ")));
    }
    format!(
        "a (id, delivery_id, endpoint_id, event_id, event_type, attempted_at, status_code, \
         latency_ms, error, response_snippet, next_attempt_at) AS (VALUES {})",
        rows.join(", ")
    )
}

/// Disables the endpoints that answered `410 Gone`.
fn disable_gone(sql: &mut Sql, gone: &[&AttemptRecord], now: Timestamp) -> String {
    let t = sql.param(ms(now));
    let ids: Vec<String> = gone
        .iter()
        .map(|a| sql.param(a.endpoint_id.to_string()))
        .collect();
    format!(
        "UPDATE webhook_endpoints SET enabled = 0, \
         disabled_reason = 'the endpoint answered 410 Gone', updated_at = {t} WHERE id IN ({})",
        ids.join(", ")
    )
}
