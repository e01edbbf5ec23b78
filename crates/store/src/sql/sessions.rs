//! Session use-cases: create, read, list, commands (activate, cancel, expire) and finalize.

use super::builder::{Sql, Tx};
use super::devices::lock_device;
use super::fanout::Persisted;
use super::records::attempt_row;
use super::session_write::select_session;
use super::{page_clause, SqlStore};
use crate::model::*;
use crate::rows::{id, ms, opt_id, ts, SessionRow, TimelineRow, SESSION_SELECT};
use crate::stores::{AttemptResult, SessionStore};
use crate::{Duplicate, Result, StoreError};
use async_trait::async_trait;
use kassa_core::event::TimelineEntry;
use kassa_core::machine::{self, Command, Policy};
use kassa_core::session::{NewSession, PaymentOutcome, Session, SessionStatus};
use kassa_core::{AttemptId, DeviceId, LocationId, MerchantId, SessionId, Timestamp};

#[async_trait]
impl SessionStore for SqlStore {
    #[tracing::instrument(skip_all, fields(session.id = %new.id))]
    async fn create_session(&self, new: NewSession, now: Timestamp) -> Result<Session> {
        self.create(new, now).await
    }

    async fn get_session(&self, scope: Scope, id: SessionId) -> Result<Option<Session>> {
        let sql = select_session(scope, id);
        let row: Option<SessionRow> = sql.query_as().fetch_optional(&self.read).await?;
        Ok(row
            .map(SessionRow::into_session)
            .transpose()?
            .map(|(s, _)| s))
    }

    async fn list_sessions(
        &self,
        merchant: MerchantId,
        filter: &SessionFilter,
        page: PageRequest,
    ) -> Result<Page<Session>> {
        let mut sql = Sql::new("FROM sessions WHERE merchant_id = ");
        sql.bind(merchant.to_string());
        status_filter(&mut sql, &filter.statuses);
        if let Some(device) = filter.device_id {
            sql.and("device_id = $?", device.to_string());
        }
        if let Some(location) = filter.location_id {
            sql.and("location_id = $?", location.to_string());
        }
        if let Some(reference) = &filter.merchant_reference1 {
            sql.and("merchant_reference1 = $?", reference.clone());
        }
        if let Some(after) = filter.created_after {
            sql.and("created_at > $?", ms(after));
        }
        self.page(sql, SESSION_SELECT, page, |r: SessionRow| {
            r.into_session().map(|(s, _)| s)
        })
        .await
    }

    async fn device_sessions(
        &self,
        device: DeviceId,
        statuses: &[SessionStatus],
    ) -> Result<Vec<Session>> {
        let mut sql = Sql::new(format!(
            "SELECT {SESSION_SELECT} FROM sessions WHERE device_id = "
        ));
        sql.bind(device.to_string());
        status_filter(&mut sql, statuses);
        sql.push(" ORDER BY created_at DESC")
            .push(&page_clause(PageRequest {
                number: 0,
                size: 100,
            }));
        let rows: Vec<SessionRow> = sql.query_as().fetch_all(&self.read).await?;
        rows.into_iter()
            .map(|r| r.into_session().map(|(s, _)| s))
            .collect()
    }

    #[tracing::instrument(skip_all, fields(session.id = %id))]
    async fn command_session(
        &self,
        scope: Scope,
        id: SessionId,
        command: Command,
        now: Timestamp,
        policy: Policy,
    ) -> Result<Session> {
        if self.one_statement_transitions() {
            let done = self
                .command_in_one_statement(scope, id, &command, now, policy)
                .await?;
            if let Some(session) = done {
                return Ok(session);
            }
        }
        let mut tx = self.write.begin().await?;
        let (mut session, version) = self.load_locked(&mut tx, scope, id).await?;
        let decision = machine::decide(&session, &command, now, policy);
        self.commit_decision(tx, &mut session, version, &decision.changes, now)
            .await?;
        match decision.refusal {
            Some(refusal) => Err(refusal.into()),
            None => Ok(session),
        }
    }

