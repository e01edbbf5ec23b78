//! The few SQL differences between the backends.

use crate::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(
                url.split(':').next().unwrap_or("").into(),
            ))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// Row lock for read-modify-write. SQLite needs none: its one writer connection already
    /// serializes write transactions.
    pub fn for_update(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE",
        }
    }

    /// Claims rows other nodes are not working on, so several nodes share a queue.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// `metadata ->> key = value` on a JSON text column; `key` and `value` are placeholders.
    pub fn json_field_eq(self, column: &str, key: &str, value: &str) -> String {
        match self {
            Self::Sqlite => format!("json_extract({column}, '$.\"' || {key} || '\"') = {value}"),
            Self::Postgres => format!("(({column})::jsonb ->> {key}) = {value}"),
        }
    }
}
