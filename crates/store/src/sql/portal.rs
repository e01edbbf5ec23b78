//! Portal users and their sign-in sessions.

use super::builder::Sql;
use super::SqlStore;
use crate::portal::*;
use crate::rows::{id, ms, opt_ts, parsed, ts, MerchantRow};
use crate::{Merchant, Result, StoreError};
use async_trait::async_trait;
use kassa_core::{MerchantId, Timestamp};

const USER_COLUMNS: &str = "id, merchant_id, email, role, created_at";

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    merchant_id: String,
    email: String,
    role: String,
    created_at: i64,
}

impl TryFrom<UserRow> for PortalUser {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self> {
        Ok(Self {
            id: id(&r.id)?,
            merchant_id: id(&r.merchant_id)?,
            email: r.email,
            role: parsed(&r.role, PortalRole::parse)?,
            created_at: ts(r.created_at)?,
        })
    }
}

/// The merchant columns of a joined query, read into the `m_` fields below.
const MERCHANT_COLUMNS: &str = "m.name AS m_name, m.mode AS m_mode, m.created_at AS m_created_at";

fn merchant(id: &str, name: String, mode: String, created_at: i64) -> Result<Merchant> {
    Merchant::try_from(MerchantRow {
        id: id.to_string(),
        name,
        mode,
        created_at,
    })
}

#[derive(sqlx::FromRow)]
struct LoginRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
    m_name: String,
    m_mode: String,
    m_created_at: i64,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    token_hash: String,
    csrf_token: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: Option<i64>,
    u_id: String,
    u_merchant_id: String,
    u_email: String,
    u_role: String,
    u_created_at: i64,
    m_name: String,
    m_mode: String,
    m_created_at: i64,
}

impl SessionRow {
    fn user(&self) -> Result<PortalUser> {
        PortalUser::try_from(UserRow {
            id: self.u_id.clone(),
            merchant_id: self.u_merchant_id.clone(),
            email: self.u_email.clone(),
            role: self.u_role.clone(),
            created_at: self.u_created_at,
        })
    }

    fn session(self, user_id: PortalUserId) -> Result<PortalSession> {
        Ok(PortalSession {
            token_hash: self.token_hash,
            user_id,
            csrf_token: self.csrf_token,
            created_at: ts(self.created_at)?,
            last_seen_at: ts(self.last_seen_at)?,
            expires_at: opt_ts(self.expires_at)?,
        })
    }
}

#[async_trait]
impl PortalStore for SqlStore {
    #[tracing::instrument(skip_all)]
    async fn create_portal_user(&self, user: &PortalUser, password_hash: &str) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let merchant: Option<(String,)> = sqlx::query_as("SELECT id FROM merchants WHERE id = $1")
            .bind(user.merchant_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if merchant.is_none() {
            return Err(StoreError::bad_reference("merchant_id", "no such merchant"));
        }
        sqlx::query(
            "INSERT INTO portal_users (id, merchant_id, email, password_hash, role, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id.to_string())
        .bind(user.merchant_id.to_string())
        .bind(normalize_email(&user.email))
        .bind(password_hash)
        .bind(user.role.as_str())
        .bind(ms(user.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_portal_users(&self, merchant: Option<MerchantId>) -> Result<Vec<PortalUser>> {
        let mut sql = Sql::new(format!(
            "SELECT {USER_COLUMNS} FROM portal_users WHERE deleted_at IS NULL"
        ));
        if let Some(merchant) = merchant {
            sql.and("merchant_id = $?", merchant.to_string());
        }
        sql.push(" ORDER BY created_at, id");
        let rows: Vec<UserRow> = sql.query_as().fetch_all(&self.read).await?;
        rows.into_iter().map(PortalUser::try_from).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn find_portal_user(&self, email: &str) -> Result<Option<PortalLogin>> {
        let sql = format!(
            "SELECT u.id, u.merchant_id, u.email, u.role, u.created_at, u.password_hash, \
               {MERCHANT_COLUMNS} \
             FROM portal_users u JOIN merchants m ON m.id = u.merchant_id \
             WHERE u.email = $1 AND u.deleted_at IS NULL"
        );
        let row: Option<LoginRow> = sqlx::query_as(&sql)
            .bind(normalize_email(email))
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let merchant = merchant(
            &row.user.merchant_id,
            row.m_name,
            row.m_mode,
            row.m_created_at,
        )?;
        Ok(Some(PortalLogin {
            password_hash: row.password_hash,
            user: PortalUser::try_from(row.user)?,
            merchant,
        }))
    }

    #[tracing::instrument(skip_all, fields(portal_user.id = %id))]
    async fn delete_portal_user(&self, id: PortalUserId, now: Timestamp) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE portal_users SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL",
        )
        .bind(ms(now))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM portal_sessions WHERE user_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(skip_all, fields(portal_user.id = %session.user_id))]
    async fn create_portal_session(&self, session: &PortalSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO portal_sessions \
               (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&session.token_hash)
        .bind(session.user_id.to_string())
        .bind(&session.csrf_token)
        .bind(ms(session.created_at))
        .bind(ms(session.last_seen_at))
        .bind(session.expires_at.map(ms))
        .execute(&self.write.pool)
        .await?;
        Ok(())
    }

    async fn find_portal_session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<PortalAuth>> {
        // One round trip: every cookie-authenticated request starts here.
        let sql = format!(
            "SELECT s.token_hash, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, \
               u.id AS u_id, u.merchant_id AS u_merchant_id, u.email AS u_email, \
               u.role AS u_role, u.created_at AS u_created_at, {MERCHANT_COLUMNS} \
             FROM portal_sessions s \
               JOIN portal_users u ON u.id = s.user_id \
               JOIN merchants m ON m.id = u.merchant_id \
             WHERE s.token_hash = $1 AND u.deleted_at IS NULL \
               AND (s.expires_at IS NULL OR s.expires_at > $2)"
        );
        let row: Option<SessionRow> = sqlx::query_as(&sql)
            .bind(token_hash)
            .bind(ms(now))
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let user = row.user()?;
        let merchant = merchant(
            &row.u_merchant_id,
            row.m_name.clone(),
            row.m_mode.clone(),
            row.m_created_at,
        )?;
        Ok(Some(PortalAuth {
            session: row.session(user.id)?,
            user,
            merchant,
        }))
    }

    async fn touch_portal_session(&self, token_hash: &str, now: Timestamp) -> Result<()> {
        // Never backwards: a slow request must not undo a newer touch.
        sqlx::query(
            "UPDATE portal_sessions SET last_seen_at = $1 \
             WHERE token_hash = $2 AND last_seen_at < $1",
        )
        .bind(ms(now))
        .bind(token_hash)
        .execute(&self.write.pool)
        .await?;
        Ok(())
    }

    async fn delete_portal_session(&self, token_hash: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM portal_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.write.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(skip_all)]
    async fn delete_idle_portal_sessions(
        &self,
        idle_before: Timestamp,
        now: Timestamp,
    ) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM portal_sessions WHERE last_seen_at < $1 OR expires_at <= $2")
                .bind(ms(idle_before))
                .bind(ms(now))
                .execute(&self.write.pool)
                .await?;
        Ok(done.rows_affected())
    }
}
