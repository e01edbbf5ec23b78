//! Webhook endpoints, the deliveries log and redelivery; the trait's queue methods are in
//! `queue.rs` (claim and record) and `fanout.rs` (deliveries written at commit).

use super::builder::{Arg, Sql};
use super::{page_clause, SqlStore};
use crate::model::{Page, PageRequest};
use crate::rows::{id, ms, opt_ts, parsed, ts};
use crate::stores::WebhookStore;
use crate::webhooks::*;
use crate::{Result, StoreError};
use async_trait::async_trait;
use kassa_core::event::EventType;
use kassa_core::{EventId, MerchantId, Timestamp, WebhookEndpointId};

const ENDPOINT_COLUMNS: &str = "id, merchant_id, url, event_types, description, enabled, \
    disabled_reason, secret, previous_secret, previous_secret_expires_at, created_at, updated_at";

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
        .execute(&self.write.pool)
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
        let mut sql = Sql::new("FROM webhook_endpoints WHERE merchant_id = ");
        sql.bind(merchant.to_string());
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
        let mut sql = Sql::new("UPDATE webhook_endpoints SET updated_at = ");
        sql.bind(ms(now));
        let mut set = |column: &str, arg: Arg| {
            sql.push(&format!(", {column} = ")).bind(arg);
        };
        if let Some(url) = &patch.url {
            set("url", url.clone().into());
        }
        if let Some(types) = &patch.event_types {
            set("event_types", encode_types(types).into());
        }
        if let Some(description) = &patch.description {
            // An empty description clears it, like none: see below.
            set(
                "description",
                description.clone().unwrap_or_default().into(),
            );
        }
        if let Some(enabled) = patch.enabled {
            set("enabled", i64::from(enabled).into());
            if enabled {
                sql.push(", disabled_reason = NULL");
            }
        }
        sql.push(" WHERE merchant_id = ")
            .bind(merchant.to_string())
            .and("id = $?", id.to_string());
        let mut tx = self.write.begin().await?;
        let done = sql.query().execute(&mut *tx).await?;
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
            .execute(&self.write.pool)
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

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
        skip: &[WebhookEndpointId],
    ) -> Result<Vec<DueDelivery>> {
        self.claim(now, lease_until, limit, skip).await
    }

    async fn release_leases(&self, deliveries: &[i64]) -> Result<()> {
        self.unlease(deliveries).await
    }

    async fn record_attempts(&self, attempts: &[AttemptRecord], now: Timestamp) -> Result<bool> {
        self.record(attempts, now).await
    }

    async fn next_delivery_due(&self) -> Result<Option<Timestamp>> {
        self.next_due().await
    }

    #[tracing::instrument(skip_all, fields(event.id = %event.as_str()))]
    async fn redeliver_event(
        &self,
        merchant: MerchantId,
        event: &EventId,
        at: Timestamp,
    ) -> Result<usize> {
        self.redeliver(merchant, event, at).await
    }
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