    #[tracing::instrument(skip_all, fields(session.id = %id))]
    async fn finalize_session(
        &self,
        scope: Scope,
        id: SessionId,
        attempt_id: AttemptId,
        command: Command,
        now: Timestamp,
        policy: Policy,
    ) -> Result<AttemptResult> {
        if self.one_statement_transitions() {
            let done = self
                .finalize_in_one_statement(scope, id, attempt_id, &command, now, policy)
                .await?;
            if let Some(result) = done {
                return Ok(result);
            }
        }
        let mut tx = self.write.begin().await?;
        let (mut session, version) = self.load_locked(&mut tx, scope, id).await?;
        if let Some(first) = find_attempt(&mut tx, attempt_id, id).await? {
            return Ok(first);
        }
        let decision = machine::decide(&session, &command, now, policy);
        if let (Some(refusal), true) = (&decision.refusal, decision.changes.is_empty()) {
            return Err(refusal.clone().into());
        }
        let Command::Finalize { outcome, .. } = command else {
            return Err(StoreError::Corrupt(
                "finalize without a finalize command".into(),
            ));
        };
        let applied = machine::apply(&mut session, &decision.changes, now);
        let persisted = self
            .persist(&mut tx, &session, Some(version), &applied, now)
            .await?;
        if decision.refusal.is_none() {
            record_attempt(&mut tx, attempt_id, &session, outcome, now).await?;
        }
        tx.commit().await?;
        self.finish(persisted, None).await;
        match decision.refusal {
            Some(refusal) => Err(refusal.into()),
            None => Ok(AttemptResult {
                outcome,
                session,
                replayed: false,
            }),
        }
    }

