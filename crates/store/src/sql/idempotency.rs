//! Idempotency keys: reserve, complete with the response, replay.
//!
//! The answer is stored after the request's own transaction, so a crash in between would
//! leave a key reserved without an answer, which after a while counts as abandoned and runs
//! again. To keep that retry from running twice, the request's session and order changes
//! mark the key (`effect_at`) in their own transaction: the HTTP layer serves the request
//! inside `with_idempotency_key`, and `mark_effect` finds the key there. A key whose changes
//! committed but whose answer was lost is `Lost`, never run again.

use super::builder::{Sql, Tx};
use super::SqlStore;
use crate::rows::ms;
use crate::stores::{IdempotencyClaim, IdempotencyStore, StoredResponse};
use crate::Result;
use async_trait::async_trait;
use kassa_core::{MerchantId, Timestamp};

tokio::task_local! {
    /// The merchant and `Idempotency-Key` of the request this task serves.
    static REQUEST_KEY: (MerchantId, String);
}

/// Runs `work` (a request's handler) so that the changes it commits mark `key` as having
/// taken effect, in their own transaction.
pub async fn with_idempotency_key<F: std::future::Future>(
    merchant: MerchantId,
    key: String,
    work: F,
) -> F::Output {
    REQUEST_KEY.scope((merchant, key), work).await
}

/// The merchant and `Idempotency-Key` of the request this task serves, if any.
pub(crate) fn request_key() -> Option<(MerchantId, String)> {
    REQUEST_KEY.try_with(|k| k.clone()).ok()
}

/// In the transaction of a request's changes: marks its key as having taken effect.
pub(crate) async fn mark_effect(tx: &mut Tx<'_>, now: Timestamp) -> Result<()> {
    let Some(key) = request_key() else {
        return Ok(());
    };
    let mut sql = Sql::default();
    push_mark(&mut sql, key, now);
    sql.query().execute(&mut **tx).await?;
    Ok(())
}

/// PostgreSQL's one-statement writes: appends `, k AS (…)`, which marks the request's key
/// like `mark_effect` but only if CTE `guard` has a row (the change took effect).
pub(crate) fn push_mark_cte(sql: &mut Sql, now: Timestamp, guard: &str) {
    let Some(key) = request_key() else {
        return;
    };
    sql.push(", k AS (");
    push_mark(sql, key, now);
    sql.push(&format!(" AND EXISTS (SELECT 1 FROM {guard}))"));
}

fn push_mark(sql: &mut Sql, (merchant, key): (MerchantId, String), now: Timestamp) {
    sql.push("UPDATE idempotency_keys SET effect_at = ")
        .bind(ms(now))
        .push(" WHERE merchant_id = ")
        .bind(merchant.to_string())
        .and("key = $?", key)
        .push(" AND status_code IS NULL");
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    fingerprint: String,
    status_code: Option<i64>,
    headers: Option<String>,
    body: Option<String>,
    created_at: i64,
    effect_at: Option<i64>,
}

#[async_trait]
impl IdempotencyStore for SqlStore {
    async fn claim_idempotency_key(
        &self,
        merchant: MerchantId,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
        since: Timestamp,
    ) -> Result<IdempotencyClaim> {
        let mut tx = self.write.begin().await?;
        let sql = format!(
            "SELECT fingerprint, status_code, headers, body, created_at, effect_at FROM idempotency_keys \
             WHERE merchant_id = $1 AND key = $2{}",
            self.backend.for_update()
        );
        let row: Option<KeyRow> = sqlx::query_as(&sql)
            .bind(merchant.to_string())
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
        let claim = match row {
            Some(row) if row.created_at >= ms(since) && !abandoned(&row, now) => {
                return judge(row, fingerprint)
            }
            // Its changes committed, its answer was lost: running it again would repeat them.
            Some(row) if row.created_at >= ms(since) && row.effect_at.is_some() => {
                return Ok(match row.fingerprint == fingerprint {
                    true => IdempotencyClaim::Lost,
                    false => IdempotencyClaim::Mismatch,
                });
            }
            Some(_) => {
                // Past the retention window, or reserved by a request that never finished
                // (its node died): the key is free again.
                sqlx::query(
                    "UPDATE idempotency_keys SET fingerprint = $1, status_code = NULL, \
                     headers = NULL, body = NULL, effect_at = NULL, created_at = $2 \
                     WHERE merchant_id = $3 AND key = $4",
                )
                .bind(fingerprint)
                .bind(ms(now))
                .bind(merchant.to_string())
                .bind(key)
                .execute(&mut *tx)
                .await?;
                IdempotencyClaim::Claimed
            }
            None => {
                sqlx::query(
                    "INSERT INTO idempotency_keys (merchant_id, key, fingerprint, created_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(merchant.to_string())
                .bind(key)
                .bind(fingerprint)
                .bind(ms(now))
                .execute(&mut *tx)
                .await?;
                IdempotencyClaim::Claimed
            }
        };
        tx.commit().await?;
        Ok(claim)
    }

    async fn complete_idempotency_key(
        &self,
        merchant: MerchantId,
        key: &str,
        response: &StoredResponse,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status_code = $1, headers = $2, body = $3 \
             WHERE merchant_id = $4 AND key = $5",
        )
        .bind(i64::from(response.status))
        .bind(serde_json::to_string(&response.headers)?)
        .bind(String::from_utf8_lossy(&response.body).into_owned())
        .bind(merchant.to_string())
        .bind(key)
        .execute(&self.write.pool)
        .await?;
        Ok(())
    }

    async fn release_idempotency_key(&self, merchant: MerchantId, key: &str) -> Result<()> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE merchant_id = $1 AND key = $2 \
             AND status_code IS NULL AND effect_at IS NULL",
        )
        .bind(merchant.to_string())
        .bind(key)
        .execute(&self.write.pool)
        .await?;
        Ok(())
    }

    async fn purge_idempotency_keys(&self, before: Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(ms(before))
            .execute(&self.write.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

/// A reservation still without a response long after any request could have finished.
/// Requests time out after 60 s, so two minutes means the node that held it is gone.
fn abandoned(row: &KeyRow, now: Timestamp) -> bool {
    const ABANDONED_AFTER_MS: i64 = 120_000;
    row.status_code.is_none() && ms(now) - row.created_at > ABANDONED_AFTER_MS
}

fn judge(row: KeyRow, fingerprint: &str) -> Result<IdempotencyClaim> {
    if row.fingerprint != fingerprint {
        return Ok(IdempotencyClaim::Mismatch);
    }
    let (Some(status), Some(body)) = (row.status_code, row.body) else {
        return Ok(IdempotencyClaim::InProgress);
    };
    let headers = row
        .headers
        .as_deref()
        .map(serde_json::from_str)
        .transpose()?;
    Ok(IdempotencyClaim::Replay(StoredResponse {
        status: u16::try_from(status).unwrap_or(500),
        headers: headers.unwrap_or_default(),
        body: body.into_bytes(),
    }))
}
