//! Devices: registration with a one-time code, the merchant's device admin, token lookup.

use super::builder::{Sql, Tx};
use super::SqlStore;
use crate::model::*;
use crate::notify::Notice;
use crate::rows::{id, ms, opt_id, DeviceRow};
use crate::stores::DeviceStore;
use crate::{Result, StoreError};
use async_trait::async_trait;
use kassa_core::{DeviceId, DomainError, MerchantId, Timestamp};

const DEVICE_COLUMNS: &str = "id, merchant_id, location_id, name, platform, hardware_id, \
    metadata, push_token, created_at, last_seen_at, processor_reader";

#[derive(sqlx::FromRow)]
struct ConsumedCode {
    merchant_id: String,
    location_id: Option<String>,
    metadata: String,
}

#[async_trait]
impl DeviceStore for SqlStore {
    #[tracing::instrument(skip_all)]
    async fn register_device(&self, reg: &DeviceRegistration, now: Timestamp) -> Result<Device> {
        let mut tx = self.write.begin().await?;
        let code: Option<ConsumedCode> = sqlx::query_as(
            "UPDATE enrollments SET status = 'CONSUMED', device_id = $1 \
             WHERE code_hash = $2 AND status = 'PENDING' AND expires_at > $3 \
             RETURNING merchant_id, location_id, metadata",
        )
        .bind(reg.id.to_string())
        .bind(&reg.code_hash)
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await?;
        let code = code.ok_or(StoreError::NotFound)?;
        let device = Device {
            id: reg.id,
            merchant_id: id(&code.merchant_id)?,
            location_id: opt_id(code.location_id.as_deref())?,
            name: reg.name.clone(),
            platform: reg.platform,
            hardware_id: reg.hardware_id.clone(),
            metadata: serde_json::from_str(&code.metadata)?,
            push_token: reg.push_token.clone(),
            created_at: now,
            last_seen_at: None,
            processor_reader: None,
        };
        insert_device(&mut tx, &device, &reg.token_hash).await?;
        tx.commit().await?;
        Ok(device)
    }

    async fn create_device(&self, device: &Device, token_hash: &str) -> Result<()> {
        let mut tx = self.write.begin().await?;
        insert_device(&mut tx, device, token_hash).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_device(&self, merchant: MerchantId, id: DeviceId) -> Result<Option<Device>> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM devices \
             WHERE id = $1 AND merchant_id = $2 AND deleted_at IS NULL"
        );
        let row: Option<DeviceRow> = sqlx::query_as(&sql)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.map(Device::try_from).transpose()
    }

    async fn list_devices(
        &self,
        merchant: MerchantId,
        filter: &DeviceFilter,
        page: PageRequest,
    ) -> Result<Page<Device>> {
        let mut sql = Sql::new("FROM devices WHERE deleted_at IS NULL");
        sql.and("merchant_id = $?", merchant.to_string());
        if let Some(location) = filter.location_id {
            sql.and("location_id = $?", location.to_string());
        }
        self.metadata_filter(&mut sql, &filter.metadata);
        self.page(sql, DEVICE_COLUMNS, page, |r: DeviceRow| {
            Device::try_from(r)
        })
        .await
    }

    async fn update_device(
        &self,
        merchant: MerchantId,
        id: DeviceId,
        patch: &DevicePatch,
    ) -> Result<Device> {
        let metadata = patch
            .metadata
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?;
        let done = sqlx::query(
            "UPDATE devices SET name = COALESCE($1, name), metadata = COALESCE($2, metadata), \
             location_id = COALESCE($3, location_id) \
             WHERE id = $4 AND merchant_id = $5 AND deleted_at IS NULL",
        )
        .bind(patch.name.as_deref())
        .bind(metadata)
        .bind(patch.location_id.map(|l| l.to_string()))
        .bind(id.to_string())
        .bind(merchant.to_string())
        .execute(&self.write.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.get_device(merchant, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(skip_all, fields(device.id = %id))]
    async fn delete_device(
        &self,
        merchant: MerchantId,
        id: DeviceId,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        lock_device(self, &mut tx, merchant, id).await?;
        let (open,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM sessions WHERE device_id = $1 AND status IN ('CREATED', 'ACTIVE')",
        )
        .bind(id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        if open > 0 {
            return Err(DomainError::not_allowed("the device has an open session").into());
        }
        // The token hash is unique, so a revoked device keeps a unique, unmatchable value.
        sqlx::query(
            "UPDATE devices SET deleted_at = $1, token_hash = $2, push_token = NULL WHERE id = $3",
        )
        .bind(ms(now))
        .bind(format!("revoked:{id}"))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // After commit, so a node that closes the device's streams on it finds the token
        // already refused when the device reconnects.
        self.announce(Notice::device_removed(merchant, id)).await;
        Ok(())
    }

    async fn find_device_by_token(&self, token_hash: &str) -> Result<Option<Device>> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = $1 AND deleted_at IS NULL"
        );
        let row: Option<DeviceRow> = sqlx::query_as(&sql)
            .bind(token_hash)
            .fetch_optional(&self.read)
            .await?;
        row.map(Device::try_from).transpose()
    }

    async fn touch_device(&self, id: DeviceId, now: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE devices SET last_seen_at = $1 WHERE id = $2 AND deleted_at IS NULL",
        )
        .bind(ms(now))
        .bind(id.to_string())
        .execute(&self.write.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(skip_all, fields(device.id = %id))]
    async fn clear_push_token(&self, id: DeviceId, stale_token: &str) -> Result<bool> {
        let done =
            sqlx::query("UPDATE devices SET push_token = NULL WHERE id = $1 AND push_token = $2")
                .bind(id.to_string())
                .bind(stale_token)
                .execute(&self.write.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }
}

async fn insert_device(tx: &mut Tx<'_>, d: &Device, token_hash: &str) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO devices ({DEVICE_COLUMNS}, token_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(d.id.to_string())
    .bind(d.merchant_id.to_string())
    .bind(d.location_id.map(|l| l.to_string()))
    .bind(d.name.as_deref())
    .bind(d.platform.as_str())
    .bind(d.hardware_id.as_deref())
    .bind(serde_json::to_string(&d.metadata)?)
    .bind(d.push_token.as_deref())
    .bind(ms(d.created_at))
    .bind(d.last_seen_at.map(ms))
    .bind(d.processor_reader.as_deref())
    .bind(token_hash)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Locks the merchant's live device row for the transaction; `NotFound` if there is none.
/// Session creation takes the same lock, so a delete and a create cannot both succeed.
pub(crate) async fn lock_device(
    store: &SqlStore,
    tx: &mut Tx<'_>,
    merchant: MerchantId,
    id: DeviceId,
) -> Result<Option<String>> {
    let sql = format!(
        "SELECT location_id FROM devices WHERE id = $1 AND merchant_id = $2 AND deleted_at IS NULL{}",
        store.backend.for_update()
    );
    let row: Option<(Option<String>,)> = sqlx::query_as(&sql)
        .bind(id.to_string())
        .bind(merchant.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|(location,)| location).ok_or(StoreError::NotFound)
}