    async fn timeline(&self, scope: Scope, id: SessionId) -> Result<Option<Vec<TimelineEntry>>> {
        if self.get_session(scope, id).await?.is_none() {
            return Ok(None);
        }
        let rows: Vec<TimelineRow> = sqlx::query_as(
            "SELECT sequence, kind, from_status, to_status, actor, attempt_id, outcome, at \
             FROM session_timeline WHERE session_id = $1 ORDER BY sequence",
        )
        .bind(id.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(TimelineEntry::try_from)
            .collect::<Result<_>>()
            .map(Some)
    }

    async fn expire_due(&self, now: Timestamp, limit: i64) -> Result<usize> {
        let due: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, merchant_id FROM sessions WHERE status IN ('CREATED', 'ACTIVE') \
             AND expires_at <= $1 AND payment_ref IS NULL ORDER BY expires_at LIMIT $2",
        )
        .bind(ms(now))
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        let mut expired = 0;
        for (session, merchant) in due {
            let scope = Scope::Merchant(id(&merchant)?);
            let result = self
                .command_session(
                    scope,
                    id(&session)?,
                    Command::Expire,
                    now,
                    Policy::default(),
                )
                .await;
            match result {
                Ok(s) if s.status == SessionStatus::Expired => expired += 1,
                // Another node or a racing command got there first.
                Ok(_) | Err(StoreError::Refused(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(expired)
    }

    async fn next_expiry(&self) -> Result<Option<Timestamp>> {
        let (next,): (Option<i64>,) = sqlx::query_as(
            "SELECT MIN(expires_at) FROM sessions WHERE status IN ('CREATED', 'ACTIVE') \
             AND payment_ref IS NULL",
        )
        .fetch_one(&self.read)
        .await?;
        next.map(ts).transpose()
    }
}

impl SqlStore {
    /// Locks the device, expires a session on it that is past its deadline, and creates.
    pub(crate) async fn create_in_transaction(
        &self,
        mut new: NewSession,
        now: Timestamp,
    ) -> Result<Session> {
        let mut tx = self.write.begin().await?;
        new.location_id = self.check_device(&mut tx, &new).await?;
        let stale = self
            .expire_stale_on_device(&mut tx, new.device_id, now)
            .await?;
        let (mut session, created) = machine::create(new, now);
        let applied = machine::apply(&mut session, &[created], now);
        let persisted = self.persist(&mut tx, &session, None, &applied, now).await?;
        tx.commit().await?;
        if let Some(stale) = stale {
            self.finish(stale, None).await;
        }
        self.finish(persisted, Some(session.id)).await;
        Ok(session)
    }

    /// Persists the changes of a decision (if any) and commits.
    async fn commit_decision(
        &self,
        mut tx: Tx<'_>,
        session: &mut Session,
        version: i64,
        changes: &[machine::Change],
        now: Timestamp,
    ) -> Result<()> {
        if changes.is_empty() {
            tx.rollback().await?;
            return Ok(());
        }
        let applied = machine::apply(session, changes, now);
        let persisted = self
            .persist(&mut tx, session, Some(version), &applied, now)
            .await?;
        tx.commit().await?;
        self.finish(persisted, None).await;
        Ok(())
    }

    /// Locks the device and returns the session's location: the one asked for, which the
    /// device must be at, or else the device's own.
    pub(crate) async fn check_device(
        &self,
        tx: &mut Tx<'_>,
        new: &NewSession,
    ) -> Result<Option<LocationId>> {
        let device_location = lock_device(self, tx, new.merchant_id, new.device_id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => StoreError::bad_reference(
                    "device_id",
                    format!("no device {} for this merchant", new.device_id),
                ),
                other => other,
            })?;
        let device_location: Option<LocationId> = opt_id(device_location.as_deref())?;
        match new.location_id {
            Some(wanted) if device_location != Some(wanted) => Err(StoreError::bad_reference(
                "device_id",
                format!("device {} is not at location {wanted}", new.device_id),
            )),
            Some(wanted) => Ok(Some(wanted)),
            None => Ok(device_location),
        }
    }

    /// A session past its deadline must not keep its device busy until the sweeper runs. One
    /// that a processor holds a payment for is left to the processor sweep, which expires it
    /// only once the processor has cancelled the payment.
    async fn expire_stale_on_device(
        &self,
        tx: &mut Tx<'_>,
        device: DeviceId,
        now: Timestamp,
    ) -> Result<Option<Persisted>> {
        let sql = format!(
            "SELECT {SESSION_SELECT} FROM sessions WHERE device_id = $1 \
             AND status IN ('CREATED', 'ACTIVE') AND expires_at <= $2 AND payment_ref IS NULL{}",
            self.backend.for_update()
        );
        let stale: Option<SessionRow> = sqlx::query_as(&sql)
            .bind(device.to_string())
            .bind(ms(now))
            .fetch_optional(&mut **tx)
            .await?;
        let Some(row) = stale else { return Ok(None) };
        let (mut session, version) = row.into_session()?;
        let decision = machine::decide(&session, &Command::Expire, now, Policy::default());
        let applied = machine::apply(&mut session, &decision.changes, now);
        let persisted = self
            .persist(tx, &session, Some(version), &applied, now)
            .await?;
        Ok(Some(persisted))
    }
}

fn status_filter(sql: &mut Sql, statuses: &[SessionStatus]) {
    if statuses.is_empty() {
        return;
    }
    sql.push(" AND status IN (")
        .list(statuses.iter().map(|s| s.as_str().into()))
        .push(")");
}

/// A finalize attempt already recorded, which a retry of it is answered with.
#[derive(sqlx::FromRow)]
pub(crate) struct AttemptRow {
    pub session_id: String,
    pub outcome: String,
    pub snapshot: String,
}

impl AttemptRow {
    /// The first answer, replayed; an attempt id of another session is a duplicate.
    pub(crate) fn answer(self, session: SessionId) -> Result<AttemptResult> {
        if self.session_id != session.to_string() {
            return Err(Duplicate::AttemptId.into());
        }
        Ok(AttemptResult {
            outcome: crate::rows::parsed(&self.outcome, PaymentOutcome::parse)?,
            session: serde_json::from_str(&self.snapshot)?,
            replayed: true,
        })
    }
}

async fn find_attempt(
    tx: &mut Tx<'_>,
    attempt: AttemptId,
    session: SessionId,
) -> Result<Option<AttemptResult>> {
    let row: Option<AttemptRow> =
        sqlx::query_as("SELECT session_id, outcome, snapshot FROM attempts WHERE attempt_id = $1")
            .bind(attempt.to_string())
            .fetch_optional(&mut **tx)
            .await?;
    row.map(|row| row.answer(session)).transpose()
}

async fn record_attempt(
    tx: &mut Tx<'_>,
    attempt: AttemptId,
    session: &Session,
    outcome: PaymentOutcome,
    now: Timestamp,
) -> Result<()> {
    let mut sql = Sql::new("INSERT INTO attempts ");
    sql.values(attempt_row(attempt, session, outcome, now)?);
    sql.query().execute(&mut **tx).await?;
    Ok(())
}
