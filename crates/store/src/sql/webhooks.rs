//! Webhook endpoints and the delivery queue over the `events` outbox.
//!
//! Per batch of events the dispatcher spends one statement to fan them out (PostgreSQL; a
//! short transaction on SQLite), one to claim due deliveries with their event and endpoint,
//! and one transaction of two statements to record a batch of attempts.

use super::events::{EventRow, EVENT_COLUMNS};
use super::{page_clause, Arg, Sql, SqlStore};
use crate::model::{Page, PageRequest};
use crate::rows::{id, ms, opt_ts, parsed, ts};
use crate::stores::{StoredEvent, WebhookStore};
use crate::webhooks::*;
use crate::{Backend, Result, StoreError};
use async_trait::async_trait;
use kassa_core::event::EventType;
use kassa_core::{EventId, MerchantId, Timestamp, WebhookEndpointId};

const ENDPOINT_COLUMNS: &str = "id, merchant_id, url, event_types, description, enabled, \
    disabled_reason, secret, previous_secret, previous_secret_expires_at, created_at, updated_at";

/// Serializes fan-out across nodes (PostgreSQL advisory lock key), so that a later event of
/// a session never gets its delivery rows before an earlier one.
const FANOUT_LOCK: i64 = 0x6b61_7373_6177_6831;

/// Matches an endpoint's filter against an event's type on both backends.
const TYPE_MATCH: &str = "(p.event_types = '' OR p.event_types LIKE '%,' || ev.type || ',%')";

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: String,
    merchant_id: String,
    url: String,
    event_types: String,
    description: Option<String>,
    enabled: i64,
    disabled_reason: Option<String>,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_expires_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<EndpointRow> for WebhookEndpoint {
    type Error = StoreError;
    fn try_from(r: EndpointRow) -> Result<Self> {
        Ok(Self {
            id: id(&r.id)?,
            merchant_id: id(&r.merchant_id)?,
            url: r.url,
            event_types: decode_types(&r.event_types)?,
            description: r.description,
            enabled: r.enabled != 0,
            disabled_reason: r.disabled_reason,
            secret: r.secret,
            previous_secret: r.previous_secret,
            previous_secret_expires_at: opt_ts(r.previous_secret_expires_at)?,
            created_at: ts(r.created_at)?,
            updated_at: ts(r.updated_at)?,
        })
    }
}

fn encode_types(types: &[EventType]) -> String {
    if types.is_empty() {
        return String::new();
    }
    let mut s = String::from(",");
    for t in types {
        s.push_str(t.as_str());
        s.push(',');
    }
    s
}

fn decode_types(s: &str) -> Result<Vec<EventType>> {
    s.split(',')
        .filter(|t| !t.is_empty())
        .map(|t| parsed(t, EventType::parse))
        .collect()
}

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

#[derive(sqlx::FromRow)]
struct AttemptRow {
    id: String,
    event_id: String,
    event_type: String,
    attempted_at: i64,
    status_code: Option<i64>,
    latency_ms: i64,
    error: Option<String>,
    response_snippet: Option<String>,
    next_attempt_at: Option<i64>,
}

