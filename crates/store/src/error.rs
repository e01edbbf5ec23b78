//! Storage errors. Unique violations of both backends become `Conflict` in one place, and
//! foreign-key violations (a referenced row deleted by a racing request) `Refused`.

use kassa_core::DomainError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken (duplicate id, reused attempt id…).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The device already has an open session.
    #[error("the device already has an open session")]
    DeviceBusy,
    /// A referenced object (device, location) does not exist for this merchant.
    #[error("{field}: {message}")]
    BadReference {
        field: &'static str,
        message: String,
    },
    /// The domain refused the command (state or amount rules).
    #[error(transparent)]
    Refused(#[from] DomainError),
    #[error("unsupported database url: {0}")]
    UnsupportedUrl(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e.as_database_error() {
            Some(db) if db.is_unique_violation() => {
                Self::Conflict(db.constraint().unwrap_or("unique").to_string())
            }
            // Only a race gets here (the object was checked, then deleted by another request
            // before this one committed): the caller's state no longer allows it, not a bug.
            Some(db) if db.is_foreign_key_violation() => Self::Refused(DomainError::not_allowed(
                "an object this change refers to was deleted meanwhile; read it again",
            )),
            _ => Self::Database(e),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        Self::Corrupt(e.to_string())
    }
}

impl StoreError {
    pub fn bad_reference(field: &'static str, message: impl Into<String>) -> Self {
        Self::BadReference {
            field,
            message: message.into(),
        }
    }
}
