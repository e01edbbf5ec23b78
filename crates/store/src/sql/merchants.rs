//! Merchants and their API keys.

use super::builder::Sql;
use super::SqlStore;
use crate::key_cache::KEYS_CHANNEL;
use crate::model::{ApiKey, Merchant, Page, PageRequest};
use crate::rows::{ms, ApiKeyRow, MerchantRow};
use crate::stores::MerchantStore;
use crate::{Backend, Result};
use async_trait::async_trait;
use kassa_core::{ApiKeyId, MerchantId, Timestamp};

#[derive(sqlx::FromRow)]
struct KeyAndMerchant {
    #[sqlx(flatten)]
    key: ApiKeyRow,
    merchant_name: String,
    merchant_mode: String,
    merchant_created_at: i64,
}

const KEY_COLUMNS: &str =
    "id, merchant_id, key_hash, prefix, last4, description, mode, created_at, revoked_at";

#[async_trait]
impl MerchantStore for SqlStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn create_merchant(&self, m: &Merchant) -> Result<()> {
        sqlx::query("INSERT INTO merchants (id, name, mode, created_at) VALUES ($1, $2, $3, $4)")
            .bind(m.id.to_string())
            .bind(&m.name)
            .bind(m.mode.as_str())
            .bind(ms(m.created_at))
            .execute(&self.write.pool)
            .await?;
        Ok(())
    }

    async fn list_merchants(&self) -> Result<Vec<Merchant>> {
        let rows: Vec<MerchantRow> =
            sqlx::query_as("SELECT id, name, mode, created_at FROM merchants ORDER BY created_at")
                .fetch_all(&self.read)
                .await?;
        rows.into_iter().map(Merchant::try_from).collect()
    }

    async fn get_merchant(&self, id: MerchantId) -> Result<Option<Merchant>> {
        let row: Option<MerchantRow> =
            sqlx::query_as("SELECT id, name, mode, created_at FROM merchants WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.read)
                .await?;
        row.map(Merchant::try_from).transpose()
    }

    async fn create_api_key(&self, k: &ApiKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, merchant_id, key_hash, prefix, last4, description, mode, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(k.id.to_string())
        .bind(k.merchant_id.to_string())
        .bind(&k.key_hash)
        .bind(&k.prefix)
        .bind(k.last4.as_deref())
        .bind(k.description.as_deref())
        .bind(k.mode.as_str())
        .bind(ms(k.created_at))
        .execute(&self.write.pool)
        .await?;
        Ok(())
    }

    async fn revoke_api_key(&self, id_or_prefix: &str, now: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 \
             WHERE (id = $2 OR prefix = $2) AND revoked_at IS NULL",
        )
        .bind(ms(now))
        .bind(id_or_prefix)
        .execute(&self.write.pool)
        .await?;
        self.forget_keys().await?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(skip_all, fields(merchant.id = %merchant, key.id = %id))]
    async fn revoke_merchant_api_key(
        &self,
        merchant: MerchantId,
        id: ApiKeyId,
        now: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 \
             WHERE id = $2 AND merchant_id = $3 AND revoked_at IS NULL",
        )
        .bind(ms(now))
        .bind(id.to_string())
        .bind(merchant.to_string())
        .execute(&self.write.pool)
        .await?;
        if done.rows_affected() > 0 {
            self.forget_keys().await?;
            return Ok(true);
        }
        // Nothing changed: either it was revoked before (a no-op) or it is not this merchant's.
        let found: Option<(String,)> =
            sqlx::query_as("SELECT id FROM api_keys WHERE id = $1 AND merchant_id = $2")
                .bind(id.to_string())
                .bind(merchant.to_string())
                .fetch_optional(&self.write.pool)
                .await?;
        Ok(found.is_some())
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<(ApiKey, Merchant)>> {
        // `Some(generation)` when this backend caches (see `key_cache.rs`).
        let generation = match self.backend {
            Backend::Sqlite => None,
            Backend::Postgres => match self.keys.get(key_hash) {
                Ok(hit) => return Ok(Some(hit)),
                Err(generation) => Some(generation),
            },
        };
        // One round trip for both: every authenticated request starts here.
        let row: Option<KeyAndMerchant> = sqlx::query_as(
            "SELECT k.id, k.merchant_id, k.key_hash, k.prefix, k.last4, k.description, k.mode, \
               k.created_at, k.revoked_at, m.name AS merchant_name, m.mode AS merchant_mode, \
               m.created_at AS merchant_created_at \
             FROM api_keys k JOIN merchants m ON m.id = k.merchant_id \
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let merchant = Merchant::try_from(MerchantRow {
            id: row.key.merchant_id.clone(),
            name: row.merchant_name,
            mode: row.merchant_mode,
            created_at: row.merchant_created_at,
        })?;
        let key = ApiKey::try_from(row.key)?;
        if let Some(generation) = generation {
            self.keys.put(key_hash, &key, &merchant, generation);
        }
        Ok(Some((key, merchant)))
    }

    async fn list_api_keys(&self, merchant: MerchantId) -> Result<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE merchant_id = $1 ORDER BY created_at"
        );
        let rows: Vec<ApiKeyRow> = sqlx::query_as(&sql)
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.into_iter().map(ApiKey::try_from).collect()
    }

    async fn page_api_keys(&self, merchant: MerchantId, page: PageRequest) -> Result<Page<ApiKey>> {
        let mut sql = Sql::new("FROM api_keys WHERE merchant_id = ");
        sql.bind(merchant.to_string());
        self.page(sql, KEY_COLUMNS, page, |r: ApiKeyRow| ApiKey::try_from(r))
            .await
    }
}

impl SqlStore {
    /// Drops every cached key after a revocation has committed. PostgreSQL only (SQLite does
    /// not cache): this node's cache at once, then `NOTIFY`, on which every node, this one's
    /// listener included, drops the keys it holds (`key_cache.rs`).
    async fn forget_keys(&self) -> Result<()> {
        if self.backend == Backend::Postgres {
            self.keys.clear();
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(KEYS_CHANNEL)
                .execute(&self.write.pool)
                .await?;
        }
        Ok(())
    }
}
