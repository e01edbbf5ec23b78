//! Storage errors. Unique violations of both backends are named in one place
//! (`unique_violation`): a rule the caller can act on becomes `DeviceBusy` or a
//! [`Duplicate`], any other is a bug and stays a `Database` error (a 500 that is logged, never
//! shown). Foreign-key violations (a referenced row deleted by a racing request) are `Refused`.

use kassa_core::DomainError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule the caller can act on was broken. Its message is safe to show.
    #[error(transparent)]
    Duplicate(#[from] Duplicate),
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
    /// A rule the store keeps by itself broke (e.g. a row changed under its lock): a bug, not
    /// the caller's doing, so a retry would hide it.
    #[error("store invariant broken: {0}")]
    Invariant(&'static str),
    /// Another process owns the database (SQLite serves one process; see `node.rs`).
    #[error("{0}")]
    InUse(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e.as_database_error() {
            Some(db) if db.is_unique_violation() => match unique_violation(db) {
                Some(known) => known,
                None => Self::Database(e),
            },
            // Only a race gets here (the object was checked, then deleted by another request
            // before this one committed): the caller's state no longer allows it, not a bug.
            Some(db) if db.is_foreign_key_violation() => Self::Refused(DomainError::not_allowed(
                "an object this change refers to was deleted meanwhile; read it again",
            )),
            _ => Self::Database(e),
        }
    }
}

/// Which uniqueness rule a write broke, in the caller's terms (never a constraint name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Duplicate {
    /// The payment `attempt_id` already belongs to another session.
    #[error("attempt_id was already used for another session")]
    AttemptId,
    /// Another request with this `Idempotency-Key` got there first and is still running.
    #[error("a request with this Idempotency-Key is still in progress")]
    IdempotencyKey,
    /// The processor's reader already has a live Kassa device.
    #[error("the reader is registered already; delete its device first")]
    Reader,
    /// A live portal user (of any merchant) already has this email.
    #[error("is used by another portal user")]
    Email,
    /// The session already has a different processor payment.
    #[error("the session already has another processor payment")]
    OtherPayment,
    /// The processor payment is attached to another session.
    #[error("the processor payment belongs to another session")]
    PaymentInUse,
}

/// The unique indexes a caller can break, by their PostgreSQL constraint name and by the
/// columns SQLite names in its message (`UNIQUE constraint failed: t.a, t.b`; sqlx gives no
/// constraint name for SQLite). Indexes not listed (ids, token hashes, event and timeline
/// keys) only a bug can break.
const UNIQUE_RULES: &[(&str, &str, Rule)] = &[
    (
        "sessions_one_open_per_device",
        "sessions.device_id",
        Rule::DeviceBusy,
    ),
    (
        "attempts_pkey",
        "attempts.attempt_id",
        Rule::Is(Duplicate::AttemptId),
    ),
    (
        "idempotency_keys_pkey",
        "idempotency_keys.merchant_id, idempotency_keys.key",
        Rule::Is(Duplicate::IdempotencyKey),
    ),
    (
        "devices_processor_reader",
        "devices.processor_reader",
        Rule::Is(Duplicate::Reader),
    ),
    (
        "portal_users_email",
        "portal_users.email",
        Rule::Is(Duplicate::Email),
    ),
    (
        "sessions_payment",
        "sessions.processor, sessions.payment_ref",
        Rule::Is(Duplicate::PaymentInUse),
    ),
];

#[derive(Clone, Copy)]
enum Rule {
    DeviceBusy,
    Is(Duplicate),
}

/// Names the broken rule, or `None` for an index only a bug can violate.
fn unique_violation(db: &dyn sqlx::error::DatabaseError) -> Option<StoreError> {
    let columns = db.message().strip_prefix("UNIQUE constraint failed: ");
    let (_, _, rule) = UNIQUE_RULES.iter().find(|(constraint, sqlite, _)| {
        db.constraint() == Some(*constraint) || columns == Some(*sqlite)
    })?;
    Some(match *rule {
        Rule::DeviceBusy => StoreError::DeviceBusy,
        Rule::Is(d) => StoreError::Duplicate(d),
    })
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
