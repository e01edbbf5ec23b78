//! The event feed (`GET /ipp/v1/events`).

use super::builder::Sql;
use super::{id_list, SqlStore};
use crate::rows::{id, ms, opt_id, parsed, ts};
use crate::stores::{EventFilter, EventStore, StoredEvent};
use crate::{Backend, Result, StoreError};
use async_trait::async_trait;
use kassa_core::event::EventType;
use kassa_core::session::{PaymentOutcome, SessionStatus};
use kassa_core::{EventId, MerchantId, Timestamp};

pub(crate) const EVENT_COLUMNS: &str = "seq, id, merchant_id, type, session_id, sequence, status, \
    previous_status, order_id, failure_reason, merchant_reference1, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    seq: i64,
    id: String,
    merchant_id: String,
    #[sqlx(rename = "type")]
    event_type: String,
    session_id: String,
    sequence: i64,
    status: String,
    previous_status: Option<String>,
    order_id: Option<String>,
    failure_reason: Option<String>,
    merchant_reference1: Option<String>,
    created_at: i64,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self> {
        Ok(Self {
            seq: r.seq,
            id: EventId::parse(&r.id).ok_or_else(|| StoreError::Corrupt(r.id.clone()))?,
            merchant_id: id(&r.merchant_id)?,
            event_type: parsed(&r.event_type, EventType::parse)?,
            session_id: id(&r.session_id)?,
            sequence: r.sequence,
            status: parsed(&r.status, SessionStatus::parse)?,
            previous_status: r
                .previous_status
                .as_deref()
                .map(|s| parsed(s, SessionStatus::parse))
                .transpose()?,
            order_id: opt_id(r.order_id.as_deref())?,
            failure_reason: r
                .failure_reason
                .as_deref()
                .map(|s| parsed(s, PaymentOutcome::parse))
                .transpose()?,
            merchant_reference1: r.merchant_reference1,
            created_at: ts(r.created_at)?,
        })
    }
}

#[async_trait]
impl EventStore for SqlStore {
    async fn list_events(
        &self,
        merchant: MerchantId,
        filter: &EventFilter,
    ) -> Result<Vec<StoredEvent>> {
        let mut sql = Sql::new(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE merchant_id = "
        ));
        sql.bind(merchant.to_string());
        if let Some(after) = &filter.after {
            let seq = self.event_seq(merchant, after).await?;
            sql.and("seq > $?", seq);
        }
        if let Some(t) = filter.event_type {
            sql.and("type = $?", t.as_str());
        }
        if let Some(s) = filter.session_id {
            sql.and("session_id = $?", s.to_string());
        }
        sql.push(&format!(
            " ORDER BY seq LIMIT {}",
            filter.limit.clamp(1, 1000)
        ));
        let rows: Vec<EventRow> = sql.query_as().fetch_all(&self.read).await?;
        rows.into_iter().map(StoredEvent::try_from).collect()
    }

    async fn prune_events(&self, before: Timestamp, limit: i64) -> Result<usize> {
        // Event seqs grow with time, so the oldest `limit` by seq are the candidates.
        let seqs: Vec<(i64,)> = sqlx::query_as(
            "SELECT seq FROM (SELECT seq, created_at FROM events ORDER BY seq LIMIT $2) w \
             WHERE created_at < $1",
        )
        .bind(ms(before))
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        if seqs.is_empty() {
            return Ok(0);
        }
        let list = id_list(seqs.iter().map(|(s,)| *s));
        let mut tx = self.write.begin().await?;
        sqlx::query(&format!(
            "DELETE FROM webhook_attempts WHERE delivery_id IN \
             (SELECT id FROM webhook_deliveries WHERE event_seq IN ({list}))"
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "DELETE FROM webhook_deliveries WHERE event_seq IN ({list})"
        ))
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(&format!("DELETE FROM events WHERE seq IN ({list})"))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() as usize)
    }

    fn backend(&self) -> Backend {
        self.backend
    }
}

impl SqlStore {
    async fn event_seq(&self, merchant: MerchantId, id: &EventId) -> Result<i64> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT seq FROM events WHERE id = $1 AND merchant_id = $2")
                .bind(id.as_str())
                .bind(merchant.to_string())
                .fetch_optional(&self.read)
                .await?;
        row.map(|(seq,)| seq).ok_or(StoreError::NotFound)
    }
}
