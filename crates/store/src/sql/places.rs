//! Locations and enrollments (pairing codes).

use super::builder::{Sql, Tx};
use super::{page_clause, SqlStore};
use crate::model::*;
use crate::rows::{ms, EnrollmentRow, LocationRow};
use crate::stores::PlaceStore;
use crate::{Result, StoreError};
use async_trait::async_trait;
use kassa_core::{DomainError, EnrollmentId, LocationId, MerchantId, Timestamp};

const LOCATION_COLUMNS: &str = "id, merchant_id, name, street_address, street_address2, \
    postal_code, city, country, created_at, updated_at";
const ENROLLMENT_COLUMNS: &str =
    "id, merchant_id, code_hash, status, metadata, location_id, expires_at, created_at";

#[async_trait]
impl PlaceStore for SqlStore {
    async fn create_location(&self, l: &Location) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO locations ({LOCATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(l.id.to_string())
        .bind(l.merchant_id.to_string())
        .bind(&l.name)
        .bind(l.street_address.as_deref())
        .bind(l.street_address2.as_deref())
        .bind(l.postal_code.as_deref())
        .bind(l.city.as_deref())
        .bind(l.country.as_deref())
        .bind(ms(l.created_at))
        .bind(ms(l.updated_at))
        .execute(&self.write.pool)
        .await?;
        Ok(())
    }

    async fn get_location(&self, merchant: MerchantId, id: LocationId) -> Result<Option<Location>> {
        let sql =
            format!("SELECT {LOCATION_COLUMNS} FROM locations WHERE id = $1 AND merchant_id = $2");
        let row: Option<LocationRow> = sqlx::query_as(&sql)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.map(Location::try_from).transpose()
    }

    async fn list_locations(
        &self,
        merchant: MerchantId,
        page: PageRequest,
    ) -> Result<Page<Location>> {
        let mut sql = Sql::new("FROM locations WHERE merchant_id = ");
        sql.bind(merchant.to_string());
        self.page(sql, LOCATION_COLUMNS, page, |r: LocationRow| {
            Location::try_from(r)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(location.id = %l.id))]
    async fn update_location(&self, l: &Location) -> Result<Location> {
        let sql = format!(
            "UPDATE locations SET name = $1, street_address = $2, street_address2 = $3, \
             postal_code = $4, city = $5, country = $6, updated_at = $7 \
             WHERE id = $8 AND merchant_id = $9 RETURNING {LOCATION_COLUMNS}"
        );
        let row: Option<LocationRow> = sqlx::query_as(&sql)
            .bind(&l.name)
            .bind(l.street_address.as_deref())
            .bind(l.street_address2.as_deref())
            .bind(l.postal_code.as_deref())
            .bind(l.city.as_deref())
            .bind(l.country.as_deref())
            .bind(ms(l.updated_at))
            .bind(l.id.to_string())
            .bind(l.merchant_id.to_string())
            .fetch_optional(&self.write.pool)
            .await?;
        row.map(Location::try_from)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    /// Locks the location row first. Whatever puts a device, a code or a processor mirror at
    /// a location checks the row's key (the foreign keys) and so waits for this transaction;
    /// once it commits the row is gone and such a write fails instead of slipping in. A write
    /// that got there first holds the key until it commits, and is then counted.
    #[tracing::instrument(skip_all, fields(location.id = %id))]
    async fn delete_location(
        &self,
        merchant: MerchantId,
        id: LocationId,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let sql = format!(
            "SELECT id FROM locations WHERE id = $1 AND merchant_id = $2{}",
            self.backend.for_update()
        );
        let found: Option<(String,)> = sqlx::query_as(&sql)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        found.ok_or(StoreError::NotFound)?;
        refuse_while_in_use(&mut tx, id, now).await?;
        // Deleted devices and spent codes only remember the location; they let it go so the
        // row can go. Sessions copy the id without a foreign key and keep it as history.
        for forget in [
            "UPDATE devices SET location_id = NULL WHERE location_id = $1",
            "UPDATE enrollments SET location_id = NULL WHERE location_id = $1",
            "DELETE FROM processor_locations WHERE location_id = $1",
            "DELETE FROM locations WHERE id = $1",
        ] {
            sqlx::query(forget)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_enrollment(&self, e: &Enrollment) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO enrollments ({ENROLLMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(e.id.to_string())
        .bind(e.merchant_id.to_string())
        .bind(&e.code_hash)
        .bind(e.status.as_str())
        .bind(serde_json::to_string(&e.metadata)?)
        .bind(e.location_id.map(|l| l.to_string()))
        .bind(ms(e.expires_at))
        .bind(ms(e.created_at))
        .execute(&self.write.pool)
        .await?;
        Ok(())
    }

    async fn get_enrollment(
        &self,
        merchant: MerchantId,
        id: EnrollmentId,
    ) -> Result<Option<Enrollment>> {
        let sql = format!(
            "SELECT {ENROLLMENT_COLUMNS} FROM enrollments \
             WHERE id = $1 AND merchant_id = $2 AND status <> 'CANCELLED'"
        );
        let row: Option<EnrollmentRow> = sqlx::query_as(&sql)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.map(Enrollment::try_from).transpose()
    }

    async fn list_enrollments(
        &self,
        merchant: MerchantId,
        filter: &EnrollmentFilter,
        page: PageRequest,
        now: Timestamp,
    ) -> Result<Page<Enrollment>> {
        let mut sql = Sql::new("FROM enrollments WHERE status <> 'CANCELLED'");
        sql.and("merchant_id = $?", merchant.to_string());
        if !filter.include_consumed {
            sql.push(" AND status <> 'CONSUMED'");
        }
        if let Some(location) = filter.location_id {
            sql.and("location_id = $?", location.to_string());
        }
        self.metadata_filter(&mut sql, &filter.metadata);
        let page = self
            .page(sql, ENROLLMENT_COLUMNS, page, |r: EnrollmentRow| {
                Enrollment::try_from(r)
            })
            .await?;
        Ok(page.map(|mut e| {
            e.status = e.status_at(now);
            e
        }))
    }

    async fn cancel_enrollment(&self, merchant: MerchantId, id: EnrollmentId) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE enrollments SET status = 'CANCELLED' \
             WHERE id = $1 AND merchant_id = $2 AND status <> 'CANCELLED'",
        )
        .bind(id.to_string())
        .bind(merchant.to_string())
        .execute(&self.write.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// `Refused` while live devices or usable pairing codes (pending, unexpired) are assigned to
/// the location: a code is a device to be, and cancelling it behind the merchant's back would
/// strand the clerk about to type it. The message gives both counts, so the merchant knows
/// what to move, delete or cancel first.
async fn refuse_while_in_use(tx: &mut Tx<'_>, id: LocationId, now: Timestamp) -> Result<()> {
    let (devices,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM devices WHERE location_id = $1 AND deleted_at IS NULL",
    )
    .bind(id.to_string())
    .fetch_one(&mut **tx)
    .await?;
    let (codes,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM enrollments \
         WHERE location_id = $1 AND status = 'PENDING' AND expires_at > $2",
    )
    .bind(id.to_string())
    .bind(ms(now))
    .fetch_one(&mut **tx)
    .await?;
    if devices == 0 && codes == 0 {
        return Ok(());
    }
    let plural = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    Err(DomainError::not_allowed(format!(
        "the location has {} and {} assigned to it; move or delete the devices and cancel \
         the enrollments first",
        plural(devices, "device", "devices"),
        plural(codes, "pending enrollment", "pending enrollments"),
    ))
    .into())
}

impl SqlStore {
    /// Runs `SELECT columns <from_where> ORDER BY created_at DESC` for one page, plus the count.
    pub(crate) async fn page<R, T>(
        &self,
        from_where: Sql,
        columns: &str,
        page: PageRequest,
        convert: impl Fn(R) -> Result<T>,
    ) -> Result<Page<T>>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        let count = from_where.around("SELECT COUNT(*) ", "");
        let (total,): (i64,) = count.query_as().fetch_one(&self.read).await?;
        let select = from_where.around(
            &format!("SELECT {columns} "),
            &format!(" ORDER BY created_at DESC, id DESC{}", page_clause(page)),
        );
        let rows: Vec<R> = select.query_as().fetch_all(&self.read).await?;
        let items = rows.into_iter().map(convert).collect::<Result<_>>()?;
        Ok(Page {
            items,
            total,
            request: page,
        })
    }

    /// ANDs `metadata.key = value` for each pair.
    pub(crate) fn metadata_filter(&self, sql: &mut Sql, pairs: &[(String, String)]) {
        for (key, value) in pairs {
            let (k, v) = (sql.param(key.as_str()), sql.param(value.as_str()));
            sql.push(" AND ")
                .push(&self.backend.json_field_eq("metadata", &k, &v));
        }
    }
}
