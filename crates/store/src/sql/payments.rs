//! `ProcessorStore` in SQL: payments attached to sessions, connected accounts, location
//! mirrors and the processor's webhook events. The same statements run on both backends.

use super::builder::Tx;
use super::SqlStore;
use crate::processors::{ProcessorEvent, ProcessorStore};
use crate::rows::{ms, ts, SessionRow, SESSION_SELECT};
use crate::{Duplicate, Result, Scope, StoreError};
use async_trait::async_trait;
use kassa_core::machine::{self, Command, Policy};
use kassa_core::session::{NewSession, PaymentRef, Session};
use kassa_core::{DomainError, LocationId, MerchantId, SessionId, Timestamp};

#[derive(sqlx::FromRow)]
struct EventRow {
    processor: String,
    event_id: String,
    #[sqlx(rename = "type")]
    event_type: String,
    payload: String,
    received_at: i64,
    attempts: i64,
}

impl TryFrom<EventRow> for ProcessorEvent {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self> {
        Ok(Self {
            processor: r.processor,
            event_id: r.event_id,
            event_type: r.event_type,
            payload: r.payload,
            received_at: ts(r.received_at)?,
            attempts: r.attempts,
        })
    }
}

/// Writes the payment columns, which a create leaves empty; under the session's lock.
async fn set_payment(
    tx: &mut Tx<'_>,
    session: &Session,
    payment: &PaymentRef,
    secret: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE sessions SET processor = $1, payment_ref = $2, payment_secret = $3 WHERE id = $4",
    )
    .bind(&payment.processor)
    .bind(&payment.reference)
    .bind(secret)
    .bind(session.id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl ProcessorStore for SqlStore {
    #[tracing::instrument(skip_all, fields(session.id = %id))]
    async fn attach_payment(
        &self,
        scope: Scope,
        id: SessionId,
        payment: &PaymentRef,
        secret: Option<&str>,
        command: Option<Command>,
        now: Timestamp,
        policy: Policy,
    ) -> Result<Session> {
        let mut tx = self.write.begin().await?;
        let (mut session, version) = self.load_locked(&mut tx, scope, id).await?;
        match &session.payment {
            Some(existing) if existing != payment => return Err(Duplicate::OtherPayment.into()),
            _ if !session.status.is_open() => {
                return Err(DomainError::not_allowed(format!(
                    "cannot take a payment for a session that is {}",
                    session.status
                ))
                .into())
            }
            _ => {}
        }
        set_payment(&mut tx, &session, payment, secret).await?;
        session.payment = Some(payment.clone());
        session.payment_secret = secret.map(str::to_string);
        let Some(command) = command else {
            tx.commit().await?;
            return Ok(session);
        };
        let decision = machine::decide(&session, &command, now, policy);
        if let Some(refusal) = decision.refusal {
            return Err(refusal.into());
        }
        if decision.changes.is_empty() {
            tx.commit().await?;
            return Ok(session);
        }
        let applied = machine::apply(&mut session, &decision.changes, now);
        let persisted = self
            .persist(&mut tx, &session, Some(version), &applied, now)
            .await?;
        tx.commit().await?;
        self.finish(persisted, None).await;
        Ok(session)
    }

    #[tracing::instrument(skip_all, fields(session.id = %new.id))]
    async fn create_paid_session(
        &self,
        mut new: NewSession,
        payment: &PaymentRef,
        activate: Command,
        now: Timestamp,
        policy: Policy,
    ) -> Result<Session> {
        let mut tx = self.write.begin().await?;
        new.location_id = self.check_device(&mut tx, &new).await?;
        let (mut session, created) = machine::create(new, now);
        session.payment = Some(payment.clone());
        let mut changes = vec![created];
        let mut draft = session.clone();
        machine::apply(&mut draft, &changes, now);
        let decision = machine::decide(&draft, &activate, now, policy);
        if let Some(refusal) = decision.refusal {
            return Err(refusal.into());
        }
        changes.extend(decision.changes);
        let applied = machine::apply(&mut session, &changes, now);
        let persisted = self.persist(&mut tx, &session, None, &applied, now).await?;
        set_payment(&mut tx, &session, payment, None).await?;
        tx.commit().await?;
        self.finish(persisted, Some(session.id)).await;
        Ok(session)
    }

    async fn session_by_payment(&self, payment: &PaymentRef) -> Result<Option<Session>> {
        let sql = format!(
            "SELECT {SESSION_SELECT} FROM sessions WHERE processor = $1 AND payment_ref = $2"
        );
        let row: Option<SessionRow> = sqlx::query_as(&sql)
            .bind(&payment.processor)
            .bind(&payment.reference)
            .fetch_optional(&self.read)
            .await?;
        Ok(row
            .map(SessionRow::into_session)
            .transpose()?
            .map(|(s, _)| s))
    }

    async fn processor_sessions_to_check(
        &self,
        quiet_since: Timestamp,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<Session>> {
        let sql = format!(
            "SELECT {SESSION_SELECT} FROM sessions WHERE payment_ref IS NOT NULL \
             AND status IN ('CREATED', 'ACTIVE') AND (updated_at <= $1 OR expires_at <= $2) \
             ORDER BY updated_at LIMIT $3"
        );
        let rows: Vec<SessionRow> = sqlx::query_as(&sql)
            .bind(ms(quiet_since))
            .bind(ms(now))
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.into_iter()
            .map(|r| r.into_session().map(|(s, _)| s))
            .collect()
    }

    async fn set_processor_account(
        &self,
        merchant: MerchantId,
        processor: &str,
        account: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        let Some(account) = account else {
            sqlx::query(
                "DELETE FROM merchant_processors WHERE merchant_id = $1 AND processor = $2",
            )
            .bind(merchant.to_string())
            .bind(processor)
            .execute(&self.write.pool)
            .await?;
            return Ok(());
        };
        // An upsert, not delete-then-insert: two binds at once must both succeed (the last
        // one wins), not fail on the primary key.
        sqlx::query(
            "INSERT INTO merchant_processors (merchant_id, processor, account, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (merchant_id, processor) \
             DO UPDATE SET account = excluded.account, updated_at = excluded.updated_at",
        )
        .bind(merchant.to_string())
        .bind(processor)
        .bind(account)
        .bind(ms(now))
        .execute(&self.write.pool)
        .await?;
        Ok(())
    }

    async fn processor_account(
        &self,
        merchant: MerchantId,
        processor: &str,
    ) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT account FROM merchant_processors WHERE merchant_id = $1 AND processor = $2",
        )
        .bind(merchant.to_string())
        .bind(processor)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|(a,)| a))
    }

    async fn processor_location(
        &self,
        location: LocationId,
        processor: &str,
    ) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT external_id FROM processor_locations WHERE location_id = $1 AND processor = $2",
        )
        .bind(location.to_string())
        .bind(processor)
        .fetch_optional(&self.write.pool)
        .await?;
        Ok(row.map(|(a,)| a))
    }

    async fn save_processor_location(
        &self,
        location: LocationId,
        processor: &str,
        external_id: &str,
        now: Timestamp,
    ) -> Result<String> {
        sqlx::query(
            "INSERT INTO processor_locations (location_id, processor, external_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (location_id, processor) DO NOTHING",
        )
        .bind(location.to_string())
        .bind(processor)
        .bind(external_id)
        .bind(ms(now))
        .execute(&self.write.pool)
        .await?;
        self.processor_location(location, processor)
            .await?
            .ok_or_else(|| StoreError::Corrupt("location mirror vanished".into()))
    }

    async fn record_processor_event(&self, e: &ProcessorEvent) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO processor_events (processor, event_id, type, payload, received_at, \
             attempts) VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT (processor, event_id) DO NOTHING",
        )
        .bind(&e.processor)
        .bind(&e.event_id)
        .bind(&e.event_type)
        .bind(&e.payload)
        .bind(ms(e.received_at))
        .execute(&self.write.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn pending_processor_events(
        &self,
        received_before: Timestamp,
        limit: i64,
    ) -> Result<Vec<ProcessorEvent>> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT processor, event_id, type, payload, received_at, attempts \
             FROM processor_events WHERE processed_at IS NULL AND received_at <= $1 \
             ORDER BY received_at LIMIT $2",
        )
        .bind(ms(received_before))
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(ProcessorEvent::try_from).collect()
    }

    async fn prune_processor_events(&self, before: Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM processor_events WHERE received_at < $1")
            .bind(ms(before))
            .execute(&self.write.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn claim_processor_event(&self, e: &ProcessorEvent, now: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE processor_events SET received_at = $1, attempts = attempts + 1 \
             WHERE processor = $2 AND event_id = $3 AND processed_at IS NULL AND received_at = $4",
        )
        .bind(ms(now))
        .bind(&e.processor)
        .bind(&e.event_id)
        .bind(ms(e.received_at))
        .execute(&self.write.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_processor_event(
        &self,
        processor: &str,
        event_id: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE processor_events SET processed_at = $1 WHERE processor = $2 AND event_id = $3",
        )
        .bind(ms(now))
        .bind(processor)
        .bind(event_id)
        .execute(&self.write.pool)
        .await?;
        Ok(())
    }
}