impl TryFrom<AttemptRow> for DeliveryAttempt {
    type Error = StoreError;
    fn try_from(r: AttemptRow) -> Result<Self> {
        Ok(Self {
            attempt_id: id(&r.id)?,
            event_id: parsed(&r.event_id, EventId::parse)?,
            event_type: parsed(&r.event_type, EventType::parse)?,
            attempted_at: ts(r.attempted_at)?,
            status_code: r.status_code.and_then(|c| u16::try_from(c).ok()),
            latency_ms: r.latency_ms,
            error: r.error,
            response_snippet: r.response_snippet,
            next_attempt_at: opt_ts(r.next_attempt_at)?,
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
/// Binds `$2` (now) and `$3` (limit).
fn due_ids(backend: Backend) -> String {
    format!(
        "SELECT d.id FROM webhook_deliveries d \
         WHERE d.status = 'PENDING' AND d.next_attempt_at <= $2 \
           AND (d.leased_until IS NULL OR d.leased_until <= $2) \
           AND EXISTS (SELECT 1 FROM webhook_endpoints p WHERE p.id = d.endpoint_id AND p.enabled = 1) \
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries b \
               WHERE b.endpoint_id = d.endpoint_id AND b.session_id = d.session_id \
                 AND b.status = 'PENDING' AND b.attempts = 0 AND b.sequence < d.sequence) \
         ORDER BY d.next_attempt_at, d.id LIMIT $3{}",
        backend.skip_locked()
    )
}

#[async_trait]
impl WebhookStore for SqlStore {
    #[tracing::instrument(skip_all, fields(endpoint.id = %e.id))]
    async fn create_webhook_endpoint(&self, e: &WebhookEndpoint) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(e.id.to_string())
        .bind(e.merchant_id.to_string())
        .bind(&e.url)
        .bind(encode_types(&e.event_types))
        .bind(e.description.as_deref())
        .bind(i64::from(e.enabled))
        .bind(e.disabled_reason.as_deref())
        .bind(&e.secret)
        .bind(e.previous_secret.as_deref())
        .bind(e.previous_secret_expires_at.map(ms))
        .bind(ms(e.created_at))
        .bind(ms(e.updated_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn get_webhook_endpoint(
        &self,
        merchant: MerchantId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>> {
        self.endpoint(&self.read, merchant, id).await
    }

    async fn list_webhook_endpoints(
        &self,
        merchant: MerchantId,
        page: PageRequest,
    ) -> Result<Page<WebhookEndpoint>> {
        let mut sql = Sql::new("FROM webhook_endpoints WHERE merchant_id = $1");
        sql.arg(Arg::Text(merchant.to_string()));
        self.page(sql, ENDPOINT_COLUMNS, page, |r: EndpointRow| {
            WebhookEndpoint::try_from(r)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(endpoint.id = %id))]
    async fn update_webhook_endpoint(
        &self,
        merchant: MerchantId,
        id: WebhookEndpointId,
        patch: &WebhookEndpointPatch,
        now: Timestamp,
    ) -> Result<WebhookEndpoint> {
        let mut sql = Sql::new("UPDATE webhook_endpoints SET updated_at = $1");
        sql.arg(Arg::Int(ms(now)));
        let mut set = |column: &str, arg: Arg| {
            let n = sql.arg(arg);
            sql.text.push_str(&format!(", {column} = ${n}"));
        };
        if let Some(url) = &patch.url {
            set("url", Arg::Text(url.clone()));
        }
        if let Some(types) = &patch.event_types {
            set("event_types", Arg::Text(encode_types(types)));
        }
        if let Some(description) = &patch.description {
            // An empty description clears it (NULL cannot be an `Arg`).
            set(
                "description",
                Arg::Text(description.clone().unwrap_or_default()),
            );
        }
        if let Some(enabled) = patch.enabled {
            set("enabled", Arg::Int(i64::from(enabled)));
            if enabled {
                sql.text.push_str(", disabled_reason = NULL");
            }
        }
        let m = sql.arg(Arg::Text(merchant.to_string()));
        let i = sql.arg(Arg::Text(id.to_string()));
        sql.text
            .push_str(&format!(" WHERE merchant_id = ${m} AND id = ${i}"));
        let mut tx = self.write.begin().await?;
        let done = sql
            .args
            .iter()
            .fold(sqlx::query(&sql.text), |q, a| match a {
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::Int(i) => q.bind(*i),
            })
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE webhook_endpoints SET description = NULL WHERE id = $1 AND description = ''",
        )
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        let endpoint = self.endpoint(&mut *tx, merchant, id).await?;
        tx.commit().await?;
        endpoint.ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(skip_all, fields(endpoint.id = %id))]
    async fn delete_webhook_endpoint(
        &self,
        merchant: MerchantId,
        id: WebhookEndpointId,
    ) -> Result<bool> {
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE merchant_id = $1 AND id = $2")
            .bind(merchant.to_string())
            .bind(id.to_string())
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(skip_all, fields(endpoint.id = %id))]
    async fn rotate_webhook_secret(
        &self,
        merchant: MerchantId,
        id: WebhookEndpointId,
        secret: &str,
        previous_expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<WebhookEndpoint> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET previous_secret = secret, \
             previous_secret_expires_at = $1, secret = $2, updated_at = $3 \
             WHERE merchant_id = $4 AND id = $5",
        )
        .bind(ms(previous_expires_at))
        .bind(secret)
        .bind(ms(now))
        .bind(merchant.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let endpoint = self.endpoint(&mut *tx, merchant, id).await?;
        tx.commit().await?;
        endpoint.ok_or(StoreError::NotFound)
    }

    async fn list_delivery_attempts(
        &self,
        merchant: MerchantId,
        endpoint: WebhookEndpointId,
        page: PageRequest,
    ) -> Result<Page<DeliveryAttempt>> {
        if self
            .endpoint(&self.read, merchant, endpoint)
            .await?
            .is_none()
        {
            return Err(StoreError::NotFound);
        }
        let (total,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM webhook_attempts WHERE endpoint_id = $1")
                .bind(endpoint.to_string())
                .fetch_one(&self.read)
                .await?;
        let rows: Vec<AttemptRow> = sqlx::query_as(&format!(
            "SELECT id, event_id, event_type, attempted_at, status_code, latency_ms, error, \
             response_snippet, next_attempt_at FROM webhook_attempts WHERE endpoint_id = $1 \
             ORDER BY attempted_at DESC, id DESC{}",
            page_clause(page)
        ))
        .bind(endpoint.to_string())
        .fetch_all(&self.read)
        .await?;
        Ok(Page {
            items: rows
                .into_iter()
                .map(DeliveryAttempt::try_from)
                .collect::<Result<_>>()?,
            total,
            request: page,
        })
    }

    async fn event_deliveries(
        &self,
        merchant: MerchantId,
        event: &EventId,
    ) -> Result<Vec<DeliveryState>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT d.endpoint_id, d.status, d.attempts FROM webhook_deliveries d \
             JOIN events e ON e.seq = d.event_seq WHERE e.id = $1 AND e.merchant_id = $2 \
             ORDER BY d.id",
        )
        .bind(event.as_str())
        .bind(merchant.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(endpoint, status, attempts)| {
                Ok(DeliveryState {
                    endpoint_id: id(&endpoint)?,
                    event_id: event.clone(),
                    status,
                    attempts,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip_all, fields(event.id = %event.as_str()))]
    async fn redeliver_event(
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
        // An event still waiting for fan-out gets its deliveries there; do not race it.
        let done = sqlx::query(&format!(
            "INSERT INTO webhook_deliveries (event_seq, endpoint_id, session_id, sequence, status, \
               attempts, next_attempt_at, created_at, updated_at) \
             SELECT ev.seq, p.id, ev.session_id, ev.sequence, 'PENDING', 0, $2, $2, $2 \
             FROM events ev JOIN webhook_endpoints p ON p.merchant_id = ev.merchant_id \
             WHERE ev.seq = $1 AND ev.fanout_pending = 0 AND p.enabled = 1 AND {TYPE_MATCH} \
             ON CONFLICT (event_seq, endpoint_id) DO UPDATE SET status = 'PENDING', attempts = 0, \
               next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at"
        ))
        .bind(seq)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() as usize)
    }

    async fn fan_out_events(&self, first_at: Timestamp, limit: i64) -> Result<usize> {
        let insert = format!(
            "INSERT INTO webhook_deliveries (event_seq, endpoint_id, session_id, sequence, status, \
               attempts, next_attempt_at, created_at, updated_at) \
             SELECT ev.seq, p.id, ev.session_id, ev.sequence, 'PENDING', 0, $2, $2, $2 \
             FROM ev JOIN webhook_endpoints p ON p.merchant_id = ev.merchant_id \
             WHERE p.enabled = 1 AND {TYPE_MATCH} ON CONFLICT DO NOTHING"
        );
        match self.backend {
            Backend::Postgres => {
                // One statement: mark a batch consumed and insert its deliveries. The advisory
                // lock lets one node fan out at a time; the others find nothing to do.
                let sql = format!(
                    "WITH ev AS (UPDATE events SET fanout_pending = 0 WHERE seq IN ( \
                       SELECT seq FROM events WHERE fanout_pending = 1 \
                         AND (SELECT pg_try_advisory_xact_lock({FANOUT_LOCK})) \
                       ORDER BY seq LIMIT $1) \
                     RETURNING seq, merchant_id, type, session_id, sequence), \
                     ins AS ({insert} RETURNING 1) \
                     SELECT (SELECT COUNT(*) FROM ev), (SELECT COUNT(*) FROM ins)"
                );
                let (events, _): (i64, i64) = sqlx::query_as(&sql)
                    .bind(limit)
                    .bind(ms(first_at))
                    .fetch_one(&self.write)
                    .await?;
                Ok(events as usize)
            }
            Backend::Sqlite => {
                // The one write connection serializes this with every other writer.
                let batch = "SELECT seq FROM events WHERE fanout_pending = 1 ORDER BY seq LIMIT $1";
                let mut tx = self.write.begin().await?;
                sqlx::query(&format!(
                    "WITH ev AS (SELECT * FROM events WHERE seq IN ({batch})) {insert}"
                ))
                .bind(limit)
                .bind(ms(first_at))
                .execute(&mut *tx)
                .await?;
                let done = sqlx::query(&format!(
                    "UPDATE events SET fanout_pending = 0 WHERE seq IN ({batch})"
                ))
                .bind(limit)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected() as usize)
            }
        }
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<DueDelivery>> {
        let claim = format!(
            "UPDATE webhook_deliveries SET leased_until = $1 WHERE id IN ({}) \
             RETURNING id, attempts, endpoint_id, event_seq",
            due_ids(self.backend)
        );
        let rows: Vec<DueRow> = match self.backend {
            Backend::Postgres => {
                // Claim and load in one round trip.
                let sql = format!(
                    "WITH c AS ({claim}) SELECT {} FROM c \
                     JOIN events e ON e.seq = c.event_seq \
                     JOIN webhook_endpoints p ON p.id = c.endpoint_id ORDER BY e.seq",
                    due_columns("c")
                );
                sqlx::query_as(&sql)
                    .bind(ms(lease_until))
                    .bind(ms(now))
                    .bind(limit)
                    .fetch_all(&self.write)
                    .await?
            }
            Backend::Sqlite => {
                let mut tx = self.write.begin().await?;
                let claimed: Vec<(i64, i64, String, i64)> = sqlx::query_as(&claim)
                    .bind(ms(lease_until))
                    .bind(ms(now))
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                if claimed.is_empty() {
                    return Ok(Vec::new());
                }
                let ids: Vec<String> = claimed.iter().map(|c| c.0.to_string()).collect();
                let sql = format!(
                    "SELECT {} FROM webhook_deliveries d \
                     JOIN events e ON e.seq = d.event_seq \
                     JOIN webhook_endpoints p ON p.id = d.endpoint_id \
                     WHERE d.id IN ({}) ORDER BY e.seq",
                    due_columns("d"),
                    ids.join(", ")
                );
                let rows = sqlx::query_as(&sql).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                rows
            }
        };
        rows.into_iter().map(|r| r.into_due(now)).collect()
    }

    async fn record_attempts(&self, attempts: &[AttemptRecord], now: Timestamp) -> Result<()> {
        if attempts.is_empty() {
            return Ok(());
        }
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
                sql.text = format!(
                    "WITH {states}, u AS ({update} RETURNING webhook_deliveries.id), \
                     {log}{disable} {INSERT_LOG} (SELECT id FROM u)"
                );
                execute(&sql, &self.write).await?;
            }
            Backend::Sqlite => {
                let mut update = Sql::default();
                let (states, statement) = states_cte(&mut update, attempts, now);
                update.text = format!("WITH {states} {statement}");
                let mut insert = Sql::default();
                insert.text = format!(
                    "WITH {} {INSERT_LOG} (SELECT id FROM webhook_deliveries)",
                    log_cte(&mut insert, attempts)
                );
                let mut tx = self.write.begin().await?;
                execute(&update, &mut *tx).await?;
                execute(&insert, &mut *tx).await?;
                if !gone.is_empty() {
                    let mut disable = Sql::default();
                    disable.text = disable_gone(&mut disable, &gone, now);
                    execute(&disable, &mut *tx).await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    async fn next_delivery_due(&self) -> Result<Option<Timestamp>> {
        let (due,): (Option<i64>,) = sqlx::query_as(
            "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'PENDING'",
        )
        .fetch_one(&self.read)
        .await?;
        opt_ts(due)
    }
}

/// Logs attempts from the CTE `a` whose delivery is in the set that follows (an endpoint
/// deleted meanwhile took its deliveries along: nothing to log then).
const INSERT_LOG: &str = "INSERT INTO webhook_attempts (id, delivery_id, endpoint_id, event_id, \
    event_type, attempted_at, status_code, latency_ms, error, response_snippet, next_attempt_at) \
    SELECT * FROM a WHERE a.delivery_id IN";

fn next_at(a: &AttemptRecord) -> i64 {
    match a.outcome {
        AttemptOutcome::Retry(at) => ms(at),
        // NULL cannot be an `Arg`: -1 stands for it and is mapped back in SQL.
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
        let id = sql.arg(Arg::Int(a.delivery_id));
        let st = sql.arg(Arg::Text(status.into()));
        let next = sql.arg(Arg::Int(next_at(a)));
        rows.push(format!("(${id}, ${st}, ${next})"));
    }
    let t = sql.arg(Arg::Int(ms(now)));
    (
        format!("v (id, status, next_at) AS (VALUES {})", rows.join(", ")),
        format!(
            "UPDATE webhook_deliveries SET status = v.status, attempts = attempts + 1, \
             next_attempt_at = CASE WHEN v.next_at < 0 THEN next_attempt_at ELSE v.next_at END, \
             leased_until = NULL, updated_at = ${t} FROM v WHERE webhook_deliveries.id = v.id"
        ),
    )
}

/// `a (…) AS (VALUES …)`: the attempt log rows.
fn log_cte(sql: &mut Sql, attempts: &[AttemptRecord]) -> String {
    let mut rows = Vec::with_capacity(attempts.len());
    for a in attempts {
        let mut n = |arg| sql.arg(arg);
        let cols = [
            n(Arg::Text(a.attempt_id.to_string())),
            n(Arg::Int(a.delivery_id)),
            n(Arg::Text(a.endpoint_id.to_string())),
            n(Arg::Text(a.event_id.as_str().into())),
            n(Arg::Text(a.event_type.as_str().into())),
            n(Arg::Int(ms(a.attempted_at))),
            n(Arg::Int(a.status_code.map_or(-1, i64::from))),
            n(Arg::Int(a.latency_ms)),
            n(Arg::Text(a.error.clone().unwrap_or_default())),
            n(Arg::Text(a.response_snippet.clone().unwrap_or_default())),
            n(Arg::Int(next_at(a))),
        ];
        rows.push(format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, NULLIF(${}, -1), ${}, NULLIF(${}, ''), \
             NULLIF(${}, ''), NULLIF(${}, -1))",
            cols[0],
            cols[1],
            cols[2],
            cols[3],
            cols[4],
            cols[5],
            cols[6],
            cols[7],
            cols[8],
            cols[9],
            cols[10]
        ));
    }
    format!(
        "a (id, delivery_id, endpoint_id, event_id, event_type, attempted_at, status_code, \
         latency_ms, error, response_snippet, next_attempt_at) AS (VALUES {})",
        rows.join(", ")
    )
}

/// Disables the endpoints that answered `410 Gone`.
fn disable_gone(sql: &mut Sql, gone: &[&AttemptRecord], now: Timestamp) -> String {
    let t = sql.arg(Arg::Int(ms(now)));
    let ids: Vec<String> = gone
        .iter()
        .map(|a| format!("${}", sql.arg(Arg::Text(a.endpoint_id.to_string()))))
        .collect();
    format!(
        "UPDATE webhook_endpoints SET enabled = 0, \
         disabled_reason = 'the endpoint answered 410 Gone', updated_at = ${t} WHERE id IN ({})",
        ids.join(", ")
    )
}

/// Runs `sql` with its arguments.
async fn execute<'e, E>(sql: &Sql, executor: E) -> Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sql.args
        .iter()
        .fold(sqlx::query(&sql.text), |q, a| match a {
            Arg::Text(s) => q.bind(s.as_str()),
            Arg::Int(i) => q.bind(*i),
        })
        .execute(executor)
        .await?;
    Ok(())
}

impl SqlStore {
    async fn endpoint<'e, E>(
        &self,
        executor: E,
        merchant: MerchantId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let row: Option<EndpointRow> = sqlx::query_as(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE merchant_id = $1 AND id = $2"
        ))
        .bind(merchant.to_string())
        .bind(id.to_string())
        .fetch_optional(executor)
        .await?;
        row.map(WebhookEndpoint::try_from).transpose()
    }
}
