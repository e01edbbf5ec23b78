//! Orders: read, and change under a row lock (captures, refunds, cancel).

use super::SqlStore;
use crate::stores::{OrderChange, OrderStore};
use crate::{Result, StoreError};
use async_trait::async_trait;
use kassa_core::order::Order;
use kassa_core::{MerchantId, OrderId};

#[async_trait]
impl OrderStore for SqlStore {
    async fn get_order(&self, merchant: MerchantId, id: OrderId) -> Result<Option<Order>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT document FROM orders WHERE id = $1 AND merchant_id = $2")
                .bind(id.to_string())
                .bind(merchant.to_string())
                .fetch_optional(&self.read)
                .await?;
        row.map(|(doc,)| serde_json::from_str(&doc).map_err(Into::into))
            .transpose()
    }

    async fn update_order(
        &self,
        merchant: MerchantId,
        id: OrderId,
        change: &OrderChange,
    ) -> Result<Order> {
        let mut tx = self.write.begin().await?;
        let sql = format!(
            "SELECT document, version FROM orders WHERE id = $1 AND merchant_id = $2{}",
            self.backend.for_update()
        );
        let row: Option<(String, i64)> = sqlx::query_as(&sql)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let (doc, version) = row.ok_or(StoreError::NotFound)?;
        let mut order: Order = serde_json::from_str(&doc)?;
        change(&mut order)?;
        let done = sqlx::query(
            "UPDATE orders SET document = $1, version = version + 1 WHERE id = $2 AND version = $3",
        )
        .bind(serde_json::to_string(&order)?)
        .bind(id.to_string())
        .bind(version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            // Impossible: loaded `FOR UPDATE` (SQLite: the one write connection).
            return Err(StoreError::Invariant("order changed under its lock"));
        }
        super::idempotency::mark_effect(&mut tx, chrono::Utc::now()).await?;
        tx.commit().await?;
        Ok(order)
    }
}
